package server

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/patchbay/patchbay/switch/call"
	"github.com/patchbay/patchbay/switch/media"
)

// beepTone is what <Record playBeep> plays: half a second of 1 kHz.
const (
	beepHz       = 1000
	beepDuration = 500 * time.Millisecond
)

// newBeep builds the beep once per switch: it is immutable and shared by
// every call.
func newBeep() *media.Clip {
	clip, err := media.DecodeWAV(media.ToneWAV(beepDuration, beepHz, 8000))
	if err != nil {
		panic("media.ToneWAV made a WAV DecodeWAV rejects: " + err.Error())
	}
	return clip
}

// Beep is the tone <Record playBeep="true"> plays before recording.
func (f *mediaFactory) Beep() call.Audio { return f.beep }

func (m *legMedia) SetDigitHandler(f func(digit byte)) {
	if f == nil {
		m.s.SetDigitHandler(nil)
		return
	}
	m.s.SetDigitHandler(func(d media.Digit) { f(byte(d)) })
}

// Record writes what this leg's peer (and with's) send into a new file.
func (m *legMedia) Record(path string, with call.Media, silence time.Duration, onSilence func()) (call.Recording, error) {
	sessions := []*media.Session{m.s}
	if with != nil {
		o, ok := with.(*legMedia)
		if !ok {
			return nil, errors.New("recording media of an unknown kind")
		}
		sessions = append(sessions, o.s)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, fmt.Errorf("creating recording: %w", err)
	}
	var opts []media.RecorderOption
	if silence > 0 && onSilence != nil {
		opts = append(opts, media.WithSilenceTimeout(silence, onSilence))
	}
	if onSilence != nil {
		// A write failure (disk full) stops the recorder: the verb must not
		// wait for a silence timeout that will never come.
		opts = append(opts, media.WithRecorderFailure(func(error) { onSilence() }))
	}
	opts = append(opts, media.WithRecorderLogger(m.log))
	rec, err := media.NewRecorder(f, opts...)
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("starting recording: %w", err)
	}
	for _, s := range sessions {
		if err := rec.Add(s); err != nil {
			_, _ = rec.Stop()
			f.Close()
			os.Remove(path)
			return nil, fmt.Errorf("starting recording: %w", err)
		}
	}
	return &fileRecording{rec: rec, f: f}, nil
}

// fileRecording closes its file once the recorder has completed it.
type fileRecording struct {
	rec  *media.Recorder
	f    *os.File
	once sync.Once
	dur  time.Duration
	err  error
}

func (r *fileRecording) Stop() (time.Duration, error) {
	r.once.Do(func() {
		r.dur, r.err = r.rec.Stop()
		if err := r.f.Close(); err != nil && r.err == nil {
			r.err = err
		}
	})
	return r.dur, r.err
}
