// Package rcmltest holds the RCML documents that the tests and benchmarks
// of several packages share (the parser, its wasm guest, the sandboxed
// interpreter, the wasm rewriter), so each measures and checks the same
// bytes.
package rcmltest

import _ "embed"

//go:embed typical.xml
var typical string

// Typical is the typical ~1 KiB IVR document: a greeting, a menu, a
// transfer with headers, a fallback to voicemail.
func Typical() string { return typical }
