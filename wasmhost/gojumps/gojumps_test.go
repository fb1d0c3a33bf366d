package gojumps_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/patchbay/patchbay/plugins/rcml"
	"github.com/patchbay/patchbay/plugins/rcml/guest/embedded"
	"github.com/patchbay/patchbay/plugins/rcml/guest/wire"
	"github.com/patchbay/patchbay/plugins/rcml/rcmltest"
	"github.com/patchbay/patchbay/wasmhost/gojumps"
)

// Two functions in the shape the Go toolchain gives a function with jumps
// (a dispatch loop: blocks, local.get of PC_B, br_table; each jump sets
// PC_B and branches to the loop), written by hand so the test knows every
// jump. Both take the entry PC_B as their parameter (local 0).
var (
	// walk: segment 0 counts local 1 up to 3 by jumping to itself
	// (backward), then jumps to segment 2 (forward, the only one); segment
	// 2 jumps back to segment 1 (backward) when the count is 3, else
	// returns it; segment 1 returns 100 + count. From PC 0 it returns 103,
	// from 1 100, from 2 0, from an out-of-table PC (default: segment 0)
	// 103.
	walk = []byte{
		0x01, 0x01, 0x7f, // one i32 local: the count
		0x03, 0x40, // loop
		0x02, 0x40, 0x02, 0x40, 0x02, 0x40, // three dispatch blocks
		0x20, 0x00, // local.get 0 (PC_B)
		0x0e, 0x03, 0x00, 0x01, 0x02, 0x00, // br_table [0 1 2] default 0
		0x0b,                                     // end: segment 0
		0x20, 0x01, 0x41, 0x01, 0x6a, 0x21, 0x01, // count++
		0x20, 0x01, 0x41, 0x03, 0x48, // count < 3
		0x04, 0x40, // if
		0x41, 0x00, 0x21, 0x00, 0x0c, 0x03, // PC_B = 0; br loop (backward)
		0x0b,                               // end if
		0x41, 0x02, 0x21, 0x00, 0x0c, 0x02, // PC_B = 2; br loop (forward)
		0x0b,                                     // end: segment 1
		0x41, 0xe4, 0x00, 0x20, 0x01, 0x6a, 0x0f, // return 100 + count
		0x0b,                         // end: segment 2
		0x20, 0x01, 0x41, 0x03, 0x46, // count == 3
		0x04, 0x40, // if
		0x41, 0x01, 0x21, 0x00, 0x0c, 0x01, // PC_B = 1; br loop (backward)
		0x0b,             // end if
		0x20, 0x01, 0x0f, // return count
		0x0b, // end loop
		0x00, // unreachable
		0x0b, // end
	}
	// forwardAt is the offset in walk of the forward br's depth.
	forwardAt = bytes.Index(walk, []byte{0x41, 0x02, 0x21, 0x00, 0x0c, 0x02}) + 5

	// spin jumps to its own segment forever.
	spin = []byte{
		0x00,       // no locals
		0x03, 0x40, // loop
		0x02, 0x40, // one dispatch block
		0x20, 0x00, 0x0e, 0x00, 0x00, // local.get 0; br_table [] default 0
		0x0b,                               // end: segment 0
		0x41, 0x00, 0x21, 0x00, 0x0c, 0x00, // PC_B = 0; br loop
		0x0b, 0x00, 0x0b, // end loop; unreachable; end
	}
)

// forwardOnly jumps from segment 0 to segment 1 only, so after the rewrite
// nothing branches to its loop: the loop becomes a block. It returns 42
// from PC 0 and 1.
var forwardOnly = []byte{
	0x00,       // no locals
	0x03, 0x40, // loop (offset 1 in the body)
	0x02, 0x40, 0x02, 0x40, // two dispatch blocks
	0x20, 0x00, 0x0e, 0x02, 0x00, 0x01, 0x00, // local.get 0; br_table [0 1] default 0
	0x0b,                               // end: segment 0
	0x41, 0x01, 0x21, 0x00, 0x0c, 0x01, // PC_B = 1; br loop (forward)
	0x0b,                   // end: segment 1
	0x41, 0x2a, 0x0f, 0x0b, // return 42; end loop
	0x00, 0x0b, // unreachable; end
}

