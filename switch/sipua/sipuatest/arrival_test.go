package sipuatest

import (
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// feeder builds packets of one source with fabricated arrival times, so the
// measure is checked against figures worked out by hand.
type feeder struct {
	s    *rtpSession
	ssrc uint32
	seq  uint16
	ts   uint32
	at   time.Time
}

func newFeeder(t *testing.T) *feeder {
	t.Helper()
	s, err := newRTPSession(slog.New(slog.DiscardHandler), func() {})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	// Start near the wrap of both counters so wrapping is exercised.
	return &feeder{s: s, ssrc: 7, seq: 0xfffe, ts: 0xffffff00, at: time.Now()}
}

// send delivers the next 20 ms packet of PT pt after gap, skipping lost
// sequence numbers (their timestamps still advance).
func (f *feeder) send(pt uint8, gap time.Duration, lost int) {
	f.seq += uint16(1 + lost)
	f.ts += uint32(160 * (1 + lost))
	f.at = f.at.Add(gap)
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: f.seq,
		Timestamp: f.ts, SSRC: f.ssrc}, Payload: make([]byte, 160)}
	f.s.record(&pkt, f.at)
}

func (f *feeder) arrivals() Arrivals {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	return f.s.arrivals.snapshot()
}

func TestArrivalsDeviationFromTimestampSpacing(t *testing.T) {
	f := newFeeder(t)
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	f.send(0, 0, 0)         // first packet: nothing to compare with
	f.send(0, ms(20), 0)    // 0
	f.send(0, ms(23.05), 0) // 3.05 ms late
	f.send(0, ms(16.95), 0) // 3.05 ms early
	f.send(8, ms(20.5), 0)  // 0.5 (PCMA counts too)
	f.send(101, ms(300), 0) // telephone-event: not audio, not measured
	f.send(0, ms(60), 1)    // one lost: 40 ms of timestamps in 60 ms, jitter only
	f.send(0, ms(20), 0)    // 0
	f.send(0, ms(250), 0)   // 230 ms: beyond the histogram's range
	a := f.arrivals()
	if a.Gaps != 6 {
		t.Fatalf("Gaps = %d, want 6 (first packet, event and the gap over a loss are not deviations)", a.Gaps)
	}
	if a.Max != ms(230) {
		t.Errorf("Max = %v, want 230ms", a.Max)
	}
	// Sorted deviations: 0, 0, 0.5, 3.05, 3.05, 230 ms.
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.01, ms(0.1)}, {0.5, ms(0.6)}, {0.6, ms(3.1)}, {0.8, ms(3.1)}, {0.99, ms(230)}, {1, ms(230)}} {
		if got := a.Quantile(c.q); got != c.want {
			t.Errorf("Quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	// RFC 3550 J over every audio packet in arrival order: the event took
	// a sequence number and 20 ms of timestamps, so the packet after the
	// loss is 360 ms of arrival against 60 ms of timestamps from the last
	// audio packet (|D| = 300 ms) though it is no deviation.
	var j float64
	for _, d := range []float64{0, 3.05, 3.05, 0.5, 300, 0, 230} {
		j += (d - j) / 16
	}
	if got := float64(a.Jitter) / float64(time.Millisecond); math.Abs(got-j) > 1e-6 {
		t.Errorf("Jitter = %.6f ms, want %.6f ms", got, j)
	}
}

func TestArrivalsRFC3550JitterConverges(t *testing.T) {
	f := newFeeder(t)
	f.send(0, 0, 0)
	// Gaps alternate 18 and 22 ms: every |D| is 2 ms, so J tends to 2 ms.
	for i := range 400 {
		f.send(0, time.Duration(18+4*(i%2))*time.Millisecond, 0)
	}
	a := f.arrivals()
	if math.Abs(float64(a.Jitter)-2e6) > 2e3 {
		t.Errorf("Jitter = %v, want 2ms", a.Jitter)
	}
	if a.Quantile(0.5) != 2*time.Millisecond || a.Quantile(1) != 2*time.Millisecond || a.Gaps != 400 {
		t.Errorf("p50 %v, max %v, gaps %d; want 2ms, 2ms, 400", a.Quantile(0.5), a.Quantile(1), a.Gaps)
	}
}

func TestArrivalsNewSourceAndReset(t *testing.T) {
	f := newFeeder(t)
	f.send(0, 0, 0)
	f.send(0, 25*time.Millisecond, 0) // 5 ms
	f.s.mu.Lock()
	f.s.arrivals.reset()
	f.s.mu.Unlock()
	f.send(0, 21*time.Millisecond, 0) // 1 ms: measured against the packet before the reset
	f.ssrc = 8
	f.send(0, time.Second, 0) // a new source starts afresh
	f.send(0, 20*time.Millisecond, 0)
	a := f.arrivals()
	if a.Gaps != 2 || a.Max != time.Millisecond {
		t.Errorf("after reset and a new SSRC: Gaps %d Max %v, want 2 and 1ms", a.Gaps, a.Max)
	}
}

func TestArrivalsMerge(t *testing.T) {
	var sum Arrivals
	sum.Merge(Arrivals{}) // nothing measured: stays empty
	if sum.Gaps != 0 || sum.Quantile(0.99) != 0 {
		t.Fatalf("empty merge: %+v", sum)
	}
	for _, gap := range []time.Duration{21 * time.Millisecond, 30 * time.Millisecond} {
		f := newFeeder(t)
		f.send(0, 0, 0)
		for range 99 {
			f.send(0, 20*time.Millisecond, 0)
		}
		f.send(0, gap, 0)
		sum.Merge(f.arrivals())
	}
	if sum.Gaps != 200 || sum.Max != 10*time.Millisecond || sum.Quantile(0.99) != 100*time.Microsecond || sum.Quantile(0.9925) != time.Millisecond+100*time.Microsecond {
		t.Errorf("merged: gaps %d max %v p99 %v p99.25 %v", sum.Gaps, sum.Max, sum.Quantile(0.99), sum.Quantile(0.9925))
	}
}

// The load tool runs hundreds of receiving calls at once: recording an
// audio packet must not allocate once the histogram exists.
func TestArrivalsRecordDoesNotAllocate(t *testing.T) {
	f := newFeeder(t)
	f.send(0, 0, 0)
	f.send(0, 20*time.Millisecond, 0)
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, SSRC: f.ssrc}, Payload: make([]byte, 160)}
	allocs := testing.AllocsPerRun(1000, func() {
		f.seq++
		f.ts += 160
		f.at = f.at.Add(20 * time.Millisecond)
		pkt.SequenceNumber, pkt.Timestamp = f.seq, f.ts
		f.s.record(&pkt, f.at)
	})
	if allocs != 0 {
		t.Errorf("record allocates %.1f times per packet, want 0", allocs)
	}
}

// Through real sockets: every packet of a tone but the first is a
// deviation, and the call's getters see them.
func TestArrivalsOfAToneBetweenPeers(t *testing.T) {
	a, b := NewPeer(t), NewPeer(t)
	b.Answer(AnswerAfter(0))
	out, in := answeredCall(t, a, b, InviteOptions{})
	ctx := testCtx(t)
	if err := out.SendTone(ctx, 1000, 200*time.Millisecond); err != nil {
		t.Fatalf("SendTone: %v", err)
	}
	if err := in.WaitRTP(ctx, 0, 10); err != nil {
		t.Fatalf("RTP: %v", err)
	}
	got := in.Arrivals()
	if n := in.RTP().Packets; got.Gaps != n-1 {
		t.Errorf("Gaps = %d after %d packets, want %d", got.Gaps, n, n-1)
	}
	if got.Max < got.Quantile(0.5) || got.Quantile(1) != got.Max {
		t.Errorf("max %v, p50 %v, p100 %v: inconsistent", got.Max, got.Quantile(0.5), got.Quantile(1))
	}
	in.ResetArrivals()
	if got := in.Arrivals(); got.Gaps != 0 || got.Max != 0 {
		t.Errorf("after ResetArrivals: %+v", got)
	}
}
