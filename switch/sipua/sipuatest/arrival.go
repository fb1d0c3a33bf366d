package sipuatest

import (
	"math"
	"time"
)

// Arrival pacing: how evenly the audio a call receives arrives. A phone's
// jitter buffer has to absorb whatever the sender's pacing and the network
// add to the 20 ms between packets, so the figure that matters is how far
// each arrival gap strays from the gap the RTP timestamps promise. The
// measure runs on the RTP read goroutine for every packet, with hundreds
// of calls at once in load runs, so it is a few integer operations and
// one increment in a histogram allocated once per call.

const (
	// ArrivalBucket is the resolution of the Arrivals histogram.
	ArrivalBucket = 100 * time.Microsecond
	// ArrivalRange is the largest deviation the histogram resolves; larger
	// ones are counted in its last bucket (Arrivals.Max keeps the largest).
	ArrivalRange = 200 * time.Millisecond

	arrivalBuckets = int(ArrivalRange / ArrivalBucket)
	// g711Rate is the RTP clock of the payload types measured (PCMU, PCMA).
	g711Rate = 8000
)

// Arrivals describes the pacing of the G.711 audio (payload types 0 and 8)
// a call received. For every packet whose sequence number follows that of
// the previous packet of the same source, the deviation is the absolute
// difference between its arrival gap and its timestamp gap; within a
// talkspurt of 20 ms packets that is |gap − 20 ms|. A lost or reordered
// packet is not a deviation (RTPStats.SeqGaps counts losses), and a new
// SSRC starts afresh. Jitter is the interarrival jitter estimate of
// RFC 3550 §6.4.1, which smooths the same difference over every packet in
// arrival order.
//
// The arrival time is when the peer's read goroutine got the packet from
// its socket, so it includes the scheduling delay of the peer's own
// process: a measure taken with the peer on a busy machine bounds the
// sender's jitter from above.
type Arrivals struct {
	// Gaps counts the deviations measured.
	Gaps int
	// Max is the largest deviation measured.
	Max time.Duration
	// Jitter is the RFC 3550 estimate after the last packet received;
	// MaxJitter is the largest it reached since the last reset. After
	// Merge, Jitter is the largest of the merged estimates.
	Jitter, MaxJitter time.Duration
	// hist[i] counts deviations in [i, i+1) × ArrivalBucket; the last
	// bucket also counts every deviation beyond ArrivalRange. Nil until
	// the first deviation.
	hist []uint32
}

// Quantile returns the deviation below which a share q (0..1] of the
// measured deviations fall, rounded up to the histogram's resolution (and
// never above Max, which is exact). It returns 0 when nothing was measured.
func (a Arrivals) Quantile(q float64) time.Duration {
	if a.Gaps == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(a.Gaps)))
	rank = max(1, min(rank, uint64(a.Gaps)))
	var seen uint64
	for i, n := range a.hist {
		seen += uint64(n)
		if seen >= rank {
			if i == len(a.hist)-1 {
				return a.Max // the overflow bucket has no upper edge
			}
			return min(time.Duration(i+1)*ArrivalBucket, a.Max)
		}
	}
	return a.Max
}

// Merge adds b's deviations to a, to summarise many calls at once.
func (a *Arrivals) Merge(b Arrivals) {
	if b.Gaps == 0 {
		a.Jitter = max(a.Jitter, b.Jitter)
		a.MaxJitter = max(a.MaxJitter, b.MaxJitter)
		return
	}
	if a.hist == nil {
		a.hist = make([]uint32, arrivalBuckets)
	}
	for i, n := range b.hist {
		a.hist[i] += n
	}
	a.Gaps += b.Gaps
	a.Max = max(a.Max, b.Max)
	a.Jitter = max(a.Jitter, b.Jitter)
	a.MaxJitter = max(a.MaxJitter, b.MaxJitter)
}

// arrivalTracker is the per-session state behind Arrivals; rtpSession.mu
// guards it.
type arrivalTracker struct {
	have   bool // a previous audio packet is known
	ssrc   uint32
	seq    uint16
	ts     uint32
	at     time.Time
	jitter float64 // RFC 3550 J, in nanoseconds

	gaps      int
	max       time.Duration
	maxJitter float64
	hist      *[arrivalBuckets]uint32
}

// add accounts for one audio packet that arrived at at.
func (t *arrivalTracker) add(ssrc uint32, seq uint16, ts uint32, at time.Time) {
	if !t.have || ssrc != t.ssrc {
		*t = arrivalTracker{have: true, ssrc: ssrc, seq: seq, ts: ts, at: at,
			gaps: t.gaps, max: t.max, maxJitter: t.maxJitter, hist: t.hist}
		return
	}
	// D(i-1, i) of RFC 3550 §6.4.1 in nanoseconds: arrival spacing minus
	// timestamp spacing (int32 so that timestamps may wrap).
	sent := int64(int32(ts-t.ts)) * int64(time.Second) / g711Rate
	d := at.Sub(t.at) - time.Duration(sent)
	if d < 0 {
		d = -d
	}
	t.jitter += (float64(d) - t.jitter) / 16
	t.maxJitter = max(t.maxJitter, t.jitter)
	if seq == t.seq+1 {
		if t.hist == nil {
			t.hist = new([arrivalBuckets]uint32)
		}
		t.hist[min(int(d/ArrivalBucket), arrivalBuckets-1)]++
		t.gaps++
		t.max = max(t.max, d)
	}
	t.seq, t.ts, t.at = seq, ts, at
}

// snapshot copies the measure out.
func (t *arrivalTracker) snapshot() Arrivals {
	a := Arrivals{Gaps: t.gaps, Max: t.max, Jitter: time.Duration(t.jitter), MaxJitter: time.Duration(t.maxJitter)}
	if t.hist != nil {
		a.hist = append([]uint32(nil), t.hist[:]...)
	}
	return a
}

// reset forgets the deviations measured so far but keeps the previous
// packet and the running jitter estimate, so the next packet is measured.
func (t *arrivalTracker) reset() {
	t.gaps, t.max, t.maxJitter = 0, 0, t.jitter
	if t.hist != nil {
		clear(t.hist[:])
	}
}

// Arrivals returns the pacing of the audio received since the call started
// or since the last ResetArrivals.
func (c *Call) Arrivals() Arrivals {
	c.rtp.mu.Lock()
	defer c.rtp.mu.Unlock()
	return c.rtp.arrivals.snapshot()
}

// ResetArrivals starts a new measuring window: Arrivals forgets what was
// measured before, but the next packet's gap to the last one still counts.
func (c *Call) ResetArrivals() {
	c.rtp.mu.Lock()
	defer c.rtp.mu.Unlock()
	c.rtp.arrivals.reset()
}
