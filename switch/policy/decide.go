package policy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/patchbay/patchbay/sdk"
	"github.com/patchbay/patchbay/switch/calls"
	"github.com/patchbay/patchbay/switch/store"
	"github.com/patchbay/patchbay/wasmhost"
)

// RedirectRequest is an LCM Url redirect about to take effect.
type RedirectRequest struct {
	URL, Method          string
	FallbackURL          string
	MoveConnectedCallLeg bool
	// RequesterSid is the authenticated account that asked.
	RequesterSid string
	// ConnectedCallSid is the call's connected leg, if any.
	ConnectedCallSid string
}

// HangupRequest is an LCM Status=completed|canceled about to take effect.
type HangupRequest struct {
	Status           string // store.StatusCompleted or store.StatusCanceled
	RequesterSid     string
	ConnectedCallSid string
}

// Outcome is what the chain decided.
type Outcome struct {
	// Verdict is store.VerdictAllow, VerdictDeny or VerdictRewrite (a
	// redirect some plugin rewrote and none denied).
	Verdict string
	// URL and Method are where a redirect goes: the request's, or the last
	// rewrite's. Empty for a hangup.
	URL, Method string
	// Plugin, PluginAccountSid and Reason name the plugin that denied and
	// why (for a failure under a closed fail mode, the reason says so).
	Plugin, PluginAccountSid, Reason string
	// Decisions are the records of every plugin that ran, in order.
	Decisions []store.Decision
}

// Denied returns a *calls.DeniedError (the API answers it with 403 and the
// reason) when the outcome is a deny, nil otherwise.
func (o Outcome) Denied() error {
	if o.Verdict != store.VerdictDeny {
		return nil
	}
	return &calls.DeniedError{Plugin: o.Plugin, Reason: o.Reason}
}

// errBadDecision marks output that decoded but is not a valid decision, or
// did not decode: a failure of the plugin, like wasmhost.ErrBadOutput.
var errBadDecision = errors.New("bad output")

// Redirect runs the redirect hooks of chain (account sids, root first,
// ending with call.AccountSid; nil means Chain(ctx, call.AccountSid)). Each
// plugin sees the request as rewritten by those before it; the first deny
// ends the chain. It returns an error only when ctx ends or the chain
// cannot be had: never for a plugin's failure, which its fail mode decides.
func (e *Engine) Redirect(ctx context.Context, chain []string, call store.Call, req RedirectRequest) (Outcome, error) {
	return e.redirect(ctx, sdk.HookRedirect, chain, call, req)
}

// RedirectVerb runs, before an RCML <Redirect> takes effect, the redirect
// hooks of the plugins whose tenants bound HookRCMLRedirect; otherwise as
// Redirect.
func (e *Engine) RedirectVerb(ctx context.Context, chain []string, call store.Call, req RedirectRequest) (Outcome, error) {
	return e.redirect(ctx, HookRCMLRedirect, chain, call, req)
}

func (e *Engine) redirect(ctx context.Context, binding string, chain []string, call store.Call, req RedirectRequest) (Outcome, error) {
	out := Outcome{Verdict: store.VerdictAllow, URL: req.URL, Method: req.Method}
	now := e.inputTime()
	err := e.run(ctx, chain, call, binding, &out, func(config string) []byte {
		return sdk.AppendRedirectInput(nil, sdk.RedirectInput{
			Call: sdkCall(call, req.ConnectedCallSid),
			Request: sdk.RedirectRequest{
				URL: out.URL, Method: out.Method, FallbackURL: req.FallbackURL,
				MoveConnectedCallLeg: req.MoveConnectedCallLeg, RequesterSid: req.RequesterSid,
			},
			Config: config,
			Now:    now,
		})
	})
	return out, err
}

// Hangup runs the hangup hooks of chain (as Redirect does); the first deny
// ends the chain.
func (e *Engine) Hangup(ctx context.Context, chain []string, call store.Call, req HangupRequest) (Outcome, error) {
	out := Outcome{Verdict: store.VerdictAllow}
	now := e.inputTime()
	err := e.run(ctx, chain, call, sdk.HookHangup, &out, func(config string) []byte {
		return sdk.AppendHangupInput(nil, sdk.HangupInput{
			Call:    sdkCall(call, req.ConnectedCallSid),
			Request: sdk.HangupRequest{Status: req.Status, RequesterSid: req.RequesterSid},
			Config:  config,
			Now:     now,
		})
	})
	return out, err
}

// inputTime is the "now" of a request's inputs, in the ABI's form. It is
// read once per request, so every plugin of the chain judges the same
// instant.
func (e *Engine) inputTime() string {
	return e.cfg.Now().UTC().Format(time.RFC3339)
}

func sdkCall(c store.Call, connected string) sdk.Call {
	return sdk.Call{
		Sid: c.Sid, AccountSid: c.AccountSid, From: c.From, To: c.To,
		Direction: c.Direction, Status: c.Status, URL: c.URL, ConnectedCallSid: connected,
	}
}

