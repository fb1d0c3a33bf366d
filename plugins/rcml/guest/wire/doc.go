// Package wire is the encoding between the switch and the RCML handler guest
// (plugins/rcml/guest): the input of hook rcml_handle (a fetched document) and
// its output (a plan or a typed error). plugins/rcml/README.md is the normative
// description; this package is the only Go implementation, shared by both sides
// so they cannot drift apart.
//
// Both are length-prefixed binary: a document is copied once into guest memory
// and never escaped, and a plan is written without a loop over its bytes and
// read by the host with one copy. The output was JSON until writing it cost
// the guest a sixth of a parse and decoding it the host 20-40 µs; a test
// holds the decoded plan equal to the plan's JSON round trip.
package wire
