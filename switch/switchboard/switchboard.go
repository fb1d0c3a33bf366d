// Package switchboard owns the live calls: it routes inbound INVITEs to the
// application of the number they dialed, places calls for the REST API and
// hands Live Call Modifications to the owning call's goroutine.
//
// The switchboard only keeps the index of live calls; each call's state
// belongs to its call actor (package call).
package switchboard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/patchbay/patchbay/plugins/rcml"
	"github.com/patchbay/patchbay/sdk"
	"github.com/patchbay/patchbay/switch/call"
	"github.com/patchbay/patchbay/switch/calls"
	"github.com/patchbay/patchbay/switch/policy"
	"github.com/patchbay/patchbay/switch/sdp"
	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/sipua"
	"github.com/patchbay/patchbay/switch/store"
)

// Config configures a Switchboard.
type Config struct {
	// Deps are shared with every call; Deps.Ended and Deps.Branches are set by New.
	Deps call.Deps
	// OutboundProxy is the SIP URI calls to numbers go to ("" = none).
	OutboundProxy string
	// Clients finds the registered contacts of a client (the registrar).
	Clients ClientLocator
	// Policy runs tenant plugins before a redirect or hangup takes effect;
	// nil allows everything.
	Policy Policy
}

// Policy decides on live modifications with the tenants' plugins.
type Policy interface {
	Redirect(ctx context.Context, chain []string, c store.Call, r policy.RedirectRequest) (policy.Outcome, error)
	Hangup(ctx context.Context, chain []string, c store.Call, r policy.HangupRequest) (policy.Outcome, error)
	// Binds reports whether any tenant bound a plugin to hook.
	Binds(hook string) bool
}

// ClientLocator returns the live registrations of a client login.
type ClientLocator interface {
	Lookup(ctx context.Context, login string) ([]store.Registration, error)
}

// Switchboard implements calls.Controller and sipua.Handler.
type Switchboard struct {
	deps    call.Deps
	log     *slog.Logger
	proxy   *sip.Uri
	dialer  call.Dialer
	clients ClientLocator
	policy  Policy

	mu      sync.Mutex
	live    map[string]*call.Call
	closing bool
}

var (
	_ calls.Controller = (*Switchboard)(nil)
	_ sipua.Handler    = (*Switchboard)(nil)
)

// New builds a Switchboard. Call SetDialer before placing calls.
func New(cfg Config) (*Switchboard, error) {
	s := &Switchboard{deps: cfg.Deps, log: cfg.Deps.Log, live: make(map[string]*call.Call), clients: cfg.Clients, policy: cfg.Policy}
	if s.deps.Now == nil {
		s.deps.Now = time.Now
	}
	s.deps.Ended = s.ended
	s.deps.Branches = s
	if cfg.OutboundProxy != "" {
		var u sip.Uri
		raw := cfg.OutboundProxy
		if !strings.HasPrefix(raw, "sip:") && !strings.HasPrefix(raw, "sips:") {
			raw = "sip:" + raw
		}
		if err := sip.ParseUri(raw, &u); err != nil {
			return nil, fmt.Errorf("switchboard: outbound proxy %q: %w", cfg.OutboundProxy, err)
		}
		s.proxy = &u
	}
	return s, nil
}

// SetDialer sets the SIP stack that places outbound legs. The stack needs
// the switchboard as its handler, so the two are wired after construction.
func (s *Switchboard) SetDialer(d call.Dialer) { s.dialer = d }

// Live returns the number of live calls.
func (s *Switchboard) Live() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.live)
}

// admit indexes a new call and starts it, unless the switchboard is
// closing. Indexing before starting means a call is findable by LCM from
// its first instant and cannot end before it is indexed.
func (s *Switchboard) admit(c *call.Call) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.live[c.Sid()] = c
	c.Start()
	return true
}

func (s *Switchboard) ended(c *call.Call) {
	s.mu.Lock()
	delete(s.live, c.Sid())
	s.mu.Unlock()
}

func (s *Switchboard) get(callSid string) *call.Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live[callSid]
}

