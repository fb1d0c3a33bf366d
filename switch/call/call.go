// Package call is the call actor: one goroutine owns each call's state, its
// SIP leg, its media and its RCML application, and changes them only in
// response to messages in its mailbox (SIP events, finished steps, live
// modifications from the API, timers).
//
// Long work (fetching RCML, playing audio, pausing) runs on a step goroutine
// whose result comes back as a message tagged with a generation number; a
// Live Call Modification cancels the step and bumps the generation, so a
// late result of the old step is recognised and dropped. A panic on the actor
// goroutine ends that call, never the process.
package call

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"runtime/debug"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/patchbay/patchbay/plugins/rcml"
	"github.com/patchbay/patchbay/switch/calls"
	"github.com/patchbay/patchbay/switch/policy"
	"github.com/patchbay/patchbay/switch/sdp"
	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/sipua"
	"github.com/patchbay/patchbay/switch/store"
	"github.com/patchbay/patchbay/switch/webhook"
)

// ErrEnded is returned by Modify when the call ended before the message was handled.
var ErrEnded = calls.ErrCallEnded

// App is the RCML application a call runs.
type App struct {
	URL, Method                          string
	FallbackURL, FallbackMethod          string
	StatusCallback, StatusCallbackMethod string // application status callback (§4.4)
}

// Call is one call leg and its application. Its methods are safe for
// concurrent use; they talk to the owner goroutine by message.
type Call struct {
	deps    *Deps
	log     *slog.Logger
	mailbox chan any
	closing chan struct{} // closed when the call starts ending: steps stop posting
	done    chan struct{} // closed when the actor goroutine exited
	sid     string
	// digits carries the keys the peer presses (RFC 4733 or SIP INFO) to
	// the <Gather> or <Record> step reading them; a full buffer drops keys
	// rather than block the media goroutine.
	digits chan byte

	// Everything below is owned by the actor goroutine.
	rec        store.Call
	app        App
	in         *sipua.InboundLeg
	out        *sipua.OutboundLeg
	negotiated sdp.Negotiated
	stepKind   stepKind
	media      Media
	answered   bool
	plan       *rcml.Plan
	pc         int
	gen        int
	stepCancel context.CancelFunc
	steps      sync.WaitGroup
	// lastStep is closed when the step started last has returned; the
	// next step waits for it, at most stepWait (see startStep).
	lastStep   chan struct{}
	stepWait   time.Duration
	ringTimer  *time.Timer
	sipHeaders map[string]string // X- headers for SipHeader_ parameters
	appStates  map[string]bool   // application status callback states already sent
	progress   map[string]bool   // call-progress events subscribed
	finished   bool
	hangupWhy  string
	// peerHungUp: the call ended by the peer's BYE.
	peerHungUp bool
	// recording is the running <Record>, finished by its step even when
	// the call ends under it.
	recording *recordResult
	local     sdp.Local // outbound: our media description
	start     func()    // set by NewInbound/NewOutbound, run by Start
	// dialing tracks the goroutine sending an outbound INVITE (and fire-and-
	// forget Dial actions); it hangs the leg up itself if the call ended.
	dialing sync.WaitGroup
	// dialRun is the parent side of a running <Dial>.
	dialRun *dialState
	// parent is set while this call is a <Dial> branch; bridge is the relay
	// to the parent once bridged.
	parent *Call
	bridge Bridge
	// screenURL is a branch's screening document, screening true while it runs.
	screenURL, screenMethod string
	screening               bool
	// conf is the call's conference membership; pendingConf a Conference
	// waiting for its music to load.
	conf        *confState
	pendingConf *rcml.Dial
}

// Sid is the CallSid.
func (c *Call) Sid() string { return c.sid }

// AccountSid is the owner of the call; it never changes.
func (c *Call) AccountSid() string { return c.rec.AccountSid }

// Done is closed once the call has ended and its goroutine exited.
func (c *Call) Done() <-chan struct{} { return c.done }

func newCall(d *Deps, rec store.Call, app App) *Call {
	c := &Call{
		deps:      d,
		mailbox:   make(chan any, 32),
		closing:   make(chan struct{}),
		done:      make(chan struct{}),
		digits:    make(chan byte, 32),
		sid:       rec.Sid,
		rec:       rec,
		app:       app,
		appStates: make(map[string]bool),
	}
	c.log = d.Log.With("call_sid", rec.Sid)
	return c
}

// Start runs the call's goroutine. Call it once, after the call is indexed.
func (c *Call) Start() { go c.run(c.start) }

// setMedia makes m the call's media and listens to the keys it receives.
func (c *Call) setMedia(m Media) {
	c.media = m
	m.SetDigitHandler(c.deliverDigit)
}

// deliverDigit passes a key to whichever step reads them; safe from any
// goroutine, never blocks.
func (c *Call) deliverDigit(d byte) {
	select {
	case c.digits <- d:
	default:
		c.log.Debug("digit dropped: nobody is reading keys", "digit", string(d))
	}
}

// drainDigits forgets keys pressed before the verb that reads them began.
func (c *Call) drainDigits() { drain(c.digits) }

