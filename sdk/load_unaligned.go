//go:build wasm || amd64 || arm64 || 386

package sdk

import "unsafe"

// load64 reads the 8 bytes of s at i as a little-endian word in one load:
// these architectures are little-endian and allow unaligned loads, and in
// a wasm guest it keeps the string scan's loop body call-free (the
// byte-by-byte form is not inlined there). The caller checks i+8 <= len(s).
func load64(s string, i int) uint64 {
	return *(*uint64)(unsafe.Add(unsafe.Pointer(unsafe.StringData(s)), i))
}

// load32 is load64 for 4 bytes.
func load32(s string, i int) uint32 {
	return *(*uint32)(unsafe.Add(unsafe.Pointer(unsafe.StringData(s)), i))
}
