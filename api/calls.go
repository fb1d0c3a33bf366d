package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/patchbay/patchbay/switch/calls"
	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

// callbackEvents are the call-progress events in upstream's fixed order.
func callbackEvents() []string { return []string{"initiated", "ringing", "answered", "completed"} }

const (
	defaultTimeout = 60
	maxTimeout     = 600
)

// parseCreateCall validates POST …/Calls and builds the switch request.
func parseCreateCall(c *fiber.Ctx, accountSid string) (calls.CreateRequest, error) {
	req := calls.CreateRequest{AccountSid: accountSid}
	req.From = form(c, "From")
	if req.From == "" {
		return req, &apiError{status: http.StatusBadRequest, code: codeFromMissing, message: "From can not be null."}
	}
	rawTo := form(c, "To")
	if rawTo == "" {
		return req, &apiError{status: http.StatusBadRequest, code: codeToMissing, message: "To can not be null."}
	}
	rawURL := form(c, "Url")
	if rawURL == "" {
		return req, &apiError{status: http.StatusBadRequest, code: codeURLInvalid, message: "Url can not be null."}
	}
	var err error
	if req.To, req.Headers, err = splitTarget(rawTo); err != nil {
		return req, err
	}
	if req.ToKind, err = targetKind(req.To); err != nil {
		return req, err
	}
	if req.URL, err = absoluteURL("Url", rawURL); err != nil {
		return req, err
	}
	if req.Method, err = httpMethod("Method", form(c, "Method"), "POST"); err != nil {
		return req, err
	}
	if req.FallbackURL, err = absoluteURL("FallbackUrl", form(c, "FallbackUrl")); err != nil {
		return req, err
	}
	if req.FallbackMethod, err = httpMethod("FallbackMethod", form(c, "FallbackMethod"), "POST"); err != nil {
		return req, err
	}
	if req.StatusCallback, err = absoluteURL("StatusCallback", form(c, "StatusCallback")); err != nil {
		return req, err
	}
	if req.StatusCallbackMethod, err = httpMethod("StatusCallbackMethod", form(c, "StatusCallbackMethod"), "POST"); err != nil {
		return req, err
	}
	if req.StatusCallbackEvents, err = parseCallbackEvents(form(c, "StatusCallbackEvent")); err != nil {
		return req, err
	}
	if req.TimeoutSeconds, err = intParam("Timeout", form(c, "Timeout"), defaultTimeout, 1, maxTimeout); err != nil {
		return req, err
	}
	req.Username = form(c, "Username")
	req.Password, _ = formParam(c, "Password")
	return req, nil
}

// splitTarget separates To's optional "?X-A=1&X-B=2" suffix into custom SIP
// headers. Only X- headers may be added, so a client cannot forge routing
// or identity headers on the INVITE.
func splitTarget(raw string) (string, map[string]string, error) {
	target, query, hasQuery := strings.Cut(raw, "?")
	target = strings.TrimSpace(target)
	if target == "" {
		return "", nil, &apiError{status: http.StatusBadRequest, code: codeToMissing, message: "To can not be null."}
	}
	if !hasQuery || query == "" {
		return target, nil, nil
	}
	values, err := url.ParseQuery(query)
	if err != nil {
		return "", nil, &apiError{status: http.StatusBadRequest, code: codeToInvalid, message: fmt.Sprintf("To: the header part %q is malformed.", query)}
	}
	headers := make(map[string]string, len(values))
	for name, vs := range values {
		if len(name) < 3 || !strings.EqualFold(name[:2], "X-") || !validHeaderName(name) {
			return "", nil, &apiError{status: http.StatusBadRequest, code: codeToInvalid,
				message: fmt.Sprintf("To: only custom X- headers may be added, not %q.", name)}
		}
		headers[name] = vs[len(vs)-1]
	}
	return target, headers, nil
}

// validHeaderName accepts RFC 3261 token characters.
func validHeaderName(name string) bool {
	for i := 0; i < len(name); i++ {
		ch := name[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte("-.!%*_+`'~", ch) >= 0) {
			return false
		}
	}
	return true
}

