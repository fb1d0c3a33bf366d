package sipuatest

import (
	pbmedia "github.com/patchbay/patchbay/switch/media"

	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/zaf/g711"
)

// PTStats counts the RTP packets of one payload type.
type PTStats struct {
	Packets int
	// Bytes counts payload bytes (RTP header excluded).
	Bytes int
	First time.Time
	Last  time.Time
}

// RTPStats is a snapshot of what a call's RTP socket received.
type RTPStats struct {
	Packets int
	Bytes   int
	First   time.Time
	Last    time.Time
	// ByPT holds the counters per payload type.
	ByPT map[uint8]PTStats
	// SSRCs lists the sources seen, in order of first arrival.
	SSRCs []uint32
	// SeqGaps counts sequence numbers missing between consecutive packets
	// of one SSRC (a reordered or duplicate packet counts nothing).
	SeqGaps int
	// Digits holds the RFC 4733 events received, one character per event
	// (0-9, *, #, A-D), taken from the first end packet of each event.
	Digits string
}

// PT returns the counters of payload type pt (zero if none arrived).
func (s RTPStats) PT(pt uint8) PTStats { return s.ByPT[pt] }

// rtpSession owns one call's RTP socket: a reader goroutine counts what
// arrives, senders write to the remote address taken from the SDP.
type rtpSession struct {
	// det, when set, measures tones in the G.711 audio received.
	det *pbmedia.ToneDetector

	conn    *net.UDPConn
	log     *slog.Logger
	changed func() // wakes the call's waiters; called without mu held
	done    chan struct{}

	mu       sync.Mutex
	stats    RTPStats
	lastSeq  map[uint32]uint16
	events   map[uint64]bool // ssrc<<32|timestamp of RFC 4733 events already counted
	recvPT   int             // telephone-event payload type expected from the remote
	arrivals arrivalTracker  // pacing of the G.711 audio received
	remote   *net.UDPAddr
	codec    Codec
	sendPT   int // telephone-event payload type to send
	closed   bool
	sendMu   sync.Mutex // one sender at a time keeps seq/timestamp monotonic
	ssrc     uint32
	seq      uint16
	ts       uint32
	tonePos  float64
	packetTx int
}

func newRTPSession(log *slog.Logger, changed func()) (*rtpSession, error) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("open RTP socket: %w", err)
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	s := &rtpSession{
		conn:    conn,
		log:     log,
		changed: changed,
		done:    make(chan struct{}),
		lastSeq: map[uint32]uint16{},
		events:  map[uint64]bool{},
		recvPT:  DefaultTelephoneEventPT,
		sendPT:  DefaultTelephoneEventPT,
		ssrc:    binary.BigEndian.Uint32(rnd[:4]),
		seq:     binary.BigEndian.Uint16(rnd[4:6]),
		ts:      uint32(binary.BigEndian.Uint16(rnd[6:8])) << 8,
	}
	s.stats.ByPT = map[uint8]PTStats{}
	return s, nil
}

func (s *rtpSession) port() int { return s.conn.LocalAddr().(*net.UDPAddr).Port }

// run reads until the socket is closed. The caller tracks the goroutine.
func (s *rtpSession) run() {
	defer close(s.done)
	buf := make([]byte, 2048)
	var pkt rtp.Packet
	for {
		n, _, err := s.conn.ReadFromUDP(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Warn("rtp read", "err", err)
			}
			return
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			continue // not RTP: ignore, as a phone would
		}
		s.record(&pkt, time.Now())
		s.changed()
	}
}

func (s *rtpSession) record(p *rtp.Packet, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.stats
	if st.Packets == 0 {
		st.First = at
	}
	st.Packets++
	st.Bytes += len(p.Payload)
	st.Last = at
	pt := st.ByPT[p.PayloadType]
	if pt.Packets == 0 {
		pt.First = at
	}
	pt.Packets++
	pt.Bytes += len(p.Payload)
	pt.Last = at
	st.ByPT[p.PayloadType] = pt
	if last, seen := s.lastSeq[p.SSRC]; !seen {
		st.SSRCs = append(st.SSRCs, p.SSRC)
		s.lastSeq[p.SSRC] = p.SequenceNumber
	} else if d := p.SequenceNumber - last; d != 0 && d < 0x8000 {
		st.SeqGaps += int(d) - 1
		s.lastSeq[p.SSRC] = p.SequenceNumber
	}
	if p.PayloadType == uint8(PCMU) || p.PayloadType == uint8(PCMA) {
		s.arrivals.add(p.SSRC, p.SequenceNumber, p.Timestamp, at)
	}
	if s.det != nil {
		switch p.PayloadType {
		case 0:
			s.det.WriteG711(pbmedia.PCMU, p.Payload)
		case 8:
			s.det.WriteG711(pbmedia.PCMA, p.Payload)
		}
	}
	if int(p.PayloadType) == s.recvPT && len(p.Payload) >= 4 && p.Payload[1]&0x80 != 0 {
		key := uint64(p.SSRC)<<32 | uint64(p.Timestamp)
		if !s.events[key] {
			s.events[key] = true
			st.Digits += string(eventDigit(p.Payload[0]))
		}
	}
}

func (s *rtpSession) snapshot() RTPStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.stats
	out.ByPT = make(map[uint8]PTStats, len(s.stats.ByPT))
	for k, v := range s.stats.ByPT {
		out.ByPT[k] = v
	}
	out.SSRCs = slices.Clone(s.stats.SSRCs)
	return out
}