// HandleInvite routes a new inbound call (sipua.Handler).
func (s *Switchboard) HandleInvite(leg *sipua.InboundLeg) {
	log := s.log.With("sip_call_id", leg.CallID, "from", leg.FromUser, "to", leg.RequestUser)
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		leg.Reject(503, "Service Unavailable")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	params, code, reason := s.route(ctx, leg)
	if code != 0 {
		log.Info("INVITE refused", "code", code, "reason", reason)
		leg.Reject(code, reason)
		return
	}
	acct, err := s.deps.Store.Account(ctx, params.AccountSid)
	if err != nil {
		log.Error("account lookup failed", "account_sid", params.AccountSid, "err", err)
		leg.Reject(500, "Server Internal Error")
		return
	}
	if acct.Status != store.AccountActive {
		log.Info("INVITE for an inactive account", "account_sid", params.AccountSid)
		leg.Reject(403, "Account is not ACTIVE")
		return
	}
	if len(leg.SDP) == 0 {
		// Offerless INVITEs (late offer) are not supported: we must pick a
		// codec before answering.
		leg.Reject(488, "Not Acceptable Here", sip.NewHeader("Warning", `399 patchbay "an SDP offer is required"`))
		return
	}
	offer, err := sdp.ParseOffer(leg.SDP)
	if err != nil {
		log.Info("INVITE with bad SDP", "err", err)
		leg.Reject(400, "Bad Request", sip.NewHeader("Warning", fmt.Sprintf("399 patchbay %q", "malformed SDP: "+err.Error())))
		return
	}
	n, err := sdp.Negotiate(offer, sdp.DefaultCodecs())
	if err != nil {
		log.Info("INVITE without a common codec", "err", err)
		leg.Reject(488, "Not Acceptable Here", sip.NewHeader("Warning", `304 patchbay "no common codec: PCMU or PCMA required"`))
		return
	}
	params.Leg, params.Negotiated = leg, n
	c := call.NewInbound(&s.deps, params)
	if !s.admit(c) {
		leg.Reject(503, "Service Unavailable")
		return
	}
	log.Info("inbound call", "call_sid", c.Sid(), "account_sid", params.AccountSid)
}

// route decides what an inbound INVITE runs (restcomm-resources.md §3.5,
// §3.6), or the final response refusing it. An authenticated client runs
// its own application; a call to a client rings it (an implicit
// <Dial><Client>, through our media so LCM works); a call to a number runs
// the number's application; a client may also reach the outbound proxy.
// Callers that are not clients reach only this switch's numbers and clients.
func (s *Switchboard) route(ctx context.Context, leg *sipua.InboundLeg) (call.InboundParams, int, string) {
	caller, isClient := leg.Caller.(store.Client)
	isClient = isClient && caller.Sid != ""
	dialed := leg.RequestUser
	var p call.InboundParams
	if isClient && caller.VoiceURL != "" {
		p.AccountSid = caller.AccountSid
		p.App = &call.App{URL: caller.VoiceURL, Method: caller.VoiceMethod, FallbackURL: caller.VoiceFallbackURL, FallbackMethod: caller.VoiceFallbackMethod}
		return p, 0, ""
	}
	if callee, err := s.deps.Store.ClientByLogin(ctx, dialed); err == nil && callee.Status == store.ClientEnabled {
		p.AccountSid = callee.AccountSid
		if isClient {
			p.AccountSid = caller.AccountSid
		}
		p.Plan = implicitDial(rcml.Target{Kind: rcml.TargetClient, To: dialed, Headers: leg.Headers})
		return p, 0, ""
	}
	num, err := s.deps.Store.MatchPhoneNumber(ctx, dialed)
	switch {
	case err == nil:
		p.Number, p.AccountSid = num, num.AccountSid
		if isClient {
			p.AccountSid = caller.AccountSid // the client's account owns the call (issue #1939)
		}
		return p, 0, ""
	case !errors.Is(err, store.ErrNotFound):
		s.log.Error("number lookup failed", "dialed", dialed, "err", err)
		return p, 500, "Server Internal Error"
	}
	if isClient && s.proxy != nil {
		p.AccountSid = caller.AccountSid
		p.Plan = implicitDial(rcml.Target{Kind: rcml.TargetNumber, To: dialed, Headers: leg.Headers})
		return p, 0, ""
	}
	return p, 404, "Not Found"
}

