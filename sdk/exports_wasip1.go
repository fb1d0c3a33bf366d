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
	in  []byte
	out []byte
}

//go:wasmexport patchbay_abi_version
func exportABIVersion() int32 { return ABIVersion }

//go:wasmexport patchbay_alloc
func exportAlloc(size uint32) uint32 {
	if size > MaxInputBytes {
		return 0
	}
	buffers.in = make([]byte, max(size, 1))[:size]
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(buffers.in))))
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
	// The host must hand back the buffer patchbay_alloc gave it; checking
	// that avoids turning a host integer into a pointer.
	if uint32(uintptr(unsafe.Pointer(unsafe.SliceData(buffers.in)))) != ptr || int(size) > len(buffers.in) {
		panic("sdk: hook called with a buffer patchbay_alloc did not return")
	}
	in := unsafe.String(unsafe.SliceData(buffers.in), size)
	out, err := registered.dispatch(buffers.out, hook, in)
	if err != nil {
		panic(err.Error())
	}
	buffers.out = out
	return packOutput(out)
}

func packOutput(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b))))<<32 | uint64(len(b))
}