// drain drops the keys waiting in keys.
func drain(keys <-chan byte) {
	for {
		select {
		case <-keys:
		default:
			return
		}
	}
}

// post delivers a message to the actor; once the call is ending it is
// dropped and post reports false.
func (c *Call) post(m any) bool {
	select {
	case c.mailbox <- m:
		return true
	case <-c.closing:
		return false
	}
}

type (
	legEvent struct{ ev sipua.Event }
	dialed   struct {
		leg *sipua.OutboundLeg
		err error
	}
	ringExpiry struct{}
	stepDone   struct {
		gen  int
		err  error
		plan *rcml.Plan // fetch steps
		doc  string     // URL of the fetched document, for notifications
		// primaryErr is why the primary URL failed when its fallback answered.
		primaryErr *webhook.FetchError
		// redirect is the tenants' verdict on an RCML <Redirect>.
		redirect *policy.Outcome
		// warnings are notifications the step found (media verbs).
		warnings []stepWarning
		gather   *gatherResult
		record   *recordResult
	}
	modifyMsg struct {
		req   calls.ModifyRequest
		reply chan modifyReply
	}
	modifyReply struct {
		rec store.Call
		err error
	}
	hangupMsg struct{ reply chan struct{} }
	// viewMsg asks the call for what its policy plugins see (PolicyView).
	viewMsg struct{ reply chan PolicyView }
)

// Modify applies a Live Call Modification and returns the call as it stands
// once the modification was accepted (and persisted).
func (c *Call) Modify(ctx context.Context, r calls.ModifyRequest) (store.Call, error) {
	m := modifyMsg{req: r, reply: make(chan modifyReply, 1)}
	// Until done, not closing: a hangup request ends the call before its
	// answer is sent, and still counts as accepted.
	rep, err := ask(ctx, c, c.done, m, m.reply)
	if err != nil {
		return store.Call{}, err
	}
	return rep.rec, rep.err
}

// ask posts m to the actor and waits for the answer it sends on reply (a
// buffered channel). It returns ErrEnded once ended is closed, unless the
// actor answered just before.
func ask[T any](ctx context.Context, c *Call, ended <-chan struct{}, m any, reply <-chan T) (T, error) {
	var none T
	select {
	case c.mailbox <- m:
	case <-ended:
		return none, ErrEnded
	case <-ctx.Done():
		return none, ctx.Err()
	}
	select {
	case v := <-reply:
		return v, nil
	case <-ended:
		select {
		case v := <-reply:
			return v, nil
		default:
			return none, ErrEnded
		}
	case <-ctx.Done():
		return none, ctx.Err()
	}
}

// PolicyView is what tenants' policy plugins are shown of a call.
type PolicyView struct {
	// Record is the call as its actor holds it now.
	Record store.Call
	// ConnectedCallSid is the leg a <Dial> bridged to this call: the
	// answered child of a parent, or the parent of a bridged child; "" when
	// no leg is connected.
	ConnectedCallSid string
}

// PolicyView returns the call as its actor sees it, which owns the bridge.
// It returns ErrEnded once the call is ending.
func (c *Call) PolicyView(ctx context.Context) (PolicyView, error) {
	m := viewMsg{reply: make(chan PolicyView, 1)}
	// Until closing: the actor stops reading its mailbox once the call
	// starts ending, and a view of an ending call is of no use.
	return ask(ctx, c, c.closing, m, m.reply)
}

// connectedLeg is PolicyView's ConnectedCallSid, inside the actor.
func (c *Call) connectedLeg() string {
	switch {
	case c.dialRun != nil && c.dialRun.bridged != nil:
		return c.dialRun.bridged.Sid()
	case c.parent != nil && c.bridge != nil:
		return c.parent.Sid()
	}
	return ""
}

// Hangup ends the call (switch shutdown) and returns once it has ended.
func (c *Call) Hangup(ctx context.Context) {
	m := hangupMsg{reply: make(chan struct{})}
	select {
	case c.mailbox <- m:
	case <-c.done:
		return
	case <-ctx.Done():
		return
	}
	select {
	case <-c.done:
	case <-ctx.Done():
	}
}

func (c *Call) run(start func()) {
	defer close(c.done)
	defer c.dialing.Wait()
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("call actor panicked; ending the call", "panic", p, "stack", string(debug.Stack()))
			if !c.finished {
				// Tear the leg down too: the peer must not be left ringing or
				// connected to a call nobody owns.
				c.hangup(store.StatusFailed, "internal error")
			}
		}
		c.deps.Ended(c)
	}()
	start()
	for !c.finished {
		m := <-c.mailbox
		c.handle(m)
	}
}

