package media

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Recorder writes what one or more sessions receive, mixed, to a mono
// 8 kHz 16-bit PCM WAV file: <Record> taps the caller's session,
// <Dial record="true"> both legs of the bridge.
//
// A recording taps its sessions independently of their Consumer, so it
// goes on whether a session is idle, playing, relayed in a Bridge or in a
// Room, and it hears a muted session. The tap on the read goroutine only
// queues the packet; the recorder's own goroutine, ticking every 20 ms on
// a schedule computed from the start time, takes one frame per session
// from a playout timeline ordered by RTP timestamp (see playout), sums
// them saturating to 16 bits and writes the frame through a buffer. The
// file's length is therefore the wall-clock time between NewRecorder and
// Stop: a gap in the RTP becomes silence, packets reordered by less than
// the timeline's depth take their place, late and repeated ones are
// dropped. If the goroutine is held up, it catches up with every frame due
// as soon as it runs again.
//
// Silence detection (WithSilenceTimeout) looks at the mixed frames: a
// frame is voiced when its RMS level reaches voicedRMS.
//
// The methods are safe for concurrent use.
type Recorder struct {
	log       *slog.Logger
	file      io.WriteSeeker
	base      int64 // offset of the WAV header in file
	out       *bufio.Writer
	silence   int64 // frames; 0: no silence detection
	onSilence func()
	onFailure func(error)

	// mu guards legs and stopped; the clock holds it while it drains the
	// legs, so Add waits at most one tick.
	mu      sync.Mutex
	legs    []*recordLeg
	stopped bool

	// Owned by the clock goroutine.
	start      time.Time
	sum        [FrameSamples]int32
	pcm        [2 * FrameSamples]byte
	scratch    [maxPacket]byte
	lastVoiced int64 // frames written up to the last voiced one
	silencedAt int64 // frames written when onSilence was called; 0: not yet
	err        error // why the clock stopped early; read after done

	frames   atomic.Int64 // frames written
	stopAt   time.Time    // set by Stop before stopping is closed
	stopping chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	stopErr  error
}

// voicedRMS is the level (RMS of a 20 ms frame, of 32767 full scale) from
// which a frame counts as sound for silence detection: about -42 dBFS,
// the value Asterisk's Record uses by default (as a mean magnitude).
// Speech sits 15-25 dB above it and the tones people send far higher,
// while the idle noise of a G.711 line (around -65 dBm0, RMS below 20)
// and the quantisation floor stay well under it.
const voicedRMS = 256

// recordBufferSize is how much the recorder buffers before writing: a
// quarter of a second of audio, one write system call per 12 frames.
const recordBufferSize = 4096

// recordMaxFrames keeps the data chunk's size within the 32 bits of the
// WAV header: 74 hours.
const recordMaxFrames = (math.MaxUint32 - wavHeaderSize) / (2 * FrameSamples)

// RecorderOption configures a Recorder in NewRecorder.
type RecorderOption func(*Recorder) error

// WithSilenceTimeout calls onSilence once, when d has passed with no
// voiced frame in the recording since the last voiced one or since the
// start (<Record timeout>). onSilence runs on a goroutine of its own, so
// it neither delays the recording nor deadlocks if it calls Stop; the
// recording goes on until Stop.
func WithSilenceTimeout(d time.Duration, onSilence func()) RecorderOption {
	return func(r *Recorder) error {
		if d <= 0 || onSilence == nil {
			return errors.New("media: silence timeout needs a positive duration and a function")
		}
		r.silence = int64((d + FrameDuration - 1) / FrameDuration)
		r.onSilence = onSilence
		return nil
	}
}

// WithRecorderFailure calls f, on a goroutine of its own, if writing the
// file fails: the recording has stopped and Stop will return the error.
func WithRecorderFailure(f func(error)) RecorderOption {
	return func(r *Recorder) error {
		r.onFailure = f
		return nil
	}
}

// WithRecorderLogger sets the recorder's logger; by default it logs
// nothing.
func WithRecorderLogger(l *slog.Logger) RecorderOption {
	return func(r *Recorder) error {
		if l == nil {
			return errors.New("media: nil logger")
		}
		r.log = l
		return nil
	}
}

// NewRecorder writes a WAV header at w's current offset and starts the
// recording clock: from now on every 20 ms adds a frame, silent until
// sessions are added. The sizes in the header are filled in by Stop; until
// then they say "unknown" (0xFFFFFFFF), which readers, DecodeWAV among
// them, take as "up to the end of the file". The caller keeps w and
// closes it after Stop.
func NewRecorder(w io.WriteSeeker, opts ...RecorderOption) (*Recorder, error) {
	r, err := newRecorder(w, opts...)
	if err != nil {
		return nil, err
	}
	r.start = time.Now()
	go r.run()
	return r, nil
}

// newRecorder writes the header without starting the clock (benchmarks
// tick it).
func newRecorder(w io.WriteSeeker, opts ...RecorderOption) (*Recorder, error) {
	if w == nil {
		return nil, errors.New("media: recorder: nil writer")
	}
	r := &Recorder{
		log:      slog.New(slog.DiscardHandler),
		file:     w,
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
	for _, opt := range opts {
		if err := opt(r); err != nil {
			return nil, err
		}
	}
	base, err := w.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("media: recorder: find offset: %w", err)
	}
	r.base = base
	var h [wavHeaderSize]byte
	putPCM16WAVHeader(h[:], math.MaxUint32-(wavHeaderSize-8))
	binary.LittleEndian.PutUint32(h[40:], math.MaxUint32)
	if _, err := w.Write(h[:]); err != nil {
		return nil, fmt.Errorf("media: recorder: write WAV header: %w", err)
	}
	r.out = bufio.NewWriterSize(w, recordBufferSize)
	return r, nil
}