// setRemote records the negotiated remote media.
func (s *rtpSession) setRemote(addr *net.UDPAddr, codec Codec, sendPT, recvPT int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remote, s.codec = addr, codec
	if sendPT >= 0 {
		s.sendPT = sendPT
	}
	if recvPT >= 0 {
		s.recvPT = recvPT
	}
}

func (s *rtpSession) close() {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	if !already {
		_ = s.conn.Close()
	}
}

var (
	// ErrNoRemoteMedia is returned when a call has no negotiated remote RTP
	// address to send to (no SDP answer yet, or an answer without audio).
	ErrNoRemoteMedia = errors.New("sipuatest: no remote media address negotiated")
)

// target returns where and how to send, or an error.
func (s *rtpSession) target() (*net.UDPAddr, Codec, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, 0, 0, ErrCallEnded
	}
	if s.remote == nil {
		return nil, 0, 0, ErrNoRemoteMedia
	}
	return s.remote, s.codec, s.sendPT, nil
}

// write sends one RTP packet; the caller holds sendMu.
func (s *rtpSession) write(to *net.UDPAddr, pkt *rtp.Packet, buf []byte) error {
	n, err := pkt.MarshalTo(buf)
	if err != nil {
		return fmt.Errorf("marshal RTP: %w", err)
	}
	if _, err := s.conn.WriteToUDP(buf[:n], to); err != nil {
		if errors.Is(err, net.ErrClosed) {
			return ErrCallEnded
		}
		return fmt.Errorf("send RTP: %w", err)
	}
	s.packetTx++
	return nil
}

const (
	samplesPerPacket = 160 // 20 ms at 8 kHz
	packetInterval   = 20 * time.Millisecond
)

// sendTone sends a sine of freq Hz for d in 20 ms packets of the negotiated
// codec, paced by a ticker.
func (s *rtpSession) sendTone(ctx context.Context, freq float64, d time.Duration) error {
	to, codec, _, err := s.target()
	if err != nil {
		return err
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	packets := int((d + packetInterval - 1) / packetInterval)
	pcm := make([]byte, samplesPerPacket*2)
	buf := make([]byte, 1500)
	tick := time.NewTicker(packetInterval)
	defer tick.Stop()
	for i := range packets {
		for j := range samplesPerPacket {
			v := int16(8000 * math.Sin(s.tonePos))
			s.tonePos += 2 * math.Pi * freq / 8000
			binary.LittleEndian.PutUint16(pcm[2*j:], uint16(v))
		}
		payload := g711.EncodeUlaw(pcm)
		if codec == PCMA {
			payload = g711.EncodeAlaw(pcm)
		}
		s.seq++
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, Marker: i == 0, PayloadType: uint8(codec),
			SequenceNumber: s.seq, Timestamp: s.ts, SSRC: s.ssrc}, Payload: payload}
		s.ts += samplesPerPacket
		if err := s.write(to, &pkt, buf); err != nil {
			return err
		}
		if i == packets-1 {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// sendDigit sends one RFC 4733 event lasting about d: a packet every 20 ms
// with a growing duration (marker on the first), then three end packets,
// all with the event's start timestamp.
func (s *rtpSession) sendDigit(ctx context.Context, digit rune, d time.Duration) error {
	event, ok := digitEvent(digit)
	if !ok {
		return fmt.Errorf("sipuatest: %q is not a DTMF digit", digit)
	}
	to, _, pt, err := s.target()
	if err != nil {
		return err
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	buf := make([]byte, 1500)
	steps := max(1, int(d/packetInterval))
	start := s.ts
	tick := time.NewTicker(packetInterval)
	defer tick.Stop()
	send := func(step int, marker, end bool) error {
		dur := uint16(min((step+1)*samplesPerPacket, math.MaxUint16))
		payload := []byte{event, 10, byte(dur >> 8), byte(dur)}
		if end {
			payload[1] |= 0x80
		}
		s.seq++
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, Marker: marker, PayloadType: uint8(pt),
			SequenceNumber: s.seq, Timestamp: start, SSRC: s.ssrc}, Payload: payload}
		return s.write(to, &pkt, buf)
	}
	// steps-1 interim packets, then the end packet three times (RFC 4733 §2.5.1.4).
	for i := range steps - 1 + 3 {
		if i > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-tick.C:
			}
		}
		if err := send(min(i, steps-1), i == 0, i >= steps-1); err != nil {
			return err
		}
	}
	s.ts = start + uint32(steps*samplesPerPacket)
	return nil
}

func digitEvent(r rune) (byte, bool) {
	switch {
	case r >= '0' && r <= '9':
		return byte(r - '0'), true
	case r == '*':
		return 10, true
	case r == '#':
		return 11, true
	case r >= 'A' && r <= 'D':
		return byte(12 + r - 'A'), true
	}
	return 0, false
}

func eventDigit(e byte) rune {
	switch {
	case e <= 9:
		return rune('0' + e)
	case e == 10:
		return '*'
	case e == 11:
		return '#'
	case e <= 15:
		return rune('A' + e - 12)
	}
	return '?'
}

func (s *rtpSession) snapshotPT(pt uint8) PTStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.ByPT[pt]
}
