package sipua

import (
	"context"
	"strings"
	"sync"

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
	Headers   map[string]string
	Transport string
	// SDP is the offer in the INVITE body (may be empty).
	SDP []byte

	stack *Stack
	dlg   *sipgo.DialogServerSession
	cmds  chan inboundCmd

	mu       sync.Mutex
	onEvent  func(Event)
	localSDP []byte
	answered bool
	byeOnce  sync.Once
}

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
		CallID:    callID(req),
		Headers:   xHeaders(req.Headers()),
		Transport: req.Transport(),
		SDP:       req.Body(),
		stack:     s,
		dlg:       dlg,
		cmds:      make(chan inboundCmd, 4),
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

// Answer sends 200 OK with sdp; EventConfirmed (or EventAckTimeout) follows.
// Media may start at once: RFC 3264 lets the answerer send after answering.
func (l *InboundLeg) Answer(sdp []byte, headers ...sip.Header) {
	l.mu.Lock()
	l.localSDP = sdp
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

// Hangup sends BYE (with headers, e.g. a Reason) on an answered leg. It does
// not block; the leg needs no further event: the owner already knows it
// ended the call.
func (l *InboundLeg) Hangup(headers ...sip.Header) {
	l.byeOnce.Do(func() {
		req := l.dlg.InviteRequest
		bye := sip.NewRequest(sip.BYE, req.Contact().Address)
		bye.SetTransport(req.Transport())
		for _, h := range headers {
			bye.AppendHeader(h)
		}
		l.stack.wg.Add(1)
		go func() {
			defer l.stack.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), l.stack.cfg.ByeTimeout)
			defer cancel()
			if err := l.dlg.WriteBye(ctx, bye); err != nil {
				l.stack.log.Debug("BYE failed", "call_id", l.CallID, "err", err)
			}
			l.dlg.Close()
		}()
	})
}

func (l *InboundLeg) remoteBye() {
	l.byeOnce.Do(func() {}) // we must not send BYE on a dialog the peer ended
	l.emit(Event{Kind: EventBye})
}

func (l *InboundLeg) reInvite(req *sip.Request, tx sip.ServerTransaction) {
	l.mu.Lock()
	sdp := l.localSDP
	l.mu.Unlock()
	l.stack.answerReInvite(req, tx, sdp)
	if body := req.Body(); len(body) > 0 {
		l.emit(Event{Kind: EventReInvite, SDP: append([]byte(nil), body...)})
	}
}

// serve runs the INVITE transaction on the sipgo handler goroutine until a
// final response is out. It reports whether the call was answered.
func (l *InboundLeg) serve() bool {
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
				res := sip.NewSDPResponseFromRequest(l.dlg.InviteRequest, c.sdp)
				for _, h := range c.headers {
					res.AppendHeader(h)
				}
				// WriteResponse retransmits the 2xx until the ACK (or a BYE) comes.
				if err := l.dlg.WriteResponse(res); err != nil {
					if l.dlg.LoadState() == sip.DialogStateEnded {
						return false // ended by BYE or CANCEL race; already reported
					}
					l.emit(Event{Kind: EventAckTimeout, Err: err})
					return true
				}
				l.emit(Event{Kind: EventConfirmed})
				return true
			}
		case <-l.dlg.Context().Done():
			// Ended before a final response: the caller CANCELed (sipgo
			// answered 200 to the CANCEL and 487 to the INVITE).
			l.emit(Event{Kind: EventCanceled})
			return false
		case <-l.stack.closing:
			return false
		}
	}
}
