package sipuatest

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Reply says how the peer handles one incoming INVITE.
type Reply struct {
	// Ringing sends 180 Ringing first.
	Ringing bool
	// Delay is the time between the INVITE (or the 180) and the final
	// response.
	Delay time.Duration
	// Forever sends no final response: the call rings until the remote
	// CANCELs it (or the peer closes).
	Forever bool
	// Code is the final status; 0 means 200 with an SDP answer.
	Code int
	// Reason is the reason phrase; default from the code.
	Reason string
	// Headers are added to the provisional and final responses (e.g.
	// X-RestComm-CallSid for a stand-in of the switch).
	Headers map[string]string
	// Codecs is the answer preference; default PCMU, PCMA.
	Codecs []Codec
}

// Behavior decides the Reply for each incoming INVITE. It runs on the
// INVITE's goroutine and may inspect the call (headers, Request-URI).
type Behavior func(in *Call) Reply

// Always replies r to every INVITE.
func Always(r Reply) Behavior { return func(*Call) Reply { return r } }

// AnswerAfter rings (180) for ring, then answers 200 with SDP. This is the
// default behavior, with ring 0.
func AnswerAfter(ring time.Duration) Behavior {
	return Always(Reply{Ringing: true, Delay: ring})
}

// RingForever sends 180 and never answers: the call waits for CANCEL.
func RingForever() Behavior { return Always(Reply{Ringing: true, Forever: true}) }

// Busy answers 486 Busy Here.
func Busy() Behavior { return Always(Reply{Code: 486}) }

// Fail answers code (e.g. 503, 404, 480) without ringing.
func Fail(code int) Behavior { return Always(Reply{Code: code}) }

// Answer sets how the peer handles the INVITEs it receives from now on.
func (p *Peer) Answer(b Behavior) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.behavior = b
}

func (p *Peer) currentBehavior() Behavior {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.behavior
}

// onInvite runs on sipgo's goroutine for the INVITE's transaction and lives
// until the final response is sent (and, on UDP, until the 2xx is ACKed).
func (p *Peer) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil && to.Params.Has("tag") {
		p.onReInvite(req, tx)
		return
	}
	if !p.enter() {
		p.respond(tx, sip.NewResponseFromRequest(req, 503, "Service Unavailable", nil))
		return
	}
	defer p.wg.Done()

	callID := req.CallID()
	from, to := req.From(), req.To()
	if callID == nil || from == nil || to == nil {
		p.respond(tx, sip.NewResponseFromRequest(req, 400, "Bad Request", nil))
		return
	}
	c, err := p.newCall(false, callID.Value(), sip.GenerateTagN(12), req.Transport())
	if err != nil {
		p.respond(tx, sip.NewResponseFromRequest(req, 500, "Server Internal Error", nil))
		return
	}
	c.local = to.Address
	c.remote = from.Address
	c.remoteTag, _ = from.Params.Get("tag")
	if ct := req.Contact(); ct != nil {
		c.remoteTarget = ct.Address
	} else {
		c.remoteTarget = from.Address
	}
	c.headers = snapshotHeaders(req)
	c.requestURI = req.Recipient.String()
	c.remoteSDP = append([]byte(nil), req.Body()...)
	c.codecPrefs = []Codec{PCMU, PCMA}

	// The CANCEL ends the call at once: sipgo answers it 200 and the
	// INVITE 487 by itself.
	markCanceled := func(*sip.Request) {
		c.mu.Lock()
		if !c.canceled {
			c.canceled, c.canceledAt = true, time.Now()
			c.final = 487
			c.finalDone = true
		}
		ended := c.endLocked("CANCEL received")
		c.mu.Unlock()
		c.afterEnd(ended, "CANCEL received")
	}
	if !tx.OnCancel(markCanceled) && errors.Is(tx.Err(), sip.ErrTransactionCanceled) {
		markCanceled(nil)
	}
	p.addIncoming(c)
	p.log.Info("INVITE received", "call_id", c.callID, "ruri", c.requestURI, "from", from.Address.String())
	if p.takePendingCancel(c.callID) {
		markCanceled(nil)
		c.end("CANCEL received")
		p.respond(tx, c.response(req, 487, "", nil, nil))
		return
	}

	reply := p.currentBehavior()(c)
	if len(reply.Codecs) > 0 {
		c.codecPrefs = reply.Codecs
	}
	c.mu.Lock()
	c.reply = reply
	c.mu.Unlock()

	if reply.Ringing {
		p.respond(tx, c.response(req, 180, "", nil, reply.Headers))
		c.mu.Lock()
		c.provisionals = append(c.provisionals, 180)
		c.notifyLocked()
		c.mu.Unlock()
	}
	// Ring until the delay passes, a CANCEL comes or the peer closes.
	ringCtx, stopRing := context.Background(), context.CancelFunc(func() {})
	if !reply.Forever {
		ringCtx, stopRing = context.WithTimeout(ringCtx, reply.Delay)
	}
	err = c.wait(ringCtx, "CANCEL while ringing", func() bool { return c.canceled })
	stopRing()
	switch {
	case err == nil: // canceled: sipgo answered 200 to the CANCEL and 487 to the INVITE
		c.end("CANCEL received")
		return
	case errors.Is(err, ErrPeerClosed):
		return
	}

	if reply.Code != 0 && reply.Code != 200 {
		c.mu.Lock()
		c.final, c.finalDone = reply.Code, true
		ended := c.endLocked("rejected")
		c.mu.Unlock()
		c.afterEnd(ended, "rejected")
		p.respond(tx, c.response(req, reply.Code, reply.Reason, nil, reply.Headers))
		return
	}
	body, ok := c.answerBody(req.Body())
	if !ok {
		c.setFinal(488)
		c.end("offer not acceptable")
		p.respond(tx, c.response(req, 488, "", nil, nil))
		return
	}
	res := c.response(req, 200, reply.Reason, body, reply.Headers)
	c.mu.Lock()
	c.established = true
	c.localSDP = body
	c.cseq = 0
	c.mu.Unlock()
	c.setFinal(200)
	p.respond(tx, res)
	if c.transport == "UDP" {
		c.retransmitUntilAck(tx, res)
	}
}

