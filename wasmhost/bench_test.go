package wasmhost_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchbay/patchbay/sdk"
	"github.com/patchbay/patchbay/wasmhost"
)

// BenchmarkDecision is one redirect decision of a trivial SDK plugin on a
// pooled instance, encoding of the input and decoding and validation of
// the output included. It reports p50 and p99 of the per-decision time.
func BenchmarkDecision(b *testing.B) {
	h := newHost(b, wasmhost.Config{})
	measureDecisions(b, load(b, h, guest(b, trivialDir), wasmhost.ModuleOptions{Name: "trivial"}))
}

// BenchmarkDecisionBesideALoop is BenchmarkDecision while another tenant's
// plugin spins in an infinite loop, invoked again each time its 200 ms
// budget stops it: what one tenant's runaway plugin costs the others. The
// loop holds one core; the decisions have the rest.
func BenchmarkDecisionBesideALoop(b *testing.B) {
	h := newHost(b, wasmhost.Config{})
	good := load(b, h, guest(b, trivialDir), wasmhost.ModuleOptions{Name: "trivial"})
	bad := load(b, h, guest(b, hostileDir), wasmhost.ModuleOptions{Name: "loop", Timeout: 200 * time.Millisecond, Hooks: []string{"loop"}})
	ctx, stop := context.WithCancel(context.Background())
	var looping sync.WaitGroup
	var timeouts atomic.Int64
	looping.Go(func() {
		for ctx.Err() == nil {
			if _, err := bad.Invoke(ctx, "loop", []byte("x"), wasmhost.CallInfo{}); errors.Is(err, wasmhost.ErrTimeout) {
				timeouts.Add(1)
			}
		}
	})
	// A cleanup, not code after measureDecisions, so the loop stops before
	// the host closes even when the measurement fails the benchmark.
	b.Cleanup(func() { stop(); looping.Wait() })
	measureDecisions(b, good)
	stop()
	looping.Wait()
	b.ReportMetric(float64(timeouts.Load()), "loop-timeouts")
}

