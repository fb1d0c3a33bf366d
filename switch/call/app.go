package call

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/emiago/sipgo/sip"

	"github.com/patchbay/patchbay/plugins/rcml"
	"github.com/patchbay/patchbay/switch/policy"
	"github.com/patchbay/patchbay/switch/store"
	"github.com/patchbay/patchbay/switch/webhook"
)

type stepKind int

const (
	stepNone stepKind = iota
	stepFetch
	stepVerb
	stepPolicy
)

// Notification codes the actor records itself (the parser's warnings carry their own).
const (
	codePolicyDenied   = 12410 // Patchbay: a tenant plugin denied an RCML verb
	codeInternal       = 12400
	codeDocumentParse  = 12100
	codeVerbNotSupport = 12300
)

// fetch requests an RCML document and runs it once it is parsed. A
// fallback URL applies only to the application's initial document and to
// LCM redirects, not to <Redirect> (spec §5.2).
func (c *Call) fetch(u, method, fallbackURL, fallbackMethod string) {
	c.fetchWith(u, method, fallbackURL, fallbackMethod, nil)
}

// redirect runs a new application on the call (LCM), from its first verb.
func (c *Call) redirect(app App) {
	c.app = app
	c.rec.URL, c.rec.Method = app.URL, app.Method
	c.rec.FallbackURL, c.rec.FallbackMethod = app.FallbackURL, app.FallbackMethod
	c.cancelStep()
	c.fetch(app.URL, app.Method, app.FallbackURL, app.FallbackMethod)
}

// fetchWith is fetch with extra parameters (a Dial action's Dial* values).
func (c *Call) fetchWith(u, method, fallbackURL, fallbackMethod string, extra url.Values) {
	if u == "" {
		c.notify(21402, 0, "no RCML URL for the call", "", "")
		c.endOnAppFailure(404, "Not Found", store.StatusFailed, nil)
		return
	}
	params := c.params()
	for k, v := range extra {
		params[k] = v
	}
	req := webhook.FetchRequest{URL: u, Method: methodOr(method), FallbackURL: fallbackURL, FallbackMethod: methodOr(fallbackMethod), Params: params}
	c.rec.URL, c.rec.Method = u, req.Method
	c.plan, c.pc = nil, 0
	interp := c.deps.Interpreter
	fetcher := c.deps.Fetcher
	c.startStep(func(ctx context.Context) stepDone {
		doc, err := fetcher.Fetch(ctx, req)
		if err != nil {
			return stepDone{err: err, doc: u}
		}
		plan, err := interp.Handle(ctx, rcml.Document{Body: doc.Body, URL: doc.URL, ContentType: doc.ContentType})
		return stepDone{plan: plan, err: err, doc: doc.URL, primaryErr: doc.PrimaryError}
	})
	c.stepKind = stepFetch
}

func (c *Call) onStepDone(r stepDone) {
	kind := c.stepKind
	c.stepKind = stepNone
	switch kind {
	case stepFetch:
		if fe := r.primaryErr; fe != nil {
			c.notify(fe.Code, 0, fe.Error(), fe.URL, fe.Method)
		}
		if r.err != nil {
			c.onFetchFailed(r)
			return
		}
		c.plan, c.pc = r.plan, 0
		for _, w := range r.plan.Warnings {
			c.notify(w.Code, 1, w.Message, r.doc, "")
		}
		c.next()
	case stepPolicy:
		out := r.redirect
		if r.err != nil || out == nil {
			c.notify(codeInternal, 0, fmt.Sprintf("policy for <Redirect> %s failed: %v; redirect not performed", redact(r.doc), r.err), c.rec.URL, "")
			c.next()
			return
		}
		if out.Verdict == store.VerdictDeny {
			c.notify(codePolicyDenied, 1, fmt.Sprintf("<Redirect> to %s denied by plugin %s: %s", redact(r.doc), out.Plugin, out.Reason), c.rec.URL, "")
			c.next()
			return
		}
		c.fetch(out.URL, out.Method, "", "")
	case stepVerb:
		for _, w := range r.warnings {
			c.notify(w.code, w.level, w.msg, w.url, "")
		}
		if r.err != nil && !errors.Is(r.err, context.Canceled) {
			c.notify(codeInternal, 0, r.err.Error(), r.doc, "")
		}
		switch {
		case r.gather != nil:
			c.afterGather(r.gather)
		case r.record != nil:
			c.afterRecord(r.record)
		default:
			c.next()
		}
	}
}

