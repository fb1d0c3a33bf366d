package gojumps_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/patchbay/patchbay/wasmhost/gojumps"
)

// The generated functions have Go's shape, type (i32) -> i32, with the
// parameter as PC_B, so a caller picks the entry segment as Go's resumption
// does.
const (
	fzPC      = 0 // PC_B, the local the br_table reads
	fzCounter = 1 // folds in every segment entered, so a wrong target shows
	fzSteps   = 2 // entries left: bounds the original, which may cycle

	fzSentinel = -0x5e5e // returned when the steps run out
	fzFellOut  = 7777    // added when control falls out of the loop
)

// fzJump is a generated "i32.const K; local.set PC_B; br <loop>".
type fzJump struct {
	at      int    // offset in the body of the br's depth
	size    int    // the depth's byte length, which Rewrite must keep
	forward bool   // K's segment starts after the jump: Rewrite must redirect it
	depth   uint32 // the depth of the end of that segment's dispatch block
}

// fzFunc is a generated function and what Rewrite should do to it.
type fzFunc struct {
	body     []byte
	jumps    []fzJump
	loopAt   int      // offset of the dispatch loop's opcode; -1 if Rewrite must leave it (another loop comes first)
	loopUses int      // branches that must keep going to the loop
	pcs      []uint64 // entry PCs worth calling with
}

// fzSource turns fuzz input into choices; past its end every choice is 0,
// so any input gives a program.
type fzSource struct {
	b []byte
	i int
}

func (s *fzSource) byte() byte {
	if s.i >= len(s.b) {
		return 0
	}
	c := s.b[s.i]
	s.i++
	return c
}

// intn returns a number in [0, n), from as few bytes as n needs, so that a
// mutation of one byte changes one choice.
func (s *fzSource) intn(n int) int {
	if n <= 1 {
		return 0
	}
	v := 0
	for m := 1; m < n; m <<= 8 {
		v = v<<8 | int(s.byte())
	}
	return v % n
}

type fzGen struct {
	src    *fzSource
	f      *fzFunc
	b      []byte
	n      int      // segments, and dispatch blocks
	table  []uint32 // the dispatch br_table's labels, by PC
	def    uint32   // its default label
	seg    int      // the segment being generated
	open   []byte   // opcodes of the constructs open in the segment, innermost last
	budget int      // items left, to keep bodies small enough to run fast
}

// fzGenerate makes a function with Go's dispatch loop from src.
func fzGenerate(src *fzSource) *fzFunc {
	g := &fzGen{src: src, f: &fzFunc{}, n: 1 + src.intn(8), budget: 40}
	wraps := src.intn(3)
	// A loop before the dispatch loop makes Rewrite leave the function:
	// only the first loop can be Go's. (Not on 0, which an exhausted input
	// reads as.)
	otherLoopFirst := src.intn(8) == 7
	g.b = []byte{1, 2, 0x7f} // two i32 locals: fzCounter, fzSteps
	g.b = append(g.b, 0x41)
	g.s32(int32(1 + src.intn(48)))
	g.b = append(g.b, 0x21, fzSteps)
	if otherLoopFirst {
		g.b = append(g.b, 0x03, 0x40, 0x0b)
	}
	// Blocks around the loop put it deeper in the control stack, and
	// br_table labels past the loop leave through them.
	for range wraps {
		g.b = append(g.b, 0x02, 0x40)
	}
	g.f.loopAt = len(g.b)
	if otherLoopFirst {
		g.f.loopAt = -1
	}
	g.b = append(g.b, 0x03, 0x40)
	for range g.n {
		g.b = append(g.b, 0x02, 0x40)
	}
	label := func() uint32 {
		if wraps > 0 && src.intn(8) == 7 {
			return uint32(g.n + 1 + src.intn(wraps))
		}
		return uint32(src.intn(g.n))
	}
	g.table = make([]uint32, src.intn(g.n+3))
	for i := range g.table {
		g.table[i] = label()
		// A PC whose label is the loop itself spins in the header without
		// spending a step, so no jump uses one (see pc), and the default
		// is never the loop. The label still keeps the loop a loop.
		if i >= 2 && src.intn(10) == 9 {
			g.table[i] = uint32(g.n)
			g.f.loopUses++
		}
	}
	g.def = label()
	g.b = append(g.b, 0x20)
	g.u32(fzPC)
	g.b = append(g.b, 0x0e)
	g.u32(uint32(len(g.table)))
	for _, l := range g.table {
		g.u32(l)
	}
	g.u32(g.def)
	g.b = append(g.b, 0x0b)
	for g.seg = 0; g.seg < g.n; g.seg++ {
		g.segment()
		if g.seg < g.n-1 {
			g.b = append(g.b, 0x0b)
		}
	}
	g.b = append(g.b, 0x0b)
	for j := range wraps {
		// Each way out leaves a different counter.
		g.b = append(g.b, 0x0b)
		g.arith(0x6a, int32(j+1))
	}
	g.b = append(g.b, 0x20, fzCounter, 0x41)
	g.s32(fzFellOut)
	g.b = append(g.b, 0x6a, 0x0b)
	g.f.body = g.b

	for pc := range len(g.table) + 2 {
		if g.label(int32(pc)) != uint32(g.n) {
			g.f.pcs = append(g.f.pcs, uint64(pc))
		}
	}
	g.f.pcs = append(g.f.pcs, math.MaxUint32, 1<<31)
	return g.f
}

