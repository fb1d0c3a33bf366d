package media

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// Room is a conference mixer. Every 20 ms, on the room's one goroutine, it
// takes a frame from each participant's jitter queue, adds up those who
// speak, and sends each participant the sum minus its own frame, encoded in
// its session's codec, clipped to 16 bits. Participants who do not speak
// this tick all hear the same mix, which is encoded once per codec.
//
//   - A muted participant hears the room and contributes nothing.
//   - A participant on hold hears its hold source (wait music, nil for
//     silence) instead of the room and contributes nothing; this is how the
//     call layer implements startConferenceOnEnter="false": join on hold
//     until a moderator is present, then Unhold everyone.
//   - Announce overlays a source (Beep) on what every participant not on
//     hold hears.
//   - A participant whose session is running a Play, or whose peer put it
//     on hold (Params.NoSend), is sent nothing; its stream resumes with a
//     new talkspurt, timestamps staying monotonic.
//
// Join, Leave and the other methods are safe for concurrent use at any
// time; they wait for a tick in progress (well under a millisecond). The
// tick allocates nothing. A session is in at most one Relay or Room at a
// time.
type Room struct {
	log *slog.Logger

	// mu guards the fields below; the clock holds it for a whole tick.
	mu       sync.Mutex
	parts    []*Participant
	closed   bool
	announce Source
	annFrame [FrameSamples]byte
	sum      [FrameSamples]int32
	overlay  [FrameSamples]int32
	pcm      [FrameSamples]int16
	shared   [PCMA + 1]struct {
		valid bool
		frame [FrameSamples]byte
	}
	ended []holdEnd // hold sources that ended this tick, reported after unlocking

	ticks     atomic.Uint64
	closing   chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// holdEnd is a pending call of a hold's done function.
type holdEnd struct {
	done func(error)
	err  error
}

// Beep: the tone Room.Beep plays.
const (
	BeepFrequency = 1400 // Hz
	BeepDuration  = 200 * time.Millisecond
	beepAmplitude = 6000
)

// NewRoom starts a room's clock; Close stops it.
func NewRoom(opts ...RoomOption) (*Room, error) {
	r, err := newRoom(opts...)
	if err != nil {
		return nil, err
	}
	go r.run()
	return r, nil
}

// newRoom makes a room without starting its clock (benchmarks tick it).
func newRoom(opts ...RoomOption) (*Room, error) {
	r := &Room{
		log:     slog.New(slog.DiscardHandler),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	for _, opt := range opts {
		if err := opt(r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Participant is one session in a Room. Its methods are safe for
// concurrent use. Leave before closing the session: the room keeps
// mixing for a participant until it leaves.
type Participant struct {
	room    *Room
	session *Session
	mine    *consumerBox
	prev    *consumerBox

	muted atomic.Bool
	held  atomic.Bool // mirrors onHold for the read goroutine

	// Guarded by room.mu.
	left      bool
	onHold    bool
	holdSrc   Source
	holdDone  func(error)
	holdFrame [FrameSamples]byte
	own       [FrameSamples]int16
	speaking  bool
	out       [FrameSamples]byte
	ts        uint32
	track     sendTrack // also needs session.sendMu

	inMu  sync.Mutex
	queue pcmQueue
}

// Join adds s to the room: from the next tick it hears the room and its
// received audio is mixed (its Consumer is replaced until Leave).
func (r *Room) Join(s *Session, opts ...JoinOption) (*Participant, error) {
	if s == nil {
		return nil, fmt.Errorf("media: join: nil session")
	}
	p := &Participant{room: r, session: s}
	for _, opt := range opts {
		if err := opt(p); err != nil {
			return nil, err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrRoomClosed
	}
	for _, q := range r.parts {
		if q.session == s {
			return nil, fmt.Errorf("media: join: session on port %d is already in the room", s.port.Number())
		}
	}
	r.parts = append(r.parts, p)
	p.mine, p.prev = s.attachConsumer(p)
	r.log.Debug("conference join", "rtp_port", s.port.Number(), "participants", len(r.parts))
	return p, nil
}

// Len is the number of participants.
func (r *Room) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.parts)
}

// Ticks is the number of mixing rounds so far.
func (r *Room) Ticks() uint64 { return r.ticks.Load() }

// Announce overlays src on what every participant not on hold hears, from
// the next tick until src ends; it replaces an announcement in progress.
// src must not be used by anyone else meanwhile.
func (r *Room) Announce(src Source) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.announce = src
}

// Beep announces a short BeepFrequency tone (a participant joined).
func (r *Room) Beep() {
	r.Announce(Limit(Tone(PCMU, BeepFrequency, beepAmplitude), BeepDuration))
}

// Close stops the clock and removes every participant (as Leave). Join
// then fails with ErrRoomClosed. Close may be called more than once.
func (r *Room) Close() error {
	r.closeOnce.Do(func() {
		close(r.closing)
		<-r.done
		r.mu.Lock()
		r.closed = true
		var ends []holdEnd
		for _, p := range r.parts {
			if e, ok := p.leaveLocked(); ok {
				ends = append(ends, e)
			}
		}
		r.parts = nil
		r.mu.Unlock()
		for _, e := range ends {
			e.done(e.err)
		}
	})
	return nil
}

// Session is the participant's session.
func (p *Participant) Session() *Session { return p.session }

// SetMuted mutes or unmutes the participant: muted, it hears the room but
// contributes nothing. This is separate from Session.SetMuted, which has
// the same effect on everything the session feeds.
func (p *Participant) SetMuted(muted bool) { p.muted.Store(muted) }

// Muted reports whether the participant is muted (by SetMuted or
// JoinMuted).
func (p *Participant) Muted() bool { return p.muted.Load() }

// Hold puts the participant on hold: it stops hearing the room and hears
// src instead (nil: silence), and contributes nothing. When src ends the
// participant stays on hold, hearing silence, and done (if not nil) is
// called with nil, or with src's error if it failed. If src is stopped
// before its end (another Hold, Unhold, Leave, Close) done gets ErrStopped.
// done runs on the room's goroutine or the caller's, with no lock held; it
// may call the room but must not block (post to the call's mailbox). The
// room reads src from its goroutine: nobody else may use it meanwhile.
func (p *Participant) Hold(src Source, done func(error)) {
	r := p.room
	r.mu.Lock()
	if p.left {
		r.mu.Unlock()
		if done != nil {
			done(ErrStopped)
		}
		return
	}
	e, ok := p.setHoldLocked(src, done)
	r.mu.Unlock()
	if ok {
		e.done(e.err)
	}
}

// Unhold takes the participant off hold: from the next tick it hears the
// room and is heard (unless muted). A hold source still playing is
// stopped (its done gets ErrStopped).
func (p *Participant) Unhold() {
	r := p.room
	r.mu.Lock()
	e, ok := p.stopHoldSourceLocked()
	p.onHold = false
	p.held.Store(false)
	r.mu.Unlock()
	if ok {
		e.done(e.err)
	}
}

// OnHold reports whether the participant is on hold.
func (p *Participant) OnHold() bool { return p.held.Load() }

// Leave takes the participant out of the room. When it returns the room
// sends nothing more to the session, whose previous Consumer is back, so
// it can Play or be bridged at once. Leave may be called more than once.
func (p *Participant) Leave() {
	r := p.room
	r.mu.Lock()
	if p.left {
		r.mu.Unlock()
		return
	}
	if i := slices.Index(r.parts, p); i >= 0 {
		r.parts = slices.Delete(r.parts, i, i+1)
	}
	e, ok := p.leaveLocked()
	r.log.Debug("conference leave", "rtp_port", p.session.port.Number(), "participants", len(r.parts))
	r.mu.Unlock()
	if ok {
		e.done(e.err)
	}
}

// leaveLocked detaches p; the caller removes it from room.parts.
func (p *Participant) leaveLocked() (holdEnd, bool) {
	p.left = true
	p.session.detachConsumer(p.mine, p.prev)
	return p.stopHoldSourceLocked()
}

// setHoldLocked switches p to hold with src and returns the done call of
// a source it stopped.
func (p *Participant) setHoldLocked(src Source, done func(error)) (holdEnd, bool) {
	e, ok := p.stopHoldSourceLocked()
	p.onHold = true
	p.held.Store(true)
	p.holdSrc, p.holdDone = src, done
	return e, ok
}

func (p *Participant) stopHoldSourceLocked() (holdEnd, bool) {
	src, done := p.holdSrc, p.holdDone
	p.holdSrc, p.holdDone = nil, nil
	if src == nil || done == nil {
		return holdEnd{}, false
	}
	return holdEnd{done: done, err: ErrStopped}, true
}

// ConsumeRTP queues the participant's received audio for mixing; it runs
// on the session's read goroutine.
func (p *Participant) ConsumeRTP(pkt *rtp.Packet) {
	prm := p.session.params.Load()
	if prm == nil || pkt.PayloadType != prm.PayloadType || p.muted.Load() || p.held.Load() {
		return
	}
	p.inMu.Lock()
	p.queue.push(pkt.SSRC, pkt.SequenceNumber, pkt.Payload, prm.Codec)
	p.inMu.Unlock()
}

func (r *Room) run() {
	defer close(r.done)
	pace := pacer{now: time.Now, period: FrameDuration}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if wait := pace.next(); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-r.closing:
				return
			}
		} else {
			select {
			case <-r.closing:
				return
			default:
			}
		}
		r.tick()
	}
}

