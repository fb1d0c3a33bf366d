// Package sipua is Patchbay's SIP user agent: it listens on UDP and TCP with
// sipgo, turns inbound INVITEs into InboundLegs and places OutboundLegs.
//
// A leg reports what happens to it as Events through a callback its owner
// (the call actor) gives; the owner drives the leg with non-blocking methods
// (Ringing, Answer, Reject, Hangup, Cancel). sipgo delivers messages of one
// dialog on concurrent goroutines and does not keep their order (see
// shared/notes/libraries.md), so this package answers in-dialog requests
// itself (ACK, BYE, re-INVITE) and only reports them; the owner serialises.
package sipua

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// CallSidHeader carries the CallSid on SIP messages, as Restcomm does.
const CallSidHeader = "X-RestComm-CallSid"

// Handler receives new inbound calls. HandleInvite runs on the INVITE's
// transaction goroutine: it must attach an event callback to the leg (or
// reject it) and return quickly.
type Handler interface {
	HandleInvite(leg *InboundLeg)
}

// Config configures a Stack. The zero value of optional fields is usable.
type Config struct {
	// ListenAddr is host:port for both UDP and TCP, e.g. "127.0.0.1:5060".
	ListenAddr string
	// UserAgent is the User-Agent/Server header value.
	UserAgent string
	Logger    *slog.Logger
	// ByeTimeout bounds a BYE or CANCEL transaction we send (default 5 s).
	ByeTimeout time.Duration
	// AdvertiseHost is the host put in Contact and From headers; default the
	// listen host. It must be set when listening on an unspecified address.
	AdvertiseHost string
	// Authenticate, if set, runs first on every new INVITE: it may answer
	// it (a 407 challenge) and return false, or return who the caller is
	// (kept in InboundLeg.Caller).
	Authenticate func(req *sip.Request, tx sip.ServerTransaction) (caller any, ok bool)
	// Register handles REGISTER requests (the registrar); nil answers 405.
	Register func(req *sip.Request, tx sip.ServerTransaction)
}

// Stack is the SIP user agent. Create it with New, then Serve.
type Stack struct {
	cfg       Config
	log       *slog.Logger
	host      string
	advertise string
	port      int
	ua        *sipgo.UserAgent
	srv       *sipgo.Server
	cli       *sipgo.Client
	dialogUA  *sipgo.DialogUA
	handler   Handler

	// inbound legs by UAS dialog id, outbound legs by UAC dialog id, for
	// matching in-dialog requests.
	inbound  sync.Map
	outbound sync.Map

	// refuse, when set, answers every new INVITE with 503 (shutdown).
	refuseMu sync.RWMutex
	refuse   bool

	wg       sync.WaitGroup // goroutines the stack started for legs
	closing  chan struct{}
	closeOne sync.Once
	ready    chan struct{}
}

