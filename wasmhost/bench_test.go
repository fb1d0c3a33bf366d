package wasmhost_test

import (
	"context"
	"runtime"
	"slices"
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
	m := load(b, h, guest(b, trivialDir), wasmhost.ModuleOptions{Name: "trivial"})
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
