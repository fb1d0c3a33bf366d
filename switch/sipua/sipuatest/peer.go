package sipuatest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Peer is a SIP user agent for tests: it listens on 127.0.0.1, places calls
// and answers them. Create it with NewPeer (or New) and release it with
// Close.
type Peer struct {
	cfg       peerConfig
	log       *slog.Logger
	detachLog func()

	ua  *sipgo.UserAgent
	srv *sipgo.Server
	cli *sipgo.Client

	udpConn *net.UDPConn
	tcpLn   *net.TCPListener
	wire    *wireObserver

	done  chan struct{}  // closed by Close
	wg    sync.WaitGroup // every goroutine this package starts
	sends sync.WaitGroup // requests being handed to sipgo, see sending

	closing atomic.Bool // read by the transports' read filter

	mu              sync.Mutex
	closed          bool
	calls           map[dialogKey]*Call
	incoming        []*Call
	nextIncoming    int
	incomingChanged chan struct{}
	behavior        Behavior
	pendingCancel   map[string]bool // Call-IDs whose CANCEL overtook their INVITE
}

// dialogKey finds a call from a message: Call-ID plus our own tag (the From
// tag of what we send, the To tag of what we receive in a dialog).
type dialogKey struct{ callID, localTag string }

// NewPeer starts a peer for a test and closes it in t.Cleanup. It fails the
// test if the peer cannot start. The peer logs to t.Log unless WithLogger
// is given.
func NewPeer(tb testing.TB, opts ...Option) *Peer {
	tb.Helper()
	log, detach := newTBLogger(tb, slog.LevelInfo)
	p, err := start(log, detach, opts)
	if err != nil {
		tb.Fatalf("sipuatest: start peer: %v", err)
	}
	tb.Cleanup(p.Close)
	return p
}

// New starts a peer outside of a test (for load tools). The caller must
// Close it.
func New(opts ...Option) (*Peer, error) {
	return start(slog.New(slog.DiscardHandler), func() {}, opts)
}

func start(defaultLog *slog.Logger, detach func(), opts []Option) (*Peer, error) {
	cfg := peerConfig{user: "peer", logger: defaultLog}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.logger != defaultLog {
		detach()
		detach = func() {}
	}
	p := &Peer{
		cfg:             cfg,
		log:             cfg.logger,
		detachLog:       detach,
		done:            make(chan struct{}),
		calls:           map[dialogKey]*Call{},
		incomingChanged: make(chan struct{}),
		behavior:        AnswerAfter(0),
		pendingCancel:   map[string]bool{},
	}
	p.wire = newWireObserver(p)
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent("sipuatest"),
		sipgo.WithUserAgentHostname("127.0.0.1"),
		sipgo.WithUserAgentTransportLayerOptions(
			sip.WithTransportLayerLogger(p.log),
			sip.WithTransportLayerReadFilter(p.wire.filter),
		),
		sipgo.WithUserAgentTransactionLayerOptions(
			sip.WithTransactionLayerLogger(p.log),
			sip.WithTransactionLayerUnhandledResponseHandler(p.onStrayResponse),
		),
	)
	if err != nil {
		return nil, fmt.Errorf("create sipgo UA: %w", err)
	}
	p.ua = ua
	if p.srv, err = sipgo.NewServer(ua, sipgo.WithServerLogger(p.log)); err != nil {
		_ = ua.Close()
		return nil, fmt.Errorf("create sipgo server: %w", err)
	}
	if p.cli, err = sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientLogger(p.log)); err != nil {
		_ = ua.Close()
		return nil, fmt.Errorf("create sipgo client: %w", err)
	}
	// sipgo's handler map has no lock: every handler is registered here,
	// before the listeners serve.
	p.srv.OnInvite(p.onInvite)
	p.srv.OnAck(p.onAck)
	p.srv.OnBye(p.onBye)
	p.srv.OnCancel(p.onStrayCancel)
	p.srv.OnOptions(p.onOK)
	p.srv.OnUpdate(p.onOK)
	p.srv.OnNotify(p.onOK)
	p.srv.OnInfo(p.onInfo)

	loopback := net.IPv4(127, 0, 0, 1)
	if p.udpConn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: loopback}); err != nil {
		_ = ua.Close()
		return nil, fmt.Errorf("listen SIP UDP: %w", err)
	}
	if cfg.tcp {
		if p.tcpLn, err = net.ListenTCP("tcp4", &net.TCPAddr{IP: loopback}); err != nil {
			_ = p.udpConn.Close()
			_ = ua.Close()
			return nil, fmt.Errorf("listen SIP TCP: %w", err)
		}
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if err := p.srv.ServeUDP(p.udpConn); err != nil {
			p.log.Warn("serve UDP ended", "err", err)
		}
	}()
	if p.tcpLn != nil {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			if err := p.srv.ServeTCP(p.tcpLn); err != nil && !errors.Is(err, net.ErrClosed) {
				p.log.Warn("serve TCP ended", "err", err)
			}
		}()
	}
	// Requests leave from the UDP listener (so the remote sees one address),
	// which sipgo finds in its pool only once ServeUDP has added it.
	pool := ua.TransportLayer().Pool("udp")
	for wait := time.Now().Add(5 * time.Second); pool.Size() == 0; {
		if time.Now().After(wait) {
			p.Close()
			return nil, errors.New("sipuatest: UDP listener never became ready")
		}
		time.Sleep(time.Millisecond)
	}
	p.log.Info("peer listening", "udp", p.Addr(), "tcp", p.TCPAddr())
	return p, nil
}

