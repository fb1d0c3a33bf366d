//go:build wasip1

package main

import (
	"runtime"
	"unsafe"

	"github.com/patchbay/patchbay/plugins/rcml"
)

// The instance's buffers. The host runs one call at a time in an instance,
// so they need no lock; go:wasmexport functions can only reach package-level
// state. Both are reused from call to call: in is what patchbay_alloc handed
// out last, out holds the last output, which must stay reachable (Go's
// collector does not move objects) until the host has copied it.
var buffers struct {
	in, out []byte
	// input is the buffer patchbay_input_buffer hands out once; the host
	// writes inputs there instead of calling patchbay_alloc each time.
	input []byte
}

// parser is reused by every call: a parse then allocates a tenth of what it
// would with a new one, and the guest collects eight times less often (see
// collectEvery).
var parser rcml.Parser

//go:wasmexport patchbay_abi_version
func exportABIVersion() int32 { return abiVersion }

//go:wasmexport patchbay_alloc
func exportAlloc(size uint32) uint32 {
	if size > maxInputBytes {
		return 0
	}
	if cap(buffers.in) < int(size) || cap(buffers.in) == 0 {
		buffers.in = make([]byte, max(size, 1))
	}
	buffers.in = buffers.in[:size]
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(buffers.in))))
}

//go:wasmexport patchbay_input_buffer
func exportInputBuffer() uint64 {
	if buffers.input == nil {
		buffers.input = make([]byte, maxInputBytes)
	}
	return pack(buffers.input)
}

//go:wasmexport patchbay_hooks
func exportHooks() uint64 {
	buffers.out = append(buffers.out[:0], hookName...)
	return pack(buffers.out)
}

//go:wasmexport patchbay_hook_rcml_handle
func exportHandle(ptr, size uint32) uint64 {
	// The host must hand back the input buffer or the one patchbay_alloc
	// gave it; checking that avoids turning a host integer into a pointer.
	var in []byte
	switch {
	case buffers.input != nil && addressOf(buffers.input) == ptr && int(size) <= len(buffers.input):
		in = buffers.input[:size]
	case addressOf(buffers.in) == ptr && int(size) <= len(buffers.in):
		in = buffers.in[:size]
	default:
		panic("rcml guest: hook called with a buffer the module did not hand out")
	}
	buffers.out = handle(&parser, buffers.out, in)
	collectNow()
	return pack(buffers.out)
}

// collectEvery is how many parses run between two collections the guest
// starts itself.
//
// With the reused parser a typical parse allocates under 1 KiB (strings of
// resolved URLs, a header map). Left to itself, Go's collector starts a
// cycle when the heap reaches its goal (4 MiB at least), and with no other
// thread in a wasm guest the cycle's mark work is done by the parses that
// follow, as assists: a few dozen parses in every few hundred each ran 2-4
// times slower, which set the p99. A full collection after every
// collectEvery-th parse (~1.6 MiB allocated, under the goal) keeps the heap
// from reaching it: the whole cycle (~2.5 ms) and the slower parse after it
// fall on two parses in 2,048. Documents that allocate more still meet the
// goal sooner and are collected the ordinary way.
const collectEvery = 2048

var parses int

func collectNow() {
	parses++
	if parses%collectEvery == 0 {
		runtime.GC()
	}
}

func addressOf(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

func pack(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b))))<<32 | uint64(len(b))
}
