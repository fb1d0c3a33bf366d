package call

import (
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/patchbay/patchbay/switch/calls"
	"github.com/patchbay/patchbay/switch/sdp"
	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/sipua"
	"github.com/patchbay/patchbay/switch/store"
)

// Dialer places outbound SIP legs.
type Dialer interface {
	Dial(r sipua.DialRequest, onEvent func(sipua.Event)) (*sipua.OutboundLeg, error)
}

// OutboundParams describe a call placed through the Calls API.
type OutboundParams struct {
	Req    calls.CreateRequest
	Target sip.Uri
	// ToUser is the callee as the record shows it.
	ToUser string
	Dialer Dialer
}

// NewOutbound creates the call record (queued) and allocates media; Start
// persists it and sends the INVITE. The returned record is what the API
// answers with. A call that is never started must be Aborted.
func NewOutbound(d *Deps, p OutboundParams) (*Call, store.Call, error) {
	now := d.Now()
	r := p.Req
	events := r.StatusCallbackEvents
	if len(events) == 0 {
		events = []string{"initiated", "ringing", "answered", "completed"}
	}
	rec := store.Call{
		Sid:                  sid.New(sid.Call),
		AccountSid:           r.AccountSid,
		To:                   p.ToUser,
		From:                 r.From,
		Status:               store.StatusQueued,
		Direction:            store.DirectionOutboundAPI,
		APIVersion:           apiVersion,
		DateCreated:          now,
		StartTime:            now,
		Duration:             -1,
		RingDuration:         -1,
		Price:                "0.00",
		PriceUnit:            "USD",
		URL:                  r.URL,
		Method:               methodOr(r.Method),
		FallbackURL:          r.FallbackURL,
		FallbackMethod:       methodOr(r.FallbackMethod),
		StatusCallback:       r.StatusCallback,
		StatusCallbackMethod: methodOr(r.StatusCallbackMethod),
		StatusCallbackEvents: events,
	}
	app := App{URL: rec.URL, Method: rec.Method, FallbackURL: rec.FallbackURL, FallbackMethod: rec.FallbackMethod}
	c := newCall(d, rec, app)
	c.progress = make(map[string]bool, len(events))
	for _, e := range events {
		c.progress[e] = true
	}
	m, err := d.Media.NewMedia()
	if err != nil {
		return nil, store.Call{}, fmt.Errorf("call: media for outbound call: %w", err)
	}
	c.setMedia(m)
	local := sdp.Local{Address: d.MediaIP, Port: m.LocalPort(), SessionID: sessionID(), SessionVersion: 1}
	c.local = local
	offer, err := sdp.Offer(local, sdp.DefaultCodecs(), sdp.SendRecv)
	if err != nil {
		m.Close()
		return nil, store.Call{}, fmt.Errorf("call: SDP offer: %w", err)
	}
	headers := map[string]string{sipua.CallSidHeader: rec.Sid}
	for k, v := range r.Headers {
		headers[k] = v
	}
	from := r.From
	timeout := time.Duration(r.TimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	dial := sipua.DialRequest{Target: p.Target, FromUser: from, Headers: headers, SDP: offer, Username: r.Username, Password: r.Password}
	c.start = func() {
		if err := c.save(); err != nil {
			c.finish(store.StatusFailed)
			return
		}
		c.ringTimer = time.AfterFunc(timeout, func() { c.post(ringExpiry{}) })
		// Sending the INVITE may take a while (DNS, TCP connect): do it off
		// the actor so LCM and shutdown are served meanwhile.
		c.dialing.Add(1)
		go func() {
			defer c.dialing.Done()
			leg, err := p.Dialer.Dial(dial, func(ev sipua.Event) { c.post(legEvent{ev}) })
			if !c.post(dialed{leg: leg, err: err}) && leg != nil {
				leg.Hangup() // the call ended while the INVITE was being sent
			}
		}()
	}
	return c, rec, nil
}

// Abort releases what NewOutbound allocated for a call that never started.
func (c *Call) Abort() {
	if c.media != nil {
		c.media.Close()
		c.media = nil
	}
}

func (c *Call) onDialed(m dialed) {
	if c.finished {
		if m.leg != nil {
			m.leg.Hangup()
		}
		return
	}
	if m.err != nil {
		c.log.Warn("outbound INVITE failed", "err", m.err)
		c.notify(11008, 0, "cannot place call: "+m.err.Error(), "", "")
		c.finish(store.StatusFailed)
		return
	}
	c.out = m.leg
	c.rec.SIPCallID = m.leg.CallID
	c.progressCallback("initiated")
}

func (c *Call) onOutboundEvent(ev sipua.Event) {
	switch ev.Kind {
	case sipua.EventProvisional:
		if c.rec.Status == store.StatusQueued {
			c.setStatus(store.StatusRinging)
			c.progressCallback("ringing")
			c.toParent(branchRinging{sid: c.sid})
		}
	case sipua.EventAnswered:
		c.onOutboundAnswered(ev)
	case sipua.EventFailed:
		c.log.Info("outbound call failed", "code", ev.Code, "reason", ev.Reason)
		c.sipHeaders = ev.Headers
		switch ev.Code {
		case 486, 600:
			c.finish(store.StatusBusy)
		case 408, 480:
			c.finish(store.StatusNoAnswer)
		default:
			c.finish(store.StatusFailed)
		}
	case sipua.EventCanceled:
		c.finish(store.StatusCanceled)
	case sipua.EventBye:
		c.log.Info("callee hung up")
		c.peerHungUp = true
		c.finish(store.StatusCompleted)
	case sipua.EventReInvite:
		c.onReInvite(ev.SDP)
	case sipua.EventDigit:
		c.deliverDigit(ev.Digit)
	}
}

func (c *Call) onOutboundAnswered(ev sipua.Event) {
	c.stopRingTimer()
	n, err := sdp.ParseAnswer(ev.SDP, sdp.DefaultCodecs())
	if err != nil {
		c.log.Warn("callee answered with unusable SDP; hanging up", "err", err)
		c.notify(12400, 0, "callee answered with unusable SDP: "+err.Error(), "", "")
		c.hangup(store.StatusFailed, "bad SDP answer")
		return
	}
	c.negotiated = n
	c.media.SetRemote(n)
	if c.out != nil {
		c.out.SetReInviteAnswerer(reInviteAnswerer(c.local, n.Codec))
	}
	c.sipHeaders = ev.Headers
	c.answered = true
	now := c.now()
	c.rec.AnswerTime = now
	c.rec.AnsweredBy = c.rec.To
	c.rec.RingDuration = int(now.Sub(c.rec.StartTime).Seconds())
	c.setStatus(store.StatusInProgress)
	c.progressCallback("answered")
	if c.parent != nil {
		c.onBranchAnswered()
		return
	}
	c.fetch(c.app.URL, c.app.Method, c.app.FallbackURL, c.app.FallbackMethod)
}

func (c *Call) onRingTimeout() {
	if c.answered || c.finished {
		return
	}
	c.log.Info("no answer before the timeout; canceling")
	if c.out != nil {
		c.out.Hangup()
	}
	c.finish(store.StatusNoAnswer)
}

func (c *Call) stopRingTimer() {
	if c.ringTimer != nil {
		c.ringTimer.Stop()
		c.ringTimer = nil
	}
}