// tick mixes and sends one frame to every participant. It allocates
// nothing once r.ended has grown to the most hold sources ending at once.
func (r *Room) tick() {
	r.mu.Lock()
	r.gather()
	r.readAnnouncement()
	for c := range r.shared {
		r.shared[c].valid = false
	}
	now := time.Now()
	for _, p := range r.parts {
		prm := p.session.params.Load()
		if prm == nil {
			continue
		}
		var frame []byte
		switch {
		case p.onHold:
			frame = r.holdFrame(p, prm.Codec)
		case p.speaking:
			mixFrame(&r.pcm, &r.sum, &r.overlay, &p.own)
			prm.Codec.encodeTo(p.out[:], r.pcm[:])
			frame = p.out[:]
		default:
			frame = r.sharedFrame(prm.Codec)
		}
		p.send(frame, prm, now)
	}
	ended := r.ended
	r.ended = r.ended[:0]
	r.ticks.Add(1)
	r.mu.Unlock()
	// The next tick runs on this goroutine after we return, so ended's
	// backing array is not touched meanwhile.
	for _, e := range ended {
		e.done(e.err)
	}
}

// gather takes one frame from each participant who may speak and adds
// them up in r.sum.
func (r *Room) gather() {
	clear(r.sum[:])
	for _, p := range r.parts {
		p.speaking = false
		silent := p.onHold || p.muted.Load()
		p.inMu.Lock()
		if silent {
			p.queue.reset() // nothing stale is heard after unmute
		} else {
			p.speaking = p.queue.pop(&p.own)
		}
		p.inMu.Unlock()
		if p.speaking {
			for i, v := range p.own {
				r.sum[i] += int32(v)
			}
		}
	}
}