// targetKind classifies To by shape, as upstream does.
func targetKind(to string) (string, error) {
	switch {
	case strings.HasPrefix(to, "client:"):
		name := strings.TrimPrefix(to, "client:")
		if name == "" || strings.Contains(name, ":") || strings.Contains(name, "@") {
			return "", &apiError{status: http.StatusBadRequest, code: codeToInvalid, message: to + " is an invalid client identifier."}
		}
		return calls.TargetClient, nil
	case strings.Contains(to, "@") || strings.HasPrefix(strings.ToLower(to), "sip:"):
		return calls.TargetSIP, nil
	}
	return calls.TargetNumber, nil
}

// parseCallbackEvents reads StatusCallbackEvent: a space- or comma-separated
// subset of the four events (decision 7); absent means all four.
func parseCallbackEvents(value string) ([]string, error) {
	all := callbackEvents()
	if value == "" {
		return all, nil
	}
	want := map[string]bool{}
	for _, ev := range strings.FieldsFunc(value, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		ev = strings.ToLower(ev)
		known := false
		for _, a := range all {
			known = known || a == ev
		}
		if !known {
			return nil, badParam("StatusCallbackEvent %q is not one of initiated, ringing, answered, completed.", ev)
		}
		want[ev] = true
	}
	if len(want) == 0 {
		return all, nil
	}
	var out []string
	for _, a := range all {
		if want[a] {
			out = append(out, a)
		}
	}
	return out, nil
}

func (s *Server) createCall(c *fiber.Ctx, acct store.Account) error {
	req, err := parseCreateCall(c, acct.Sid)
	if err != nil {
		return err
	}
	if acct.Status != store.AccountActive {
		// An ancestor may act through a suspended child's URL, but the
		// child may not place calls (upstream rejects its traffic).
		return &apiError{status: http.StatusForbidden, code: codeAccountNotActive, message: "Account is not active"}
	}
	legs, err := s.calls.Create(c.UserContext(), req)
	if err != nil {
		return &dialError{to: req.To, err: err}
	}
	if len(legs) == 0 {
		return fmt.Errorf("create call to %s: the switch returned no call", req.To)
	}
	if len(legs) == 1 {
		return s.renderCall(c, legs[0])
	}
	if wantsJSON(c) {
		out := make([]callJSON, 0, len(legs))
		for _, l := range legs {
			out = append(out, s.callJSON(l))
		}
		return sendJSON(c, out)
	}
	env := callLegsEnvelope{}
	for _, l := range legs {
		env.Calls.Calls = append(env.Calls.Calls, s.callXML(l))
	}
	return sendXML(c, env)
}

func (s *Server) renderCall(c *fiber.Ctx, call store.Call) error {
	return render(c,
		func() any { return s.callJSON(call) },
		func() any { return callEnvelope{Call: s.callXML(call)} })
}

// Headers of an LCM answer whose Url a tenant's policy plugin rewrote:
// where the call went instead. Headers, not body keys, so that the Call
// keeps upstream's shape for clients that parse it strictly (spec README
// decision 10).
const (
	headerRewriteURL    = "X-Patchbay-Rewrite-Url"
	headerRewriteMethod = "X-Patchbay-Rewrite-Method"
)

// renderModified answers an LCM request: the call, and where a policy
// plugin's rewrite sent it, if one did.
func (s *Server) renderModified(c *fiber.Ctx, m calls.Modified) error {
	if m.RewriteURL != "" {
		c.Set(headerRewriteURL, m.RewriteURL)
		c.Set(headerRewriteMethod, m.RewriteMethod)
	}
	return s.renderCall(c, m.Call)
}

// callSidParam validates the {CallSid} path segment and returns the stored form.
func callSidParam(c *fiber.Ctx) (string, error) {
	v := c.Params("call")
	if !validCallSid(v) {
		return "", malformedSid("CallSid", v)
	}
	return sid.CanonicalCall(v), nil
}

// validCallSid accepts "CA<32>" and the clustered "ID<32>-CA<32>" form
// (decision 2).
func validCallSid(v string) bool { return sid.ValidCall(v) }

func (s *Server) getCall(c *fiber.Ctx, acct store.Account) error {
	callSid, err := callSidParam(c)
	if err != nil {
		return err
	}
	call, err := s.store.Call(c.UserContext(), callSid)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("call")
	}
	if err != nil {
		return fmt.Errorf("load call %s: %w", callSid, err)
	}
	if call.AccountSid != acct.Sid {
		// As upstream: a call is read through its owner's URL only.
		return forbidden("The call does not belong to this account.")
	}
	return s.renderCall(c, call)
}