func (c *Call) onFetchFailed(r stepDone) {
	var fe *webhook.FetchError
	var pe *rcml.ParseError
	switch {
	case errors.As(r.err, &pe):
		// No fallback for a document that cannot be parsed; the CDR ends
		// completed (spec §4.2).
		c.notify(codeDocumentParse, 0, "cannot parse RCML: "+pe.Error(), r.doc, "")
		c.endOnAppFailure(500, "Server Internal Error", store.StatusCompleted, sip.NewHeader("Reason", rcml.HangupReason))
	case errors.As(r.err, &fe):
		c.notify(fe.Code, 0, fe.Error(), fe.URL, fe.Method)
		if webhook.IsNotFound(r.err) {
			c.endOnAppFailure(404, "Not Found", store.StatusFailed, nil)
			return
		}
		c.endOnAppFailure(500, "Server Internal Error", store.StatusFailed, nil)
	default:
		// Content types that are not RCML, and sandbox failures.
		c.notify(codeInternal, 0, "cannot run RCML: "+r.err.Error(), r.doc, "")
		c.endOnAppFailure(500, "Server Internal Error", store.StatusFailed, nil)
	}
}

// endOnAppFailure ends a call whose application failed: an unanswered
// inbound call gets a final response (and ends with unansweredStatus),
// anything else is hung up.
func (c *Call) endOnAppFailure(code int, reason, unansweredStatus string, h sip.Header) {
	if c.in != nil && !c.answered {
		var hdrs []sip.Header
		if h != nil {
			hdrs = append(hdrs, h)
		}
		hdrs = append(hdrs, c.sipCallSidHeader())
		c.in.Reject(code, reason, hdrs...)
		c.finish(unansweredStatus)
		return
	}
	var hdrs []sip.Header
	if h != nil {
		hdrs = append(hdrs, h)
	}
	c.hangup(store.StatusCompleted, reason, hdrs...)
}

// next executes the plan's next verb.
func (c *Call) next() {
	if c.finished {
		return
	}
	if c.plan == nil || c.pc >= len(c.plan.Verbs) {
		if c.screening && c.parent != nil {
			c.screeningDone() // screened normally: bridge it
			return
		}
		// End of document hangs up; an inbound call never answered (no verb
		// answered it) gets SIP 500, as upstream (spec §5.1).
		c.hangup(store.StatusCompleted, "end of document")
		return
	}
	v := c.plan.Verbs[c.pc]
	c.pc++
	switch v.Kind {
	case rcml.KindPlay, rcml.KindSay, rcml.KindPause:
		c.prompt(v)
	case rcml.KindGather:
		c.gather(v.Gather)
	case rcml.KindRecord:
		c.record(v.Record)
	case rcml.KindHangup:
		if c.in != nil && !c.answered && !c.answer() {
			return
		}
		c.hangup(store.StatusCompleted, "Hangup verb")
	case rcml.KindReject:
		if c.in == nil || c.answered {
			c.next() // only effective before an inbound call is answered
			return
		}
		code, reason := 603, "Decline"
		if v.Reject.Reason == rcml.RejectBusy {
			code, reason = 486, "Busy Here"
		}
		c.in.Reject(code, reason, c.sipCallSidHeader())
		c.finish(store.StatusBusy)
	case rcml.KindRedirect:
		c.redirectVerb(v.Redirect)
	case rcml.KindDial:
		if c.screening {
			c.notify(codeVerbNotSupport, 0, "a screening document must not <Dial>; hanging up the branch", c.rec.URL, "")
			c.hangup(store.StatusCompleted, "Dial in a screening document")
			return
		}
		c.dial(v.Dial)
	default:
		// Sms, Fax, Email: no channel for them here; skip with a warning.
		c.notify(codeVerbNotSupport, 1, fmt.Sprintf("<%s> is not supported; skipped", v.Kind), c.rec.URL, "")
		c.next()
	}
}

// redirectVerb runs an RCML <Redirect>, after the tenants' plugins bound to
// it (if any) allowed or rewrote it; a denied one is skipped with a
// notification and the document goes on.
func (c *Call) redirectVerb(v *rcml.Redirect) {
	if c.deps.Policy == nil || !c.deps.Policy.Binds(policy.HookRCMLRedirect) {
		c.fetch(v.URL, v.Method, "", "")
		return
	}
	pol, rec := c.deps.Policy, c.rec
	// No connected leg to show: a call runs verbs only outside a <Dial>
	// bridge (a branch's screening document is before it).
	req := policy.RedirectRequest{URL: v.URL, Method: methodOr(v.Method)}
	c.startStep(func(ctx context.Context) stepDone {
		out, err := pol.RedirectVerb(ctx, nil, rec, req)
		return stepDone{redirect: &out, err: err, doc: v.URL}
	})
	c.stepKind = stepPolicy
}

// prompt runs a <Play>, <Say> or <Pause> as the call's step.
func (c *Call) prompt(v rcml.Verb) {
	if v.Kind != rcml.KindPause && !c.answer() {
		return
	}
	p := c.newPrompter()
	c.startStep(func(ctx context.Context) stepDone {
		p.run(ctx, v)
		return stepDone{warnings: p.warn}
	})
	c.stepKind = stepVerb
}
