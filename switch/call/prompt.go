package call

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/patchbay/patchbay/plugins/rcml"
)

// Notification codes of the media verbs.
const (
	codeAudioFailed     = 11200 // a <Play> file could not be fetched or decoded
	codeSpeechFailed    = 12300 // <Say> could not be spoken (no engine, empty text, engine error)
	codeSayLanguage     = 13513 // Patchbay: <Say> language not available, spoken in English
	codeNoTranscription = 13614 // Patchbay: <Record transcribe> is not available
	codeNoSpeechInput   = 11001 // <Gather input="speech">: no speech recognition here
)

// stepWarning is a notification found by a step goroutine, recorded by the
// actor (which owns the call record) when the step's result arrives.
type stepWarning struct {
	code, level int
	msg, url    string
}

// prompter plays <Play>, <Say> and <Pause> on a step goroutine. It holds
// copies of what it needs and touches no call state.
type prompter struct {
	media  Media
	loader MediaFactory
	speech Speech
	doc    string // current document URL, for notifications
	warn   []stepWarning
}

func (c *Call) newPrompter() *prompter {
	return &prompter{media: c.media, loader: c.deps.Media, speech: c.deps.Speech, doc: c.rec.URL}
}

func (p *prompter) warning(code, level int, msg string) {
	p.warn = append(p.warn, stepWarning{code: code, level: level, msg: msg, url: p.doc})
}

// run plays one prompt until it ends or ctx ends. A prompt that cannot be
// played is recorded as a notification and skipped: the call goes on.
func (p *prompter) run(ctx context.Context, v rcml.Verb) {
	switch v.Kind {
	case rcml.KindPlay:
		p.play(ctx, v.Play)
	case rcml.KindSay:
		p.say(ctx, v.Say)
	case rcml.KindPause:
		sleep(ctx, seconds(v.Pause.Length))
	}
}

func (p *prompter) play(ctx context.Context, v *rcml.Play) {
	audio, err := p.loader.LoadAudio(ctx, v.URL)
	if err != nil {
		if ctx.Err() == nil {
			p.warning(codeAudioFailed, 0, fmt.Sprintf("<Play> %s: %v; skipped", redact(v.URL), err))
		}
		return
	}
	if err := p.media.Play(ctx, audio, v.Loop); err != nil && !errors.Is(err, context.Canceled) {
		p.warning(codeAudioFailed, 0, fmt.Sprintf("<Play> %s: %v", redact(v.URL), err))
	}
}

func (p *prompter) say(ctx context.Context, v *rcml.Say) {
	text := strings.TrimSpace(v.Text)
	switch {
	case p.speech == nil:
		p.warning(codeSpeechFailed, 0, "<Say> skipped: this switch has no text-to-speech engine (see --tts)")
		return
	case text == "":
		p.warning(codeSpeechFailed, 1, "<Say> with no text; skipped")
		return
	}
	res, err := p.speech.Speak(ctx, SpeechRequest{Text: text, Voice: v.Voice, Language: v.Language})
	if err != nil {
		if ctx.Err() == nil {
			p.warning(codeSpeechFailed, 0, fmt.Sprintf("<Say> could not be spoken: %v; skipped", err))
		}
		return
	}
	if res.FellBack {
		p.warning(codeSayLanguage, 1, fmt.Sprintf("<Say> language %q is not available; spoken in %s", v.Language, res.Language))
	}
	if err := p.media.Play(ctx, res.Audio, v.Loop); err != nil && !errors.Is(err, context.Canceled) {
		p.warning(codeSpeechFailed, 0, fmt.Sprintf("<Say>: %v", err))
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
