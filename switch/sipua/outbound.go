package sipua

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// DialRequest describes an outbound INVITE.
type DialRequest struct {
	// Target is the Request-URI; a "transport" URI parameter selects TCP.
	Target sip.Uri
	// FromUser and FromDisplay build the From header (host: the switch).
	FromUser    string
	FromDisplay string
	// Headers are added to the INVITE (X- headers, X-RestComm-CallSid).
	Headers map[string]string
	SDP     []byte
	// Username and Password answer a digest challenge, if any.
	Username, Password string
}

// OutboundLeg is a call the switch placed.
type OutboundLeg struct {
	CallID string

	stack   *Stack
	dlg     *sipgo.DialogClientSession
	onEvent func(Event)
	cancel  context.CancelFunc

	mu       sync.Mutex
	localSDP []byte
	answered bool
	ended    bool
	dlgID    string
}

// Dial sends an INVITE and reports its progress through onEvent, which must
// not block. It returns once the INVITE is handed to the transport.
func (s *Stack) Dial(r DialRequest, onEvent func(Event)) (*OutboundLeg, error) {
	req := sip.NewRequest(sip.INVITE, r.Target)
	if tr, ok := r.Target.UriParams.Get("transport"); ok && tr != "" {
		req.SetTransport(tr)
	}
	from := &sip.FromHeader{
		DisplayName: r.FromDisplay,
		Address:     sip.Uri{Scheme: "sip", User: r.FromUser, Host: s.host, Port: s.port},
		Params:      sip.NewParams(),
	}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: r.Target.Scheme, User: r.Target.User, Host: r.Target.Host, Port: r.Target.Port}})
	for k, v := range r.Headers {
		req.AppendHeader(sip.NewHeader(k, v))
	}
	if len(r.SDP) > 0 {
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(r.SDP)
	}
	ctx, cancel := context.WithCancel(context.Background())
	dlg, err := s.dialogUA.WriteInvite(ctx, req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("sipua: INVITE %s: %w", r.Target.String(), err)
	}
	l := &OutboundLeg{CallID: callID(req), stack: s, dlg: dlg, onEvent: onEvent, cancel: cancel, localSDP: r.SDP}
	s.wg.Add(1)
	go l.run(ctx, r)
	return l, nil
}

func (l *OutboundLeg) run(ctx context.Context, r DialRequest) {
	defer l.stack.wg.Done()
	defer l.cancel()
	err := l.dlg.WaitAnswer(ctx, sipgo.AnswerOptions{
		Username: r.Username,
		Password: r.Password,
		OnResponse: func(res *sip.Response) error {
			if res.StatusCode == 180 || res.StatusCode == 183 {
				l.onEvent(Event{Kind: EventProvisional, Code: res.StatusCode, Reason: res.Reason})
			}
			return nil
		},
	})
	if err != nil {
		var de *sipgo.ErrDialogResponse
		switch {
		case errors.As(err, &de):
			l.onEvent(Event{Kind: EventFailed, Code: de.Res.StatusCode, Reason: de.Res.Reason, Headers: xHeaders(de.Res.Headers()), Err: err})
		case ctx.Err() != nil:
			l.onEvent(Event{Kind: EventCanceled, Err: err})
		default:
			l.onEvent(Event{Kind: EventFailed, Code: 408, Reason: "Request Timeout", Err: err})
		}
		l.dlg.Close()
		return
	}
	if err := l.dlg.Ack(context.Background()); err != nil {
		l.stack.log.Warn("ACK failed", "call_id", l.CallID, "err", err)
	}
	l.mu.Lock()
	l.answered = true
	l.dlgID = l.dlg.ID
	ended := l.ended
	l.mu.Unlock()
	l.stack.outbound.Store(l.dlg.ID, l)
	res := l.dlg.InviteResponse
	l.onEvent(Event{Kind: EventAnswered, Code: res.StatusCode, SDP: res.Body(), Headers: xHeaders(res.Headers())})
	if ended {
		// Hangup raced with the answer: the owner already gave up on this leg.
		l.bye()
		return
	}
	select {
	case <-l.dlg.Context().Done():
	case <-l.stack.closing:
	}
	l.stack.outbound.Delete(l.dlg.ID)
}

// Cancel gives up on an unanswered leg (CANCEL is sent once a provisional
// response came); EventCanceled follows. On an answered leg it sends BYE.
func (l *OutboundLeg) Cancel() { l.Hangup() }

// Hangup ends the leg: CANCEL while it rings, BYE (with headers, e.g. a
// Reason) once answered. It does not block.
func (l *OutboundLeg) Hangup(headers ...sip.Header) {
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return
	}
	l.ended = true
	answered := l.answered
	l.mu.Unlock()
	if !answered {
		l.cancel()
		return
	}
	l.bye(headers...)
}

func (l *OutboundLeg) bye(headers ...sip.Header) {
	target := l.dlg.InviteRequest.Recipient
	if c := l.dlg.InviteResponse.Contact(); c != nil {
		target = c.Address
	}
	bye := sip.NewRequest(sip.BYE, *target.Clone())
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
	}()
}

func (l *OutboundLeg) remoteBye() {
	l.mu.Lock()
	l.ended = true
	l.mu.Unlock()
	l.onEvent(Event{Kind: EventBye})
}

func (l *OutboundLeg) reInvite(req *sip.Request, tx sip.ServerTransaction) {
	l.mu.Lock()
	sdp := l.localSDP
	l.mu.Unlock()
	l.stack.answerReInvite(req, tx, sdp)
	if body := req.Body(); len(body) > 0 {
		l.onEvent(Event{Kind: EventReInvite, SDP: append([]byte(nil), body...)})
	}
}