// implicitDial is the one-verb document upstream runs for calls to clients.
func implicitDial(t rcml.Target) *rcml.Plan {
	t.Method, t.StatusCallbackMethod = rcml.MethodPOST, rcml.MethodPOST
	return &rcml.Plan{Verbs: []rcml.Verb{{Kind: rcml.KindDial, Dial: &rcml.Dial{
		Mode: rcml.DialModeFork, Method: rcml.MethodPOST, Timeout: 30, TimeLimit: 14400, Targets: []rcml.Target{t},
	}}}}
}

// Create places an outbound call (calls.Controller).
func (s *Switchboard) Create(ctx context.Context, r calls.CreateRequest) ([]store.Call, error) {
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		return nil, calls.ErrShuttingDown
	}
	var target sip.Uri
	var toUser string
	switch r.ToKind {
	case calls.TargetSIP:
		raw := r.To
		if !strings.HasPrefix(raw, "sip:") && !strings.HasPrefix(raw, "sips:") {
			raw = "sip:" + raw
		}
		if err := sip.ParseUri(raw, &target); err != nil || target.Host == "" {
			return nil, fmt.Errorf("%w: %q is not a SIP URI", calls.ErrBadTarget, r.To)
		}
		toUser = target.User
	case calls.TargetNumber:
		if s.proxy == nil {
			return nil, calls.ErrNoOutboundProxy
		}
		target = *s.proxy.Clone()
		target.User = r.To
		toUser = r.To
	case calls.TargetClient:
		return s.createToClient(ctx, r)
	default:
		return nil, fmt.Errorf("%w: unknown target kind %q", calls.ErrBadTarget, r.ToKind)
	}
	if s.dialer == nil {
		return nil, errors.New("switchboard: no SIP dialer")
	}
	c, rec, err := call.NewOutbound(&s.deps, call.OutboundParams{Req: r, Target: target, ToUser: toUser, Dialer: s.dialer})
	if err != nil {
		return nil, err
	}
	if !s.admit(c) {
		c.Abort()
		return nil, calls.ErrShuttingDown
	}
	return []store.Call{rec}, nil
}

// createToClient rings every registered contact of a client, each as its
// own call (the API answers with all of them).
func (s *Switchboard) createToClient(ctx context.Context, r calls.CreateRequest) ([]store.Call, error) {
	login := strings.TrimPrefix(r.To, "client:")
	if s.clients == nil {
		return nil, calls.ErrClientNotRegistered
	}
	regs, err := s.clients.Lookup(ctx, login)
	if err != nil {
		return nil, fmt.Errorf("switchboard: looking up client %s: %w", login, err)
	}
	var recs []store.Call
	for _, reg := range regs {
		var target sip.Uri
		if err := sip.ParseUri(reg.Contact, &target); err != nil {
			continue
		}
		c, rec, err := call.NewOutbound(&s.deps, call.OutboundParams{Req: r, Target: target, ToUser: login, Dialer: s.dialer})
		if err != nil {
			return recs, err
		}
		if !s.admit(c) {
			c.Abort()
			return recs, calls.ErrShuttingDown
		}
		recs = append(recs, rec)
	}
	if len(recs) == 0 {
		return nil, calls.ErrClientNotRegistered
	}
	return recs, nil
}

// Modify applies a Live Call Modification (calls.Controller).
func (s *Switchboard) Modify(ctx context.Context, r calls.ModifyRequest) (calls.Modified, error) {
	callSid := sid.CanonicalCall(r.CallSid)
	r.CallSid = callSid
	if c := s.get(callSid); c != nil {
		if c.AccountSid() != r.AccountSid && !r.Superuser {
			return calls.Modified{}, calls.ErrUnknownCall
		}
		rewritten, err := s.decide(ctx, c, &r)
		if err != nil {
			return calls.Modified{}, err
		}
		rec, err := c.Modify(ctx, r)
		if err != nil {
			return calls.Modified{}, fmt.Errorf("switchboard: modifying call %s: %w", callSid, err)
		}
		m := calls.Modified{Call: rec}
		if rewritten {
			m.RewriteURL, m.RewriteMethod = r.URL, r.Method
		}
		return m, nil
	}
	rec, err := s.deps.Store.Call(ctx, callSid)
	if errors.Is(err, store.ErrNotFound) {
		return calls.Modified{}, calls.ErrUnknownCall
	}
	if err != nil {
		return calls.Modified{}, fmt.Errorf("switchboard: looking up call %s: %w", callSid, err)
	}
	if rec.AccountSid != r.AccountSid && !r.Superuser {
		return calls.Modified{}, calls.ErrUnknownCall
	}
	return calls.Modified{}, calls.ErrCallEnded
}

