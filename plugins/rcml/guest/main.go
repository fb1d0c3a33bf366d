// Command guest is the RCML handler as a WebAssembly module: a WASI reactor
// (GOOS=wasip1, -buildmode=c-shared) exporting hook rcml_handle, which turns
// a fetched document into a plan with rcml.Handle. The switch runs it in
// wasmhost, so a document that crashes or stalls the parser costs one
// sandboxed instance, not the process.
//
// The module is built by go generate in ./embedded, which commits it as
// embedded/rcml.wasm; plugins/rcml/README.md describes the exports and the
// encoding (package wire implements it).
package main

// main never runs: a c-shared module starts from _initialize, which runs
// package initialisers only. It exists because the package must be main.
func main() {}
