// Package latency keeps a lock-free histogram of durations and estimates
// percentiles from it.
package latency

import (
	"math"
	"sort"
	"sync/atomic"
	"time"
)

// Buckets grow by 2^(1/4) (about 19 %) from 1 µs, so a percentile is known
// within one bucket, up to 19 % high; the last bucket catches everything
// over about 70 s.
const (
	perDoubling = 4
	numBuckets  = 27 * perDoubling
)

// Histogram counts durations. The zero value is not usable; use New. Its
// methods are safe for concurrent use.
type Histogram struct {
	bounds [numBuckets]time.Duration // upper bound of each bucket
	counts [numBuckets + 1]atomic.Uint64
	sum    atomic.Int64
	n      atomic.Uint64
}

// New returns an empty histogram.
func New() *Histogram {
	h := &Histogram{}
	for i := range h.bounds {
		h.bounds[i] = time.Duration(float64(time.Microsecond) * math.Pow(2, float64(i)/perDoubling))
	}
	return h
}

// Observe adds one duration.
func (h *Histogram) Observe(d time.Duration) {
	i := sort.Search(numBuckets, func(i int) bool { return h.bounds[i] >= d })
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
	h.n.Add(1)
}

// Count is the number of durations observed.
func (h *Histogram) Count() uint64 { return h.n.Load() }

// Sum is the total of the durations observed.
func (h *Histogram) Sum() time.Duration { return time.Duration(h.sum.Load()) }

// Quantile estimates the q-quantile (0 < q ≤ 1) as the upper bound of the
// bucket that holds it; 0 when nothing was observed.
func (h *Histogram) Quantile(q float64) time.Duration {
	var counts [numBuckets + 1]uint64
	var total uint64
	for i := range counts {
		counts[i] = h.counts[i].Load()
		total += counts[i]
	}
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	for i, c := range counts {
		seen += c
		if seen >= rank {
			if i == numBuckets {
				return time.Duration(math.MaxInt64)
			}
			return h.bounds[i]
		}
	}
	return h.bounds[numBuckets-1]
}
