package embedded_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/patchbay/patchbay/plugins/rcml"
	"github.com/patchbay/patchbay/plugins/rcml/guest/embedded"
	"github.com/patchbay/patchbay/plugins/rcml/guest/wire"
	"github.com/patchbay/patchbay/plugins/rcml/rcmltest"
	"github.com/patchbay/patchbay/wasmhost/gojumps"
)

// terminationModule instantiates the embedded guest in a bare wazero runtime
// with or without WithCloseOnContextDone.
func terminationModule(b *testing.B, close bool) (api.Module, func()) {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(close))
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	// What wasmhost compiles: forward jumps rewritten (package gojumps).
	fast, _, err := gojumps.Rewrite(embedded.Module())
	if err != nil {
		b.Fatal(err)
	}
	cm, err := rt.CompileModule(ctx, fast)
	if err != nil {
		b.Fatal(err)
	}
	mod, err := rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := mod.ExportedFunction("_initialize").Call(ctx); err != nil {
		b.Fatal(err)
	}
	return mod, func() { rt.Close(ctx) }
}

func pct(b *testing.B, times []time.Duration) {
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(times[len(times)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// BenchmarkTermination is for analysis only: wasmhost never runs a guest
// without WithCloseOnContextDone. It calls the embedded guest in a bare wazero
// runtime with the option ("close") and without it ("noclose"): "empty" is
// patchbay_abi_version, a call that does nothing (what a call costs on its
// own: wazero starts a goroutine per call when the option is on), "handle" a
// parse of the typical document (patchbay_alloc, the copy in, the hook) with
// its p50 and p99. The difference between the two is the checks'
// cost; BenchmarkLoopHeaders counts them.
func BenchmarkTermination(b *testing.B) {
	input := wire.AppendInput(nil, rcml.Document{Body: []byte(typicalDoc), URL: docURL, ContentType: "text/xml"})
	for _, close := range []bool{true, false} {
		name := "close"
		if !close {
			name = "noclose"
		}
		b.Run(name+"/empty", func(b *testing.B) {
			mod, done := terminationModule(b, close)
			defer done()
			f := mod.ExportedFunction("patchbay_abi_version")
			ctx := context.Background()
			stack := make([]uint64, 2)
			for b.Loop() {
				if err := f.CallWithStack(ctx, stack); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/handle", func(b *testing.B) {
			mod, done := terminationModule(b, close)
			defer done()
			alloc := mod.ExportedFunction("patchbay_alloc")
			h := mod.ExportedFunction("patchbay_hook_rcml_handle")
			ctx := context.Background()
			stack := make([]uint64, 2)
			call := func() {
				stack[0] = uint64(len(input))
				if err := alloc.CallWithStack(ctx, stack); err != nil {
					b.Fatal(err)
				}
				ptr := uint32(stack[0])
				mod.Memory().Write(ptr, input)
				stack[0], stack[1] = uint64(ptr), uint64(len(input))
				if err := h.CallWithStack(ctx, stack); err != nil {
					b.Fatal(err)
				}
			}
			call()
			times := make([]time.Duration, 0, b.N)
			for b.Loop() {
				t := time.Now()
				call()
				times = append(times, time.Since(t))
			}
			pct(b, times)
		})
	}
}

// typicalDoc is the typical ~1 KiB IVR document every RCML benchmark and
// differential test parses.
var typicalDoc = rcmltest.Typical()

const docURL = "http://app.example.com/ivr/start.xml"
