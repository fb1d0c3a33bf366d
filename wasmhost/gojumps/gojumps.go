// Package gojumps lets the forward jumps of Go-compiled WebAssembly skip
// the termination check that wazero places on every loop header.
//
// The Go toolchain compiles a function with jumps into a dispatch loop: the
// body is one wasm loop holding a nest of blocks and a br_table on a local
// (PC_B), and every jump between basic blocks, forward or backward, sets PC_B
// to the target and branches back to that loop. With
// WithCloseOnContextDone, which every Patchbay host sets, wazero checks for
// termination at each loop header by leaving the machine code for Go (~40
// ns), so in a Go guest every taken branch, even an if/else merging forward,
// costs a check, and the checks are most of the time a guest spends.
//
// A forward jump cannot close a cycle, so it needs no check. Rewrite turns
// "i32.const K; local.set PC_B; br <dispatch loop>" into a branch straight to
// the end of the dispatch block that the br_table would pick for K, when that
// block is still open at the jump (it begins later in the body). PC_B is set
// as before, so the state after the jump is the same as through the loop.
// Backward jumps and function entries still pass the loop header, so every
// cycle of a guest's control flow, and so every guest that does not stop,
// still reaches a termination check.
//
// The new branch depth is written in the byte length of the old one (LEB128
// allows padding), so no offset in the module moves: only branch immediates
// change. Functions that do not have the exact Go shape, and modules with
// instructions this package does not know, are left untouched.
package gojumps

import (
	"errors"
	"fmt"
	"slices"
)

// Stats says what Rewrite changed.
type Stats struct {
	Functions int // function bodies in the module
	Dispatch  int // of them, with Go's dispatch loop
	Forward   int // jumps rewritten to branch directly
	Backward  int // jumps left on the loop (they may close a cycle)
	Unlooped  int // dispatch loops nothing branched back to any more, now blocks
}

// Rewrite returns a copy of wasm with the forward jumps of Go's dispatch
// loops turned into direct branches. A module with no code section or
// with no Go-shaped function comes back unchanged (a copy); an error means
// the bytes are not a module this package can read, and the caller should
// use the original.
func Rewrite(wasm []byte) ([]byte, Stats, error) {
	var st Stats
	out := append([]byte(nil), wasm...)
	if len(out) < 8 || string(out[:4]) != "\x00asm" {
		return nil, st, errors.New("gojumps: not a wasm module")
	}
	r := reader{b: out, i: 8}
	for r.i < len(out) {
		id, err := r.byte()
		if err != nil {
			return nil, st, err
		}
		size, err := r.u32()
		if err != nil {
			return nil, st, err
		}
		end := r.i + int(size)
		if end > len(out) || end < r.i {
			return nil, st, errors.New("gojumps: section runs past the end")
		}
		if id == sectionCode {
			if err := rewriteCode(out[r.i:end], &st); err != nil {
				return nil, st, err
			}
		}
		r.i = end
	}
	return out, st, nil
}

const sectionCode = 10

// scratch is what rewriteBody reuses from one function body to the next:
// a module has thousands of them, and allocating these per body was most
// of the rewrite's allocations.
type scratch struct {
	stack   []int
	segment []uint32
	d       dispatch
}

func rewriteCode(sec []byte, st *Stats) error {
	var sc scratch
	r := reader{b: sec}
	n, err := r.u32()
	if err != nil {
		return err
	}
	for k := uint32(0); k < n; k++ {
		size, err := r.u32()
		if err != nil {
			return err
		}
		end := r.i + int(size)
		if end > len(sec) || end < r.i {
			return fmt.Errorf("gojumps: body %d runs past the code section", k)
		}
		st.Functions++
		if err := rewriteBody(sec[r.i:end], st, &sc); err != nil {
			return fmt.Errorf("gojumps: function body %d: %w", k, err)
		}
		r.i = end
	}
	return nil
}

// instruction is an opcode and, for i32.const and local.set, its immediate.
type instruction struct {
	op  byte
	imm int64
}

