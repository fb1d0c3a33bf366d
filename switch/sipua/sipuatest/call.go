package sipuatest

import (
	pbmedia "github.com/patchbay/patchbay/switch/media"

	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

var (
	// ErrCallEnded is returned by operations on a call that has ended.
	ErrCallEnded = errors.New("sipuatest: call ended")
	// ErrNotEstablished is returned by Bye on a call that was never answered.
	ErrNotEstablished = errors.New("sipuatest: call not established")
	// ErrPeerClosed is returned by waits that were cut short by Peer.Close.
	ErrPeerClosed = errors.New("sipuatest: peer closed")
	// ErrNoFinal is returned when an INVITE transaction ended without a
	// final response (timeout or transport error); it wraps sipgo's cause.
	ErrNoFinal = errors.New("sipuatest: no final response")
)

// Call is one call of a Peer, placed (Invite) or received (Answer). All
// methods are safe for concurrent use; getters return snapshots.
type Call struct {
	peer      *Peer
	outgoing  bool
	callID    string
	localTag  string
	transport string // "UDP" or "TCP"
	rtp       *rtpSession

	ackMu sync.Mutex // serialises (re)sending the ACK of a 2xx

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change

	// Dialog state.
	local        sip.Uri // our address of record (From when outgoing, To when incoming)
	remote       sip.Uri // theirs
	remoteTag    string
	remoteTarget sip.Uri // Contact of the remote side
	cseq         uint32
	established  bool

	// What the remote side sent: the INVITE (incoming) or the final
	// response (outgoing).
	headers    map[string][]string
	requestURI string
	remoteSDP  []byte
	localSDP   []byte

	// Outgoing calls.
	invite       *sip.Request // as sent; read only after sending
	inviteURI    sip.Uri
	inviteVia    *sip.ViaHeader // Via of the INVITE as sent, for CANCEL
	lateOffer    bool           // INVITE sent without SDP
	codecPrefs   []Codec        // offer (outgoing) or answer (incoming) preference
	provisionals []int
	final        int
	finalErr     error
	finalDone    bool
	ack          *sip.Request

	// Incoming calls.
	reply      Reply
	acked      bool
	canceled   bool
	canceledAt time.Time
	reinvites  int
	infos      []string

	byeReceivedAt time.Time
	byeSent       bool
	ended         bool
	endedAt       time.Time
	endReason     string
}

func newCall(p *Peer, outgoing bool, callID, localTag, transport string, rtp *rtpSession) *Call {
	c := &Call{
		peer:      p,
		outgoing:  outgoing,
		callID:    callID,
		localTag:  localTag,
		transport: transport,
		rtp:       rtp,
		changed:   make(chan struct{}),
		headers:   map[string][]string{},
	}
	return c
}

// notifyLocked wakes every waiter; the caller holds c.mu.
func (c *Call) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *Call) notify() {
	c.mu.Lock()
	c.notifyLocked()
	c.mu.Unlock()
}

// wait blocks until cond (evaluated with c.mu held) is true, ctx ends or
// the peer closes.
func (c *Call) wait(ctx context.Context, what string, cond func() bool) error {
	for {
		c.mu.Lock()
		ok := cond()
		ch := c.changed
		c.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for %s on call %s: %w", what, c.callID, ctx.Err())
		case <-c.peer.done:
			return fmt.Errorf("wait for %s on call %s: %w", what, c.callID, ErrPeerClosed)
		}
	}
}

// end marks the call ended and releases its RTP socket (stats stay
// readable). It reports whether this call did the ending.
func (c *Call) end(reason string) bool {
	c.mu.Lock()
	did := c.endLocked(reason)
	c.mu.Unlock()
	c.afterEnd(did, reason)
	return did
}

// endLocked marks the call ended in the same critical section as the state
// change that ends it, so no waiter sees one without the other; the caller
// holds c.mu and calls afterEnd once it is released.
func (c *Call) endLocked(reason string) bool {
	if c.ended {
		return false
	}
	c.ended = true
	c.endedAt = time.Now()
	c.endReason = reason
	c.notifyLocked()
	return true
}

