package media

import (
	"context"
	"fmt"
	"io"
	"time"
)

// pacer computes when each frame is due from a fixed start, so waits never
// add up to drift. It is owned by one Play.
type pacer struct {
	now    func() time.Time
	period time.Duration
	start  time.Time
	n      int64 // frames scheduled so far
}

// maxLag is how far behind schedule a Play may fall before it gives up
// catching up (after a stall) and starts a new schedule, so the far end
// gets no burst of more than a few packets.
const maxLag = 3 * FrameDuration

// next returns how long to wait before sending the next frame (<= 0: now).
func (p *pacer) next() time.Duration {
	now := p.now()
	if p.n == 0 {
		p.start = now
	}
	due := p.start.Add(time.Duration(p.n) * p.period)
	p.n++
	wait := due.Sub(now)
	if wait < -maxLag {
		p.start = now.Add(-time.Duration(p.n-1) * p.period)
		return 0
	}
	return wait
}

// Play streams src to the peer, one frame every 20 ms, and returns nil when
// src ends, ctx.Err() when ctx is cancelled (within one frame), or
// ErrClosed. A second Play waits for the first to return. The first packet
// carries the marker bit (a new talkspurt).
func (s *Session) Play(ctx context.Context, src Source) error {
	p := s.params.Load()
	if p == nil {
		return ErrNotConfigured
	}
	if src.Codec() != p.Codec {
		return fmt.Errorf("%w: source %v, session %v", ErrCodecMismatch, src.Codec(), p.Codec)
	}
	select {
	case s.playSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closed:
		return ErrClosed
	}
	defer func() { <-s.playSem }()

	pace := pacer{now: time.Now, period: FrameDuration}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var frame [FrameSamples]byte
	var ts uint32
	first := true
	for {
		if err := src.ReadFrame(frame[:]); err != nil {
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("media: play: read frame: %w", err)
		}
		if wait := pace.next(); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return ctx.Err()
			case <-s.closed:
				return ErrClosed
			}
		} else {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-s.closed:
				return ErrClosed
			default:
			}
		}
		var err error
		ts, err = s.sendAudio(frame[:], src.Codec(), first, ts)
		if err != nil {
			return err
		}
		first = false
	}
}

// sendAudio sends one frame of codec. On the first frame of a talkspurt it takes the
// timestamp from the clock; otherwise it steps prev by one frame. It
// returns the timestamp used.
func (s *Session) sendAudio(frame []byte, codec Codec, talkspurt bool, prev uint32) (uint32, error) {
	p := s.params.Load()
	if p.Codec != codec {
		// A re-INVITE changed the codec mid-play; the owner restarts
		// playback with a source for the new one.
		return prev, fmt.Errorf("%w: source %v, session now %v", ErrCodecMismatch, codec, p.Codec)
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	ts := prev + FrameSamples
	if talkspurt {
		ts = s.clockTimestampLocked(time.Now())
	}
	if p.NoSend {
		return ts, nil
	}
	if err := s.writeLocked(p.PayloadType, talkspurt, ts, frame); err != nil {
		return ts, err
	}
	s.seq++
	s.coverLocked(ts + FrameSamples)
	return ts, nil
}

// clockTimestampLocked maps now onto the RTP clock, never earlier than
// what was already sent, so a new talkspurt shows the pause before it.
func (s *Session) clockTimestampLocked(now time.Time) uint32 {
	ts := s.tsBase + uint32(now.Sub(s.clockStart)/(time.Second/ClockRate))
	if s.sentAny && int32(ts-s.lastTS) < 0 {
		ts = s.lastTS
	}
	return ts
}

func (s *Session) coverLocked(end uint32) {
	if !s.sentAny || int32(end-s.lastTS) > 0 {
		s.lastTS = end
	}
	s.sentAny = true
}

// writeLocked marshals one packet with the current sequence number into the
// session's buffer and sends it; it allocates nothing.
func (s *Session) writeLocked(pt uint8, marker bool, ts uint32, payload []byte) error {
	peer := s.peer.Load()
	if peer == nil {
		return ErrNotConfigured
	}
	s.out.Header.PayloadType = pt
	s.out.Header.Marker = marker
	s.out.Header.SequenceNumber = s.seq
	s.out.Header.Timestamp = ts
	s.out.Payload = payload
	n, err := s.out.MarshalTo(s.outBuf[:])
	if err != nil {
		return fmt.Errorf("media: marshal rtp: %w", err)
	}
	if _, err := s.conn.WriteToUDPAddrPort(s.outBuf[:n], peer.current); err != nil {
		select {
		case <-s.closed:
			return ErrClosed
		default:
		}
		return fmt.Errorf("media: send rtp to %v: %w", peer.current, err)
	}
	s.packetsSent.Add(1)
	s.octetsSent.Add(uint64(len(payload)))
	return nil
}

// DTMF sending: an event's packets share one timestamp, the first has the
// marker bit, the duration grows by one frame per packet, and the end packet
// goes out three times (with one sequence number, as the receivers
// de-duplicate it) so a single loss does not lose the end.
const (
	endRepeats = 3
	// MinDigitDuration is the shortest tone SendDigit sends.
	MinDigitDuration = 40 * time.Millisecond
	digitVolume      = 10 // dBm0 below full scale, as common phones send
)

// SendDigit sends d as an RFC 4733 event lasting dur (at least
// MinDigitDuration), paced at 20 ms, and returns when the last end packet
// is sent. It may run alongside Play; the packets share the sequence space.
func (s *Session) SendDigit(ctx context.Context, d Digit, dur time.Duration) error {
	p := s.params.Load()
	if p == nil {
		return ErrNotConfigured
	}
	if !p.Events {
		return ErrNoEvents
	}
	event, ok := d.Event()
	if !ok {
		return fmt.Errorf("%w: %q", ErrInvalidDigit, byte(d))
	}
	dur = max(dur, MinDigitDuration)
	steps := int((dur + FrameDuration - 1) / FrameDuration)
	s.sendMu.Lock()
	ts := s.clockTimestampLocked(time.Now())
	s.sendMu.Unlock()

	pace := pacer{now: time.Now, period: FrameDuration}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var payload [4]byte
	for i := 1; i <= steps+endRepeats-1; i++ {
		if wait := pace.next(); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return ctx.Err()
			case <-s.closed:
				return ErrClosed
			}
		}
		end := i >= steps
		e := eventPayload{event: event, end: end, volume: digitVolume,
			duration: uint16(min(min(i, steps)*FrameSamples, 0xFFFF))}
		if err := s.sendEvent(p, ts, i == 1, e, payload[:], end && i < steps+endRepeats-1); err != nil {
			return err
		}
	}
	s.digitsSent.Add(1)
	return nil
}

// sendEvent writes one event packet; repeat keeps the sequence number for
// the next (repeated end) packet.
func (s *Session) sendEvent(p *Params, ts uint32, marker bool, e eventPayload, buf []byte, repeat bool) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if p.NoSend {
		return nil
	}
	if err := s.writeLocked(p.EventPayloadType, marker, ts, e.marshalTo(buf)); err != nil {
		return err
	}
	if !repeat {
		s.seq++
	}
	s.coverLocked(ts + uint32(e.duration))
	return nil
}