// dispatch is what rewriteBody learnt of a function's dispatch loop.
type dispatch struct {
	loopIndex int      // index of the loop in the control stack
	blocks    int      // dispatch blocks nested right inside the loop
	pcLocal   uint32   // the local the br_table reads (PC_B)
	segment   []uint32 // br_table label per PC_B value: the code segment it starts
	fallback  uint32   // the br_table's default label
	// loopLabels counts the br_table's labels that are the loop itself.
	loopLabels int
}

// rewriteBody rewrites one function body in place.
func rewriteBody(body []byte, st *Stats, sc *scratch) error {
	r := reader{b: body}
	if err := r.skipLocals(); err != nil {
		return err
	}
	var (
		// Each open construct: the segment a dispatch block's end starts,
		// or notDispatch. The body's own block is implicit.
		stack = sc.stack[:0]
		d     *dispatch
		tried bool // only the first loop without parameters or results can be the dispatch loop
		// Where the dispatch loop's opcode is, and how many branches
		// still target the loop after the rewrite: none, and it is a
		// block.
		loopAt, loopBranches int
		// The two instructions before the current one, for the jump
		// pattern "i32.const K; local.set PC_B; br <loop>".
		prev, prev2 instruction
	)
	for r.i < len(body) {
		at := r.i
		op, err := r.byte()
		if err != nil {
			return err
		}
		cur := instruction{op: op}
		switch op {
		case opBlock, opLoop, opIf:
			if err := r.blockType(); err != nil {
				return err
			}
			stack = append(stack, notDispatch)
			// Go's dispatch loop has no parameters or results; with them a
			// branch to the loop would carry values a block would not.
			if op == opLoop && !tried && body[at+1] == blockTypeEmpty {
				tried = true
				if d, err = readDispatch(&r, len(stack)-1, sc); err != nil {
					return err
				}
				if d != nil {
					st.Dispatch++
					stack[len(stack)-1] = dispatchLoop
					loopAt, loopBranches = at, d.loopLabels
					// readDispatch read up to the end of the innermost
					// dispatch block (segment 0 starts there): the others
					// are open, the outermost ending last.
					for seg := d.blocks - 1; seg >= 1; seg-- {
						stack = append(stack, seg)
					}
				}
			}
		case opEnd:
			if len(stack) == 0 {
				sc.stack = stack // keep what it grew to
				if r.i != len(body) {
					return errors.New("end of body before its last byte")
				}
				if d != nil && loopBranches == 0 {
					// Nothing branches back to the loop's start, so a
					// block does the same, and wazero puts no
					// termination check on a block: the function no
					// longer pays one per call. Recursion is bounded by
					// the stack, and code that only jumps forward ends.
					body[loopAt] = opBlock
					st.Unlooped++
				}
				return nil
			}
			stack = stack[:len(stack)-1]
		case opBr:
			immAt := r.i
			depth, err := r.u32()
			if err != nil {
				return err
			}
			if !targetsLoop(stack, depth) {
				break
			}
			if prev2.op == opI32Const && prev.op == opLocalSet && prev.imm == int64(d.pcLocal) {
				if newDepth, ok := d.forward(prev2.imm, stack); ok {
					putPaddedU32(body[immAt:r.i], newDepth)
					st.Forward++
					break
				}
				st.Backward++
			}
			loopBranches++
		case opBrIf:
			depth, err := r.u32()
			if err != nil {
				return err
			}
			if targetsLoop(stack, depth) {
				loopBranches++
			}
		case opBrTable:
			n, err := r.u32()
			if err != nil {
				return err
			}
			if int(n) >= len(body) { // each label takes a byte at least
				return errors.New("br_table longer than the body")
			}
			for range n + 1 {
				depth, err := r.u32()
				if err != nil {
					return err
				}
				if targetsLoop(stack, depth) {
					loopBranches++
				}
			}
		case opI32Const:
			v, err := r.s64()
			if err != nil {
				return err
			}
			// The value the engine sees: an over-long encoding (which
			// wazero accepts) means its low 32 bits, not the sign-extended
			// 64-bit reading.
			cur.imm = int64(int32(v))
		case opLocalSet:
			l, err := r.u32()
			if err != nil {
				return err
			}
			cur.imm = int64(l)
		default:
			if err := r.skipImmediates(op); err != nil {
				return err
			}
		}
		prev2, prev = prev, cur
	}
	return errors.New("body without its final end")
}

