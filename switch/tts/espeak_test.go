package tts

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/media"
)

// sentence is a typical prompt: ten words.
const sentence = "Thank you for calling. Please hold while we connect you."

func newEspeak(t testing.TB, opts ...Option) *Espeak {
	t.Helper()
	e, err := NewEspeak(context.Background(), opts...)
	if err != nil {
		t.Fatalf("NewEspeak: %v (make test-deps installs espeak-ng)", err)
	}
	return e
}

func speak(t testing.TB, p Provider, req Request) *media.Clip {
	t.Helper()
	wav, err := p.Synthesize(context.Background(), req)
	if err != nil {
		t.Fatalf("Synthesize(%+v): %v", req, err)
	}
	clip, err := decode8k(wav)
	if err != nil {
		t.Fatalf("decode %+v: %v", req, err)
	}
	return clip
}

func TestEspeakSpeaksTheSentence(t *testing.T) {
	e := newEspeak(t)
	clip := speak(t, e, Request{Text: sentence, Voice: VoiceMan, Language: "en"})
	// Ten words at espeak-ng's 175 words a minute.
	if d := clip.Duration(); d < 2*time.Second || d > 8*time.Second {
		t.Fatalf("duration %v, want 2-8 s for ten words", d)
	}
	share, frames := voicedShare(clipPCM(t, clip))
	t.Logf("%v, %d frames, %.0f%% voiced", clip.Duration(), frames, 100*share)
	if share < 0.5 {
		t.Fatalf("%.0f%% of %d frames voiced, want at least 50%%: speech, not silence", 100*share, frames)
	}
}

func TestEspeakRejectsEmptyText(t *testing.T) {
	e := newEspeak(t)
	for _, text := range []string{"", "   ", "\n\t "} {
		if _, err := e.Synthesize(context.Background(), Request{Text: text}); !errors.Is(err, ErrEmptyText) {
			t.Errorf("Synthesize(%q) = %v, want ErrEmptyText", text, err)
		}
	}
}

func TestEspeakWomanIsHigherThanMan(t *testing.T) {
	e := newEspeak(t)
	man := medianPitch(clipPCM(t, speak(t, e, Request{Text: sentence, Voice: VoiceMan})))
	woman := medianPitch(clipPCM(t, speak(t, e, Request{Text: sentence, Voice: VoiceWoman})))
	t.Logf("median pitch: man %.0f Hz, woman %.0f Hz", man, woman)
	if man == 0 || woman < 1.3*man {
		t.Fatalf("median pitch man %.0f Hz, woman %.0f Hz: want the woman's at least 1.3 times the man's", man, woman)
	}
}

func TestEspeakSpeaksEveryLanguage(t *testing.T) {
	e := newEspeak(t)
	for _, lang := range Languages() {
		clip := speak(t, e, Request{Text: "1 2 3 4 5", Language: lang})
		if share, frames := voicedShare(clipPCM(t, clip)); share < 0.3 {
			t.Errorf("%s: %.0f%% of %d frames voiced, want at least 30%%", lang, 100*share, frames)
		}
	}
}

// A text that looks like options is spoken, not obeyed: it goes on stdin.
func TestEspeakTextIsNeverAnOption(t *testing.T) {
	e := newEspeak(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "x.wav")
	clip := speak(t, e, Request{Text: "-w " + out + " --help -v xx"})
	if share, _ := voicedShare(clipPCM(t, clip)); share < 0.3 {
		t.Fatalf("%.0f%% voiced: the text was not spoken", 100*share)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("espeak-ng took the text as options: %s exists (%v)", out, err)
	}
}

func TestEspeakBounds(t *testing.T) {
	e := newEspeak(t, WithMaxText(16))
	if _, err := e.Synthesize(context.Background(), Request{Text: sentence}); !errors.Is(err, ErrTextTooLong) {
		t.Errorf("text over the limit: %v, want ErrTextTooLong", err)
	}
	// Enough for the probe's "ok", not for ten words.
	e = newEspeak(t, WithMaxAudioBytes(64<<10))
	if _, err := e.Synthesize(context.Background(), Request{Text: sentence}); !errors.Is(err, ErrAudioTooLarge) {
		t.Errorf("audio over the limit: %v, want ErrAudioTooLarge", err)
	}
}

func TestEspeakCanceled(t *testing.T) {
	e := newEspeak(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Synthesize(ctx, Request{Text: sentence}); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v, want context.Canceled", err)
	}
}

// An espeak-ng that hangs after writing a header is killed at the timeout.
func TestEspeakKilledAtTimeout(t *testing.T) {
	script := filepath.Join(t.TempDir(), "espeak-ng")
	body := "#!/bin/sh\nprintf 'RIFF\\377\\377\\377\\177WAVE'\nexec sleep 600\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := newConfig([]Option{WithTimeout(200 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	e := &Espeak{path: script, maxText: c.maxText, maxAudio: c.maxAudio, timeout: c.timeout, log: c.log}
	if _, err := e.Synthesize(context.Background(), Request{Text: sentence}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung engine: %v, want context.DeadlineExceeded", err)
	}
}

func TestNewEspeakMissingBinary(t *testing.T) {
	_, err := NewEspeak(context.Background(), WithEspeakPath(filepath.Join(t.TempDir(), "espeak-ng")))
	if !errors.Is(err, errNotInstalled) {
		t.Fatalf("missing binary: %v, want errNotInstalled", err)
	}
}

func TestNewEspeakBrokenBinary(t *testing.T) {
	script := filepath.Join(t.TempDir(), "espeak-ng")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho 'no voice data' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := NewEspeak(context.Background(), WithEspeakPath(script))
	if err == nil || errors.Is(err, errNotInstalled) {
		t.Fatalf("broken binary: %v, want a probe failure", err)
	}
	t.Log(err)
}