// measureDecisions times redirect decisions of m, encoding and decoding
// included, and reports their p50 and p99.
func measureDecisions(b *testing.B, m *wasmhost.Module) {
	in := sdk.RedirectInput{
		Call:    sdk.Call{Sid: "CA0123456789abcdef0123456789abcdef", AccountSid: "AC0123456789abcdef0123456789abcdef", From: "+15550001", To: "+15550002", Direction: "inbound", Status: "in-progress", URL: "https://app.example.com/rcml/start"},
		Request: sdk.RedirectRequest{URL: "https://app.example.com/rcml/next", Method: "POST", RequesterSid: "AC0123456789abcdef0123456789abcdef"},
		Config:  "deny",
	}
	ctx := context.Background()
	info := wasmhost.CallInfo{CallSid: in.Call.Sid}
	var buf []byte
	times := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		buf = sdk.AppendRedirectInput(buf[:0], in)
		out, err := m.Invoke(ctx, sdk.HookRedirect, buf, info)
		if err != nil {
			b.Fatal(err)
		}
		var d sdk.Decision
		if err := sdk.DecodeDecision(out, &d); err != nil || d.Validate(sdk.HookRedirect) != nil || d.Verdict != sdk.VerdictDeny {
			b.Fatalf("decision %+v, %v", d, err)
		}
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(times[len(times)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkCompile loads a Go guest into a fresh host: "cold" compiles it,
// "cached" finds it in the on-disk compilation cache (a restart).
func BenchmarkCompile(b *testing.B) {
	wasm := guest(b, trivialDir)
	ctx := context.Background()
	run := func(b *testing.B, cacheDir func() string) {
		for b.Loop() {
			h, err := wasmhost.New(ctx, wasmhost.Config{CacheDir: cacheDir()})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := h.Load(ctx, wasm, wasmhost.ModuleOptions{}); err != nil {
				b.Fatal(err)
			}
			h.Close(ctx)
		}
	}
	b.Run("cold", func(b *testing.B) { run(b, b.TempDir) })
	b.Run("cached", func(b *testing.B) {
		dir := b.TempDir()
		h := newHost(b, wasmhost.Config{CacheDir: dir})
		load(b, h, wasm, wasmhost.ModuleOptions{})
		b.ResetTimer()
		run(b, func() string { return dir })
	})
}

// BenchmarkLoadShared loads the same Go guest as another plugin of a host
// that already compiled it: the cost of one more tenant's plugin (start and
// validate one instance). It reports the memory each loaded plugin holds.
func BenchmarkLoadShared(b *testing.B) {
	wasm := guest(b, trivialDir)
	h := newHost(b, wasmhost.Config{IdleMemoryBytes: -1})
	load(b, h, wasm, wasmhost.ModuleOptions{})
	ctx := context.Background()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	idle0 := h.Stats().IdleBytes
	var mods []*wasmhost.Module
	b.ResetTimer()
	for b.Loop() {
		m, err := h.Load(ctx, wasm, wasmhost.ModuleOptions{})
		if err != nil {
			b.Fatal(err)
		}
		mods = append(mods, m)
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	n := float64(len(mods))
	b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/n/(1<<20), "heap-MiB/plugin")
	b.ReportMetric(float64(h.Stats().IdleBytes-idle0)/n/(1<<20), "guest-MiB/plugin")
	for _, m := range mods {
		m.Close()
	}
}

// BenchmarkHandWrittenEcho is the host's own cost: a 400-byte input
// through a hand-written (non-Go) guest that returns it unchanged.
func BenchmarkHandWrittenEcho(b *testing.B) {
	h := newHost(b, wasmhost.Config{})
	m := load(b, h, assemble(nil, append(abiFuncs(1), echoHook), 1), wasmhost.ModuleOptions{})
	in := make([]byte, 400)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Invoke(ctx, "echo", in, wasmhost.CallInfo{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkManyTenantsUnderBudget loads the same Go guest as b.N plugins
// into a host whose idle instances may hold 32 MiB in all, and reports the
// Go heap each plugin costs once its warm instance has been evicted (the
// compiled code is shared here; distinct modules each keep theirs).
func BenchmarkManyTenantsUnderBudget(b *testing.B) {
	wasm := guest(b, trivialDir)
	const budget = 32 << 20
	h := newHost(b, wasmhost.Config{IdleMemoryBytes: budget})
	load(b, h, wasm, wasmhost.ModuleOptions{})
	ctx := context.Background()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var mods []*wasmhost.Module
	for b.Loop() {
		m, err := h.Load(ctx, wasm, wasmhost.ModuleOptions{})
		if err != nil {
			b.Fatal(err)
		}
		mods = append(mods, m)
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if idle := h.Stats().IdleBytes; idle > budget {
		b.Fatalf("idle instances hold %d bytes, over the %d budget", idle, budget)
	}
	b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/(1<<20), "heap-MiB-total")
	b.ReportMetric(float64(h.Stats().IdleBytes)/(1<<20), "idle-MiB")
	for _, m := range mods {
		m.Close()
	}
}

// BenchmarkDistinctModulesUnderBudget loads b.N distinct Go guests (the
// trivial one with a unique custom section each, so each is compiled on
// its own), invokes each once, then all of them once more, with at most
// 3 compiled modules resident ("budget3") or no bound ("unbounded"). It
// reports the process's resident memory growth (machine code lives outside
// the Go heap) and the Go heap growth; the compilation cache is shared, so
// run the unbounded case to warm it or read the first case's time as cold.
func BenchmarkDistinctModulesUnderBudget(b *testing.B) {
	base := guest(b, trivialDir)
	cacheDir := b.TempDir()
	for _, tc := range []struct {
		name   string
		budget int
	}{{"unbounded", 0}, {"budget3", 3}} {
		b.Run(tc.name, func(b *testing.B) {
			h := newHost(b, wasmhost.Config{CacheDir: cacheDir, MaxCompiledModules: tc.budget, IdleMemoryBytes: 32 << 20, LoadTimeout: 30 * time.Second})
			ctx := context.Background()
			in := sdk.AppendRedirectInput(nil, sdk.RedirectInput{Config: "deny", Call: sdk.Call{Sid: "CA1"}})
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			rss0 := rssBytes(b)
			var mods []*wasmhost.Module
			i := 0
			for b.Loop() {
				wasm := append(slices.Clip(base), section(0, append(name("patchbay-bench"), uleb(uint64(i))...))...)
				i++
				m, err := h.Load(ctx, wasm, wasmhost.ModuleOptions{})
				if err != nil {
					b.Fatal(err)
				}
				mods = append(mods, m)
			}
			for _, m := range mods {
				if _, err := m.Invoke(ctx, sdk.HookRedirect, in, wasmhost.CallInfo{}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			runtime.GC()
			runtime.ReadMemStats(&after)
			s := h.Stats()
			if tc.budget > 0 && s.ResidentCompiled > tc.budget {
				b.Fatalf("%d compiled modules resident, budget %d", s.ResidentCompiled, tc.budget)
			}
			b.ReportMetric(float64(rssBytes(b)-rss0)/(1<<20), "rss-MiB-total")
			b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/(1<<20), "heap-MiB-total")
			b.ReportMetric(float64(s.ResidentCompiled), "resident-compiled")
			b.ReportMetric(float64(s.Recompilations), "recompilations")
			for _, m := range mods {
				m.Close()
			}
		})
	}
}

// rssBytes is the process's resident memory (Linux).
func rssBytes(tb testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		tb.Fatalf("reading resident memory: %v", err)
	}
	var size, rss int64
	if _, err := fmt.Sscan(string(b), &size, &rss); err != nil {
		tb.Fatal(err)
	}
	return rss * int64(os.Getpagesize())
}