// Marks of rewriteBody's control stack besides a dispatch block's segment.
const (
	notDispatch  = -1 // any other construct
	dispatchLoop = -2 // the dispatch loop
)

// targetsLoop reports whether a branch of depth depth, with the control
// stack stack, goes to the start of the dispatch loop.
func targetsLoop(stack []int, depth uint32) bool {
	target := len(stack) - 1 - int(depth)
	return target >= 0 && target < len(stack) && stack[target] == dispatchLoop
}

// forward returns the depth of a branch, from a jump with the control
// stack stack, to the start of the code segment the br_table picks for pc,
// if that segment starts later, i.e. its dispatch block is still open.
func (d *dispatch) forward(pc int64, stack []int) (uint32, bool) {
	label := d.fallback
	if pc >= 0 && pc < int64(len(d.segment)) {
		label = d.segment[pc]
	}
	// Label i of the br_table (inside all the dispatch blocks) is the
	// block whose end starts segment i; the blocks are nested right inside
	// the loop, the outermost (segment blocks-1) first.
	seg := int(label)
	if seg >= d.blocks {
		return 0, false // the loop itself, or past it
	}
	idx := d.loopIndex + d.blocks - seg
	if idx >= len(stack) || stack[idx] != seg {
		return 0, false // that block has ended: a backward jump
	}
	return uint32(len(stack) - 1 - idx), true
}

// readDispatch reads, right after a loop opcode and its type, Go's dispatch
// header: "block" × n, "local.get X", "br_table", and the "end" of the
// innermost block. It returns nil, leaving r where it was, when the loop is
// something else.
func readDispatch(r *reader, loopIndex int, sc *scratch) (*dispatch, error) {
	start := r.i
	d := &sc.d
	*d = dispatch{loopIndex: loopIndex}
	for r.i+1 < len(r.b) && r.b[r.i] == opBlock && r.b[r.i+1] == blockTypeEmpty {
		r.i += 2
		d.blocks++
	}
	if d.blocks == 0 || r.i >= len(r.b) || r.b[r.i] != opLocalGet {
		r.i = start
		return nil, nil
	}
	r.i++
	local, err := r.u32()
	if err != nil {
		return nil, err
	}
	if op, err := r.byte(); err != nil || op != opBrTable {
		r.i = start
		return nil, err
	}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	if int(n) > len(r.b) {
		return nil, errors.New("br_table longer than the body")
	}
	d.segment = slices.Grow(sc.segment[:0], int(n))[:n]
	sc.segment = d.segment
	for i := range d.segment {
		if d.segment[i], err = r.u32(); err != nil {
			return nil, err
		}
	}
	if d.fallback, err = r.u32(); err != nil {
		return nil, err
	}
	for _, label := range d.segment {
		if int(label) == d.blocks {
			d.loopLabels++
		}
	}
	if int(d.fallback) == d.blocks {
		d.loopLabels++
	}
	if op, err := r.byte(); err != nil || op != opEnd {
		r.i = start
		return nil, err
	}
	d.pcLocal = local
	return d, nil
}

// putPaddedU32 writes v as unsigned LEB128 filling all of dst, which holds
// the old immediate: continuation bits pad it to the old length.
func putPaddedU32(dst []byte, v uint32) {
	for i := range dst {
		c := byte(v & 0x7f)
		v >>= 7
		if i < len(dst)-1 {
			c |= 0x80
		}
		dst[i] = c
	}
}
