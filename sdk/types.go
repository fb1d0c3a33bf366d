package sdk

import (
	"errors"
	"fmt"
	"net/url"
)

// Call is the live call a hook decides about, as the switch sees it when the
// request arrives. A plugin only ever sees calls of its own account or of
// the accounts below it.
type Call struct {
	Sid        string `json:"sid"`
	AccountSid string `json:"account_sid"`
	From       string `json:"from"`
	To         string `json:"to"`
	Direction  string `json:"direction"` // "inbound", "outbound-api", "outbound-dial"
	Status     string `json:"status"`    // "ringing", "in-progress", ...
	URL        string `json:"url"`       // the RCML URL the call is running now
	// ConnectedCallSid is the leg a <Dial> bridged to this call (the
	// answered child of a parent call, or the parent of a bridged child);
	// empty when none is.
	ConnectedCallSid string `json:"connected_call_sid"`
}

// RedirectRequest is the redirect being asked for (the LCM Url parameters).
type RedirectRequest struct {
	URL                  string `json:"url"`
	Method               string `json:"method"` // "GET" or "POST"
	FallbackURL          string `json:"fallback_url"`
	MoveConnectedCallLeg bool   `json:"move_connected_call_leg"`
	RequesterSid         string `json:"requester_sid"` // the authenticated account
}

// RedirectInput is the input of the redirect hook.
type RedirectInput struct {
	Call    Call            `json:"call"`
	Request RedirectRequest `json:"request"`
	// Config is the opaque string the tenant stored with the plugin.
	Config string `json:"config"`
	// Now is the switch's time of the request, RFC 3339 in UTC to the
	// second ("2026-11-25T20:00:00Z"). A guest's own clock is a fake (see
	// README.md, "Sandbox"), so this is the only real time a plugin sees.
	// Empty when the host does not send it (a host older than the field).
	Now string `json:"now"`
}

// HangupRequest is the hangup being asked for (the LCM Status parameter).
type HangupRequest struct {
	Status       string `json:"status"` // "completed" or "canceled"
	RequesterSid string `json:"requester_sid"`
}

// HangupInput is the input of the hangup hook.
type HangupInput struct {
	Call    Call          `json:"call"`
	Request HangupRequest `json:"request"`
	Config  string        `json:"config"`
	// Now is the switch's time of the request, as in RedirectInput.
	Now string `json:"now"`
}

// Verdict is a hook's answer.
type Verdict string

// Verdicts. See Decision for which of them end the policy chain.
const (
	VerdictAllow   Verdict = "allow"
	VerdictDeny    Verdict = "deny"
	VerdictRewrite Verdict = "rewrite"
)

// MaxReasonBytes bounds Decision.Reason; the reason ends up in a REST error
// body and an audit record.
const MaxReasonBytes = 1024

// Decision is what a hook returns. It is the hook contract:
//
//   - allow: no objection; the next plugin of the chain runs, and the
//     request goes ahead if none objects.
//   - deny: final; the request is refused (403 with Reason in the body), no
//     later plugin runs, and the call carries on untouched.
//   - rewrite (redirect hook only): the redirect goes ahead to URL (and
//     Method, when set) instead; later plugins of the chain see the
//     rewritten request.
//
// Anything else, a trap, a timeout or an output that fails Validate, is a
// plugin failure, and the plugin's fail mode decides.
type Decision struct {
	Verdict Verdict `json:"verdict"`
	Reason  string  `json:"reason,omitempty"`
	URL     string  `json:"url,omitempty"`
	Method  string  `json:"method,omitempty"`
}

// Allow returns an allow decision.
func Allow() Decision { return Decision{Verdict: VerdictAllow} }

// Deny returns a deny decision with the reason shown to the API client.
func Deny(reason string) Decision { return Decision{Verdict: VerdictDeny, Reason: reason} }

// Rewrite returns a rewrite decision; method may be empty to keep the
// request's method.
func Rewrite(url, method string) Decision {
	return Decision{Verdict: VerdictRewrite, URL: url, Method: method}
}

// ErrInvalidDecision is wrapped by Decision.Validate.
var ErrInvalidDecision = errors.New("sdk: invalid decision")

// Validate reports whether d is a well-formed answer to hook. Hosts call it
// on every output; guests may call it in their tests.
func (d Decision) Validate(hook string) error {
	if len(d.Reason) > MaxReasonBytes {
		return fmt.Errorf("%w: reason is %d bytes, over %d", ErrInvalidDecision, len(d.Reason), MaxReasonBytes)
	}
	switch d.Verdict {
	case VerdictAllow, VerdictDeny:
		if d.URL != "" || d.Method != "" {
			return fmt.Errorf("%w: %s carries a url or method", ErrInvalidDecision, d.Verdict)
		}
		return nil
	case VerdictRewrite:
		if hook != HookRedirect {
			return fmt.Errorf("%w: rewrite is not an answer to %s", ErrInvalidDecision, hook)
		}
		u, err := url.Parse(d.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: rewrite url %q is not an absolute http(s) url", ErrInvalidDecision, d.URL)
		}
		if d.Method != "" && d.Method != "GET" && d.Method != "POST" {
			return fmt.Errorf("%w: rewrite method %q is not GET or POST", ErrInvalidDecision, d.Method)
		}
		return nil
	default:
		return fmt.Errorf("%w: unknown verdict %q", ErrInvalidDecision, d.Verdict)
	}
}
