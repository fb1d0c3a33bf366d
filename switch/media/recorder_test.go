package media

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// memFile is an in-memory io.WriteSeeker that can fail once it holds
// limit bytes.
type memFile struct {
	b     []byte
	off   int64
	limit int64 // 0: no limit
}

var errDiskFull = errors.New("disk full")

func (m *memFile) Write(p []byte) (int, error) {
	if m.limit > 0 && m.off+int64(len(p)) > m.limit {
		return 0, errDiskFull
	}
	if end := m.off + int64(len(p)); end > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
	}
	n := copy(m.b[m.off:], p)
	m.off += int64(n)
	return n, nil
}

func (m *memFile) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		off += m.off
	case io.SeekEnd:
		off += int64(len(m.b))
	}
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	m.off = off
	return off, nil
}

// recordingFile creates the file a test records into.
func recordingFile(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "rec.wav"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// readRecording checks the WAV file of a stopped recording of duration d
// and returns its samples.
func readRecording(t *testing.T, f *os.File, d time.Duration) []int16 {
	t.Helper()
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	clip, err := DecodeWAV(data)
	if err != nil {
		t.Fatal(err)
	}
	n := len(data) - wavHeaderSize
	if clip.Duration() != d || n != int(d/FrameDuration)*2*FrameSamples {
		t.Fatalf("file holds %v (%d bytes of samples), recorder says %v", clip.Duration(), n, d)
	}
	if riff, size := binary.LittleEndian.Uint32(data[4:]), binary.LittleEndian.Uint32(data[40:]); riff != uint32(n+36) || size != uint32(n) {
		t.Fatalf("header sizes RIFF %d data %d, file has %d bytes of samples", riff, size, n)
	}
	samples := make([]int16, n/2)
	for i := range samples {
		samples[i] = int16(binary.LittleEndian.Uint16(data[wavHeaderSize+2*i:]))
	}
	return samples
}

// voicedFrames returns how many 20 ms frames of samples count as sound
// for silence detection, and the number of frames up to the last one.
func voicedFrames(samples []int16) (voiced, last int) {
	for f := 0; f+FrameSamples <= len(samples); f += FrameSamples {
		var e int64
		for _, s := range samples[f : f+FrameSamples] {
			e += int64(s) * int64(s)
		}
		if e >= voicedRMS*voicedRMS*FrameSamples {
			voiced++
			last = f/FrameSamples + 1
		}
	}
	return voiced, last
}

func toneLevels(samples []int16, freqs ...float64) *ToneDetector {
	d := NewToneDetector(freqs...)
	d.WritePCM(samples)
	return d
}

func newTestRecorder(t *testing.T, w io.WriteSeeker, opts ...RecorderOption) *Recorder {
	t.Helper()
	r, err := NewRecorder(w, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = r.Stop() })
	return r
}

// waitRecorded waits until the recording is d longer than it was at from.
func waitRecorded(t *testing.T, r *Recorder, from, d time.Duration) {
	t.Helper()
	waitFor(t, "recording to grow", func() bool { return r.Duration() >= from+d })
}

func TestRecorderRecordsToneForItsLength(t *testing.T) {
	before := runtime.NumGoroutine()
	pool := testPool(t, 4)
	phone, leg := pair(t, pool, PCMU, nil, nil)
	leg.SetMuted(true) // a recording hears a muted caller
	f := recordingFile(t)
	rec := newTestRecorder(t, f)
	if err := rec.Add(leg); err != nil {
		t.Fatal(err)
	}
	if err := phone.Play(context.Background(), Limit(Tone(PCMU, 1000, 8000), 2*time.Second)); err != nil {
		t.Fatal(err)
	}
	// Let the playout cushion reach the file.
	waitRecorded(t, rec, rec.Duration(), 200*time.Millisecond)
	d, err := rec.Stop()
	if err != nil {
		t.Fatal(err)
	}
	samples := readRecording(t, f, d)
	det := toneLevels(samples, 1000, 700)
	voiced, _ := voicedFrames(samples)
	t.Logf("recorded %v: %d voiced frames, 1000 Hz level %.2f, 40 ms blocks voiced %d silent %d",
		d, voiced, det.Level(0), det.Voiced(), det.Silent())
	// 2 s of tone is 100 frames; the tone straddles frame boundaries, and a
	// resync on a loaded machine may split it once more.
	if voiced < 99 || voiced > 103 {
		t.Errorf("%d voiced frames, want 100 (2 s)", voiced)
	}
	if d <= 2*time.Second {
		t.Errorf("duration %v, shorter than the tone", d)
	}
	if det.Level(0) < 0.9 || det.Level(1) > 0.05 {
		t.Errorf("levels 1000 Hz %.2f, 700 Hz %.2f", det.Level(0), det.Level(1))
	}
	checkNoLeak(t, before+2) // the two sessions' read goroutines
}