// Addr returns host:port of the peer's UDP SIP listener.
func (p *Peer) Addr() string { return p.udpConn.LocalAddr().String() }

// TCPAddr returns host:port of the TCP listener, "" without WithTCP.
func (p *Peer) TCPAddr() string {
	if p.tcpLn == nil {
		return ""
	}
	return p.tcpLn.Addr().String()
}

// URI returns a SIP URI that reaches this peer as user, e.g. to give the
// switch as a call's To: "sip:user@127.0.0.1:port" (UDP).
func (p *Peer) URI(user string) string {
	if user == "" {
		return "sip:" + p.Addr()
	}
	return "sip:" + user + "@" + p.Addr()
}

// Close hangs up nothing: it stops listening, ends every call's RTP socket,
// terminates sipgo's transactions and waits for every goroutine the peer
// started. Recorded calls stay readable. Close is idempotent.
func (p *Peer) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.closing.Store(true)
	close(p.done)
	calls := make([]*Call, 0, len(p.calls))
	for _, c := range p.calls {
		calls = append(calls, c)
	}
	p.mu.Unlock()
	p.sends.Wait()
	for _, c := range calls {
		c.end("peer closed")
	}
	_ = p.udpConn.Close()
	if p.tcpLn != nil {
		_ = p.tcpLn.Close()
	}
	_ = p.ua.Close()
	p.wg.Wait()
	p.sweepLateConnections()
	p.detachLog()
}

// sweepLateConnections closes sockets sipgo opened after ua.Close. A
// request read just before the listener closed is handled on a goroutine
// of its own; if that goroutine finds the listener gone from sipgo's pool,
// it binds a new UDP socket for the response, with a reader goroutine that
// nothing would stop. The read filter drops everything once the peer is
// closing, so only messages already read can do this, and they do it
// within moments: the pools are swept until they stay empty for a while.
func (p *Peer) sweepLateConnections() {
	tl := p.ua.TransportLayer()
	pools := []*sip.ConnectionPool{tl.Pool("udp"), tl.Pool("tcp")}
	for quiet := 0; quiet < 5; {
		time.Sleep(5 * time.Millisecond)
		quiet++
		for _, pool := range pools {
			if pool.Size() > 0 {
				_ = pool.Clear()
				quiet = 0
			}
		}
	}
}

// enter registers a goroutine or handler that must finish before Close
// returns; false once the peer is closed.
func (p *Peer) enter() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.wg.Add(1)
	return true
}

// sending runs f, which hands a request to sipgo, unless the peer is
// closed. Close waits for running sends before closing the sockets: a UDP
// request sent after the listener is gone would make sipgo bind a new
// socket (and a reader goroutine) on the freed port.
func (p *Peer) sending(f func() error) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrPeerClosed
	}
	p.sends.Add(1)
	p.mu.Unlock()
	defer p.sends.Done()
	return f()
}

// do sends req in a client transaction and waits for its final response.
func (p *Peer) do(ctx context.Context, req *sip.Request, opts ...sipgo.ClientRequestOption) (*sip.Response, error) {
	var tx sip.ClientTransaction
	err := p.sending(func() (err error) {
		tx, err = p.cli.TransactionRequest(ctx, req, opts...)
		return err
	})
	if err != nil {
		return nil, err
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if !res.IsProvisional() {
				return res, nil
			}
		case <-tx.Done():
			return nil, tx.Err()
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-p.done:
			return nil, ErrPeerClosed
		}
	}
}

// goTracked runs f in a goroutine that Close waits for.
func (p *Peer) goTracked(f func()) bool {
	if !p.enter() {
		return false
	}
	go func() {
		defer p.wg.Done()
		f()
	}()
	return true
}

func (p *Peer) register(c *Call) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls[dialogKey{c.callID, c.localTag}] = c
}

func (p *Peer) unregister(c *Call) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.calls, dialogKey{c.callID, c.localTag})
}

func (p *Peer) lookup(callID, localTag string) *Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[dialogKey{callID, localTag}]
}

// Incoming returns every call received so far, oldest first.
func (p *Peer) Incoming() []*Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*Call(nil), p.incoming...)
}

