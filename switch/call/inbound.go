package call

import (
	"sync/atomic"

	"github.com/patchbay/patchbay/plugins/rcml"
	"github.com/patchbay/patchbay/switch/sdp"
	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/sipua"
	"github.com/patchbay/patchbay/switch/store"
)

// InboundParams describe an INVITE that matched a provisioned number.
type InboundParams struct {
	Leg    *sipua.InboundLeg
	Number store.PhoneNumber
	// Negotiated is the outcome of the caller's offer (already checked: a
	// call with no common codec never gets here).
	Negotiated sdp.Negotiated
	// App overrides the number's application (a client's own app); Plan,
	// when set, is run instead of fetching any document (an implicit
	// <Dial><Client>, as upstream runs for calls to clients).
	App  *App
	Plan *rcml.Plan
	// AccountSid overrides the number's owner as the owner of the call.
	AccountSid string
}

// NewInbound takes over an inbound leg; the call rings once Start runs it.
// It must be called from Handler.HandleInvite.
func NewInbound(d *Deps, p InboundParams) *Call {
	now := d.Now()
	leg := p.Leg
	caller := leg.FromDisplay
	to := leg.RequestUser
	if to == "" {
		to = leg.ToUser
	}
	rec := store.Call{
		Sid:            sid.New(sid.Call),
		AccountSid:     p.Number.AccountSid,
		To:             to,
		From:           leg.FromUser,
		PhoneNumberSid: p.Number.Sid,
		Status:         store.StatusRinging,
		Direction:      store.DirectionInbound,
		ForwardedFrom:  leg.ForwardedFrom,
		CallerName:     caller,
		APIVersion:     apiVersion,
		DateCreated:    now,
		StartTime:      now,
		Duration:       -1,
		RingDuration:   -1,
		Price:          "0.00",
		PriceUnit:      "USD",
		URL:            p.Number.VoiceURL,
		Method:         methodOr(p.Number.VoiceMethod),
		FallbackURL:    p.Number.VoiceFallbackURL,
		FallbackMethod: methodOr(p.Number.VoiceFallbackMethod),
		SIPCallID:      leg.CallID,
	}
	app := App{
		URL: rec.URL, Method: rec.Method, FallbackURL: rec.FallbackURL, FallbackMethod: rec.FallbackMethod,
		StatusCallback: p.Number.StatusCallback, StatusCallbackMethod: methodOr(p.Number.StatusCallbackMethod),
	}
	if p.App != nil {
		app = *p.App
		rec.URL, rec.Method, rec.FallbackURL, rec.FallbackMethod = app.URL, app.Method, app.FallbackURL, app.FallbackMethod
	}
	if p.AccountSid != "" {
		rec.AccountSid = p.AccountSid
	}
	c := newCall(d, rec, app)
	c.in = leg
	c.negotiated = p.Negotiated
	c.sipHeaders = leg.Headers
	// Attach before the INVITE handler starts serving commands, so no event
	// of this leg can be lost.
	leg.Attach(func(ev sipua.Event) { c.post(legEvent{ev}) })
	c.start = func() {
		if err := c.save(); err != nil {
			c.in.Reject(500, "Server Internal Error", c.sipCallSidHeader())
			c.finish(store.StatusFailed)
			return
		}
		c.appStatusCallback()
		c.in.Ringing(180, c.sipCallSidHeader())
		if p.Plan != nil {
			c.plan, c.pc = p.Plan, 0
			c.next()
			return
		}
		c.fetch(c.app.URL, c.app.Method, c.app.FallbackURL, c.app.FallbackMethod)
	}
	return c
}

func (c *Call) onInboundEvent(ev sipua.Event) {
	switch ev.Kind {
	case sipua.EventCanceled:
		// Also when our answer lost the race against the CANCEL.
		c.log.Info("caller canceled")
		c.answered = false
		c.finish(store.StatusCanceled)
	case sipua.EventBye:
		c.log.Info("caller hung up")
		c.peerHungUp = true
		c.finish(store.StatusCompleted)
	case sipua.EventAckTimeout:
		c.log.Warn("no ACK for our 200 OK; hanging up", "err", ev.Err)
		c.hangup(store.StatusCompleted, "no ACK")
	case sipua.EventReInvite:
		c.onReInvite(ev.SDP)
	case sipua.EventDigit:
		c.deliverDigit(ev.Digit)
	case sipua.EventConfirmed, sipua.EventRejected:
		// Nothing to do: our own answer or rejection completed.
	}
}

// onReInvite follows the peer's new offer (a new address or a hold); our
// own answer stays the same, so only where we send changes.
func (c *Call) onReInvite(body []byte) {
	offer, err := sdp.ParseOffer(body)
	if err != nil {
		c.log.Info("ignoring unparseable re-INVITE SDP", "err", err)
		return
	}
	n, err := sdp.Negotiate(offer, []sdp.Codec{c.negotiated.Codec})
	if err != nil {
		c.log.Info("ignoring re-INVITE without our codec", "err", err)
		return
	}
	c.negotiated = n
	if c.media != nil {
		c.media.SetRemote(n)
	}
}

// reInviteAnswerer answers a peer's new offer (hold, resume, new address)
// from values fixed at answer time: our address, port, session and codec.
// The direction follows RFC 3264 (sendonly is answered recvonly).
func reInviteAnswerer(local sdp.Local, codec sdp.Codec) sipua.ReInviteAnswerer {
	var version atomic.Uint64
	version.Store(local.SessionVersion)
	return func(offer []byte) ([]byte, error) {
		d, err := sdp.ParseOffer(offer)
		if err != nil {
			return nil, err
		}
		n, err := sdp.Negotiate(d, []sdp.Codec{codec})
		if err != nil {
			return nil, err
		}
		l := local
		l.SessionVersion = version.Add(1)
		return sdp.Answer(l, n)
	}
}

// answer answers an unanswered inbound call. It reports false when the call
// could not be answered (and has been ended).
func (c *Call) answer() bool {
	if c.answered {
		return true
	}
	if c.in == nil {
		return false
	}
	m, err := c.deps.Media.NewMedia()
	if err != nil {
		c.log.Error("no media port for the call", "err", err)
		c.notify(12400, 0, "no RTP port available: "+err.Error(), c.app.URL, c.app.Method)
		c.in.Reject(503, "Service Unavailable", c.sipCallSidHeader())
		c.finish(store.StatusFailed)
		return false
	}
	c.setMedia(m)
	m.SetRemote(c.negotiated)
	local := sdp.Local{Address: c.deps.MediaIP, Port: m.LocalPort(), SessionID: sessionID(), SessionVersion: 1}
	body, err := sdp.Answer(local, c.negotiated)
	if err != nil {
		c.log.Error("building SDP answer failed", "err", err)
		c.in.Reject(500, "Server Internal Error", c.sipCallSidHeader())
		c.finish(store.StatusFailed)
		return false
	}
	c.in.Answer(body, reInviteAnswerer(local, c.negotiated.Codec), c.sipCallSidHeader())
	c.answered = true
	now := c.now()
	c.rec.AnswerTime = now
	c.rec.RingDuration = int(now.Sub(c.rec.StartTime).Seconds())
	c.setStatus(store.StatusInProgress)
	return true
}
