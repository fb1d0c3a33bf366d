// Command hostileguest is an RCML handler that misbehaves on demand: a
// document containing STALL loops forever, CRASH panics, BOMB allocates
// without end, GARBAGE answers something that is not an output. Any other
// document is parsed as the real guest does, so a test can show that other
// parses go on while one misbehaves.
package main

import (
	"bytes"
	"unsafe"

	"github.com/patchbay/patchbay/plugins/rcml"
	"github.com/patchbay/patchbay/plugins/rcml/guest/wire"
)

func main() {}

var buffers struct{ in, out []byte }

var hoard [][]byte

//go:wasmexport patchbay_abi_version
func abiVersion() int32 { return 1 }

//go:wasmexport patchbay_alloc
func alloc(size uint32) uint32 {
	buffers.in = make([]byte, max(size, 1))[:size]
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(buffers.in))))
}

//go:wasmexport patchbay_hook_rcml_handle
func handle(ptr, size uint32) uint64 {
	d, err := wire.DecodeInput(buffers.in[:size])
	switch {
	case err != nil:
		buffers.out = wire.AppendFailureOutput(buffers.out[:0], wire.FailureOf(err))
	case bytes.Contains(d.Body, []byte("STALL")):
		for n := 0; ; n++ {
			_ = n
		}
	case bytes.Contains(d.Body, []byte("CRASH")):
		panic("crash on demand")
	case bytes.Contains(d.Body, []byte("BOMB")):
		for {
			hoard = append(hoard, make([]byte, 1<<20))
		}
	case bytes.Contains(d.Body, []byte("GARBAGE")):
		// A plan that claims four billion verbs.
		buffers.out = append(buffers.out[:0], wire.OutputVersion, 'P', 0xff, 0xff, 0xff, 0xff)
	default:
		plan, err := rcml.Handle(d)
		if err != nil {
			buffers.out = wire.AppendFailureOutput(buffers.out[:0], wire.FailureOf(err))
		} else {
			buffers.out = wire.AppendPlanOutput(buffers.out[:0], plan)
		}
	}
	return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(buffers.out))))<<32 | uint64(len(buffers.out))
}