// decide runs the tenants' policy plugins on a modification before it takes
// effect: a deny answers the request (the call carries on untouched), a
// rewrite changes what the call fetches (r's Url and Method; rewritten
// reports it). A hangup is decided when Status is given (it wins over Url),
// a redirect otherwise. The plugins see the call as its actor holds it, and
// r carries the connected leg they saw, so that the call refuses the
// request if a <Dial> bridged or ended meanwhile (calls.ErrCallChanged).
func (s *Switchboard) decide(ctx context.Context, c *call.Call, r *calls.ModifyRequest) (rewritten bool, err error) {
	hook := sdk.HookRedirect
	if r.Status != "" {
		hook = sdk.HookHangup
	}
	if s.policy == nil || (r.Status == "" && r.URL == "") || !s.policy.Binds(hook) {
		return false, nil
	}
	view, err := c.PolicyView(ctx)
	if err != nil {
		return false, fmt.Errorf("switchboard: viewing call %s for its policy: %w", r.CallSid, err)
	}
	var out policy.Outcome
	if r.Status != "" {
		out, err = s.policy.Hangup(ctx, nil, view.Record, policy.HangupRequest{
			Status: r.Status, RequesterSid: r.RequesterSid, ConnectedCallSid: view.ConnectedCallSid,
		})
	} else {
		out, err = s.policy.Redirect(ctx, nil, view.Record, policy.RedirectRequest{
			URL: r.URL, Method: r.Method, FallbackURL: r.FallbackURL,
			MoveConnectedCallLeg: r.MoveConnectedCallLeg, RequesterSid: r.RequesterSid,
			ConnectedCallSid: view.ConnectedCallSid,
		})
	}
	if err != nil {
		return false, fmt.Errorf("switchboard: policy for call %s: %w", r.CallSid, err)
	}
	if err := out.Denied(); err != nil {
		return false, err
	}
	r.PolicyDecided, r.PolicyConnectedCallSid = true, view.ConnectedCallSid
	if r.Status == "" && out.Verdict == store.VerdictRewrite {
		r.URL, r.Method = out.URL, out.Method
		return true, nil
	}
	return false, nil
}

// Shutdown refuses new calls, hangs up every live call and waits until they
// have ended or ctx is done.
func (s *Switchboard) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	live := make([]*call.Call, 0, len(s.live))
	for _, c := range s.live {
		live = append(live, c)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range live {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Hangup(ctx)
		}()
	}
	wg.Wait()
	for _, c := range live {
		select {
		case <-c.Done():
		case <-ctx.Done():
			return fmt.Errorf("switchboard: %d calls still live at shutdown: %w", s.Live(), ctx.Err())
		}
	}
	return nil
}

// Reconcile ends, in the store, the calls that were live when the process
// last stopped: nothing of them survives a restart, so they get an end time
// and a final status. The end time is the last state change we recorded,
// not the restart: the downtime must not be billed as talk time.
func (s *Switchboard) Reconcile(ctx context.Context) (int, error) {
	recs, err := s.deps.Store.LiveCalls(ctx)
	if err != nil {
		return 0, fmt.Errorf("switchboard: listing live calls: %w", err)
	}
	now := s.deps.Now()
	for _, r := range recs {
		end := r.DateUpdated
		if end.IsZero() || end.Before(r.StartTime) {
			end = r.StartTime
		}
		switch {
		case !r.AnswerTime.IsZero():
			r.Status = store.StatusCompleted
			r.Duration = max(0, int(end.Sub(r.AnswerTime).Seconds()))
		case r.Status == store.StatusQueued || r.Status == store.StatusRinging:
			r.Status = store.StatusCanceled
			r.Duration = 0
		default:
			r.Status = store.StatusFailed
			r.Duration = 0
		}
		r.EndTime = end
		r.DateUpdated = now
		if err := s.deps.Store.PutCall(ctx, r); err != nil {
			return 0, fmt.Errorf("switchboard: ending stale call %s: %w", r.Sid, err)
		}
		s.log.Warn("ended a call left live by the previous run", "call_sid", r.Sid, "status", r.Status)
	}
	return len(recs), nil
}
