package latency

import (
	"sync"
	"testing"
	"time"
)

func TestQuantileWithinOneBucket(t *testing.T) {
	h := New()
	for i := 1; i <= 1000; i++ {
		h.Observe(time.Duration(i) * time.Microsecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}} {
		got := h.Quantile(tc.q)
		if got < tc.want || float64(got) > float64(tc.want)*1.2 {
			t.Errorf("Quantile(%v) = %v, want within [%v, %v]", tc.q, got, tc.want, time.Duration(float64(tc.want)*1.2))
		}
	}
	if h.Count() != 1000 {
		t.Errorf("Count = %d", h.Count())
	}
	if want := 500500 * time.Microsecond; h.Sum() != want {
		t.Errorf("Sum = %v, want %v", h.Sum(), want)
	}
}

func TestEmptyAndConcurrent(t *testing.T) {
	h := New()
	if h.Quantile(0.99) != 0 {
		t.Fatal("empty histogram has a p99")
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				h.Observe(time.Millisecond)
			}
		})
	}
	wg.Wait()
	if h.Count() != 8000 {
		t.Fatalf("Count = %d, want 8000", h.Count())
	}
	if q := h.Quantile(0.5); q < time.Millisecond || q > 1200*time.Microsecond {
		t.Fatalf("p50 = %v", q)
	}
}
