package call

import (
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
}

// StartInbound takes over an inbound leg: the call rings while its
// application is fetched. It must be called from Handler.HandleInvite.
func StartInbound(d *Deps, p InboundParams) *Call {
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
	c := newCall(d, rec, app)
	c.in = leg
	c.negotiated = p.Negotiated
	c.sipHeaders = leg.Headers
	// Attach before the INVITE handler starts serving commands, so no event
	// of this leg can be lost.
	leg.Attach(func(ev sipua.Event) { c.post(legEvent{ev}) })
	go c.run(func() {
		c.save()
		c.appStatusCallback()
		c.in.Ringing(180, c.sipCallSidHeader())
		c.fetch(c.app.URL, c.app.Method, c.app.FallbackURL, c.app.FallbackMethod)
	})
	return c
}

func (c *Call) onInboundEvent(ev sipua.Event) {
	switch ev.Kind {
	case sipua.EventCanceled:
		c.log.Info("caller canceled")
		c.finish(store.StatusCanceled)
	case sipua.EventBye:
		c.log.Info("caller hung up")
		c.finish(store.StatusCompleted)
	case sipua.EventAckTimeout:
		c.log.Warn("no ACK for our 200 OK; hanging up", "err", ev.Err)
		c.hangup(store.StatusCompleted, "no ACK")
	case sipua.EventReInvite:
		c.onReInvite(ev.SDP)
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
		c.in.Reject(503, "Service Unavailable")
		c.finish(store.StatusFailed)
		return false
	}
	c.media = m
	m.SetRemote(c.negotiated)
	body, err := sdp.Answer(sdp.Local{Address: c.deps.MediaIP, Port: m.LocalPort(), SessionID: sessionID(), SessionVersion: 1}, c.negotiated)
	if err != nil {
		c.log.Error("building SDP answer failed", "err", err)
		c.in.Reject(500, "Server Internal Error")
		c.finish(store.StatusFailed)
		return false
	}
	c.in.Answer(body, c.sipCallSidHeader())
	c.answered = true
	now := c.now()
	c.rec.AnswerTime = now
	c.rec.RingDuration = int(now.Sub(c.rec.StartTime).Seconds())
	c.setStatus(store.StatusInProgress)
	return true
}