// run invokes hook on every bound plugin of chain until one denies,
// updating out. input encodes the current request with a plugin's Config.
func (e *Engine) run(ctx context.Context, chain []string, call store.Call, hook string, out *Outcome, input func(config string) []byte) error {
	if chain == nil {
		var err error
		if chain, err = e.Chain(ctx, call.AccountSid); err != nil {
			return err
		}
	}
	if len(chain) == 0 || chain[len(chain)-1] != call.AccountSid {
		return fmt.Errorf("%w: %v for call %s of %s", ErrBadChain, chain, call.Sid, call.AccountSid)
	}
	for _, account := range chain {
		for _, name := range e.bound(account, hook) {
			d, err := e.decide(ctx, slotKey{account, name}, call, hook, input)
			if d == nil {
				continue // removed meanwhile
			}
			out.Decisions = append(out.Decisions, *d)
			if err != nil {
				return err
			}
			switch {
			case d.Verdict == store.VerdictRewrite:
				out.Verdict, out.URL = store.VerdictRewrite, d.RewriteURL
				if d.RewriteMethod != "" {
					out.Method = d.RewriteMethod
				}
			case d.Verdict == store.VerdictDeny,
				d.Verdict == store.VerdictError && d.FailMode == store.FailClosed:
				out.Verdict, out.Plugin, out.PluginAccountSid, out.Reason = store.VerdictDeny, name, account, d.Reason
				return nil
			}
		}
	}
	return nil
}

// decide runs one plugin and records its decision. It returns nil if the
// plugin is gone, and an error (with the decision) only when ctx ended.
func (e *Engine) decide(ctx context.Context, k slotKey, call store.Call, hook string, input func(string) []byte) (*store.Decision, error) {
	s, v := e.acquire(k)
	if s == nil {
		return nil, nil
	}
	p := v.plugin
	d := store.Decision{
		Sid: newDecisionSid(), CallSid: call.Sid, AccountSid: call.AccountSid, Hook: hook,
		Plugin: p.Name, PluginAccountSid: p.AccountSid, Hash: p.Hash, DateCreated: e.cfg.Now(),
	}
	start := time.Now()
	answer, err := e.invoke(ctx, v, exportOf(hook), input(p.Config), call.Sid)
	d.LatencyMicros = time.Since(start).Microseconds()
	e.release(v)

	c := &s.counters
	c.invocations.Add(1)
	var ctxErr error
	if err != nil {
		kind := failureKind(err)
		mode := p.FailModes[hook]
		if mode == "" {
			mode = DefaultFailMode(hook)
		}
		d.Verdict, d.Error, d.FailMode = store.VerdictError, err.Error(), mode
		d.Reason = fmt.Sprintf("plugin/%s: unavailable (%s)", p.Name, kind)
		c.failures.Add(1)
		c.count(kind)
		e.log.Warn("policy plugin failed; its fail mode applies", "call_sid", call.Sid, "account_sid", p.AccountSid,
			"plugin", p.Name, "hash", p.Hash, "hook", hook, "kind", kind, "fail_mode", mode, "err", err)
		if cerr := ctx.Err(); cerr != nil {
			ctxErr = fmt.Errorf("policy: %s of call %s: %w", hook, call.Sid, cerr)
		}
	} else {
		d.Verdict, d.Reason = string(answer.Verdict), answer.Reason
		switch answer.Verdict {
		case sdk.VerdictAllow:
			c.allowed.Add(1)
		case sdk.VerdictDeny:
			c.denied.Add(1)
			if d.Reason == "" {
				d.Reason = fmt.Sprintf("plugin/%s: denied", p.Name)
			}
		case sdk.VerdictRewrite:
			c.rewritten.Add(1)
			d.RewriteURL, d.RewriteMethod = answer.URL, answer.Method
		}
	}
	// Recorded even when the request was canceled: the audit must show
	// every invocation.
	if err := e.cfg.Store.AddDecision(context.WithoutCancel(ctx), d); err != nil {
		e.log.Error("recording a policy decision failed", "call_sid", call.Sid, "plugin", p.Name, "err", err)
	}
	return &d, ctxErr
}

// invoke runs hook on v and checks the answer.
func (e *Engine) invoke(ctx context.Context, v *version, hook string, input []byte, callSid string) (sdk.Decision, error) {
	if v.mod == nil {
		return sdk.Decision{}, fmt.Errorf("plugin/%s: not loaded: %s", v.plugin.Name, v.loadErr)
	}
	raw, err := v.mod.Invoke(ctx, hook, input, wasmhost.CallInfo{CallSid: callSid})
	if err != nil {
		return sdk.Decision{}, err
	}
	var d sdk.Decision
	if err := sdk.DecodeDecision(raw, &d); err != nil {
		return sdk.Decision{}, fmt.Errorf("plugin/%s: %s: %w: %v", v.plugin.Name, hook, errBadDecision, err)
	}
	if err := d.Validate(hook); err != nil {
		return sdk.Decision{}, fmt.Errorf("plugin/%s: %s: %w: %v", v.plugin.Name, hook, errBadDecision, err)
	}
	return d, nil
}

// Failure kinds, as they appear in decision reasons and counters.
const (
	kindTimeout     = "timeout"
	kindTrap        = "trap"
	kindMemory      = "memory limit"
	kindBadOutput   = "bad output"
	kindUnavailable = "not loaded"
	kindCanceled    = "canceled"
)

func failureKind(err error) string {
	switch {
	case errors.Is(err, wasmhost.ErrTimeout):
		return kindTimeout
	case errors.Is(err, wasmhost.ErrCanceled):
		return kindCanceled
	case errors.Is(err, wasmhost.ErrMemoryLimit):
		return kindMemory
	case errors.Is(err, wasmhost.ErrBadOutput), errors.Is(err, errBadDecision):
		return kindBadOutput
	case errors.Is(err, wasmhost.ErrTrap):
		return kindTrap
	}
	return kindUnavailable
}

func (c *counters) count(kind string) {
	switch kind {
	case kindTimeout:
		c.timeouts.Add(1)
	case kindTrap:
		c.traps.Add(1)
	case kindMemory:
		c.memoryHits.Add(1)
	case kindBadOutput:
		c.badOutputs.Add(1)
	default:
		c.unavailable.Add(1)
	}
}
