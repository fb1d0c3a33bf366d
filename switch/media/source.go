package media

import (
	"io"
	"math"
	"time"
)

// Source yields audio one 20 ms frame at a time, already encoded for one
// codec. A Source is used by one goroutine at a time.
type Source interface {
	// Codec is the encoding of the frames.
	Codec() Codec
	// ReadFrame fills frame, which has FrameSamples bytes, with the next
	// frame. A last partial frame is padded with silence. After the last
	// frame it returns io.EOF; other errors end playback.
	ReadFrame(frame []byte) error
}

// Rewinder is a Source that can start over, which Loop needs.
type Rewinder interface {
	Source
	// Rewind makes the next ReadFrame return the first frame again.
	Rewind()
}

// Loop plays src n times in a row, or forever when n is 0. A source that
// yields no frame at all ends the loop at once instead of spinning.
func Loop(src Rewinder, n int) Source { return &loop{src: src, n: n, round: 1} }

type loop struct {
	src         Rewinder
	n, round    int
	framesRound int
}

func (l *loop) Codec() Codec { return l.src.Codec() }

func (l *loop) ReadFrame(frame []byte) error {
	for {
		err := l.src.ReadFrame(frame)
		if err != io.EOF {
			if err == nil {
				l.framesRound++
			}
			return err
		}
		if l.framesRound == 0 || (l.n > 0 && l.round >= l.n) {
			return io.EOF
		}
		l.round++
		l.framesRound = 0
		l.src.Rewind()
	}
}

// Limit ends src after d (rounded up to whole frames).
func Limit(src Source, d time.Duration) Source {
	frames := int((d + FrameDuration - 1) / FrameDuration)
	return &limit{src: src, left: frames}
}

type limit struct {
	src  Source
	left int
}

func (l *limit) Codec() Codec { return l.src.Codec() }

func (l *limit) ReadFrame(frame []byte) error {
	if l.left <= 0 {
		return io.EOF
	}
	l.left--
	return l.src.ReadFrame(frame)
}

// Silence returns an endless source of silent frames; wrap it in Limit for
// a pause.
func Silence(codec Codec) Source { return silence{codec: codec} }

type silence struct{ codec Codec }

func (s silence) Codec() Codec { return s.codec }

func (s silence) ReadFrame(frame []byte) error {
	b := s.codec.silence()
	for i := range frame {
		frame[i] = b
	}
	return nil
}

// Tone returns an endless sine tone of hz at amplitude (of 32767 full
// scale); wrap it in Limit to end it. Handy for tests and ring-back.
func Tone(codec Codec, hz float64, amplitude int16) Source {
	return &tone{codec: codec, step: 2 * math.Pi * hz / ClockRate, amplitude: float64(amplitude)}
}

type tone struct {
	codec     Codec
	step      float64
	phase     float64
	amplitude float64
}

func (t *tone) Codec() Codec { return t.codec }

func (t *tone) ReadFrame(frame []byte) error {
	for i := range frame {
		frame[i] = t.codec.encode(int16(t.amplitude * math.Sin(t.phase)))
		t.phase += t.step
		if t.phase > 2*math.Pi {
			t.phase -= 2 * math.Pi
		}
	}
	return nil
}