// WaitIncoming returns the oldest incoming call that WaitIncoming has not
// returned yet, waiting for one to arrive.
func (p *Peer) WaitIncoming(ctx context.Context) (*Call, error) {
	for {
		p.mu.Lock()
		if p.nextIncoming < len(p.incoming) {
			c := p.incoming[p.nextIncoming]
			p.nextIncoming++
			p.mu.Unlock()
			return c, nil
		}
		ch := p.incomingChanged
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for incoming call: %w", ctx.Err())
		case <-p.done:
			return nil, fmt.Errorf("wait for incoming call: %w", ErrPeerClosed)
		}
	}
}

func (p *Peer) addIncoming(c *Call) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls[dialogKey{c.callID, c.localTag}] = c
	p.incoming = append(p.incoming, c)
	close(p.incomingChanged)
	p.incomingChanged = make(chan struct{})
}

// respond sends res on tx and logs a failure (the remote will retransmit).
func (p *Peer) respond(tx sip.ServerTransaction, res *sip.Response) {
	if err := tx.Respond(res); err != nil {
		p.log.Warn("respond", "status", res.StatusCode, "err", err)
	}
}

func (p *Peer) onOK(req *sip.Request, tx sip.ServerTransaction) {
	p.respond(tx, sip.NewResponseFromRequest(req, 200, "OK", nil))
}

func (p *Peer) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	if c := p.lookupIn(req); c != nil {
		c.mu.Lock()
		c.infos = append(c.infos, string(req.Body()))
		c.notifyLocked()
		c.mu.Unlock()
	}
	p.respond(tx, sip.NewResponseFromRequest(req, 200, "OK", nil))
}

// lookupIn finds the call an in-dialog request belongs to.
func (p *Peer) lookupIn(req *sip.Request) *Call {
	callID, to := req.CallID(), req.To()
	if callID == nil || to == nil {
		return nil
	}
	tag, _ := to.Params.Get("tag")
	return p.lookup(callID.Value(), tag)
}

func (p *Peer) onAck(req *sip.Request, _ sip.ServerTransaction) {
	c := p.lookupIn(req)
	if c == nil {
		// ACKs of non-2xx finals can arrive after their transaction ended
		// (sipgo trap): nothing to do.
		return
	}
	c.mu.Lock()
	lateAnswer := c.lateOffer && len(c.remoteSDP) == 0 && len(req.Body()) > 0
	c.mu.Unlock()
	if lateAnswer {
		// Media first: whoever waits for the ACK may send RTP at once.
		c.applyRemoteSDP(req.Body(), false)
	}
	c.mu.Lock()
	c.acked = true
	if lateAnswer {
		c.remoteSDP = append([]byte(nil), req.Body()...)
	}
	c.notifyLocked()
	c.mu.Unlock()
}

func (p *Peer) onBye(req *sip.Request, tx sip.ServerTransaction) {
	c := p.lookupIn(req)
	if c == nil {
		p.respond(tx, sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	p.respond(tx, sip.NewResponseFromRequest(req, 200, "OK", nil))
	c.mu.Lock()
	if c.byeReceivedAt.IsZero() {
		c.byeReceivedAt = time.Now()
	}
	c.notifyLocked()
	c.mu.Unlock()
	c.end("BYE received")
}

// onStrayCancel handles a CANCEL that matched no INVITE transaction: either
// its INVITE is still on its way through sipgo (messages are not processed
// in order) or the call is unknown. Remember it for the INVITE and answer
// 200, as the INVITE will be answered 487.
func (p *Peer) onStrayCancel(req *sip.Request, tx sip.ServerTransaction) {
	if callID := req.CallID(); callID != nil {
		p.mu.Lock()
		p.pendingCancel[callID.Value()] = true
		p.mu.Unlock()
	}
	p.respond(tx, sip.NewResponseFromRequest(req, 200, "OK", nil))
}

func (p *Peer) takePendingCancel(callID string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	ok := p.pendingCancel[callID]
	delete(p.pendingCancel, callID)
	return ok
}

// onStrayResponse sees responses no transaction matched: a 2xx to an
// INVITE retransmitted after the transaction ended is ACKed again.
func (p *Peer) onStrayResponse(res *sip.Response) {
	cseq, callID, from := res.CSeq(), res.CallID(), res.From()
	if cseq == nil || callID == nil || from == nil || cseq.MethodName != sip.INVITE || !res.IsSuccess() {
		return
	}
	tag, _ := from.Params.Get("tag")
	if c := p.lookup(callID.Value(), tag); c != nil {
		c.resendAck()
	}
}

func transportOf(s string) (string, error) {
	switch strings.ToLower(s) {
	case "", "udp":
		return "UDP", nil
	case "tcp":
		return "TCP", nil
	}
	return "", fmt.Errorf("sipuatest: unsupported transport %q", s)
}