func (c *Call) afterEnd(did bool, reason string) {
	if !did {
		return
	}
	c.rtp.close()
	c.peer.log.Info("call ended", "call_id", c.callID, "reason", reason)
}

func snapshotHeaders(msg interface{ Headers() []sip.Header }) map[string][]string {
	m := map[string][]string{}
	for _, h := range msg.Headers() {
		name := strings.ToLower(h.Name())
		m[name] = append(m[name], h.Value())
	}
	return m
}

// CallID returns the SIP Call-ID.
func (c *Call) CallID() string { return c.callID }

// Outgoing reports whether the peer placed this call.
func (c *Call) Outgoing() bool { return c.outgoing }

// Header returns the first value of a header the remote side sent: from the
// final response for an outgoing call (e.g. X-RestComm-CallSid), from the
// INVITE for an incoming one. Names are case-insensitive; "" if absent.
func (c *Call) Header(name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v := c.headers[strings.ToLower(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// HeaderValues returns every value of a header (see Header).
func (c *Call) HeaderValues(name string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.headers[strings.ToLower(name)])
}

// RequestURI returns the Request-URI of an incoming INVITE.
func (c *Call) RequestURI() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requestURI
}

// RemoteSDP returns the SDP the remote side sent (answer or offer).
func (c *Call) RemoteSDP() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.remoteSDP)
}

// LocalSDP returns the SDP this peer sent for the call.
func (c *Call) LocalSDP() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.localSDP)
}

// Codec returns the negotiated audio codec (valid once SDP was exchanged).
func (c *Call) Codec() Codec {
	c.rtp.mu.Lock()
	defer c.rtp.mu.Unlock()
	return c.rtp.codec
}

// RTPPort returns the local port of the call's RTP socket.
func (c *Call) RTPPort() int { return c.rtp.port() }

// Provisionals returns the provisional status codes received for an
// outgoing INVITE, in wire order (retransmissions included).
func (c *Call) Provisionals() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.provisionals)
}

// FinalCode returns the final status of the INVITE: received (outgoing) or
// sent (incoming); 0 while there is none.
func (c *Call) FinalCode() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.final
}

// WaitFinal waits for the final response of the INVITE and returns its
// status code. For an outgoing call whose transaction ended without one it
// returns an error wrapping ErrNoFinal.
func (c *Call) WaitFinal(ctx context.Context) (int, error) {
	if err := c.wait(ctx, "final response", func() bool { return c.finalDone }); err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.final, c.finalErr
}

// WaitProvisional waits until a provisional response with code was
// received (outgoing calls) or sent (incoming calls).
func (c *Call) WaitProvisional(ctx context.Context, code int) error {
	return c.wait(ctx, fmt.Sprintf("provisional %d", code), func() bool {
		return slices.Contains(c.provisionals, code)
	})
}

// Established reports whether the INVITE was answered with a 2xx.
func (c *Call) Established() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.established
}

// WaitAck waits until the ACK of an incoming call's 2xx arrived.
func (c *Call) WaitAck(ctx context.Context) error {
	return c.wait(ctx, "ACK", func() bool { return c.acked })
}

// Acked reports whether the ACK of an incoming call's 2xx arrived.
func (c *Call) Acked() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.acked
}

// WaitCanceled waits until a CANCEL for an incoming call arrived (the
// stack answered it 200 and the INVITE 487).
func (c *Call) WaitCanceled(ctx context.Context) error {
	return c.wait(ctx, "CANCEL", func() bool { return c.canceled })
}

// Canceled reports whether a CANCEL for an incoming call arrived.
func (c *Call) Canceled() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.canceled
}

// CanceledAt returns when the CANCEL arrived (zero if none).
func (c *Call) CanceledAt() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.canceledAt
}

