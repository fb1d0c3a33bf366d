package sipua

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// InboundLeg is a call that reached the switch. Its exported fields are read
// from the INVITE once and never change.
type InboundLeg struct {
	CallID      string
	FromUser    string
	FromDisplay string
	ToUser      string
	// RequestUser is the user part of the Request-URI (what was dialed).
	RequestUser string
	// ForwardedFrom is the user part of a Diversion header, if any.
	ForwardedFrom string
	// Headers are the X- headers of the INVITE.
	Headers map[string]string
	// SDP is the offer in the INVITE body (may be empty).
	SDP []byte
	// Caller is what Config.Authenticate said of the caller (nil without it).
	Caller any

	stack *Stack
	dlg   *sipgo.DialogServerSession
	cmds  chan inboundCmd
	// served is closed when the INVITE transaction is over (final response
	// sent, ACK received or given up); sent2xx then tells if we answered.
	served  chan struct{}
	sent2xx atomic.Bool
	// ended is closed once the dialog is over from our side (BYE sent or
	// received, or never established), so the INVITE goroutine can leave.
	ended    chan struct{}
	endOnce  sync.Once
	byeSeen  atomic.Bool
	reported atomic.Bool // a terminal event (canceled) was emitted

	mu       sync.Mutex
	onEvent  func(Event)
	localSDP []byte
	answerer ReInviteAnswerer
	byeOnce  sync.Once
}

// ReInviteAnswerer builds our answer to a peer's re-INVITE offer. It runs on
// a SIP goroutine, so it must only use values it captured (no call state).
// It returns the answer and the offer's outcome to report to the owner.
type ReInviteAnswerer func(offer []byte) (answer []byte, err error)

type inboundCmdKind int

const (
	cmdProvisional inboundCmdKind = iota + 1
	cmdReject
	cmdAnswer
)

type inboundCmd struct {
	kind    inboundCmdKind
	code    int
	reason  string
	sdp     []byte
	headers []sip.Header
}

func newInboundLeg(s *Stack, req *sip.Request, dlg *sipgo.DialogServerSession) *InboundLeg {
	l := &InboundLeg{
		CallID:  callID(req),
		Headers: xHeaders(req.Headers()),
		SDP:     req.Body(),
		stack:   s,
		dlg:     dlg,
		cmds:    make(chan inboundCmd, 4),
		served:  make(chan struct{}),
		ended:   make(chan struct{}),
	}
	if f := req.From(); f != nil {
		l.FromUser = f.Address.User
		l.FromDisplay = strings.Trim(f.DisplayName, `"`)
	}
	if t := req.To(); t != nil {
		l.ToUser = t.Address.User
	}
	l.RequestUser = req.Recipient.User
	if d := req.GetHeader("Diversion"); d != nil {
		var u sip.Uri
		v := d.Value()
		if i, j := strings.IndexByte(v, '<'), strings.IndexByte(v, '>'); i >= 0 && j > i {
			v = v[i+1 : j]
		}
		if sip.ParseUri(v, &u) == nil {
			l.ForwardedFrom = u.User
		}
	}
	return l
}

// Attach sets the callback that receives this leg's events. Call it from
// Handler.HandleInvite, before any other method.
func (l *InboundLeg) Attach(onEvent func(Event)) {
	l.mu.Lock()
	l.onEvent = onEvent
	l.mu.Unlock()
}

func (l *InboundLeg) emit(ev Event) {
	l.mu.Lock()
	f := l.onEvent
	l.mu.Unlock()
	if f != nil {
		f(ev)
	}
}

// Ringing sends a provisional response (180 or 183).
func (l *InboundLeg) Ringing(code int, headers ...sip.Header) {
	reason := "Ringing"
	if code == 183 {
		reason = "Session Progress"
	}
	l.send(inboundCmd{kind: cmdProvisional, code: code, reason: reason, headers: headers})
}

// Reject sends a final non-2xx response; EventRejected follows.
func (l *InboundLeg) Reject(code int, reason string, headers ...sip.Header) {
	l.send(inboundCmd{kind: cmdReject, code: code, reason: reason, headers: headers})
}

// Answer sends 200 OK with sdp; EventConfirmed (or EventAckTimeout, or
// EventCanceled if the caller's CANCEL won the race) follows. Media may start
// at once: RFC 3264 lets the answerer send after answering. answerer, if
// not nil, answers later re-INVITEs (hold, new address).
func (l *InboundLeg) Answer(sdp []byte, answerer ReInviteAnswerer, headers ...sip.Header) {
	l.mu.Lock()
	l.localSDP = sdp
	l.answerer = answerer
	l.mu.Unlock()
	l.send(inboundCmd{kind: cmdAnswer, sdp: sdp, headers: headers})
}

func (l *InboundLeg) send(c inboundCmd) {
	select {
	case l.cmds <- c:
	default:
		// The buffer only overflows if the owner sends commands after a final
		// response, which the owner's state machine never does.
		l.stack.log.Warn("inbound leg command dropped", "call_id", l.CallID, "kind", c.kind)
	}
}

