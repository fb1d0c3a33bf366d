//go:build wasip1

package main

import "unsafe"

// The instance's buffers. The host runs one call at a time in an instance,
// so they need no lock; go:wasmexport functions can only reach package-level
// state. Both are reused from call to call: in is what patchbay_alloc handed
// out last, out holds the last output, which must stay reachable (Go's
// collector does not move objects) until the host has copied it.
var buffers struct {
	in, out []byte
}

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

//go:wasmexport patchbay_hooks
func exportHooks() uint64 {
	buffers.out = append(buffers.out[:0], hookName...)
	return pack(buffers.out)
}

//go:wasmexport patchbay_hook_rcml_handle
func exportHandle(ptr, size uint32) uint64 {
	// The host must hand back the buffer patchbay_alloc gave it; checking
	// that avoids turning a host integer into a pointer.
	if uint32(uintptr(unsafe.Pointer(unsafe.SliceData(buffers.in)))) != ptr || int(size) > len(buffers.in) {
		panic("rcml guest: hook called with a buffer patchbay_alloc did not return")
	}
	buffers.out = handle(buffers.out, buffers.in[:size])
	return pack(buffers.out)
}

func pack(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b))))<<32 | uint64(len(b))
}
