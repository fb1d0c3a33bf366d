// Command trivial is the smallest SDK policy: deny when the config says
// "deny" (with the call sid as the reason, so tests can match answers to
// questions), allow otherwise. With "remember" it denies with the sid of
// the call it decided before, which it kept: the SDK promises that strings
// it decodes never change.
package main

import (
	"os"

	"github.com/patchbay/patchbay/sdk"
)

func main() {}

// previous is the sid of the last "remember" decision, kept as decoded.
var previous string

var _ = sdk.HandleRedirect(func(in sdk.RedirectInput) sdk.Decision {
	switch in.Config {
	case "deny":
		return sdk.Deny(in.Call.Sid)
	case "remember":
		d := sdk.Deny("previous " + previous)
		previous = in.Call.Sid
		return d
	case "log":
		os.Stderr.WriteString("deciding for " + in.Call.Sid + "\n")
	}
	return sdk.Allow()
})