// parseModifyCall validates an LCM request (restcomm-calls.md §2.7 with
// decision 6).
//
// Status accepts canceled or completed case-insensitively. Upstream ignores
// any other value; we answer 400 instead, because a mistyped hangup
// ("Status=complete") that silently does nothing leaves a call up that the
// client believes it ended. Clients that send valid values see no change,
// so this fits decision 10's spirit of fixing only accidental behaviour.
func parseModifyCall(c *fiber.Ctx) (calls.ModifyRequest, error) {
	var req calls.ModifyRequest
	var err error
	if req.URL, err = absoluteURL("Url", form(c, "Url")); err != nil {
		return req, err
	}
	defMethod := ""
	if req.URL != "" {
		defMethod = "POST"
	}
	if req.Method, err = httpMethod("Method", form(c, "Method"), defMethod); err != nil {
		return req, err
	}
	if req.FallbackURL, err = absoluteURL("FallbackUrl", form(c, "FallbackUrl")); err != nil {
		return req, err
	}
	defMethod = ""
	if req.FallbackURL != "" {
		defMethod = "POST"
	}
	if req.FallbackMethod, err = httpMethod("FallbackMethod", form(c, "FallbackMethod"), defMethod); err != nil {
		return req, err
	}
	if req.StatusCallback, err = absoluteURL("StatusCallback", form(c, "StatusCallback")); err != nil {
		return req, err
	}
	defMethod = ""
	if req.StatusCallback != "" {
		defMethod = "POST"
	}
	if req.StatusCallbackMethod, err = httpMethod("StatusCallbackMethod", form(c, "StatusCallbackMethod"), defMethod); err != nil {
		return req, err
	}
	if v := form(c, "Status"); v != "" {
		switch st := strings.ToLower(v); st {
		case store.StatusCanceled, store.StatusCompleted:
			req.Status = st
		default:
			return req, badParam("Status must be canceled or completed, not %q.", v)
		}
	}
	if req.Mute, err = boolParam("Mute", form(c, "Mute")); err != nil {
		return req, err
	}
	move, err := boolParam("MoveConnectedCallLeg", form(c, "MoveConnectedCallLeg"))
	if err != nil {
		return req, err
	}
	req.MoveConnectedCallLeg = move != nil && *move
	if req.URL == "" && req.Status == "" && req.Mute == nil && req.StatusCallback == "" {
		return req, &apiError{status: http.StatusBadRequest, code: codeBadRequest,
			message: "Nothing to modify: give Url, Status, Mute or StatusCallback."}
	}
	return req, nil
}

// modifyCall is Live Call Modification. A call outside the URL account is
// answered like an unknown call (406, decision 6) unless the requester is a
// top-level account; the switch checks ownership again.
func (s *Server) modifyCall(c *fiber.Ctx, acct store.Account) error {
	callSid, err := callSidParam(c)
	if err != nil {
		return err
	}
	req, err := parseModifyCall(c)
	if err != nil {
		return err
	}
	me := principal(c)
	req.AccountSid = acct.Sid
	req.RequesterSid = me.Sid
	req.Superuser = topLevel(me)
	req.CallSid = callSid

	call, err := s.store.Call(c.UserContext(), callSid)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("modify call %s: %w", callSid, calls.ErrUnknownCall)
	}
	if err != nil {
		return fmt.Errorf("load call %s: %w", callSid, err)
	}
	if call.AccountSid != acct.Sid && !req.Superuser {
		return fmt.Errorf("modify call %s of account %s through %s: %w", callSid, call.AccountSid, acct.Sid, calls.ErrUnknownCall)
	}
	if store.Ended(call.Status) {
		// The owner persists the end before it acknowledges anything, so an
		// ended record is final; this also covers calls ended by
		// reconciliation after a restart, which no live owner knows.
		return fmt.Errorf("modify call %s (%s): %w", callSid, call.Status, calls.ErrCallEnded)
	}
	updated, err := s.calls.Modify(c.UserContext(), req)
	if err != nil {
		return fmt.Errorf("modify call %s: %w", callSid, err)
	}
	return s.renderModified(c, updated)
}
