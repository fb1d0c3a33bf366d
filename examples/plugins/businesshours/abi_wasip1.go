//go:build wasip1

package main

import "unsafe"

// The ABI exports (sdk/README.md, version 1), written here rather than
// taken from the SDK because the SDK's decoder does not keep "now"; see the
// package doc. The buffers are per-instance state, and the host runs one
// call at a time in an instance.
var (
	buffers struct {
		in  []byte // the input, from patchbay_alloc until the hook has read it
		out []byte // the last output, kept reachable until the next call
	}
	instance plugin
)

const (
	abiVersion    = 1
	maxInputBytes = 64 << 10
)

//go:wasmexport patchbay_abi_version
func exportABIVersion() int32 { return abiVersion }

//go:wasmexport patchbay_alloc
func exportAlloc(size uint32) uint32 {
	if size > maxInputBytes {
		return 0
	}
	buffers.in = make([]byte, max(size, 1))[:size]
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(buffers.in))))
}

//go:wasmexport patchbay_hooks
func exportHooks() uint64 {
	buffers.out = append(buffers.out[:0], "redirect"...)
	return pack(buffers.out)
}

//go:wasmexport patchbay_hook_redirect
func exportHookRedirect(ptr, size uint32) uint64 {
	// Only the buffer patchbay_alloc returned is read, so a host integer
	// never becomes a pointer.
	if uint32(uintptr(unsafe.Pointer(unsafe.SliceData(buffers.in)))) != ptr || int(size) > len(buffers.in) {
		panic("businesshours: hook called with a buffer patchbay_alloc did not return")
	}
	out, err := instance.redirectHook(buffers.in[:size])
	if err != nil {
		panic(err.Error()) // a trap: the plugin's fail mode decides
	}
	buffers.out = out
	return pack(out)
}

func pack(b []byte) uint64 {
	return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b))))<<32 | uint64(len(b))
}
