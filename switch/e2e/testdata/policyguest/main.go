// Command policyguest is the tenant policy plugin of the end-to-end tests:
// Config "deny" denies every redirect and hangup, "rewrite=<url>" rewrites
// every redirect to url, anything else allows.
package main

import (
	"strings"

	"github.com/patchbay/patchbay/sdk"
)

func main() {}

var (
	_ = sdk.HandleRedirect(redirect)
	_ = sdk.HandleHangup(hangup)
)

func redirect(in sdk.RedirectInput) sdk.Decision {
	switch {
	case in.Config == "deny":
		return sdk.Deny("redirects of " + in.Call.To + " are frozen by policy")
	case strings.HasPrefix(in.Config, "rewrite="):
		return sdk.Rewrite(strings.TrimPrefix(in.Config, "rewrite="), "GET")
	}
	return sdk.Allow()
}

func hangup(in sdk.HangupInput) sdk.Decision {
	if in.Config == "deny" {
		return sdk.Deny("this line may not be hung up")
	}
	return sdk.Allow()
}
