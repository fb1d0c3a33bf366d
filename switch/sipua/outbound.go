package sipua

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// dialSetupTimeout bounds sending the INVITE (DNS, TCP connect).
const dialSetupTimeout = 10 * time.Second

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
	// answeredOut is closed once EventAnswered was emitted, so a BYE racing
	// the answer is reported after it (sipgo delivers them concurrently).
	answeredOut chan struct{}
	// ended is closed once the dialog is over from our side.
	ended   chan struct{}
	endOnce sync.Once

	mu       sync.Mutex
	localSDP []byte
	answerer ReInviteAnswerer
	answered bool
	hungUp   bool
	byeSent  bool
}

// Dial sends an INVITE and reports its progress through onEvent, which must
// not block. It returns once the INVITE is handed to the transport (at most
// dialSetupTimeout).
func (s *Stack) Dial(r DialRequest, onEvent func(Event)) (*OutboundLeg, error) {
	req := sip.NewRequest(sip.INVITE, r.Target)
	if tr, ok := r.Target.UriParams.Get("transport"); ok && tr != "" {
		req.SetTransport(tr)
	}
	from := &sip.FromHeader{
		DisplayName: r.FromDisplay,
		Address:     sip.Uri{Scheme: "sip", User: r.FromUser, Host: s.advertise, Port: s.port},
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
	setup, cancelSetup := context.WithTimeout(context.Background(), dialSetupTimeout)
	defer cancelSetup()
	dlg, err := s.dialogUA.WriteInvite(setup, req)
	if err != nil {
		return nil, fmt.Errorf("sipua: INVITE %s: %w", r.Target.String(), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &OutboundLeg{CallID: callID(req), stack: s, dlg: dlg, onEvent: onEvent, cancel: cancel, localSDP: r.SDP,
		answeredOut: make(chan struct{}), ended: make(chan struct{})}
	// Make the dialog matchable as soon as it is established, before our
	// ACK: the callee may send BYE right after its 200.
	dlg.OnState(func(st sip.DialogState) {
		if st == sip.DialogStateEstablished && dlg.ID != "" {
			s.outbound.Store(dlg.ID, l)
		}
	})
	s.wg.Add(1)
	go l.run(ctx, r)
	return l, nil
}

func (l *OutboundLeg) run(ctx context.Context, r DialRequest) {
	defer l.stack.wg.Done()
	defer l.cancel()
	defer func() {
		if l.dlg.ID != "" {
			l.stack.outbound.Delete(l.dlg.ID)
		}
	}()
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
		l.failed(ctx, err)
		return
	}
	if err := l.dlg.Ack(context.Background()); err != nil {
		l.stack.log.Warn("ACK failed", "call_id", l.CallID, "err", err)
	}
	l.mu.Lock()
	l.answered = true
	hungUp := l.hungUp
	l.mu.Unlock()
	res := l.dlg.InviteResponse
	l.onEvent(Event{Kind: EventAnswered, Code: res.StatusCode, SDP: res.Body(), Headers: xHeaders(res.Headers())})
	close(l.answeredOut)
	if hungUp {
		// Hangup raced with the answer: the owner already gave up on this leg.
		l.bye()
	}
	select {
	case <-l.dlg.Context().Done():
	case <-l.ended:
	case <-l.stack.closing:
	}
}

// failed reports an INVITE that got no 2xx. A 2xx that crossed our CANCEL
// still opened a dialog at the callee: acknowledge it and hang up at once.
func (l *OutboundLeg) failed(ctx context.Context, err error) {
	defer l.dlg.Close()
	if ctx.Err() != nil {
		if res := l.dlg.InviteResponse; res != nil && res.IsSuccess() {
			if aerr := l.dlg.Ack(context.Background()); aerr == nil {
				bctx, cancel := context.WithTimeout(context.Background(), l.stack.cfg.ByeTimeout)
				_ = l.dlg.Bye(bctx)
				cancel()
			}
		}
		l.onEvent(Event{Kind: EventCanceled, Err: err})
		return
	}
	var de *sipgo.ErrDialogResponse
	if errors.As(err, &de) {
		l.onEvent(Event{Kind: EventFailed, Code: de.Res.StatusCode, Reason: de.Res.Reason, Headers: xHeaders(de.Res.Headers()), Err: err})
		return
	}
	// No final response at all (timer B, transport error, a callee sending
	// endless provisionals): give up on the transaction; the call failed.
	l.onEvent(Event{Kind: EventFailed, Err: err})
}

// Cancel gives up on an unanswered leg (CANCEL is sent once a provisional
// response came); EventCanceled follows. On an answered leg it sends BYE.
func (l *OutboundLeg) Cancel() { l.Hangup() }

// Hangup ends the leg: CANCEL while it rings, BYE (with headers, e.g. a
// Reason) once answered. It does not block.
func (l *OutboundLeg) Hangup(headers ...sip.Header) {
	l.mu.Lock()
	if l.hungUp {
		l.mu.Unlock()
		return
	}
	l.hungUp = true
	answered := l.answered
	l.mu.Unlock()
	if !answered {
		l.cancel()
		return
	}
	l.bye(headers...)
}

func (l *OutboundLeg) bye(headers ...sip.Header) {
	l.mu.Lock()
	if l.byeSent {
		l.mu.Unlock()
		return
	}
	l.byeSent = true
	l.mu.Unlock()
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
		defer l.endOnce.Do(func() { close(l.ended) })
		ctx, cancel := context.WithTimeout(context.Background(), l.stack.cfg.ByeTimeout)
		defer cancel()
		if err := l.dlg.WriteBye(ctx, bye); err != nil {
			l.stack.log.Debug("BYE failed", "call_id", l.CallID, "err", err)
		}
	}()
}

func (l *OutboundLeg) remoteBye() {
	l.mu.Lock()
	l.hungUp = true
	l.byeSent = true
	l.mu.Unlock()
	select {
	case <-l.answeredOut:
	case <-l.stack.closing:
		return
	}
	l.onEvent(Event{Kind: EventBye})
}

// SetReInviteAnswerer sets how later re-INVITEs of the peer are answered.
func (l *OutboundLeg) SetReInviteAnswerer(a ReInviteAnswerer) {
	l.mu.Lock()
	l.answerer = a
	l.mu.Unlock()
}

func (l *OutboundLeg) reInvite(req *sip.Request, tx sip.ServerTransaction) {
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
		l.onEvent(Event{Kind: EventReInvite, SDP: append([]byte(nil), body...)})
	}
}

// emitDigit reports a DTMF key from an INFO, once the leg is answered (an
// INFO cannot come earlier: it needs the dialog).
func (l *OutboundLeg) emitDigit(ev Event) {
	select {
	case <-l.answeredOut:
	case <-l.stack.closing:
		return
	}
	l.onEvent(ev)
}
