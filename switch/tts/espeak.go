package tts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"time"
)

// EngineEspeak is the engine name of the espeak-ng provider.
const EngineEspeak = "espeak-ng"

// espeakVoices maps each canonical language to an espeak-ng voice. espeak-ng
// 1.51 has no Canadian French, so cf speaks French of France.
var espeakVoices = map[string]string{
	"bf": "fr-be", "bp": "pt-br", "en": "en-us", "en-gb": "en-gb", "cf": "fr-fr",
	"cs": "cs", "dan": "da", "fi": "fi", "es": "es", "fr": "fr-fr", "de": "de",
	"el": "el", "it": "it", "nl": "nl", "no": "nb", "pl": "pl", "pt": "pt",
	"ru": "ru", "ar": "ar", "ca": "ca", "sv": "sv", "tr": "tr",
}

// espeakVariants are the voice variants of man and woman: m3 and f3 are the
// clearest of espeak-ng's stock variants on a narrowband line.
var espeakVariants = map[string]string{VoiceMan: "m3", VoiceWoman: "f3"}

// stderrLimit bounds what of espeak-ng's standard error goes into an error.
const stderrLimit = 512

// Espeak synthesizes speech with the espeak-ng binary. Its output is a
// 22,050 Hz 16-bit mono WAV.
type Espeak struct {
	path     string
	maxText  int
	maxAudio int64
	timeout  time.Duration
	log      *slog.Logger
}

var _ Provider = (*Espeak)(nil)

// errNotInstalled marks an espeak-ng that is not there at all, which "auto"
// turns into ErrNoEngine; a binary that is there but fails is an error.
var errNotInstalled = errors.New("espeak-ng is not installed")

// NewEspeak finds espeak-ng (exec.LookPath) and checks that it works by
// speaking one word, so a binary without its voice data fails here, at
// start-up, rather than on the first call.
func NewEspeak(ctx context.Context, opts ...Option) (*Espeak, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	path, err := exec.LookPath(c.espeakPath)
	if err != nil {
		return nil, fmt.Errorf("tts: %w (install the Debian package espeak-ng): %w", errNotInstalled, err)
	}
	e := &Espeak{path: path, maxText: c.maxText, maxAudio: c.maxAudio, timeout: c.timeout, log: c.log}
	if _, err := e.Synthesize(ctx, Request{Text: "ok", Voice: VoiceMan, Language: DefaultLanguage}); err != nil {
		return nil, fmt.Errorf("%w (probing %s at start-up)", err, path)
	}
	return e, nil
}

// Engine returns "espeak-ng".
func (e *Espeak) Engine() string { return EngineEspeak }

// Synthesize runs espeak-ng once, text on its standard input (so no text
// can be taken for an option) and the WAV on its standard output. The
// process is killed when ctx ends, after the provider's timeout, or once
// its output passes the size limit.
func (e *Espeak) Synthesize(ctx context.Context, req Request) ([]byte, error) {
	req, _ = Resolve(req)
	if err := checkText(req.Text, e.maxText); err != nil {
		return nil, err
	}
	lang, ok := espeakVoices[req.Language]
	if !ok {
		return nil, fmt.Errorf("tts: espeak-ng: no voice for language %q", req.Language)
	}
	voice := lang + "+" + espeakVariants[req.Voice]

	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	// -b 1: the text is UTF-8 whatever the locale says.
	cmd := exec.CommandContext(ctx, e.path, "--stdout", "--stdin", "-b", "1", "-v", voice)
	cmd.Stdin = strings.NewReader(req.Text)
	stderr := &cappedBuffer{max: stderrLimit}
	cmd.Stderr = stderr
	// Should the killed process leave a child holding the pipes, Wait
	// still returns.
	cmd.WaitDelay = time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("tts: espeak-ng: %w", err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("tts: start espeak-ng: %w", err)
	}
	wav, readErr := io.ReadAll(io.LimitReader(stdout, e.maxAudio+1))
	tooLarge := int64(len(wav)) > e.maxAudio
	if tooLarge {
		cancel() // kills espeak-ng, which would otherwise block on a full pipe
	}
	waitErr := cmd.Wait()
	switch {
	case tooLarge:
		return nil, fmt.Errorf("%w: espeak-ng wrote more than %d bytes for %d bytes of text", ErrAudioTooLarge, e.maxAudio, len(req.Text))
	case ctx.Err() != nil:
		return nil, fmt.Errorf("tts: espeak-ng -v %s: %w", voice, ctx.Err())
	case waitErr != nil:
		return nil, fmt.Errorf("tts: espeak-ng -v %s: %w: %s", voice, waitErr, strings.TrimSpace(stderr.String()))
	case readErr != nil:
		return nil, fmt.Errorf("tts: read espeak-ng output: %w", readErr)
	}
	if err := checkWAV(wav); err != nil {
		return nil, fmt.Errorf("%w (espeak-ng -v %s)", err, voice)
	}
	e.log.Debug("tts: espeak-ng synthesized", "voice", voice, "text_bytes", len(req.Text),
		"wav_bytes", len(wav), "took", time.Since(start))
	return wav, nil
}

// checkText rejects blank and oversized text.
func checkText(text string, limit int) error {
	if strings.TrimSpace(text) == "" {
		return ErrEmptyText
	}
	if len(text) > limit {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTextTooLong, len(text), limit)
	}
	return nil
}

// checkWAV checks that b is a RIFF/WAVE file whose data chunk holds at least
// one byte. Streaming writers (espeak-ng among them) leave the sizes unset,
// so the data chunk is taken to run to the end of the file.
func checkWAV(b []byte) error {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return fmt.Errorf("%w: output is not a RIFF/WAVE file", ErrNoAudio)
	}
	for off := 12; off+8 <= len(b); {
		size := int(uint32(b[off+4]) | uint32(b[off+5])<<8 | uint32(b[off+6])<<16 | uint32(b[off+7])<<24)
		if string(b[off:off+4]) == "data" {
			if len(b) > off+8 {
				return nil
			}
			break
		}
		next := off + 8 + size + size&1
		if size < 0 || next <= off || next > len(b) {
			break
		}
		off = next
	}
	return fmt.Errorf("%w: no audio samples in the WAV", ErrNoAudio)
}

// cappedBuffer keeps the first max bytes written to it and drops the rest,
// so a chatty process cannot grow our memory.
type cappedBuffer struct {
	buf bytes.Buffer
	max int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (c *cappedBuffer) String() string { return c.buf.String() }
