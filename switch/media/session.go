package media

import (
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// maxPacket bounds what we read and write; G.711 packets are 172 bytes.
const maxPacket = 1500

// Params are what offer/answer decided for a session.
type Params struct {
	// Remote is where to send RTP until latching finds the real source.
	Remote netip.AddrPort
	// Codec and PayloadType: the audio encoding and the payload type the
	// SDP gave it (normally Codec.PayloadType()).
	Codec       Codec
	PayloadType uint8
	// Events tells whether telephone-event was negotiated, on
	// EventPayloadType.
	Events           bool
	EventPayloadType uint8
	// NoSend is set when our direction is recvonly or inactive (the peer put
	// us on hold): Play keeps time but sends nothing.
	NoSend bool
}

// peerState is where we send. It is replaced, never changed, so readers
// load it without a lock.
type peerState struct {
	signalled netip.AddrPort // from SDP
	current   netip.AddrPort // where packets go now
	latched   bool
}

type consumerBox struct{ c Consumer }

type payloadCounter struct {
	packets atomic.Uint64
	octets  atomic.Uint64
}

// Session is one call leg's RTP endpoint. Its methods are safe for
// concurrent use; see the package doc for the rules on consumers and
// digits.
type Session struct {
	port *Port
	conn *net.UDPConn
	log  *slog.Logger
	ssrc uint32

	onDigit atomic.Pointer[func(Digit)]
	tap     atomic.Pointer[recordLeg] // nil unless a Recorder records the session

	params   atomic.Pointer[Params]
	peer     atomic.Pointer[peerState]
	consumer atomic.Pointer[consumerBox]
	muted    atomic.Bool

	// Send state, guarded by sendMu.
	sendMu     sync.Mutex
	seq        uint16
	lastTS     uint32 // highest timestamp covered by what was sent
	sentAny    bool
	clockStart time.Time
	tsBase     uint32
	out        rtp.Packet
	outBuf     [maxPacket]byte

	playSem   chan struct{} // one Play at a time
	closed    chan struct{}
	closeOnce sync.Once
	loopDone  chan struct{}

	packetsSent    atomic.Uint64
	octetsSent     atomic.Uint64
	packetsDropped atomic.Uint64
	digitsSent     atomic.Uint64
	digitsReceived atomic.Uint64
	received       [128]payloadCounter

	// Owned by the read goroutine.
	in       rtp.Packet
	inBuf    [maxPacket]byte
	detector eventDetector
}

// NewSession starts a session on port: its read goroutine runs until Close.
// On success the session owns the port and releases it on Close; on error
// the caller still owns it.
func NewSession(port *Port, opts ...SessionOption) (*Session, error) {
	s := &Session{
		port:       port,
		conn:       port.Conn(),
		log:        slog.New(slog.DiscardHandler),
		ssrc:       rand.Uint32(),
		seq:        uint16(rand.Uint32()),
		tsBase:     rand.Uint32(),
		clockStart: time.Now(),
		playSem:    make(chan struct{}, 1),
		closed:     make(chan struct{}),
		loopDone:   make(chan struct{}),
	}
	s.consumer.Store(&consumerBox{c: NoOpConsumer{}})
	for _, opt := range opts {
		if err := opt(s); err != nil {
			return nil, err
		}
	}
	s.out.Header = rtp.Header{Version: 2, SSRC: s.ssrc}
	s.log = s.log.With("rtp_port", port.Number())
	go s.readLoop()
	return s, nil
}

// LocalAddr is the address the session receives on (for SDP).
func (s *Session) LocalAddr() netip.AddrPort { return s.port.Addr() }

// SSRC is the synchronisation source of what the session sends.
func (s *Session) SSRC() uint32 { return s.ssrc }

// Configure applies the outcome of an offer/answer exchange; call it again
// after a re-INVITE. A new remote address re-arms latching; the same one
// keeps the latched source.
func (s *Session) Configure(p Params) error {
	if !p.Codec.valid() {
		return errors.New("media: configure: codec must be PCMU or PCMA")
	}
	if !p.Remote.IsValid() {
		return errors.New("media: configure: remote address required")
	}
	p.Remote = netip.AddrPortFrom(p.Remote.Addr().Unmap(), p.Remote.Port())
	s.params.Store(&p)
	old := s.peer.Load()
	if old == nil || old.signalled != p.Remote {
		s.peer.Store(&peerState{signalled: p.Remote, current: p.Remote})
	}
	return nil
}

// Remote is where the session currently sends, and whether it was latched
// from received packets.
func (s *Session) Remote() (addr netip.AddrPort, latched bool) {
	if p := s.peer.Load(); p != nil {
		return p.current, p.latched
	}
	return netip.AddrPort{}, false
}

// SetConsumer replaces the consumer of received packets (nil: drop). The
// change takes effect from the next packet.
func (s *Session) SetConsumer(c Consumer) {
	if c == nil {
		c = NoOpConsumer{}
	}
	s.consumer.Store(&consumerBox{c: c})
}

// SetDigitHandler replaces the function told of each received DTMF digit
// (nil: digits are only counted), from the next event on. It may be called
// at any time from any goroutine; the rules of WithDigitHandler apply.
func (s *Session) SetDigitHandler(f func(Digit)) {
	if f == nil {
		s.onDigit.Store(nil)
		return
	}
	s.onDigit.Store(&f)
}

// SetMuted mutes or unmutes what this leg sends into the conversation:
// while muted, received audio is not handed to the consumer.
func (s *Session) SetMuted(muted bool) { s.muted.Store(muted) }

// Muted reports whether the session is muted.
func (s *Session) Muted() bool { return s.muted.Load() }

// Close stops the read goroutine, waits for it, and releases the port.
// Play and SendDigit calls in progress return ErrClosed. Close may be
// called more than once.
func (s *Session) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.closed)
		err = s.port.Release() // unblocks the read
		<-s.loopDone
	})
	return err
}