// pad picks the byte length of an immediate: LEB128 may be padded, and
// Rewrite must keep the length of what it rewrites.
func (g *fzGen) pad() int {
	if g.src.intn(8) != 7 {
		return 1
	}
	return 2 + g.src.intn(4)
}

func (g *fzGen) u32(v uint32) { g.b = fzAppendU32(g.b, v, g.pad()) }
func (g *fzGen) s32(v int32)  { g.b = fzAppendS32(g.b, v, g.pad()) }

func (g *fzGen) segment() {
	// Every way into a segment spends a step, so every cycle through the
	// dispatch loop does.
	g.b = append(g.b, 0x20, fzSteps, 0x41, 0x01, 0x6b, 0x22, fzSteps, 0x41, 0x00, 0x4c, 0x04, 0x40, 0x41)
	g.b = fzAppendS32(g.b, fzSentinel, 1)
	g.b = append(g.b, 0x0f, 0x0b)
	g.arith(0x6c, 31)
	g.arith(0x6a, int32(g.seg+1))
	g.items()
}

// items generates a few items, stopping after one that leaves the block:
// Go emits nothing after a jump.
func (g *fzGen) items() {
	for k := g.src.intn(6); k > 0 && g.budget > 0; k-- {
		g.budget--
		if g.item() {
			return
		}
	}
}

// item generates one piece of segment code and reports whether control
// never gets past it.
func (g *fzGen) item() bool {
	nest := len(g.open) < 2
	switch g.src.intn(14) {
	case 0:
		ops := []byte{0x6a, 0x6b, 0x6c, 0x73, 0x77, 0x78}
		g.arith(ops[g.src.intn(len(ops))], int32(g.src.intn(1<<16))-1<<15)
	case 1, 2:
		g.jump()
		return true
	case 3: // a conditional jump, as Go writes one
		if !nest {
			g.jump()
			return true
		}
		g.cond()
		g.enter(0x04)
		g.jump()
		if g.src.intn(3) == 0 {
			g.b = append(g.b, 0x05)
			g.items()
		}
		g.leave()
	case 4:
		if !nest {
			return g.ret()
		}
		g.cond()
		g.enter(0x04)
		g.items()
		if g.src.intn(2) == 0 {
			g.b = append(g.b, 0x05)
			g.items()
		}
		g.leave()
	case 5:
		if !nest {
			return g.ret()
		}
		g.enter(0x02)
		g.items()
		g.leave()
	case 6:
		return g.ret()
	case 7: // br_if to the loop: Rewrite leaves it, so the loop stays
		g.setPC(g.pc())
		g.cond()
		g.b = append(g.b, 0x0d)
		g.u32(g.loopDepth())
		g.f.loopUses++
	case 8: // br_table in a segment, to the loop, dispatch blocks, or ifs and blocks
		g.setPC(g.pc())
		g.b = append(g.b, 0x20, fzCounter, 0x41, 3, 0x70, 0x0e, 2)
		for range 3 {
			g.u32(g.target())
		}
		return true
	case 9: // straight to a later segment, not through the loop
		if g.seg == g.n-1 {
			return g.ret()
		}
		if g.src.intn(2) == 0 {
			g.setPC(g.pc())
		}
		g.b = append(g.b, 0x0c)
		g.u32(g.blockDepth(g.seg + 1 + g.src.intn(g.n-1-g.seg)))
		return true
	case 10:
		g.nearMiss()
		return true
	case 11: // a loop of its own, which is not the dispatch loop
		if !nest {
			return g.ret()
		}
		g.enter(0x03)
		g.items()
		// Each turn spends a step, so it ends.
		g.b = append(g.b, 0x20, fzSteps, 0x41, 0x01, 0x6b, 0x22, fzSteps, 0x41, 0x00, 0x4a, 0x0d, 0x00)
		g.leave()
	case 12: // out of an if or block of the segment
		if d, ok := g.exit(); ok {
			g.b = append(g.b, 0x0c)
			g.u32(d)
			return true
		}
		g.arith(0x6a, 1)
	case 13:
		// Returns are common in Go code between the jumps.
		if g.src.intn(2) == 0 {
			return g.ret()
		}
		g.arith(0x73, int32(g.src.intn(256)))
	}
	return false
}