func TestALoopNothingBranchesToBecomesABlock(t *testing.T) {
	orig := module(forwardOnly, walk)
	out, st, err := gojumps.Rewrite(orig)
	if err != nil {
		t.Fatal(err)
	}
	if st.Forward != 2 || st.Unlooped != 1 {
		t.Errorf("stats %+v, want 2 forward jumps and 1 loop made a block", st)
	}
	at := bytes.Index(orig, forwardOnly) + 1
	if orig[at] != 0x03 || out[at] != 0x02 {
		t.Errorf("opcode at %d: %#x -> %#x, want loop -> block", at, orig[at], out[at])
	}
	// walk keeps its loop: it jumps backward.
	if w := bytes.Index(orig, walk) + 3; out[w] != 0x03 {
		t.Errorf("walk's loop became %#x", out[w])
	}
	mod := instantiate(t, out)
	for pc, want := range map[uint64]uint64{0: 42, 1: 42} {
		r, err := mod.ExportedFunction("f0").Call(context.Background(), pc)
		if err != nil || r[0] != want {
			t.Errorf("from PC %d: %v, %v; want %d", pc, r, err, want)
		}
	}
	if r, err := mod.ExportedFunction("f1").Call(context.Background(), 0); err != nil || r[0] != 103 {
		t.Errorf("walk after the rewrite: %v, %v; want 103", r, err)
	}
}

// module wraps function bodies of type (i32) -> i32, exported as f0, f1...
func module(bodies ...[]byte) []byte {
	sec := func(id byte, body []byte) []byte {
		return append([]byte{id, byte(len(body))}, body...)
	}
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, sec(1, []byte{1, 0x60, 1, 0x7f, 1, 0x7f})...)
	funcs := []byte{byte(len(bodies))}
	exports := []byte{byte(len(bodies))}
	code := []byte{byte(len(bodies))}
	for i, b := range bodies {
		funcs = append(funcs, 0)
		exports = append(exports, 2, 'f', byte('0'+i), 0x00, byte(i))
		code = append(code, byte(len(b)))
		code = append(code, b...)
	}
	m = append(m, sec(3, funcs)...)
	m = append(m, sec(7, exports)...)
	return append(m, sec(10, code)...)
}

