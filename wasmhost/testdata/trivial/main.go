// Command trivial is the smallest SDK policy: deny when the config says
// "deny" (with the call sid as the reason, so tests can match answers to
// questions), allow otherwise.
package main

import (
	"os"

	"github.com/patchbay/patchbay/sdk"
)

func main() {}

var _ = sdk.HandleRedirect(func(in sdk.RedirectInput) sdk.Decision {
	switch in.Config {
	case "deny":
		return sdk.Deny(in.Call.Sid)
	case "log":
		os.Stderr.WriteString("deciding for " + in.Call.Sid + "\n")
	}
	return sdk.Allow()
})