// New builds a Stack and registers every handler before anything is served
// (sipgo's handler map has no lock).
func New(cfg Config, h Handler) (*Stack, error) {
	host, portStr, err := net.SplitHostPort(cfg.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("sipua: listen address %q: %w", cfg.ListenAddr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("sipua: listen port %q: %w", portStr, err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "Patchbay"
	}
	if cfg.AdvertiseHost == "" {
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			return nil, fmt.Errorf("sipua: listening on %s needs an address to advertise", host)
		}
		cfg.AdvertiseHost = host
	}
	if cfg.ByeTimeout == 0 {
		cfg.ByeTimeout = 5 * time.Second
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(cfg.UserAgent), sipgo.WithUserAgentHostname(cfg.AdvertiseHost))
	if err != nil {
		return nil, fmt.Errorf("sipua: user agent: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(cfg.Logger))
	if err != nil {
		return nil, fmt.Errorf("sipua: server: %w", err)
	}
	cli, err := sipgo.NewClient(ua, sipgo.WithClientHostname(cfg.AdvertiseHost), sipgo.WithClientPort(port), sipgo.WithClientLogger(cfg.Logger))
	if err != nil {
		return nil, fmt.Errorf("sipua: client: %w", err)
	}
	s := &Stack{
		cfg: cfg, log: cfg.Logger, host: host, advertise: cfg.AdvertiseHost, port: port,
		ua: ua, srv: srv, cli: cli, handler: h,
		closing: make(chan struct{}),
		ready:   make(chan struct{}),
	}
	s.dialogUA = &sipgo.DialogUA{
		Client:     cli,
		ContactHDR: sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "patchbay", Host: cfg.AdvertiseHost, Port: port}},
	}
	srv.OnInvite(s.safe(s.onInvite))
	srv.OnAck(s.safe(s.onAck))
	srv.OnBye(s.safe(s.onBye))
	srv.OnCancel(s.safe(s.onCancel))
	srv.OnOptions(s.safe(s.onOptions))
	srv.OnInfo(s.safe(s.onInfo))
	if cfg.Register != nil {
		srv.OnRegister(s.safe(cfg.Register))
	}
	srv.OnNoRoute(s.safe(s.onNoRoute))
	return s, nil
}

// Host is the address the stack advertises in its headers.
func (s *Stack) Host() string { return s.advertise }

// Port is the SIP port the stack listens on.
func (s *Stack) Port() int { return s.port }

// Ready is closed once both the UDP and the TCP listener accept traffic.
func (s *Stack) Ready() <-chan struct{} { return s.ready }

// Serve listens on UDP and TCP until ctx ends. It returns the first listener
// error, or nil after ctx ended.
func (s *Stack) Serve(ctx context.Context) error {
	udpReady := make(chan struct{})
	tcpReady := make(chan struct{})
	errc := make(chan error, 2)
	go func() {
		c := context.WithValue(ctx, sipgo.ListenReadyCtxKey, sipgo.ListenReadyCtxValue(udpReady))
		errc <- s.srv.ListenAndServe(c, "udp", s.cfg.ListenAddr)
	}()
	go func() {
		c := context.WithValue(ctx, sipgo.ListenReadyCtxKey, sipgo.ListenReadyCtxValue(tcpReady))
		errc <- s.srv.ListenAndServe(c, "tcp", s.cfg.ListenAddr)
	}()
	go func() {
		for _, ch := range []chan struct{}{udpReady, tcpReady} {
			select {
			case <-ch:
			case <-ctx.Done():
				return
			}
		}
		close(s.ready)
	}()
	var first error
	for i := 0; i < 2; i++ {
		err := <-errc
		if err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil && first == nil {
			first = fmt.Errorf("sipua: serve: %w", err)
			return first
		}
	}
	return first
}

// Refuse makes the stack answer new INVITEs with 503 (used while shutting down).
func (s *Stack) Refuse() {
	s.refuseMu.Lock()
	s.refuse = true
	s.refuseMu.Unlock()
}

// Drain waits, while the listeners are still open, for the BYE and CANCEL
// transactions legs started (so their answers are read), or until ctx ends.
func (s *Stack) Drain(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("sipua: draining legs: %w", ctx.Err())
	}
}

// Close stops leg goroutines and the user agent. Call it after Serve returned.
func (s *Stack) Close() error {
	s.closeOne.Do(func() { close(s.closing) })
	s.wg.Wait()
	return s.ua.Close()
}

func (s *Stack) refusing() bool {
	s.refuseMu.RLock()
	defer s.refuseMu.RUnlock()
	return s.refuse
}

func (s *Stack) respond(req *sip.Request, tx sip.ServerTransaction, code int, reason string, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		s.log.Debug("sip respond failed", "code", code, "call_id", callID(req), "err", err)
	}
}

// safe confines a panic to its request: sipgo recovers nothing, so a bug in
// a handler would otherwise end the process and every call in it.
func (s *Stack) safe(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("SIP handler panicked", "method", req.Method.String(), "call_id", callID(req), "panic", p, "stack", string(debug.Stack()))
				s.respond(req, tx, 500, "Server Internal Error")
			}
		}()
		h(req, tx)
	}
}

func (s *Stack) allow() string {
	if s.cfg.Register != nil {
		return "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REGISTER"
	}
	return "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO"
}

func (s *Stack) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	s.respond(req, tx, 200, "OK", sip.NewHeader("Allow", s.allow()))
}

func (s *Stack) onNoRoute(req *sip.Request, tx sip.ServerTransaction) {
	s.respond(req, tx, 405, "Method Not Allowed", sip.NewHeader("Allow", s.allow()))
}

func (s *Stack) onCancel(req *sip.Request, tx sip.ServerTransaction) {
	// CANCELs that match an INVITE transaction are answered by sipgo's
	// transaction layer; what reaches us matches nothing.
	s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
}

func (s *Stack) onAck(req *sip.Request, tx sip.ServerTransaction) {
	id, err := sip.DialogIDFromRequestUAS(req)
	if err != nil {
		return
	}
	if v, ok := s.inbound.Load(id); ok {
		leg := v.(*InboundLeg)
		// A stray ACK (for a non-2xx, or reordered after a re-INVITE) fails
		// the CSeq check; that is expected and harmless.
		_ = leg.dlg.ReadAck(req, tx)
	}
}

