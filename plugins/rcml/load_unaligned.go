//go:build wasm || amd64 || arm64 || 386

package rcml

import "unsafe"

// load64 reads the 8 bytes of s at i as a little-endian word in one load:
// these architectures are little-endian and allow unaligned loads, and in a
// wasm guest the byte-by-byte form is not combined into one load. The
// caller checks i+8 <= len(s).
func load64(s string, i int) uint64 {
	return *(*uint64)(unsafe.Add(unsafe.Pointer(unsafe.StringData(s)), i))
}

// load32 is load64 for 4 bytes.
func load32(s string, i int) uint32 {
	return *(*uint32)(unsafe.Add(unsafe.Pointer(unsafe.StringData(s)), i))
}