func (s *Session) readLoop() {
	defer close(s.loopDone)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(s.inBuf[:])
		if err != nil {
			select {
			case <-s.closed:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Debug("rtp read failed", "err", err)
			continue
		}
		s.receive(s.inBuf[:n], from)
	}
}

// receive handles one datagram; it must not allocate.
func (s *Session) receive(b []byte, from netip.AddrPort) {
	// Peek before parsing: RTP version 2, and not RTCP (PT 200-204 lands
	// on 72-76 with the marker bit, RFC 5761 §4).
	if len(b) < 12 || b[0]>>6 != 2 || (b[1] >= 192 && b[1] <= 223) {
		s.packetsDropped.Add(1)
		return
	}
	if err := s.in.Unmarshal(b); err != nil {
		s.packetsDropped.Add(1)
		return
	}
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	if peer := s.peer.Load(); peer != nil {
		switch {
		case !peer.latched:
			// Symmetric RTP: answer where the packets really come from.
			// CompareAndSwap: a Configure racing with this packet wins.
			latched := s.peer.CompareAndSwap(peer, &peerState{signalled: peer.signalled, current: from, latched: true})
			if latched && from != peer.current {
				s.log.Debug("rtp latched", "signalled", peer.signalled, "source", from)
			}
		case from != peer.current:
			s.packetsDropped.Add(1)
			return
		}
	}
	pt := s.in.PayloadType
	c := &s.received[pt]
	c.packets.Add(1)
	c.octets.Add(uint64(len(s.in.Payload)))

	p := s.params.Load()
	if p == nil {
		return
	}
	switch {
	case p.Events && pt == p.EventPayloadType:
		e, err := parseEventPayload(s.in.Payload)
		if err != nil {
			return
		}
		if s.detector.observe(s.in.Timestamp, s.in.Marker, e) {
			if d, ok := DigitForEvent(e.event); ok {
				s.digitsReceived.Add(1)
				if f := s.onDigit.Load(); f != nil {
					(*f)(d)
				}
			}
		}
	case pt == p.PayloadType:
		// A recording hears the caller even when the conversation does not.
		if t := s.tap.Load(); t != nil {
			t.tapAudio(&s.in, p.Codec)
		}
		if s.muted.Load() {
			return
		}
	default:
		return
	}
	s.consumer.Load().c.ConsumeRTP(&s.in)
}

// Stats is a snapshot of a session's counters.
type Stats struct {
	PacketsSent     uint64
	OctetsSent      uint64 // payload bytes
	PacketsReceived uint64 // valid RTP from the peer, any payload type
	OctetsReceived  uint64
	// PacketsDropped counts datagrams that were not RTP, were RTCP, or came
	// from another source than the latched one.
	PacketsDropped uint64
	DigitsSent     uint64
	DigitsReceived uint64
	// ByPayloadType holds the received counts per payload type seen.
	ByPayloadType map[uint8]PayloadStats
}

// PayloadStats counts received packets of one payload type.
type PayloadStats struct {
	Packets uint64
	Octets  uint64
}

// Stats returns the session's counters.
func (s *Session) Stats() Stats {
	st := Stats{
		PacketsSent:    s.packetsSent.Load(),
		OctetsSent:     s.octetsSent.Load(),
		PacketsDropped: s.packetsDropped.Load(),
		DigitsSent:     s.digitsSent.Load(),
		DigitsReceived: s.digitsReceived.Load(),
		ByPayloadType:  map[uint8]PayloadStats{},
	}
	for pt := range s.received {
		c := &s.received[pt]
		ps := PayloadStats{Packets: c.packets.Load(), Octets: c.octets.Load()}
		if ps.Packets == 0 {
			continue
		}
		st.ByPayloadType[uint8(pt)] = ps
		st.PacketsReceived += ps.Packets
		st.OctetsReceived += ps.Octets
	}
	return st
}

// Interface guard: a session's port closes with it.
var _ io.Closer = (*Session)(nil)
