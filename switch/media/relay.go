package media

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// Relay bridges two sessions: what one leg receives is sent out of the
// other. It owns no goroutine; each direction runs on the receiving
// session's read goroutine, one write per packet, allocating nothing.
//
// Per direction:
//   - Audio keeps its payload bytes when both legs use the same codec and is
//     converted byte by byte between µ-law and A-law when they differ.
//   - Telephone events pass through unchanged under the outgoing leg's
//     negotiated event payload type; they are dropped when the outgoing leg
//     did not negotiate telephone-event.
//   - A muted incoming leg sends nothing: its audio never reaches the relay
//     (see Session.SetMuted) and the relay drops its events too.
//   - An outgoing leg on hold (Params.NoSend) sends nothing; the first
//     packet after the hold starts a talkspurt (marker bit).
//   - While a Play runs on the outgoing leg, Play has the stream and relayed
//     packets are dropped (an announcement over a bridge).
//
// Outgoing packets carry the outgoing session's SSRC and sequence numbers.
// Timestamps are the incoming ones shifted by an offset fixed at the start
// of each relayed talkspurt from the session's clock, so the outgoing
// stream stays monotonic and continuous across switches between Play and
// relay; a new incoming SSRC, a jump of the incoming timestamps, or
// anything else sent on the session in between starts a new talkspurt
// (marker bit). A repeated incoming packet (the RFC 4733 end packets) is
// sent again under the sequence number it had the first time.
//
// A session is in at most one Relay or Room at a time.
type Relay struct {
	legs     [2]relayLeg // a→b, b→a
	stopped  atomic.Bool
	stopOnce sync.Once
}

// Timestamp jumps beyond these (in samples) start a new talkspurt rather
// than being relayed as they are. Behind allows for reordering and for
// event packets, which all carry their event's start; ahead allows for
// silence suppression.
const (
	relayMaxBehind = 10 * ClockRate
	relayMaxAhead  = 60 * ClockRate
)

// relayLeg is one direction. Apart from the counters and the immutable
// fields, its state is guarded by to.sendMu.
type relayLeg struct {
	relay    *Relay
	from, to *Session
	mine     *consumerBox
	prev     *consumerBox

	track         sendTrack
	audio, events timestampMap
	last          struct {
		valid  bool
		ssrc   uint32
		seq    uint16
		outSeq uint16
	}

	// gap is set when this direction dropped audio, so the next packet
	// sent starts a talkspurt. Owned by from's read goroutine.
	gap bool

	forwarded, transcoded, eventsSent, dropped atomic.Uint64
}

// timestampMap maps one incoming SSRC's timestamps onto the outgoing clock.
type timestampMap struct {
	valid  bool
	ssrc   uint32
	offset uint32
}

// Bridge starts relaying between a and b: from now on each session's
// received packets go to the other (replacing its Consumer until Stop).
// Stop any Play on them first, or it keeps the stream until it ends.
func Bridge(a, b *Session) (*Relay, error) {
	if a == nil || b == nil {
		return nil, fmt.Errorf("media: bridge: nil session")
	}
	if a == b {
		return nil, ErrSameSession
	}
	r := &Relay{}
	r.legs[0] = relayLeg{relay: r, from: a, to: b}
	r.legs[1] = relayLeg{relay: r, from: b, to: a}
	for i := range r.legs {
		l := &r.legs[i]
		l.mine, l.prev = l.from.attachConsumer(l)
	}
	return r, nil
}

// Stop detaches the relay: when it returns no packet will be relayed any
// more, and each session has the Consumer it had before Bridge back
// (unless another was set meanwhile). Both sessions stay usable (Play
// continues their streams). Stop is safe while packets flow and may be
// called more than once.
func (r *Relay) Stop() {
	r.stopOnce.Do(func() {
		r.stopped.Store(true)
		// A direction checks stopped under the outgoing session's send
		// lock: once we have held each lock, no write is in progress and
		// none can start.
		for i := range r.legs {
			r.legs[i].to.sendMu.Lock()
			r.legs[i].to.sendMu.Unlock()
		}
		for i := range r.legs {
			l := &r.legs[i]
			l.from.detachConsumer(l.mine, l.prev)
		}
	})
}