func (c *Call) handle(m any) {
	switch m := m.(type) {
	case legEvent:
		if c.in != nil {
			c.onInboundEvent(m.ev)
		} else {
			c.onOutboundEvent(m.ev)
		}
	case stepDone:
		if m.gen != c.gen {
			return // result of a step that was cancelled by a redirect or hangup
		}
		c.stepCancel = nil
		c.onStepDone(m)
	case dialed:
		c.onDialed(m)
	case ringExpiry:
		c.onRingTimeout()
	case branchRinging, branchAnswered, branchEnded, branchLeft, dialTimeout, dialTimeLimit:
		c.onDialMessage(m)
	case branchBridged, branchHangup, branchMove:
		c.onBranchMessage(m)
	case confAudio:
		c.onConfAudio(m)
	case confEnded:
		c.onConfEnded(m)
	case modifyMsg:
		rec, err := c.modify(m.req)
		m.reply <- modifyReply{rec: rec, err: err}
	case viewMsg:
		m.reply <- PolicyView{Record: c.rec, ConnectedCallSid: c.connectedLeg()}
	case hangupMsg:
		if c.answered {
			c.hangup(store.StatusCompleted, "switch shutdown")
		} else {
			c.cancelUnanswered(503, "Service Unavailable")
		}
	}
}

func (c *Call) now() time.Time { return c.deps.Now() }

// save persists the record; every transition goes through here before it is
// acknowledged to anyone.
func (c *Call) save() error {
	c.rec.DateUpdated = c.now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.deps.Store.PutCall(ctx, c.rec); err != nil {
		c.log.Error("persisting call record failed", "err", err)
		return fmt.Errorf("call %s: persisting state: %w", c.sid, err)
	}
	return nil
}

func (c *Call) setStatus(s string) {
	if c.rec.Status == s {
		return
	}
	c.rec.Status = s
	_ = c.save() // logged; the call goes on even if the store hiccups
	c.appStatusCallback()
}

// startStep runs f on a step goroutine; its result comes back as stepDone.
//
// f starts only once the step before it has returned. That one was just
// cancelled and returns within moments, but until it does it may still be
// reading keys or holding the recording tap: without the wait an old
// <Gather> could take a key meant for the new document's, or an old
// <Record> keep recording into the new one's time.
func (c *Call) startStep(f func(ctx context.Context) stepDone) {
	c.cancelStep()
	c.recording = nil
	ctx, cancel := context.WithCancel(context.Background())
	c.stepCancel = cancel
	gen := c.gen
	prev, done := c.lastStep, make(chan struct{})
	c.lastStep = done
	c.steps.Add(1)
	go func() {
		defer c.steps.Done()
		defer close(done)
		awaitStep(prev, c.stepWait, c.log)
		if ctx.Err() != nil {
			// Replaced, or the call ended, while it waited: its result
			// would be ignored, and running it could still take a key.
			return
		}
		r := runStep(ctx, c.log, f)
		r.gen = gen
		c.post(r)
	}()
}

// defaultStepWait bounds how long a step waits for its cancelled
// predecessor: a step that ignores its context must not stall the call.
const defaultStepWait = 5 * time.Second

// awaitStep waits until the step whose done channel is prev has returned
// (nil: there was none), for at most limit (0: defaultStepWait).
func awaitStep(prev <-chan struct{}, limit time.Duration, log *slog.Logger) {
	if prev == nil {
		return
	}
	select {
	case <-prev: // the usual case: no timer for it
		return
	default:
	}
	if limit <= 0 {
		limit = defaultStepWait
	}
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-prev:
	case <-t.C:
		log.Warn("a cancelled call step is still running; starting the next one anyway", "waited", limit)
	}
}

// runStep runs f and turns a panic into the step's error: a step runs off
// the actor's goroutine, where the actor's own recover cannot reach, and a
// bug in one verb (or a malformed plan) must end that verb, not the switch.
func runStep(ctx context.Context, log *slog.Logger, f func(ctx context.Context) stepDone) (r stepDone) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("call step panicked; skipping the verb", "panic", p, "stack", string(debug.Stack()))
			r = stepDone{err: fmt.Errorf("internal error in a call step: %v", p)}
		}
	}()
	return f(ctx)
}

// cancelStep stops the running step at once; its late result is ignored.
func (c *Call) cancelStep() {
	c.gen++
	if c.stepCancel != nil {
		c.stepCancel()
		c.stepCancel = nil
	}
}

func (c *Call) sipCallSidHeader() sip.Header {
	return sip.NewHeader(sipua.CallSidHeader, c.sid)
}

// notify records an account notification (and logs it).
func (c *Call) notify(code int, level int, msg, reqURL, method string) {
	if level == 0 {
		c.log.Warn("rcml error", "code", code, "msg", msg, "url", redact(reqURL))
	} else {
		c.log.Info("rcml warning", "code", code, "msg", msg, "url", redact(reqURL))
	}
	now := c.now()
	n := store.Notification{
		Sid:           sid.New(sid.Notification),
		AccountSid:    c.rec.AccountSid,
		CallSid:       c.sid,
		APIVersion:    "2012-04-24",
		Log:           level,
		ErrorCode:     code,
		MoreInfo:      fmt.Sprintf("https://www.restcomm.com/docs/errors/%d", code),
		MessageText:   msg,
		MessageDate:   now,
		RequestURL:    redact(reqURL),
		RequestMethod: method,
		DateCreated:   now,
		DateUpdated:   now,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.deps.Store.AddNotification(ctx, n); err != nil {
		c.log.Error("recording notification failed", "err", err)
	}
}

// redact removes the password from a URL with user info.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