// Hangup sends BYE (with headers, e.g. a Reason) on an answered leg, once
// our 2xx is out and acknowledged (RFC 3261 §15): a BYE must never race the
// 200 it ends. It does not block; the owner needs no further event.
func (l *InboundLeg) Hangup(headers ...sip.Header) {
	l.byeOnce.Do(func() {
		l.stack.wg.Add(1)
		go func() {
			defer l.stack.wg.Done()
			defer l.end()
			select {
			case <-l.served:
			case <-l.stack.closing:
				return
			}
			if !l.sent2xx.Load() || l.byeSeen.Load() {
				return // never answered, or the peer hung up first
			}
			req := l.dlg.InviteRequest
			bye := sip.NewRequest(sip.BYE, req.Contact().Address)
			bye.SetTransport(req.Transport())
			for _, h := range headers {
				bye.AppendHeader(h)
			}
			ctx, cancel := context.WithTimeout(context.Background(), l.stack.cfg.ByeTimeout)
			defer cancel()
			if err := l.dlg.WriteBye(ctx, bye); err != nil {
				l.stack.log.Debug("BYE failed", "call_id", l.CallID, "err", err)
			}
		}()
	})
}

// end releases the INVITE goroutine; the dialog is over from our side.
func (l *InboundLeg) end() { l.endOnce.Do(func() { close(l.ended) }) }

func (l *InboundLeg) remoteBye() {
	l.byeSeen.Store(true)
	l.byeOnce.Do(func() {}) // we must not send BYE on a dialog the peer ended
	l.end()
	l.emit(Event{Kind: EventBye})
}

func (l *InboundLeg) reInvite(req *sip.Request, tx sip.ServerTransaction) {
	l.mu.Lock()
	sdp, answerer := l.localSDP, l.answerer
	l.mu.Unlock()
	answer, ok := l.stack.answerReInvite(req, tx, sdp, answerer)
	if !ok {
		return
	}
	l.mu.Lock()
	l.localSDP = answer
	l.mu.Unlock()
	if body := req.Body(); len(body) > 0 {
		l.emit(Event{Kind: EventReInvite, SDP: append([]byte(nil), body...)})
	}
}

// canceled reports, once, that the caller went away before our answer.
func (l *InboundLeg) canceled() {
	if l.reported.CompareAndSwap(false, true) {
		l.emit(Event{Kind: EventCanceled})
	}
}

// serve runs the INVITE transaction on the sipgo handler goroutine until a
// final response is out. It reports whether a 2xx was sent.
func (l *InboundLeg) serve() bool {
	defer close(l.served)
	for {
		select {
		case c := <-l.cmds:
			switch c.kind {
			case cmdProvisional:
				if err := l.dlg.Respond(c.code, c.reason, nil, c.headers...); err != nil {
					l.stack.log.Debug("provisional failed", "call_id", l.CallID, "err", err)
				}
			case cmdReject:
				// Respond waits for the ACK of a non-2xx; report first so the
				// owner is not held up by a slow or lost ACK.
				l.emit(Event{Kind: EventRejected, Code: c.code, Reason: c.reason})
				if err := l.dlg.Respond(c.code, c.reason, nil, c.headers...); err != nil {
					l.stack.log.Debug("reject failed", "call_id", l.CallID, "err", err)
				}
				return false
			case cmdAnswer:
				return l.answer(c)
			}
		case <-l.dlg.Context().Done():
			// Ended before a final response: the caller CANCELed (sipgo
			// answered 200 to the CANCEL and 487 to the INVITE).
			l.canceled()
			return false
		case <-l.stack.closing:
			return false
		}
	}
}

func (l *InboundLeg) answer(c inboundCmd) bool {
	if l.dlg.Context().Err() != nil {
		l.canceled() // the CANCEL arrived while the answer was queued
		return false
	}
	res := sip.NewSDPResponseFromRequest(l.dlg.InviteRequest, c.sdp)
	for _, h := range c.headers {
		res.AppendHeader(h)
	}
	// WriteResponse retransmits the 2xx until the ACK (or a BYE) comes.
	err := l.dlg.WriteResponse(res)
	switch {
	case err == nil:
		l.sent2xx.Store(true)
		l.emit(Event{Kind: EventConfirmed})
		return true
	case l.byeSeen.Load():
		l.sent2xx.Store(true)
		return true // BYE before ACK: already reported as EventBye
	case l.dlg.LoadState() == sip.DialogStateEnded || l.dlg.InviteResponse == nil || !l.dlg.InviteResponse.IsSuccess():
		l.canceled() // the transaction died (CANCEL) before our 2xx went out
		return false
	default:
		l.sent2xx.Store(true)
		l.emit(Event{Kind: EventAckTimeout, Err: err})
		return true
	}
}
