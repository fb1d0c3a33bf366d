package main

import (
	"fmt"

	"github.com/patchbay/patchbay/plugins/rcml"
	"github.com/patchbay/patchbay/plugins/rcml/guest/wire"
)

// The guest's side of the plugin ABI (sdk/README.md). The sdk package cannot
// be imported here: its exports would clash with this module's, so the
// values are repeated and a test keeps them equal to the SDK's.
const (
	abiVersion     = 1
	maxInputBytes  = 64 << 10
	maxOutputBytes = 64 << 10
	// hookName is the RCML handler's hook. The ABI allows [a-z0-9_]+ only,
	// hence "rcml_handle" for style.md's namespaced "rcml.handle".
	hookName = "rcml_handle"
)

// handle is one rcml_handle call: it decodes in, parses the document with
// ps and writes the output into dst[:0]. A plan whose encoding is over the ABI's
// output limit becomes a parse error of cause too_large, so the host gets
// an answer it can act on rather than an output it must refuse.
func handle(ps *rcml.Parser, dst, in []byte) []byte {
	d, err := wire.DecodeInput(in)
	if err != nil {
		return wire.AppendFailureOutput(dst[:0], wire.FailureOf(err))
	}
	plan, err := ps.Handle(d)
	if err != nil {
		return wire.AppendFailureOutput(dst[:0], wire.FailureOf(err))
	}
	out := wire.AppendPlanOutput(dst[:0], plan)
	if len(out) > maxOutputBytes {
		return wire.AppendFailureOutput(out[:0], wire.Failure{
			Kind:    wire.KindParse,
			Cause:   wire.CauseTooLarge,
			Message: fmt.Sprintf("the plan is %d bytes encoded, the sandbox limit is %d", len(out), maxOutputBytes),
		})
	}
	return out
}
