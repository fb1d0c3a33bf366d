//go:build linux || darwin

package media

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// BenchmarkConcurrentRecordings runs n real recordings at once, each with
// its own clock goroutine writing a WAV file, fed one packet per session
// every 20 ms by one goroutine standing in for the read goroutines (their
// recvfrom and wake-ups belong to the call, recorded or not). One op is
// one 20 ms period of all n. It reports the process's CPU time (user +
// system, from getrusage) per second of one recording: 1e6 divided by it
// is how many recordings one core sustains. lost-packets counts packets
// that overflowed a tap queue or reached the playout too late: a clock
// goroutine that could not keep up.
func BenchmarkConcurrentRecordings(b *testing.B) {
	for _, n := range []int{100, 400, 1000} {
		b.Run(fmt.Sprintf("recordings=%d", n), func(b *testing.B) {
			pool := testPool(b, n)
			dir := b.TempDir()
			legs := make([]*recordLeg, n)
			recs := make([]*Recorder, n)
			for i := range n {
				f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%d.wav", i)))
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = f.Close() })
				s := newTestSession(b, pool)
				if recs[i], err = NewRecorder(f); err != nil {
					b.Fatal(err)
				}
				if err := recs[i].Add(s); err != nil {
					b.Fatal(err)
				}
				legs[i] = s.tap.Load()
			}
			pkt := &rtp.Packet{Header: rtp.Header{SSRC: 9}, Payload: toneFrame(PCMU)}
			start, cpu0 := time.Now(), cpuTime(b)
			pace := pacer{now: time.Now, period: FrameDuration}
			for b.Loop() {
				if wait := pace.next(); wait > 0 {
					time.Sleep(wait)
				}
				pkt.SequenceNumber++
				pkt.Timestamp += FrameSamples
				for _, l := range legs {
					l.tapAudio(pkt, PCMU)
				}
			}
			cpu, wall := cpuTime(b)-cpu0, time.Since(start)
			for _, r := range recs {
				if _, err := r.Stop(); err != nil {
					b.Fatal(err)
				}
			}
			var lost uint64 // packets that did not make it into a file
			for _, l := range legs {
				lost += l.overflow + l.play.late
			}
			recSeconds := wall.Seconds() * float64(n)
			b.ReportMetric(float64(lost), "lost-packets")
			b.ReportMetric(float64(cpu.Microseconds())/recSeconds, "cpu-µs/recording-s")
			b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cores")
		})
	}
}

func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