// readAnnouncement fills r.overlay with the announcement's next frame, or
// silence.
func (r *Room) readAnnouncement() {
	clear(r.overlay[:])
	if r.announce == nil {
		return
	}
	if err := r.announce.ReadFrame(r.annFrame[:]); err != nil {
		if err != io.EOF {
			r.log.Debug("conference announcement failed", "err", err)
		}
		r.announce = nil
		return
	}
	c := r.announce.Codec()
	for i, b := range r.annFrame {
		r.overlay[i] = int32(c.decode(b))
	}
}

// sharedFrame is the whole mix encoded in c, for everyone not speaking.
func (r *Room) sharedFrame(c Codec) []byte {
	sh := &r.shared[c]
	if !sh.valid {
		mixFrame(&r.pcm, &r.sum, &r.overlay, nil)
		c.encodeTo(sh.frame[:], r.pcm[:])
		sh.valid = true
	}
	return sh.frame[:]
}

// holdFrame is p's next frame of hold source, in codec c.
func (r *Room) holdFrame(p *Participant, c Codec) []byte {
	if p.holdSrc != nil {
		err := p.holdSrc.ReadFrame(p.holdFrame[:])
		if err == nil {
			return transcode(p.holdFrame[:], p.holdFrame[:], p.holdSrc.Codec(), c)
		}
		if err == io.EOF {
			err = nil
		} else {
			err = fmt.Errorf("media: hold source: %w", err)
		}
		if p.holdDone != nil {
			r.ended = append(r.ended, holdEnd{done: p.holdDone, err: err})
		}
		p.holdSrc, p.holdDone = nil, nil
	}
	b := c.silence()
	for i := range p.holdFrame {
		p.holdFrame[i] = b
	}
	return p.holdFrame[:]
}

// mixFrame sets dst to sum - own + overlay, saturated to 16 bits; own may
// be nil.
func mixFrame(dst *[FrameSamples]int16, sum, overlay *[FrameSamples]int32, own *[FrameSamples]int16) {
	for i := range dst {
		v := sum[i] + overlay[i]
		if own != nil {
			v -= int32(own[i])
		}
		dst[i] = int16(min(max(v, -32768), 32767))
	}
}

// send writes one mixed frame to p's session, continuing the room's
// stream or, if anything else sent on the session since, starting a new
// talkspurt on the session's clock.
func (p *Participant) send(frame []byte, prm *Params, now time.Time) {
	s := p.session
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if prm.NoSend || s.playing() {
		p.track.reset()
		return
	}
	ts, marker := p.ts+FrameSamples, false
	if !p.track.continuous(s) {
		ts, marker = s.clockTimestampLocked(now), true
	}
	if err := s.writeLocked(prm.PayloadType, marker, ts, frame); err != nil {
		p.track.reset()
		return
	}
	s.seq++
	s.coverLocked(ts + FrameSamples)
	p.ts = ts
	p.track.record(s)
}

// Interface guards.
var (
	_ Consumer  = (*Participant)(nil)
	_ io.Closer = (*Room)(nil)
)