// Add records what s receives from now on, mixed with the other sessions.
// It fails if s is already being recorded (by this or another Recorder)
// or the recorder was stopped. The session may be closed before Stop.
func (r *Recorder) Add(s *Session) error {
	if s == nil {
		return errors.New("media: recorder: nil session")
	}
	l := &recordLeg{session: s}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return ErrRecorderStopped
	}
	if !s.tap.CompareAndSwap(nil, l) {
		return fmt.Errorf("%w (RTP port %d)", ErrAlreadyRecorded, s.port.Number())
	}
	r.legs = append(r.legs, l)
	r.log.Debug("recording session", "rtp_port", s.port.Number(), "sessions", len(r.legs))
	return nil
}

// Duration is the length of what has been written so far: the time since
// NewRecorder, to within one frame, unless writing failed.
func (r *Recorder) Duration() time.Duration {
	return time.Duration(r.frames.Load()) * FrameDuration
}

// Stop ends the recording: it writes the frames due up to now, removes
// the taps (no packet reaches the recorder after it returns), flushes the
// buffer and fills in the WAV header's sizes, leaving w's offset at the
// end of the file. It returns the recording's duration and the first
// write error, if any; later calls return the same. The recorder's
// goroutine has ended when Stop returns.
func (r *Recorder) Stop() (time.Duration, error) {
	r.stopOnce.Do(func() {
		r.stopAt = time.Now()
		close(r.stopping)
		<-r.done
		r.mu.Lock()
		r.stopped = true
		legs := r.legs
		r.legs = nil
		r.mu.Unlock()
		for _, l := range legs {
			l.detach()
			r.log.Debug("recording session done", "rtp_port", l.session.port.Number(),
				"late", l.play.late, "duplicates", l.play.dups, "resyncs", l.play.resyncs, "overflow", l.overflow)
		}
		err := r.err
		if err == nil {
			err = r.finish()
		}
		r.stopErr = err
		r.log.Debug("recording stopped", "duration", r.Duration(), "err", err)
	})
	return r.Duration(), r.stopErr
}

// finish flushes the buffer and writes the final sizes into the header.
func (r *Recorder) finish() error {
	if err := r.out.Flush(); err != nil {
		return fmt.Errorf("media: recorder: write: %w", err)
	}
	data := uint32(r.frames.Load() * 2 * FrameSamples)
	var b [4]byte
	for _, f := range []struct {
		off int64
		v   uint32
	}{{4, wavHeaderSize - 8 + data}, {40, data}} {
		binary.LittleEndian.PutUint32(b[:], f.v)
		if _, err := r.file.Seek(r.base+f.off, io.SeekStart); err != nil {
			return fmt.Errorf("media: recorder: seek to WAV header: %w", err)
		}
		if _, err := r.file.Write(b[:]); err != nil {
			return fmt.Errorf("media: recorder: write WAV header: %w", err)
		}
	}
	if _, err := r.file.Seek(0, io.SeekEnd); err != nil {
		return fmt.Errorf("media: recorder: seek to end: %w", err)
	}
	return nil
}

// run writes frame n once n+1 frame periods have passed since the start,
// so that the file keeps wall-clock time however late the goroutine
// wakes.
func (r *Recorder) run() {
	defer close(r.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if wait := time.Until(r.due()); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-r.stopping:
				r.catchUp()
				return
			}
		} else {
			select {
			case <-r.stopping:
				r.catchUp()
				return
			default:
			}
		}
		if err := r.tick(); err != nil {
			r.fail(err)
			return
		}
	}
}

// due is when the next frame is complete.
func (r *Recorder) due() time.Time {
	return r.start.Add(time.Duration(r.frames.Load()+1) * FrameDuration)
}

// catchUp writes the frames completed by the time Stop was called.
func (r *Recorder) catchUp() {
	for !r.due().After(r.stopAt) {
		if err := r.tick(); err != nil {
			r.fail(err)
			return
		}
	}
}

func (r *Recorder) fail(err error) {
	r.err = err
	r.log.Warn("recording failed", "err", err, "duration", r.Duration())
	if r.onFailure != nil {
		go r.onFailure(err)
	}
}

// tick mixes and writes one frame; it allocates nothing.
func (r *Recorder) tick() error {
	n := r.frames.Load()
	if n >= recordMaxFrames {
		return fmt.Errorf("media: recorder: %w: WAV files end at %v", ErrTooLarge, time.Duration(n)*FrameDuration)
	}
	clear(r.sum[:])
	r.mu.Lock()
	for _, l := range r.legs {
		l.drain(&r.scratch)
		l.play.addFrame(&r.sum)
	}
	r.mu.Unlock()
	var energy int64
	for i, v := range r.sum {
		s := int64(min(max(v, math.MinInt16), math.MaxInt16))
		energy += s * s
		binary.LittleEndian.PutUint16(r.pcm[2*i:], uint16(int16(s)))
	}
	if _, err := r.out.Write(r.pcm[:]); err != nil {
		return fmt.Errorf("media: recorder: write: %w", err)
	}
	n++
	r.frames.Store(n)
	if energy >= voicedRMS*voicedRMS*FrameSamples {
		r.lastVoiced = n
	}
	if r.onSilence != nil && r.silencedAt == 0 && n-r.lastVoiced >= r.silence {
		r.silencedAt = n
		go r.onSilence()
	}
	return nil
}