// answerBody builds the SDP of the 2xx: an answer to the INVITE's offer, or
// an offer when the INVITE had none (the answer comes in the ACK).
func (c *Call) answerBody(offer []byte) ([]byte, bool) {
	if len(offer) == 0 {
		c.mu.Lock()
		c.lateOffer = true
		c.mu.Unlock()
		return buildSDP(c.rtp.port(), 1, c.codecPrefs, DefaultTelephoneEventPT), true
	}
	m, err := parseMedia(offer)
	if err != nil {
		c.peer.log.Warn("INVITE offer unusable", "call_id", c.callID, "err", err)
		return nil, false
	}
	codec, err := chooseAnswer(m, c.codecPrefs)
	if err != nil {
		c.peer.log.Warn("INVITE offer unusable", "call_id", c.callID, "err", err)
		return nil, false
	}
	c.rtp.setRemote(m.addr, codec, m.eventPT, m.eventPT)
	return buildSDP(c.rtp.port(), 1, []Codec{codec}, m.eventPT), true
}

func (c *Call) setFinal(code int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.final = code
	c.finalDone = true
	c.notifyLocked()
}

// response builds a response to req with the call's To tag (sipgo would
// put a different random tag on each response), a Contact on 1xx/2xx, and
// the extra headers.
func (c *Call) response(req *sip.Request, code int, reason string, body []byte, headers map[string]string) *sip.Response {
	if reason == "" {
		reason = reasonPhrase(code)
	}
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	if to := res.To(); to != nil {
		to.Params.Add("tag", c.localTag)
	}
	if code < 300 {
		res.AppendHeader(c.peer.contact(c.local.User, c.transport))
	}
	for _, name := range slices.Sorted(maps.Keys(headers)) {
		res.AppendHeader(sip.NewHeader(name, headers[name]))
	}
	if body != nil {
		ct := sip.ContentTypeHeader("application/sdp")
		res.AppendHeader(&ct)
	}
	res.SetBody(body)
	return res
}

// retransmitUntilAck resends the 2xx with RFC 3261 §13.3.1.4 timing until
// the ACK arrives, the call ends (a BYE may overtake the ACK) or the peer
// closes. sipgo leaves 2xx retransmission to the application.
func (c *Call) retransmitUntilAck(tx sip.ServerTransaction, res *sip.Response) {
	interval := sip.T1
	deadline := time.Now().Add(64 * sip.T1)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), interval)
		err := c.wait(ctx, "ACK", func() bool { return c.acked || c.ended })
		cancel()
		if err == nil || errors.Is(err, ErrPeerClosed) {
			return
		}
		if time.Now().After(deadline) {
			c.peer.log.Warn("no ACK for 2xx", "call_id", c.callID)
			c.end("no ACK")
			return
		}
		c.peer.respond(tx, res)
		interval = min(2*interval, sip.T2)
	}
}

// onReInvite answers a re-INVITE with the call's current SDP and follows a
// new remote media address.
func (p *Peer) onReInvite(req *sip.Request, tx sip.ServerTransaction) {
	c := p.lookupIn(req)
	if c == nil {
		p.respond(tx, sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	if len(req.Body()) > 0 {
		if m, err := parseMedia(req.Body()); err == nil {
			codec, err := chooseAnswer(m, []Codec{c.Codec(), PCMU, PCMA})
			if err == nil {
				c.rtp.setRemote(m.addr, codec, m.eventPT, m.eventPT)
			}
		}
	}
	c.mu.Lock()
	c.reinvites++
	body := c.localSDP
	c.notifyLocked()
	c.mu.Unlock()
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(p.contact(c.local.User, c.transport))
	if len(body) > 0 {
		ct := sip.ContentTypeHeader("application/sdp")
		res.AppendHeader(&ct)
	}
	res.SetBody(body)
	p.respond(tx, res)
}

func reasonPhrase(code int) string {
	switch code {
	case 180:
		return "Ringing"
	case 183:
		return "Session Progress"
	case 200:
		return "OK"
	case 404:
		return "Not Found"
	case 480:
		return "Temporarily Unavailable"
	case 486:
		return "Busy Here"
	case 487:
		return "Request Terminated"
	case 488:
		return "Not Acceptable Here"
	case 500:
		return "Server Internal Error"
	case 503:
		return "Service Unavailable"
	case 603:
		return "Decline"
	}
	return "Status"
}