func (g *fzGen) enter(op byte) {
	g.b = append(g.b, op, 0x40)
	g.open = append(g.open, op)
}

func (g *fzGen) leave() {
	g.b = append(g.b, 0x0b)
	g.open = g.open[:len(g.open)-1]
}

// arith sets the counter to counter op c.
func (g *fzGen) arith(op byte, c int32) {
	g.b = append(g.b, 0x20, fzCounter, 0x41)
	g.s32(c)
	g.b = append(g.b, op, 0x21, fzCounter)
}

func (g *fzGen) cond() {
	g.b = append(g.b, 0x20, byte(fzCounter+g.src.intn(2)), 0x41)
	g.s32(int32(g.src.intn(256)) - 64)
	ops := []byte{0x71, 0x49, 0x4a, 0x46, 0x47} // and, lt_u, gt_s, eq, ne
	g.b = append(g.b, ops[g.src.intn(len(ops))])
}

func (g *fzGen) ret() bool {
	g.b = append(g.b, 0x20, fzCounter, 0x41)
	g.s32(int32(g.seg*100 + g.src.intn(100)))
	g.b = append(g.b, 0x6a, 0x0f)
	return true
}

// pc picks a jump target: mostly in the table, but also just past it and
// far past it (negative as an i32), where the br_table's default decides.
func (g *fzGen) pc() int32 {
	l := len(g.table)
	switch g.src.intn(8) {
	case 0:
		return int32(l + g.src.intn(3))
	case 1:
		return []int32{-1, math.MinInt32, math.MaxInt32, 1 << 20}[g.src.intn(4)]
	}
	pc := g.src.intn(max(l, 1))
	if pc < l && g.table[pc] == uint32(g.n) {
		return int32(l)
	}
	return int32(pc)
}

// label is what the dispatch br_table does with pc.
func (g *fzGen) label(pc int32) uint32 {
	if uint32(pc) < uint32(len(g.table)) {
		return g.table[pc]
	}
	return g.def
}

func (g *fzGen) setPC(pc int32) {
	g.b = append(g.b, 0x41)
	g.s32(pc)
	g.b = append(g.b, 0x21)
	g.u32(fzPC)
}

func (g *fzGen) loopDepth() uint32 { return uint32(len(g.open) + g.n - 1 - g.seg) }

// blockDepth is the depth of the dispatch block whose end starts segment
// seg, which must come after the current one.
func (g *fzGen) blockDepth(seg int) uint32 { return uint32(len(g.open) + seg - g.seg - 1) }

// jump generates a Go jump and records what Rewrite should make of it.
func (g *fzGen) jump() {
	pc := g.pc()
	g.setPC(pc)
	g.b = append(g.b, 0x0c)
	j := fzJump{at: len(g.b)}
	g.u32(g.loopDepth())
	j.size = len(g.b) - j.at
	if l := g.label(pc); int(l) > g.seg && int(l) < g.n {
		j.forward, j.depth = true, g.blockDepth(int(l))
	} else {
		g.f.loopUses++
	}
	g.f.jumps = append(g.f.jumps, j)
}

// nearMiss generates a branch to the loop that is almost Go's jump but is
// not one, which Rewrite must leave on the loop.
func (g *fzGen) nearMiss() {
	pc := g.pc()
	switch g.src.intn(5) {
	case 0:
		g.setPC(pc)
		g.b = append(g.b, 0x01) // nop
	case 1: // sets the counter, not PC_B: the loop dispatches on the old PC_B
		g.b = append(g.b, 0x41)
		g.s32(pc)
		g.b = append(g.b, 0x21, fzCounter)
	case 2:
		g.b = append(g.b, 0x41)
		g.s32(pc)
		g.b = append(g.b, 0x22, fzPC, 0x1a) // local.tee; drop
	case 3:
		g.setPC(pc)
		g.b = append(g.b, 0x20, fzCounter, 0x21, fzCounter)
	case 4: // PC_B computed, not a constant: 0 or 1, never the loop's label
		g.b = append(g.b, 0x20, fzCounter, 0x41, 1, 0x71, 0x21)
		g.u32(fzPC)
	}
	g.b = append(g.b, 0x0c)
	g.u32(g.loopDepth())
	g.f.loopUses++
}

