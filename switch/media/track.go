package media

import "fmt"

// This file holds what the relay and the room need from a Session to send
// packets that Play did not pace: an explicit sequence number, a payload
// transcoded on the way into the send buffer, and a way to notice that
// something else sent in between.

// sendTrack is what one writer other than Play (a relay leg, a room)
// remembers about the session's send state after its own last packet. If
// the state moved on since (Play, a digit, another writer), the writer's
// timing is stale and it starts a new talkspurt from the session's clock,
// which keeps the outgoing timestamps monotonic across every switch.
// Guarded by the session's sendMu.
type sendTrack struct {
	valid  bool
	seq    uint16
	lastTS uint32
}

// continuous reports whether nothing was sent on s since record.
func (t *sendTrack) continuous(s *Session) bool {
	return t.valid && s.sentAny && s.seq == t.seq && s.lastTS == t.lastTS
}

func (t *sendTrack) record(s *Session) { t.valid, t.seq, t.lastTS = true, s.seq, s.lastTS }

func (t *sendTrack) reset() { t.valid = false }

// playing reports whether a Play is running on s; relay and room then
// leave the outgoing stream to it.
func (s *Session) playing() bool { return len(s.playSem) > 0 }

// attachConsumer installs c and returns the box it installed and the one it
// replaced, for detachConsumer.
func (s *Session) attachConsumer(c Consumer) (mine, prev *consumerBox) {
	mine = &consumerBox{c: c}
	return mine, s.consumer.Swap(mine)
}

// detachConsumer puts prev back if mine is still installed; a consumer
// set since then stays. Boxes are compared, not consumers, since a
// Consumer may be an uncomparable type such as Chain.
func (s *Session) detachConsumer(mine, prev *consumerBox) {
	s.consumer.CompareAndSwap(mine, prev)
}

// writeTranscodedLocked sends one packet with sequence number seq whose
// payload is src converted from one codec to another (copied when they
// are the same), written straight into the send buffer after the header.
// It allocates nothing. The caller holds sendMu and advances s.seq.
func (s *Session) writeTranscodedLocked(pt uint8, marker bool, seq uint16, ts uint32, src []byte, from, to Codec) error {
	peer := s.peer.Load()
	if peer == nil {
		return ErrNotConfigured
	}
	h := &s.out.Header
	h.PayloadType, h.Marker, h.SequenceNumber, h.Timestamp = pt, marker, seq, ts
	n, err := h.MarshalTo(s.outBuf[:])
	if err != nil {
		return fmt.Errorf("media: marshal rtp header: %w", err)
	}
	if n+len(src) > len(s.outBuf) {
		return ErrPacketTooLarge
	}
	transcode(s.outBuf[n:], src, from, to)
	if _, err := s.conn.WriteToUDPAddrPort(s.outBuf[:n+len(src)], peer.current); err != nil {
		select {
		case <-s.closed:
			return ErrClosed
		default:
		}
		return fmt.Errorf("media: send rtp to %v: %w", peer.current, err)
	}
	s.packetsSent.Add(1)
	s.octetsSent.Add(uint64(len(src)))
	return nil
}
