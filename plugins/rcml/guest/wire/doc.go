// Package wire is the encoding between the switch and the RCML handler guest
// (plugins/rcml/guest): the input of hook rcml_handle (a fetched document) and
// its output (a plan or a typed error). plugins/rcml/README.md is the normative
// description; this package is the only Go implementation, shared by both sides
// so they cannot drift apart.
//
// The input is length-prefixed binary, so a document is copied once into guest
// memory and never escaped. The output is JSON (the plan types' tags), written
// by hand because encoding/json costs hundreds of microseconds per plan inside
// wasm; a test holds it byte-equal to encoding/json.
package wire
