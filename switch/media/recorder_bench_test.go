package media

import (
	"net/netip"
	"testing"

	"github.com/pion/rtp"
)

// BenchmarkRecordTap is a session's receive path, alone (parse, checks,
// counters) and on a bridged leg (plus relay and sendto), without and with
// a recording tap: the difference is the tap's cost per packet.
func BenchmarkRecordTap(b *testing.B) {
	for _, bc := range []struct {
		name         string
		bridged, tap bool
	}{
		{"receive", false, false}, {"receive+tap", false, true},
		{"relay", true, false}, {"relay+tap", true, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var s *Session
			var next func()
			if bc.bridged {
				rp := newRelayPath(b, leg{codec: PCMU}, leg{codec: PCMU}, 0, toneFrame(PCMU))
				s, next = rp.legA, rp.next
			} else {
				var pkt []byte
				var from netip.AddrPort
				s, pkt, from = benchSession(b)
				next = func() { s.receive(pkt, from) }
			}
			var l *recordLeg
			if bc.tap {
				rec, err := newRecorder(discardSeeker{}) // no clock: the queue is emptied here
				if err != nil {
					b.Fatal(err)
				}
				if err := rec.Add(s); err != nil {
					b.Fatal(err)
				}
				l = s.tap.Load()
			}
			next()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				next()
				if i++; l != nil && i%16 == 0 {
					l.mu.Lock()
					l.pr, l.br = l.pw, l.bw
					l.mu.Unlock()
				}
			}
			if l != nil && (l.overflow != 0 || l.pw == 0) {
				b.Fatalf("%d packets tapped, %d overflowed", l.pw, l.overflow)
			}
		})
	}
}

// BenchmarkRecorderTick is one 20 ms frame of a recording of one session
// (<Record>) or two (<Dial record>): queueing one packet per session,
// then the tick (drain, decode, mix, level, buffered write to a file that
// discards).
func BenchmarkRecorderTick(b *testing.B) {
	for _, n := range []int{1, 2} {
		b.Run(map[int]string{1: "sessions=1", 2: "sessions=2"}[n], func(b *testing.B) {
			rec, err := newRecorder(discardSeeker{}, WithSilenceTimeout(FrameDuration*1000, func() {}))
			if err != nil {
				b.Fatal(err)
			}
			pool := testPool(b, n)
			legs := make([]*recordLeg, n)
			for i := range legs {
				s := newTestSession(b, pool)
				if err := rec.Add(s); err != nil {
					b.Fatal(err)
				}
				legs[i] = s.tap.Load()
			}
			pkt := &rtp.Packet{Header: rtp.Header{SSRC: 9}, Payload: toneFrame(PCMU)}
			b.ReportAllocs()
			for b.Loop() {
				pkt.SequenceNumber++
				pkt.Timestamp += FrameSamples
				for _, l := range legs {
					l.tapAudio(pkt, PCMU)
				}
				if err := rec.tick(); err != nil {
					b.Fatal(err)
				}
			}
			for _, l := range legs {
				if l.overflow+l.play.late+l.play.dups != 0 || l.play.resyncs != 1 {
					b.Fatalf("overflow %d late %d dups %d resyncs %d", l.overflow, l.play.late, l.play.dups, l.play.resyncs)
				}
			}
		})
	}
}
