// Command guest is a test policy plugin whose behaviour its Config picks,
// so one build serves every test:
//
//	allow | deny:<reason> | rewrite:<url>[ <method>] | loop | panic | bomb |
//	bogus (a decision that fails validation) | echo (deny with the input as
//	the reason) | version (deny with the build's version as the reason) |
//	stamp:<url> (rewrite to <url>?now=<the input's now>)
//
// The hangup hook understands the same words (a rewrite is invalid there).
package main

import (
	"strconv"
	"strings"

	"github.com/patchbay/patchbay/sdk"
)

func main() {}

// version is set with -ldflags "-X main.version=2" to build a second
// version with other bytes.
var version = "1"

var sink int

var hoard [][]byte

func decide(config, now string, echo func() string) sdk.Decision {
	op, arg, _ := strings.Cut(config, ":")
	switch op {
	case "allow", "":
		return sdk.Allow()
	case "deny":
		return sdk.Deny(arg)
	case "rewrite":
		url, method, _ := strings.Cut(arg, " ")
		return sdk.Rewrite(url, method)
	case "loop":
		for i := 0; ; i++ {
			sink += i
		}
	case "panic":
		panic("guest panics on purpose")
	case "bomb":
		for {
			b := make([]byte, 4<<20)
			b[len(b)-1] = 1
			hoard = append(hoard, b)
		}
	case "bogus":
		return sdk.Decision{Verdict: "maybe"}
	case "echo":
		return sdk.Deny(echo())
	case "version":
		return sdk.Deny(version)
	case "stamp":
		return sdk.Rewrite(arg+"?now="+now, "")
	}
	return sdk.Deny("unknown config " + strconv.Quote(config))
}

var _ = sdk.HandleRedirect(func(in sdk.RedirectInput) sdk.Decision {
	return decide(in.Config, in.Now, func() string {
		c, r := in.Call, in.Request
		return strings.Join([]string{c.Sid, c.AccountSid, c.From, c.To, c.Direction, c.Status, c.URL, c.ConnectedCallSid,
			r.URL, r.Method, r.FallbackURL, strconv.FormatBool(r.MoveConnectedCallLeg), r.RequesterSid, in.Now}, "|")
	})
})

var _ = sdk.HandleHangup(func(in sdk.HangupInput) sdk.Decision {
	return decide(in.Config, in.Now, func() string {
		c, r := in.Call, in.Request
		return strings.Join([]string{c.Sid, c.AccountSid, c.From, c.To, c.Direction, c.Status, c.URL, c.ConnectedCallSid,
			r.Status, r.RequesterSid, in.Now}, "|")
	})
})