func instantiate(t *testing.T, wasm []byte) api.Module {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(true))
	t.Cleanup(func() { rt.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	mod, err := rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	return mod
}

func TestRewritesOnlyTheForwardJump(t *testing.T) {
	orig := module(walk, spin)
	out, st, err := gojumps.Rewrite(orig)
	if err != nil {
		t.Fatal(err)
	}
	want := gojumps.Stats{Functions: 2, Dispatch: 2, Forward: 1, Backward: 3}
	if st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	if len(out) != len(orig) {
		t.Fatalf("rewritten module is %d bytes, the original %d", len(out), len(orig))
	}
	// The forward jump's br, at control depth 3 (loop and two open
	// dispatch blocks), now ends the outermost dispatch block: depth 1.
	at := bytes.Index(orig, walk) + forwardAt
	var diff []int
	for i := range orig {
		if orig[i] != out[i] {
			diff = append(diff, i)
		}
	}
	if len(diff) != 1 || diff[0] != at || out[at] != 1 {
		t.Errorf("changed bytes at %v (want only %d, to 1); byte there now %#x", diff, at, out[at])
	}
	if !bytes.Equal(orig, module(walk, spin)) {
		t.Error("Rewrite changed its input")
	}
}

func TestRewrittenCodeComputesTheSame(t *testing.T) {
	orig := module(walk)
	out, _, err := gojumps.Rewrite(orig)
	if err != nil {
		t.Fatal(err)
	}
	a, b := instantiate(t, orig).ExportedFunction("f0"), instantiate(t, out).ExportedFunction("f0")
	for pc, want := range map[uint64]uint64{0: 103, 1: 100, 2: 0, 7: 103} {
		ra, err := a.Call(context.Background(), pc)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := b.Call(context.Background(), pc)
		if err != nil {
			t.Fatal(err)
		}
		if ra[0] != want || rb[0] != want {
			t.Errorf("from PC %d: original %d, rewritten %d, want %d", pc, ra[0], rb[0], want)
		}
	}
}

// A jump that closes a cycle keeps its termination check, so a rewritten
// guest spinning forever is still stopped at its deadline.
func TestBackwardJumpsStillStopAtTheDeadline(t *testing.T) {
	out, _, err := gojumps.Rewrite(module(spin))
	if err != nil {
		t.Fatal(err)
	}
	f := instantiate(t, out).ExportedFunction("f0")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := f.Call(ctx, 0)
		done <- err
	}()
	select {
	case err := <-done:
		var exit *sys.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != sys.ExitCodeDeadlineExceeded {
			t.Fatalf("spin ended with %v, want a deadline exit", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the spinning guest was not stopped")
	}
}

func TestLeavesOtherCodeAlone(t *testing.T) {
	plain := []byte{0x00, 0x20, 0x00, 0x41, 0x01, 0x6a, 0x0b} // local.get 0; i32.const 1; i32.add
	orig := module(plain)
	out, st, err := gojumps.Rewrite(orig)
	if err != nil || !bytes.Equal(out, orig) || st.Dispatch != 0 || st.Forward != 0 {
		t.Fatalf("Rewrite of a function without a dispatch loop: %+v, %v, changed %v", st, err, !bytes.Equal(out, orig))
	}
	simd := []byte{0x00, 0xfd, 0x0c, 0x0b}
	if _, _, err := gojumps.Rewrite(module(simd)); err == nil {
		t.Error("an unknown opcode was not reported: the caller would compile a half-read module")
	}
	for _, bad := range [][]byte{nil, []byte("\x00asm"), []byte("not wasm at all"), orig[:len(orig)-3]} {
		if _, _, err := gojumps.Rewrite(bad); err == nil {
			t.Errorf("Rewrite(%q) succeeded", bad)
		}
	}
}

// The RCML guest, as the Go toolchain built it, parses the typical document
// to the same plan before and after the rewrite, and most of its jumps are
// forward.
func TestGoGuestParsesTheSame(t *testing.T) {
	orig := embedded.Module()
	out, st, err := gojumps.Rewrite(orig)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", st)
	if st.Dispatch == 0 || st.Forward <= st.Backward || st.Unlooped == 0 {
		t.Errorf("stats %+v: expected Go's dispatch loops with mostly forward jumps", st)
	}
	input := wire.AppendInput(nil, rcml.Document{Body: []byte(rcmltest.Typical()), URL: "https://app.example.com/ivr/start", ContentType: "text/xml"})
	parse := func(wasm []byte) []byte {
		mod := instantiate(t, wasm)
		ctx := context.Background()
		if _, err := mod.ExportedFunction("_initialize").Call(ctx); err != nil {
			t.Fatal(err)
		}
		r, err := mod.ExportedFunction("patchbay_alloc").Call(ctx, uint64(len(input)))
		if err != nil {
			t.Fatal(err)
		}
		mod.Memory().Write(uint32(r[0]), input)
		res, err := mod.ExportedFunction("patchbay_hook_rcml_handle").Call(ctx, r[0], uint64(len(input)))
		if err != nil {
			t.Fatal(err)
		}
		b, ok := mod.Memory().Read(uint32(res[0]>>32), uint32(res[0]))
		if !ok || len(b) == 0 {
			t.Fatalf("output %#x out of memory", res[0])
		}
		return bytes.Clone(b)
	}
	a, b := parse(orig), parse(out)
	if !bytes.Equal(a, b) {
		t.Fatalf("plans differ:\noriginal  %s\nrewritten %s", a, b)
	}
	if !bytes.Contains(a, []byte("Gather")) && !bytes.Contains(a, []byte("gather")) {
		t.Fatalf("plan %s does not look like the typical document's", a)
	}
}

// An i32.const target written over-long (five bytes, which wazero accepts)
// is the value of its low 32 bits: here 0, a backward jump, not the huge
// negative number a 64-bit reading gives, which would fall to the
// br_table's default and jump forward.
func TestOverlongJumpTargetMeansItsLow32Bits(t *testing.T) {
	body := []byte{
		0x01, 0x01, 0x7f, // one i32 local: the count
		0x03, 0x40, 0x02, 0x40, 0x02, 0x40, // loop; two dispatch blocks
		0x20, 0x00, 0x0e, 0x01, 0x00, 0x01, 0x0b, // local.get 0; br_table [0] default 1; end: segment 0
		0x20, 0x01, 0x41, 0x01, 0x6a, 0x22, 0x01, // count++ (tee)
		0x41, 0x02, 0x4e, 0x04, 0x40, 0x20, 0x01, 0x0f, 0x0b, // if count >= 2: return count
		0x41, 0x80, 0x80, 0x80, 0x80, 0x40, 0x21, 0x00, 0x0c, 0x01, // PC_B = 0, over-long; br loop
		0x0b, 0x41, 0xe4, 0x00, 0x0f, // end: segment 1: return 100
		0x0b, 0x00, 0x0b,
	}
	orig := module(body)
	out, st, err := gojumps.Rewrite(orig)
	if err != nil {
		t.Fatal(err)
	}
	if st.Forward != 0 || st.Backward != 1 || st.Unlooped != 0 {
		t.Errorf("stats %+v, want the jump seen as backward and the loop kept", st)
	}
	for _, wasm := range [][]byte{orig, out} {
		r, err := instantiate(t, wasm).ExportedFunction("f0").Call(context.Background(), 0)
		if err != nil || r[0] != 2 {
			t.Fatalf("f0(0) = %v, %v; want 2", r, err)
		}
	}
}

// BenchmarkRewriteRCMLGuest is the rewrite's share of loading the 3.3 MB
// RCML guest (wasmhost rewrites before every compile, including loads from
// the on-disk compilation cache, which take ~40 ms).
func BenchmarkRewriteRCMLGuest(b *testing.B) {
	wasm := embedded.Module()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := gojumps.Rewrite(wasm); err != nil {
			b.Fatal(err)
		}
	}
}