// RelayStats counts what a relay did in each direction.
type RelayStats struct {
	AToB, BToA RelayDirectionStats
}

// RelayDirectionStats counts one direction's packets.
type RelayDirectionStats struct {
	// Forwarded packets were sent; Transcoded and Events are among them.
	Forwarded  uint64
	Transcoded uint64
	Events     uint64
	// Dropped packets were not sent: incoming leg muted, outgoing leg on
	// hold or playing, events not negotiated, or a send error.
	Dropped uint64
}

// Stats returns the relay's counters.
func (r *Relay) Stats() RelayStats {
	return RelayStats{AToB: r.legs[0].stats(), BToA: r.legs[1].stats()}
}

func (l *relayLeg) stats() RelayDirectionStats {
	return RelayDirectionStats{
		Forwarded:  l.forwarded.Load(),
		Transcoded: l.transcoded.Load(),
		Events:     l.eventsSent.Load(),
		Dropped:    l.dropped.Load(),
	}
}

// ConsumeRTP relays one packet received by l.from; it runs on l.from's
// read goroutine and allocates nothing.
func (l *relayLeg) ConsumeRTP(pkt *rtp.Packet) {
	if l.relay.stopped.Load() {
		return
	}
	in, out := l.from.params.Load(), l.to.params.Load()
	if in == nil {
		return
	}
	event := in.Events && pkt.PayloadType == in.EventPayloadType
	switch {
	case out == nil, out.NoSend,
		event && (!out.Events || l.from.Muted()):
		l.dropped.Add(1)
		l.gap = l.gap || !event
		return
	}
	if !l.forward(pkt, in, out, event) {
		l.dropped.Add(1)
		l.gap = l.gap || !event
		return
	}
	if !event {
		l.gap = false
	}
	l.forwarded.Add(1)
	switch {
	case event:
		l.eventsSent.Add(1)
	case in.Codec != out.Codec:
		l.transcoded.Add(1)
	}
}

// forward sends pkt out of l.to and reports whether it did.
func (l *relayLeg) forward(pkt *rtp.Packet, in, out *Params, event bool) bool {
	s := l.to
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if l.relay.stopped.Load() {
		return false
	}
	if s.playing() {
		l.track.reset()
		return false
	}
	if !l.track.continuous(s) {
		l.audio.valid, l.events.valid, l.last.valid = false, false, false
	}

	m := &l.audio
	if event && (!l.audio.valid || l.audio.ssrc != pkt.SSRC) {
		// Events from another SSRC than the audio (sipp's pcaps) keep
		// their own mapping, so an event's packets share one timestamp.
		m = &l.events
	}
	marker := pkt.Marker || (l.gap && !event)
	ts := pkt.Timestamp + m.offset
	if d := int32(ts - s.lastTS); !m.valid || m.ssrc != pkt.SSRC || d < -relayMaxBehind || d > relayMaxAhead {
		now := s.clockTimestampLocked(time.Now())
		*m = timestampMap{valid: true, ssrc: pkt.SSRC, offset: now - pkt.Timestamp}
		ts = now
		if !event {
			marker = true
		}
	}

	dup := l.last.valid && l.last.ssrc == pkt.SSRC && l.last.seq == pkt.SequenceNumber
	seq := s.seq
	if dup {
		seq = l.last.outSeq
	}
	pt, from, to := out.PayloadType, in.Codec, out.Codec
	if event {
		pt, from, to = out.EventPayloadType, PCMU, PCMU // copied as is
	}
	if err := s.writeTranscodedLocked(pt, marker, seq, ts, pkt.Payload, from, to); err != nil {
		l.track.reset()
		return false
	}
	if !dup {
		s.seq++
	}
	l.last.valid, l.last.ssrc, l.last.seq, l.last.outSeq = true, pkt.SSRC, pkt.SequenceNumber, seq
	end := ts + uint32(len(pkt.Payload))
	if event {
		end = ts
		if len(pkt.Payload) >= 4 {
			end += uint32(binary.BigEndian.Uint16(pkt.Payload[2:4]))
		}
	}
	s.coverLocked(end)
	l.track.record(s)
	return true
}

// Interface guard: each direction is the receiving session's Consumer.
var _ Consumer = (*relayLeg)(nil)