func TestRecorderMixesSessions(t *testing.T) {
	pool := testPool(t, 8)
	phone1, leg1 := pair(t, pool, PCMU, nil, nil)
	phone2, leg2 := pair(t, pool, PCMA, nil, nil)
	f := recordingFile(t)
	rec := newTestRecorder(t, f)
	for _, s := range []*Session{leg1, leg2} {
		if err := rec.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	playBoth(t, phone1, phone2, Limit(Tone(PCMU, 700, 6000), time.Second), Limit(Tone(PCMA, 1300, 6000), time.Second))
	waitRecorded(t, rec, rec.Duration(), 200*time.Millisecond)
	d, err := rec.Stop()
	if err != nil {
		t.Fatal(err)
	}
	det := toneLevels(readRecording(t, f, d), 700, 1300, 1000)
	t.Logf("levels 700 Hz %.2f, 1300 Hz %.2f, 1000 Hz %.2f over %d voiced blocks", det.Level(0), det.Level(1), det.Level(2), det.Voiced())
	if det.Level(0) < 0.3 || det.Level(1) < 0.3 || det.Level(2) > 0.05 {
		t.Errorf("mix levels 700 Hz %.2f, 1300 Hz %.2f, 1000 Hz %.2f: want both tones", det.Level(0), det.Level(1), det.Level(2))
	}
	if det.Voiced() < 20 {
		t.Errorf("only %d voiced blocks", det.Voiced())
	}
}

func TestRecorderSilenceTimeout(t *testing.T) {
	pool := testPool(t, 4)
	phone, leg := pair(t, pool, PCMU, nil, nil)
	f := recordingFile(t)
	var calls atomic.Int32
	silent := make(chan struct{})
	rec := newTestRecorder(t, f, WithSilenceTimeout(300*time.Millisecond, func() {
		if calls.Add(1) == 1 {
			close(silent)
		}
	}))
	if err := rec.Add(leg); err != nil {
		t.Fatal(err)
	}
	// The timeout is shorter than the tone: detection that did not see
	// the tone, or counted from the start, would fire during it.
	if err := phone.Play(context.Background(), Limit(Tone(PCMU, 1000, 8000), time.Second)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-silent:
	case <-time.After(5 * time.Second):
		t.Fatal("onSilence not called")
	}
	waitRecorded(t, rec, rec.Duration(), 400*time.Millisecond) // would it fire again?
	d, err := rec.Stop()
	if err != nil {
		t.Fatal(err)
	}
	voiced, last := voicedFrames(readRecording(t, f, d))
	t.Logf("tone: %d voiced frames, last at frame %d; silence reported at frame %d", voiced, last, rec.silencedAt)
	if voiced < 49 {
		t.Fatalf("%d voiced frames, want the 1 s tone", voiced)
	}
	if rec.silencedAt != int64(last)+15 {
		t.Errorf("silence reported after %d frames, want 15 (300 ms) after the last voiced frame %d", rec.silencedAt, last)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("onSilence called %d times", n)
	}
}

func TestRecorderSilenceFromTheStart(t *testing.T) {
	silent := make(chan struct{})
	rec := newTestRecorder(t, &memFile{}, WithSilenceTimeout(100*time.Millisecond, func() { close(silent) }))
	select {
	case <-silent:
	case <-time.After(5 * time.Second):
		t.Fatal("onSilence not called")
	}
	if _, err := rec.Stop(); err != nil {
		t.Fatal(err)
	}
	if rec.silencedAt != 5 {
		t.Errorf("silence reported after %d frames, want 5", rec.silencedAt)
	}
}

func TestRecorderWhileBridged(t *testing.T) {
	rig := newBridgeRig(t, leg{PCMU, 101}, leg{PCMA, 101}, 700, 1300)
	bridge(t, rig.legA, rig.legB)
	f := recordingFile(t)
	rec := newTestRecorder(t, f)
	for _, s := range []*Session{rig.legA, rig.legB} {
		if err := rec.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	playBoth(t, rig.phoneA, rig.phoneB, Limit(Tone(PCMU, 700, 6000), time.Second), Limit(Tone(PCMA, 1300, 6000), time.Second))
	waitRecorded(t, rec, rec.Duration(), 200*time.Millisecond)
	d, err := rec.Stop()
	if err != nil {
		t.Fatal(err)
	}
	// Each phone still hears the other through the relay.
	if l := rig.earB.level(0); l < 0.8 {
		t.Errorf("B hears 700 Hz at %.2f", l)
	}
	if l := rig.earA.level(1); l < 0.8 {
		t.Errorf("A hears 1300 Hz at %.2f", l)
	}
	det := toneLevels(readRecording(t, f, d), 700, 1300)
	t.Logf("recording %v: 700 Hz %.2f, 1300 Hz %.2f", d, det.Level(0), det.Level(1))
	if det.Level(0) < 0.3 || det.Level(1) < 0.3 {
		t.Errorf("recording levels 700 Hz %.2f, 1300 Hz %.2f: want both parties", det.Level(0), det.Level(1))
	}
}

func TestRecorderStopCloseAndTaps(t *testing.T) {
	before := runtime.NumGoroutine()
	pool := testPool(t, 6)
	phone, leg := pair(t, pool, PCMU, nil, nil)
	_, other := pair(t, pool, PCMU, nil, nil)
	f := recordingFile(t)
	rec := newTestRecorder(t, f)
	for _, s := range []*Session{leg, other} {
		if err := rec.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	tap := leg.tap.Load()
	if err := phone.Play(context.Background(), Limit(Tone(PCMU, 1000, 8000), 200*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	// A session hung up while recorded: the recording goes on without it.
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	waitRecorded(t, rec, rec.Duration(), 100*time.Millisecond)
	d1, err1 := rec.Stop()
	d2, err2 := rec.Stop()
	if err1 != nil || err2 != nil || d1 != d2 {
		t.Fatalf("Stop twice: %v %v, then %v %v", d1, err1, d2, err2)
	}
	if rec.Duration() != d1 {
		t.Fatalf("Duration %v after Stop returned %v", rec.Duration(), d1)
	}
	readRecording(t, f, d1)

	// The taps are gone: what arrives now reaches nobody.
	if leg.tap.Load() != nil || other.tap.Load() != nil {
		t.Fatal("tap left on a session after Stop")
	}
	tap.mu.Lock()
	queued := tap.pw
	tap.mu.Unlock()
	received := leg.Stats().PacketsReceived
	if err := phone.Play(context.Background(), Limit(Tone(PCMU, 1000, 8000), 100*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "packets after Stop", func() bool { return leg.Stats().PacketsReceived >= received+5 })
	tap.mu.Lock()
	after := tap.pw
	tap.mu.Unlock()
	if after != queued {
		t.Errorf("tap queued %d packets after Stop", after-queued)
	}
	if err := rec.Add(leg); !errors.Is(err, ErrRecorderStopped) {
		t.Errorf("Add after Stop: %v", err)
	}
	// The session is free for another recording.
	rec2 := newTestRecorder(t, &memFile{})
	if err := rec2.Add(leg); err != nil {
		t.Fatalf("second recording: %v", err)
	}
	if _, err := rec2.Stop(); err != nil {
		t.Fatal(err)
	}
	checkNoLeak(t, before+3) // the read goroutines of the sessions still open
}

func TestRecorderRejects(t *testing.T) {
	pool := testPool(t, 2)
	s := newTestSession(t, pool)
	rec := newTestRecorder(t, &memFile{})
	if err := rec.Add(s); err != nil {
		t.Fatal(err)
	}
	if err := rec.Add(s); !errors.Is(err, ErrAlreadyRecorded) {
		t.Errorf("same session twice: %v", err)
	}
	rec2 := newTestRecorder(t, &memFile{})
	if err := rec2.Add(s); !errors.Is(err, ErrAlreadyRecorded) {
		t.Errorf("session of another recording: %v", err)
	}
	if err := rec2.Add(nil); err == nil {
		t.Error("nil session accepted")
	}
	if _, err := NewRecorder(nil); err == nil {
		t.Error("nil writer accepted")
	}
	if _, err := NewRecorder(&memFile{}, WithSilenceTimeout(0, func() {})); err == nil {
		t.Error("zero silence timeout accepted")
	}
	if _, err := NewRecorder(&memFile{limit: 10}); !errors.Is(err, errDiskFull) {
		t.Errorf("header write failure: %v", err)
	}
}

func TestRecorderWriteFailureStopsRecording(t *testing.T) {
	failed := make(chan error, 1)
	// Room for the header and a little audio: the first flush fails.
	rec := newTestRecorder(t, &memFile{limit: wavHeaderSize + 1000}, WithRecorderFailure(func(err error) { failed <- err }))
	select {
	case err := <-failed:
		if !errors.Is(err, errDiskFull) {
			t.Fatalf("failure %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("write failure not reported")
	}
	at := rec.Duration()
	d, err := rec.Stop()
	if !errors.Is(err, errDiskFull) {
		t.Fatalf("Stop: %v", err)
	}
	if d != at {
		t.Errorf("duration went on after the failure: %v, then %v", at, d)
	}
}

func TestRecorderHeaderAtOffset(t *testing.T) {
	m := &memFile{}
	_, _ = m.Write([]byte("prefix"))
	rec := newTestRecorder(t, m)
	waitRecorded(t, rec, 0, 60*time.Millisecond)
	d, err := rec.Stop()
	if err != nil {
		t.Fatal(err)
	}
	clip, err := DecodeWAV(m.b[6:])
	if err != nil {
		t.Fatal(err)
	}
	if clip.Duration() != d || m.off != int64(len(m.b)) {
		t.Errorf("clip %v, recorder %v; offset %d of %d", clip.Duration(), d, m.off, len(m.b))
	}
	if size := binary.LittleEndian.Uint32(m.b[6+40:]); int(size) != len(m.b)-6-wavHeaderSize {
		t.Errorf("data size %d, file has %d", size, len(m.b)-6-wavHeaderSize)
	}
}

func TestSetDigitHandler(t *testing.T) {
	pool := testPool(t, 4)
	first, second := make(chan Digit, 4), make(chan Digit, 4)
	a, b := pair(t, pool, PCMU, nil, []SessionOption{WithDigitHandler(func(d Digit) { first <- d })})
	send := func(d Digit) {
		t.Helper()
		if err := a.SendDigit(context.Background(), d, 60*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(ch chan Digit, want Digit) {
		t.Helper()
		select {
		case d := <-ch:
			if d != want {
				t.Fatalf("digit %c, want %c", d, want)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("digit %c not delivered", want)
		}
	}
	send('1')
	expect(first, '1')
	b.SetDigitHandler(func(d Digit) { second <- d })
	send('2')
	expect(second, '2')
	b.SetDigitHandler(nil)
	send('3')
	waitFor(t, "third digit counted", func() bool { return b.Stats().DigitsReceived == 3 })
	if len(first) != 0 || len(second) != 0 {
		t.Errorf("digits delivered to replaced handlers: %d, %d", len(first), len(second))
	}
}
