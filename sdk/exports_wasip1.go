//go:build wasip1

package sdk

import "unsafe"

// Buffers of the guest side of the ABI. Like registered, they are
// per-instance state touched by one call at a time. in holds the input the
// host writes between patchbay_alloc and the hook call; it is allocated
// afresh for every call, so the strings decoded from it (which alias it,
// saving a copy that costs microseconds in wasm) never change, even if a
// handler keeps them. out holds the last output, which must stay reachable
// (and so unmoved: Go's collector does not move objects) until the host has
// copied it.
var buffers struct {
	in    []byte
	out   []byte
	arena []byte
	// input is the buffer patchbay_input_buffer hands out once: the host
	// writes each input there, and runHook copies it into the arena, so
	// decoded strings still never change.
	input []byte
}

// The first arena, and the output buffer's first capacity, are made by
// _initialize, when the host starts the instance (its own time, not the
// plugin's budget), rather than by the first decision, which would also
// pay for growing the guest's memory.
func init() {
	buffers.arena = make([]byte, inputArenaBytes)
	buffers.out = make([]byte, 0, 1024)
}

// inputArenaBytes is the size of the chunks input buffers are carved
// from. Allocating each input on its own made every 16th decision refill a
// span of the guest's allocator (and, during a collection, every third
// decision assist its mark phase), each a run of loops that wazero's
// termination checks make cost tens of microseconds: the whole p99 of a
// decision. One chunk serves ~500 typical inputs; it stays alive while a
// handler keeps a string decoded from any of them.
const inputArenaBytes = 256 << 10

//go:wasmexport patchbay_abi_version
func exportABIVersion() int32 { return ABIVersion }

//go:wasmexport patchbay_alloc
func exportAlloc(size uint32) uint32 {
	if size > MaxInputBytes {
		return 0
	}
	buffers.in = carveInput(int(size))
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(buffers.in))))
}

//go:wasmexport patchbay_input_buffer
func exportInputBuffer() uint64 {
	if buffers.input == nil {
		buffers.input = make([]byte, MaxInputBytes)
	}
	return packOutput(buffers.input)
}

//go:wasmexport patchbay_hooks
func exportHooks() uint64 {
	buffers.out = append(buffers.out[:0], registered.hooks()...)
	return packOutput(buffers.out)
}

//go:wasmexport patchbay_hook_redirect
func exportHookRedirect(ptr, size uint32) uint64 { return runHook(HookRedirect, ptr, size) }

//go:wasmexport patchbay_hook_hangup
func exportHookHangup(ptr, size uint32) uint64 { return runHook(HookHangup, ptr, size) }

func runHook(hook string, ptr, size uint32) uint64 {
	// The host must hand back the input buffer or the one patchbay_alloc
	// gave it; checking that avoids turning a host integer into a pointer.
	var in string
	switch {
	case buffers.input != nil && addressOf(buffers.input) == ptr && int(size) <= len(buffers.input):
		piece := carveInput(int(size))
		copy(piece, buffers.input)
		in = unsafe.String(unsafe.SliceData(piece), size)
	case addressOf(buffers.in) == ptr && int(size) <= len(buffers.in):
		in = unsafe.String(unsafe.SliceData(buffers.in), size)
	default:
		panic("sdk: hook called with a buffer the module did not hand out")
	}
	out, err := registered.dispatch(buffers.out, hook, in)
	if err != nil {
		panic(err.Error())
	}
	buffers.out = out
	return packOutput(out)
}

func addressOf(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

func packOutput(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b))))<<32 | uint64(len(b))
}

// carveInput returns a fresh size-byte buffer that no earlier call's
// strings alias: the next unused piece of the arena, or a new arena.
func carveInput(size int) []byte {
	if size > inputArenaBytes/4 {
		return make([]byte, max(size, 1))[:size]
	}
	if size > len(buffers.arena) {
		buffers.arena = make([]byte, inputArenaBytes)
	}
	in := buffers.arena[:size:size]
	// Keep the next piece word-aligned: the fast path loads words.
	next := min((size+7)&^7, len(buffers.arena))
	buffers.arena = buffers.arena[next:]
	return in
}