func (s *Stack) onBye(req *sip.Request, tx sip.ServerTransaction) {
	if id, err := sip.DialogIDFromRequestUAS(req); err == nil {
		if v, ok := s.inbound.Load(id); ok {
			leg := v.(*InboundLeg)
			if err := leg.dlg.ReadBye(req, tx); err != nil {
				s.respond(req, tx, 400, "Bad Request")
				return
			}
			leg.remoteBye()
			return
		}
	}
	if id, err := sip.DialogIDFromRequestUAC(req); err == nil {
		if v, ok := s.outbound.Load(id); ok {
			leg := v.(*OutboundLeg)
			if err := leg.dlg.ReadBye(req, tx); err != nil {
				s.respond(req, tx, 400, "Bad Request")
				return
			}
			leg.remoteBye()
			return
		}
	}
	s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
}

func (s *Stack) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil {
		if _, ok := to.Params.Get("tag"); ok {
			s.onReInvite(req, tx)
			return
		}
	}
	if s.refusing() {
		s.respond(req, tx, 503, "Service Unavailable")
		return
	}
	if req.From() == nil || req.To() == nil || req.CallID() == nil || req.CSeq() == nil || req.Contact() == nil {
		s.respond(req, tx, 400, "Bad Request", sip.NewHeader("Warning", `399 patchbay "missing From, To, Call-ID, CSeq or Contact"`))
		return
	}
	var caller any
	if s.cfg.Authenticate != nil {
		c, ok := s.cfg.Authenticate(req, tx)
		if !ok {
			return // answered: challenged or refused
		}
		caller = c
	}
	dlg, err := s.dialogUA.ReadInvite(req, tx)
	if err != nil {
		s.respond(req, tx, 400, "Bad Request")
		return
	}
	leg := newInboundLeg(s, req, dlg)
	leg.Caller = caller
	s.inbound.Store(dlg.ID, leg)
	defer s.inbound.Delete(dlg.ID)
	s.handler.HandleInvite(leg)
	// The INVITE transaction lives as long as this handler: sipgo terminates
	// it when we return, so we stay until a final response went out.
	if leg.serve() {
		// Answered: keep the dialog matchable for BYE and re-INVITE until it
		// ends, by the peer's BYE or by ours (whatever its outcome).
		select {
		case <-leg.dlg.Context().Done():
		case <-leg.ended:
		case <-s.closing:
		}
	}
}

func (s *Stack) onReInvite(req *sip.Request, tx sip.ServerTransaction) {
	if id, err := sip.DialogIDFromRequestUAS(req); err == nil {
		if v, ok := s.inbound.Load(id); ok {
			v.(*InboundLeg).reInvite(req, tx)
			return
		}
	}
	if id, err := sip.DialogIDFromRequestUAC(req); err == nil {
		if v, ok := s.outbound.Load(id); ok {
			v.(*OutboundLeg).reInvite(req, tx)
			return
		}
	}
	s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
}

// answerReInvite answers an in-dialog INVITE: with answerer's answer to the
// peer's new offer (hold, resume, new address) when there is one, else with
// our current SDP. It returns the SDP sent, and false when it refused the
// offer (488) or had nothing to answer with.
func (s *Stack) answerReInvite(req *sip.Request, tx sip.ServerTransaction, localSDP []byte, answerer ReInviteAnswerer) ([]byte, bool) {
	if body := req.Body(); answerer != nil && len(body) > 0 {
		answer, err := answerer(body)
		if err != nil {
			s.respond(req, tx, 488, "Not Acceptable Here")
			return nil, false
		}
		localSDP = answer
	}
	if len(localSDP) == 0 {
		s.respond(req, tx, 488, "Not Acceptable Here")
		return nil, false
	}
	res := sip.NewSDPResponseFromRequest(req, localSDP)
	res.AppendHeader(&s.dialogUA.ContactHDR)
	if err := tx.Respond(res); err != nil {
		s.log.Debug("re-INVITE answer failed", "call_id", callID(req), "err", err)
	}
	return localSDP, true
}

func callID(req *sip.Request) string {
	if c := req.CallID(); c != nil {
		return c.Value()
	}
	return ""
}

// xHeaders returns the X- headers of a message as a map (first value wins).
func xHeaders(hdrs []sip.Header) map[string]string {
	var m map[string]string
	for _, h := range hdrs {
		name := h.Name()
		if len(name) > 2 && (name[0] == 'X' || name[0] == 'x') && name[1] == '-' {
			if m == nil {
				m = make(map[string]string)
			}
			if _, ok := m[name]; !ok {
				m[name] = h.Value()
			}
		}
	}
	return m
}
