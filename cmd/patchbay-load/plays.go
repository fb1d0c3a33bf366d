package main

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"time"

	"github.com/patchbay/patchbay/switch/server"
	"github.com/patchbay/patchbay/switch/sipua/sipuatest"
)

// pacingTarget is the p99 of |arrival gap − 20 ms| the switch should keep
// with 200 calls playing: a phone's jitter buffer of 20–40 ms absorbs it
// without adding delay or dropping frames.
const pacingTarget = 5 * time.Millisecond

// playPacing holds n calls listening to an endless <Play> of a 5 s clip
// (number 2100) and
// measures, for d, how evenly the switch's audio packets arrive at them.
func playPacing(srv *server.Server, sipAddr string, n int, d time.Duration) error {
	peer, err := sipuatest.New()
	if err != nil {
		return fmt.Errorf("play peer: %w", err)
	}
	defer peer.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute+d)
	defer cancel()
	calls := make([]*sipuatest.Call, 0, n)
	defer func() {
		for _, c := range calls {
			_ = c.Bye(ctx)
		}
		waitIdle(srv, 20*time.Second)
	}()
	setup := time.Now()
	for i := range n {
		c, err := peer.Invite(ctx, "sip:2100@"+sipAddr, sipuatest.InviteOptions{})
		if err != nil {
			return fmt.Errorf("play call %d: %w", i, err)
		}
		if c.FinalCode() != 200 {
			return fmt.Errorf("play call %d: final response %d", i, c.FinalCode())
		}
		calls = append(calls, c)
	}
	setupTook := time.Since(setup)
	time.Sleep(time.Second) // every call is in its Play

	// ReadMemStats stops the world: take it before the window opens.
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	before := make([]sipuatest.RTPStats, len(calls))
	for i, c := range calls {
		c.ResetArrivals()
		before[i] = c.RTP()
	}
	began := time.Now()
	time.Sleep(d)

	var all sipuatest.Arrivals
	received, lost, silent, over := 0, 0, 0, 0
	var worst time.Duration
	var jitterSum time.Duration
	for i, c := range calls {
		a := c.Arrivals()
		st := c.RTP()
		all.Merge(a)
		got := st.Packets - before[i].Packets
		received += got
		lost += st.SeqGaps - before[i].SeqGaps
		if got == 0 {
			silent++
		}
		p99 := a.Quantile(0.99)
		worst = max(worst, p99)
		if p99 >= pacingTarget {
			over++
		}
		jitterSum += a.Jitter
	}
	wall := time.Since(began)
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	runtime.ReadMemStats(&ms1)

	cpu := cpuSeconds(ru1) - cpuSeconds(ru0)
	expected := received + lost
	byClock := int(float64(len(calls)) * wall.Seconds() / 0.020)
	fmt.Printf("\n## Played audio pacing: %d calls listening to <Play loop=\"0\"> of a 5 s WAV, measured for %v\n", len(calls), d)
	fmt.Printf("set-up of the %d calls took %v; the window opened 1 s after the last answer\n", len(calls), setupTook.Round(time.Millisecond))
	fmt.Printf("packets received: %d (calls that received none: %d); by sequence numbers %d expected, %d lost (%.3f%%); by the clock %d would be sent\n",
		received, silent, expected, lost, pct(lost, expected), byClock)
	fmt.Printf("|arrival gap - 20 ms| over %d gaps: p50 %v  p99 %v  p99.9 %v  max %v (0.1 ms buckets)\n",
		all.Gaps, all.Quantile(0.50), all.Quantile(0.99), all.Quantile(0.999), all.Max)
	fmt.Printf("per call: worst p99 %v; calls with p99 >= %v: %d of %d\n", worst, pacingTarget, over, len(calls))
	fmt.Printf("RFC 3550 interarrival jitter: mean over calls at the end %v, largest reached by any call %v\n",
		(jitterSum / time.Duration(max(1, len(calls)))).Round(time.Microsecond), all.MaxJitter.Round(time.Microsecond))
	fmt.Printf("process CPU (switch and all peers): %.1f s in %.1f s wall = %.0f%% of one core, %.2f ms CPU per call-second\n",
		cpu, wall.Seconds(), 100*cpu/wall.Seconds(), 1000*cpu/wall.Seconds()/float64(len(calls)))
	fmt.Printf("Go heap in use: %.1f MiB (%.1f KiB per call incl. peers); GC cycles in the window: %d, longest stop-the-world pause %v\n",
		float64(ms1.HeapInuse)/(1<<20), float64(ms1.HeapInuse)/1024/float64(len(calls)), ms1.NumGC-ms0.NumGC, longestPause(&ms0, &ms1))
	fmt.Printf("note: the peers run in the switch's process on the same %d cores and time each packet when their read goroutine gets it, so these figures bound the switch's own jitter from above\n", runtime.NumCPU())
	return nil
}

// longestPause is the longest GC stop-the-world pause between two
// MemStats (the runtime keeps the last 256).
func longestPause(before, after *runtime.MemStats) time.Duration {
	var longest uint64
	for gc := before.NumGC + 1; gc <= after.NumGC && after.NumGC-gc < 256; gc++ {
		longest = max(longest, after.PauseNs[(gc+255)%256])
	}
	return time.Duration(longest)
}

func pct(part, whole int) float64 {
	if whole == 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}
