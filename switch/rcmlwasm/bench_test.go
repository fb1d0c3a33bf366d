package rcmlwasm_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/patchbay/patchbay/plugins/rcml"
	"github.com/patchbay/patchbay/switch/rcmlwasm"
)

// BenchmarkParse parses the typical ~1 KiB IVR document: "miss" in the
// sandbox every time (the cache is off), "hit" from the cache, "native" with
// rcml.Handle in-process for comparison. Each reports p50 and p99.
func BenchmarkParse(b *testing.B) {
	doc := rcml.Document{Body: []byte(typicalDoc), URL: docURL, ContentType: "text/xml"}
	b.Run("miss", func(b *testing.B) {
		in := newInterpreter(b, rcmlwasm.WithCacheEntries(0))
		measure(b, func() (*rcml.Plan, error) { return in.Handle(context.Background(), doc) })
	})
	b.Run("hit", func(b *testing.B) {
		in := newInterpreter(b)
		measure(b, func() (*rcml.Plan, error) { return in.Handle(context.Background(), doc) })
	})
	b.Run("native", func(b *testing.B) {
		measure(b, func() (*rcml.Plan, error) { return rcml.Handle(doc) })
	})
}

// BenchmarkParseDistinct parses documents that differ in one attribute, so
// every one misses a cache that is on: the cost of a new document in
// production (hashing and caching included).
func BenchmarkParseDistinct(b *testing.B) {
	in := newInterpreter(b)
	i := 0
	measure(b, func() (*rcml.Plan, error) {
		i++
		body := typicalDoc + "<!-- " + strconv.Itoa(i) + " -->"
		return in.Handle(context.Background(), rcml.Document{Body: []byte(body), URL: docURL, ContentType: "text/xml"})
	})
}

// warmParses run before measuring. A switch parses for days; its first
// parses after start also pay for the host's first collections of what
// compiling the guest left behind and for the guest's heap growing to its
// working size, which takes until its first collection (the guest collects
// every 2,048 parses; see plugins/rcml/guest): start-up, not what a parse
// costs.
const warmParses = 2500

func measure(b *testing.B, parse func() (*rcml.Plan, error)) {
	b.Helper()
	for range warmParses { // an instance, the cache, steady heaps
		if _, err := parse(); err != nil {
			b.Fatal(err)
		}
	}
	times := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		p, err := parse()
		if err != nil || len(p.Verbs) != 7 {
			b.Fatalf("plan %+v, %v", p, err)
		}
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(times[len(times)*99/100].Nanoseconds())/1e3, "p99-µs")
}
