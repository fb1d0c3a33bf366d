// Command protectednumbers is a policy plugin that refuses to hang up, through
// the API, calls to numbers listed in the plugin's Config (emergency lines,
// a hotline that must never be cut by a script).
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o protectednumbers.wasm .
package main

import (
	"strings"

	"github.com/patchbay/patchbay/sdk"
)

// main is never run in a plugin: a c-shared module runs only package
// initialisation, which is where the policy registers.
func main() {}

var _ = sdk.HandleHangup(policy)

// policy denies the hangup of a call whose To matches a protected entry of
// Config, and allows every other hangup.
func policy(in sdk.HangupInput) sdk.Decision {
	to := normalise(in.Call.To)
	if to == "" {
		return sdk.Allow()
	}
	for _, entry := range strings.FieldsFunc(in.Config, isListSeparator) {
		if entry = strings.TrimSpace(entry); normalise(entry) == to {
			return sdk.Deny("calls to " + entry + " are protected: hangup refused")
		}
	}
	return sdk.Allow()
}

// isListSeparator splits Config: entries are separated by commas, semicolons
// or line breaks, so a number may be written with spaces ("+1 555 0100").
func isListSeparator(r rune) bool { return r == ',' || r == ';' || r == '\n' || r == '\r' }

// normalise reduces a number or address to the form both sides are compared
// in: the user part of a sip:, sips:, tel: or client: address, without URI
// parameters; for a telephone number its digits only (so "+1 (555) 010-0",
// "15550100" and "sip:+15550100@pbx;user=phone" are one number); otherwise
// the name in lower case.
func normalise(s string) string {
	s = strings.TrimSpace(s)
	lower := strings.ToLower(s)
	for _, scheme := range []string{"sip:", "sips:", "tel:", "client:"} {
		if strings.HasPrefix(lower, scheme) {
			s = s[len(scheme):]
			break
		}
	}
	if i := strings.IndexAny(s, "@;?"); i >= 0 {
		s = s[:i]
	}
	digits := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		case c == '+' && len(digits) == 0, c == ' ', c == '-', c == '.', c == '(', c == ')':
			// visual separators and the international prefix
		default:
			return strings.ToLower(strings.TrimSpace(s))
		}
	}
	return string(digits)
}
