// Command policyguest is the tenant policy plugin of the end-to-end tests:
// Config "deny" denies every redirect and hangup, "rewrite=<url>" rewrites
// every redirect to url, "connected=<url>" rewrites every redirect to url
// with the call's connected leg as the query's Connected and denies every
// hangup naming that leg, "loop" never answers, "bomb" allocates until its
// memory cap stops it, "trap" panics; anything else allows.
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
	misbehave(in.Config)
	switch {
	case in.Config == "deny":
		return sdk.Deny("redirects of " + in.Call.To + " are frozen by policy")
	case strings.HasPrefix(in.Config, "rewrite="):
		return sdk.Rewrite(strings.TrimPrefix(in.Config, "rewrite="), "GET")
	case strings.HasPrefix(in.Config, "connected="):
		return sdk.Rewrite(strings.TrimPrefix(in.Config, "connected=")+"?Connected="+in.Call.ConnectedCallSid, "GET")
	}
	return sdk.Allow()
}

func hangup(in sdk.HangupInput) sdk.Decision {
	misbehave(in.Config)
	switch {
	case in.Config == "deny":
		return sdk.Deny("this line may not be hung up")
	case strings.HasPrefix(in.Config, "connected="):
		return sdk.Deny("connected to " + in.Call.ConnectedCallSid)
	}
	return sdk.Allow()
}

// keep holds what "bomb" allocates, so that nothing can be collected.
var keep [][]byte

// spins counts the iterations of "loop", so that the loop has an effect.
var spins uint64

func misbehave(config string) {
	switch config {
	case "loop":
		for {
			spins++
		}
	case "bomb":
		for {
			keep = append(keep, make([]byte, 1<<20))
		}
	case "trap":
		panic("policyguest: asked to trap")
	}
}
