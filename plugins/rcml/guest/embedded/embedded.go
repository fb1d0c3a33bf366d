// Package embedded holds the RCML handler guest (plugins/rcml/guest) compiled
// to WebAssembly, so the switch binary carries it.
//
// rcml.wasm is generated: run go generate in this directory (or make
// generate) after any change to plugins/rcml, its guest or the Go toolchain,
// and commit the result; make check-generated fails when it is stale. The
// build is reproducible (no paths, no build id, no VCS stamp, default GOWASM),
// so the same sources and toolchain give the same bytes, but a different Go
// release gives different bytes.
package embedded

import _ "embed"

//go:generate env GOOS=wasip1 GOARCH=wasm GOWASM= GOFLAGS= CGO_ENABLED=0 go build -trimpath -buildvcs=false -buildmode=c-shared -ldflags=-buildid= -o rcml.wasm ..

//go:embed rcml.wasm
var module string

// Module returns a copy of the compiled RCML handler module.
func Module() []byte { return []byte(module) }