// WaitBye waits until a BYE from the remote side arrived and was answered
// 200.
func (c *Call) WaitBye(ctx context.Context) error {
	return c.wait(ctx, "BYE", func() bool { return !c.byeReceivedAt.IsZero() })
}

// ByeReceived reports whether the remote side sent BYE.
func (c *Call) ByeReceived() bool { return !c.ByeReceivedAt().IsZero() }

// ByeReceivedAt returns when the remote side's BYE arrived (zero if none).
func (c *Call) ByeReceivedAt() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byeReceivedAt
}

// Ended reports whether the call is over (BYE either way, CANCEL, a
// non-2xx final, or a failed transaction).
func (c *Call) Ended() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ended
}

// WaitEnded waits until the call is over.
func (c *Call) WaitEnded(ctx context.Context) error {
	return c.wait(ctx, "end", func() bool { return c.ended })
}

// EndReason says how the call ended ("" while it is up).
func (c *Call) EndReason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.endReason
}

// ReInvites counts the re-INVITEs received within the call.
func (c *Call) ReInvites() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reinvites
}

// Infos returns the bodies of the INFO requests received within the call.
func (c *Call) Infos() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.infos)
}

// RTP returns a snapshot of the RTP received so far.
func (c *Call) RTP() RTPStats { return c.rtp.snapshot() }

// Listen starts measuring the given tone frequencies (Hz) in the audio
// received from now on, forgetting what an earlier Listen measured.
func (c *Call) Listen(freqs ...float64) {
	c.rtp.mu.Lock()
	c.rtp.det = pbmedia.NewToneDetector(freqs...)
	c.rtp.mu.Unlock()
}

// Heard returns, for each frequency given to Listen, its average share of
// the voiced audio received since (0..1), and how many 40 ms blocks were
// voiced.
func (c *Call) Heard() (levels []float64, voiced int) {
	c.rtp.mu.Lock()
	defer c.rtp.mu.Unlock()
	d := c.rtp.det
	if d == nil {
		return nil, 0
	}
	for i := 0; i < d.Len(); i++ {
		levels = append(levels, d.Level(i))
	}
	return levels, d.Voiced()
}

// WaitRTP waits until at least n packets of payload type pt arrived.
func (c *Call) WaitRTP(ctx context.Context, pt uint8, n int) error {
	return c.wait(ctx, fmt.Sprintf("%d RTP packets of PT %d", n, pt), func() bool {
		return c.rtp.snapshotPT(pt).Packets >= n
	})
}

// Digits returns the RFC 4733 digits received so far.
func (c *Call) Digits() string { return c.rtp.snapshot().Digits }

// WaitDigits waits until the digits received so far end with want.
func (c *Call) WaitDigits(ctx context.Context, want string) error {
	return c.wait(ctx, fmt.Sprintf("digits %q", want), func() bool {
		return strings.HasSuffix(c.rtp.snapshot().Digits, want)
	})
}

// SendTone sends a sine of freqHz for d as 20 ms packets of the negotiated
// codec to the remote media address, paced in real time. It returns when
// done, when ctx ends, or ErrCallEnded if the call ends meanwhile.
func (c *Call) SendTone(ctx context.Context, freqHz float64, d time.Duration) error {
	if err := c.rtp.sendTone(ctx, freqHz, d); err != nil {
		return fmt.Errorf("send tone on call %s: %w", c.callID, err)
	}
	return nil
}

// SendDTMF sends each digit (0-9, *, #, A-D) as an RFC 4733 event of about
// 100 ms followed by 3 end packets, with 60 ms between digits, on the
// negotiated telephone-event payload type.
func (c *Call) SendDTMF(ctx context.Context, digits string) error {
	for i, d := range digits {
		if i > 0 {
			t := time.NewTimer(60 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		if err := c.rtp.sendDigit(ctx, d, 100*time.Millisecond); err != nil {
			return fmt.Errorf("send DTMF on call %s: %w", c.callID, err)
		}
	}
	return nil
}