// exit picks the depth of an if or block open in the segment, never of a
// loop there: a branch back to that would not spend a step.
func (g *fzGen) exit() (uint32, bool) {
	var ds []uint32
	for d := range len(g.open) {
		if g.open[len(g.open)-1-d] != 0x03 {
			ds = append(ds, uint32(d))
		}
	}
	if len(ds) == 0 {
		return 0, false
	}
	return ds[g.src.intn(len(ds))], true
}

// target picks a label for a br_table in a segment.
func (g *fzGen) target() uint32 {
	switch g.src.intn(3) {
	case 1:
		if g.seg < g.n-1 {
			return g.blockDepth(g.seg + 1 + g.src.intn(g.n-1-g.seg))
		}
	case 2:
		if d, ok := g.exit(); ok {
			return d
		}
	}
	g.f.loopUses++
	return g.loopDepth()
}

// fzAppendU32 appends v as unsigned LEB128 of at least size bytes (at most 5).
func fzAppendU32(b []byte, v uint32, size int) []byte {
	for i := 1; ; i++ {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 && i >= size {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// fzAppendS32 appends v as signed LEB128 of at least size bytes (at most 5),
// padded as the spec allows, so that wazero reads the same value.
func fzAppendS32(b []byte, v int32, size int) []byte {
	x := int64(v)
	for i := 1; ; i++ {
		c := byte(x & 0x7f)
		x >>= 7
		if (x == 0 && c&0x40 == 0 || x == -1 && c&0x40 != 0) && i >= size {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// fzModule wraps function bodies of type (i32) -> i32, exported as f0,
// f1..., and returns where in the module each body starts.
func fzModule(bodies [][]byte) ([]byte, []int) {
	section := func(m []byte, id byte, payload []byte) []byte {
		m = append(m, id)
		m = fzAppendU32(m, uint32(len(payload)), 1)
		return append(m, payload...)
	}
	n := uint32(len(bodies))
	funcs := fzAppendU32(nil, n, 1)
	exports := fzAppendU32(nil, n, 1)
	code := fzAppendU32(nil, n, 1)
	var at []int
	for i, b := range bodies {
		funcs = append(funcs, 0)
		name := fmt.Sprintf("f%d", i)
		exports = append(fzAppendU32(exports, uint32(len(name)), 1), name...)
		exports = fzAppendU32(append(exports, 0x00), uint32(i), 1)
		code = fzAppendU32(code, uint32(len(b)), 1)
		at = append(at, len(code))
		code = append(code, b...)
	}
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = section(m, 1, []byte{1, 0x60, 1, 0x7f, 1, 0x7f})
	m = section(m, 3, funcs)
	m = section(m, 7, exports)
	base := len(m) + 1 + len(fzAppendU32(nil, uint32(len(code)), 1))
	for i := range at {
		at[i] += base
	}
	return section(m, 10, code), at
}

// fzRuntime is what Patchbay hosts run guests with.
func fzRuntime(ctx context.Context) wazero.Runtime {
	return wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(true))
}

// fzCheck generates a module from data and fails t unless Rewrite changes
// exactly the forward jumps and the loops left without branches, and every
// function returns the same from every entry PC after it.
func fzCheck(t *testing.T, data []byte) {
	t.Helper()
	src := &fzSource{b: data}
	funcs := make([]*fzFunc, 1+src.intn(3))
	bodies := make([][]byte, len(funcs))
	for i := range funcs {
		funcs[i] = fzGenerate(src)
		bodies[i] = funcs[i].body
	}
	orig, at := fzModule(bodies)
	in := bytes.Clone(orig)
	out, st, err := gojumps.Rewrite(orig)
	if err != nil {
		t.Fatalf("Rewrite of a well-formed module: %v\ninput %x", err, data)
	}
	if !bytes.Equal(orig, in) {
		t.Fatalf("Rewrite changed its input\ninput %x", data)
	}
	if len(out) != len(orig) {
		t.Fatalf("rewritten module is %d bytes, the original %d\ninput %x", len(out), len(orig), data)
	}

	want := gojumps.Stats{Functions: len(funcs)}
	expect := bytes.Clone(orig)
	for i, f := range funcs {
		if f.loopAt < 0 {
			continue
		}
		want.Dispatch++
		for _, j := range f.jumps {
			if !j.forward {
				want.Backward++
				continue
			}
			want.Forward++
			copy(expect[at[i]+j.at:], fzAppendU32(nil, j.depth, j.size))
		}
		if f.loopUses == 0 {
			want.Unlooped++
			expect[at[i]+f.loopAt] = 0x02
		}
	}
	if st != want {
		t.Errorf("stats %+v, want %+v\ninput %x", st, want, data)
	}
	if k := fzFirstDiff(out, expect); k >= 0 {
		t.Errorf("rewritten module differs from the expected at offset %d: %#x, want %#x (original %#x)\ninput %x",
			k, out[k], expect[k], orig[k], data)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rt := fzRuntime(ctx)
	defer rt.Close(ctx)
	a, err := rt.InstantiateWithConfig(ctx, orig, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		t.Fatalf("the generator made an invalid module: %v\ninput %x", err, data)
	}
	b, err := rt.InstantiateWithConfig(ctx, out, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		t.Fatalf("wazero rejects the rewritten module: %v\ninput %x", err, data)
	}
	for i, f := range funcs {
		name := fmt.Sprintf("f%d", i)
		for _, pc := range f.pcs {
			ra, err := a.ExportedFunction(name).Call(ctx, pc)
			if err != nil {
				t.Fatalf("the generated %s failed from PC %d: %v\ninput %x", name, pc, err, data)
			}
			rb, err := b.ExportedFunction(name).Call(ctx, pc)
			if err != nil || rb[0] != ra[0] {
				t.Fatalf("%s from PC %d: original %d, rewritten %v (%v)\ninput %x", name, pc, int32(ra[0]), rb, err, data)
			}
		}
	}
}

func fzFirstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// fzInputs are fixed pseudo-random inputs, so plain go test covers the
// generator's space and the fuzzer starts from programs of every shape.
func fzInputs(n int) [][]byte {
	rng := rand.New(rand.NewPCG(0x9a7c4b, 0x6f2))
	var in [][]byte
	for range n {
		b := make([]byte, 32+rng.IntN(480))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		in = append(in, b)
	}
	return in
}

func FuzzRewritePreservesBehaviour(f *testing.F) {
	for _, b := range fzInputs(16) {
		f.Add(b)
	}
	f.Fuzz(fzCheck)
}

func TestRewritePreservesBehaviourOfGeneratedFunctions(t *testing.T) {
	for _, b := range fzInputs(300) {
		fzCheck(t, b)
		if t.Failed() {
			return
		}
	}
}

// fzSurvives fails t if Rewrite panics on wasm, changes it, or returns
// something that is not a module of the same length that wazero compiles
// whenever it compiles the original.
func fzSurvives(t *testing.T, wasm []byte) {
	t.Helper()
	in := bytes.Clone(wasm)
	out, _, err := gojumps.Rewrite(wasm)
	if !bytes.Equal(wasm, in) {
		t.Fatalf("Rewrite changed its input %x", in)
	}
	if err != nil || bytes.Equal(out, wasm) {
		return
	}
	if len(out) != len(wasm) {
		t.Fatalf("rewritten module is %d bytes, the original %d: %x", len(out), len(wasm), wasm)
	}
	ctx := context.Background()
	rt := fzRuntime(ctx)
	defer rt.Close(ctx)
	if _, err := rt.CompileModule(ctx, wasm); err != nil {
		return
	}
	if _, err := rt.CompileModule(ctx, out); err != nil {
		t.Fatalf("wazero compiles the original but not the rewritten module: %v\noriginal %x", err, wasm)
	}
}

// fzSeeds are generated function bodies and modules of one of them, whose
// mutations reach deep into the decoding, where random bytes rarely get.
func fzSeeds(n int) (bodies, modules [][]byte) {
	for _, b := range fzInputs(n) {
		body := fzGenerate(&fzSource{b: b}).body
		m, _ := fzModule([][]byte{body})
		bodies, modules = append(bodies, body), append(modules, m)
	}
	return bodies, modules
}

func FuzzRewriteNeverPanics(f *testing.F) {
	bodies, modules := fzSeeds(16)
	for _, b := range append(bodies, modules...) {
		f.Add(b)
	}
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fzSurvives(t, data)
		// As a function body, arbitrary bytes get past the section
		// framing to the instruction decoding.
		m, _ := fzModule([][]byte{data})
		fzSurvives(t, m)
	})
}

func TestRewriteNeverPanicsOnCorruptModules(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	_, modules := fzSeeds(20)
	for _, m := range modules {
		for n := range len(m) {
			fzSurvives(t, m[:n])
		}
		for range 50 {
			c := bytes.Clone(m)
			for range 1 + rng.IntN(3) {
				c[rng.IntN(len(c))] = byte(rng.Uint32())
			}
			fzSurvives(t, c)
		}
	}
}
