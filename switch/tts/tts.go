package tts

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// Provider synthesizes speech with one engine. Implementations are safe for
// concurrent use.
type Provider interface {
	// Engine names the engine ("espeak-ng", "http"). It is part of the cache
	// key, so it must not change over the provider's life.
	Engine() string
	// Synthesize speaks req, which has been resolved (see Resolve): Voice is
	// VoiceMan or VoiceWoman, Language one of the supported codes and Text
	// is not blank. It returns an audio file (a WAV at any rate, or whatever
	// the cache's decoder accepts) and fails rather than return silence.
	Synthesize(ctx context.Context, req Request) ([]byte, error)
}

// Request is what a <Say> asks for.
type Request struct {
	Text string
	// Voice is "man" or "woman"; anything else means man.
	Voice string
	// Language is an RCML language code; "" means en, an unsupported code
	// falls back to en.
	Language string
}

// Voices of <Say>.
const (
	VoiceMan   = "man"
	VoiceWoman = "woman"
)

// DefaultLanguage is the language of a <Say> without one, and the fallback
// for one the engines do not speak.
const DefaultLanguage = "en"

// Errors of Say and of the providers. Match them with errors.Is.
var (
	// ErrNoEngine means no text-to-speech engine is configured or installed:
	// New returns it for "none", and for "auto" without espeak-ng; a Cache
	// without a provider fails every Say with it.
	ErrNoEngine = errors.New("tts: no text-to-speech engine")
	// ErrEmptyText is a Say of blank text: there is nothing to speak, and
	// playing silence instead would hide the mistake.
	ErrEmptyText = errors.New("tts: empty text")
	// ErrTextTooLong is a text over the provider's limit.
	ErrTextTooLong = errors.New("tts: text too long")
	// ErrAudioTooLarge is synthesized audio over the provider's limit.
	ErrAudioTooLarge = errors.New("tts: synthesized audio too large")
	// ErrNoAudio is an engine that finished without producing audio.
	ErrNoAudio = errors.New("tts: engine produced no audio")
)

// languages maps each accepted spelling, in lower case, to its canonical
// RCML code. The RCML codes come from Restcomm's <Say> documentation and
// its Acapela plug-in (bf = Belgian French, bp = Brazilian Portuguese,
// cf = Canadian French, dan = Danish); the BCP 47 aliases are what its
// VoiceRSS plug-in and most applications write for the same languages.
var languages = map[string]string{
	"bf": "bf", "fr-be": "bf",
	"bp": "bp", "pt-br": "bp",
	"en": "en", "en-us": "en",
	"en-gb": "en-gb",
	"cf":    "cf", "fr-ca": "cf",
	"cs":  "cs",
	"dan": "dan", "da": "dan",
	"fi": "fi",
	"es": "es",
	"fr": "fr", "fr-fr": "fr",
	"de": "de",
	"el": "el",
	"it": "it",
	"nl": "nl",
	"no": "no", "nb": "no",
	"pl": "pl",
	"pt": "pt", "pt-pt": "pt",
	"ru": "ru",
	"ar": "ar",
	"ca": "ca",
	"sv": "sv",
	"tr": "tr",
}

// Languages returns the canonical language codes, sorted.
func Languages() []string {
	var out []string
	for alias, code := range languages {
		if alias == code {
			out = append(out, code)
		}
	}
	slices.Sort(out)
	return out
}

// Resolve returns req as providers receive it: surrounding space trimmed
// from the text (and invalid UTF-8 dropped), the voice man or woman, and
// the language canonical. fellBack reports a language that is not
// supported and was replaced by en (Restcomm's rule); a blank language is
// en without a fallback.
func Resolve(req Request) (resolved Request, fellBack bool) {
	resolved.Text = strings.TrimSpace(strings.ToValidUTF8(req.Text, ""))
	resolved.Voice = VoiceMan
	if strings.EqualFold(strings.TrimSpace(req.Voice), VoiceWoman) {
		resolved.Voice = VoiceWoman
	}
	lang := strings.ToLower(strings.TrimSpace(strings.ReplaceAll(req.Language, "_", "-")))
	if lang == "" {
		resolved.Language = DefaultLanguage
		return resolved, false
	}
	code, ok := languages[lang]
	if !ok {
		resolved.Language = DefaultLanguage
		return resolved, true
	}
	resolved.Language = code
	return resolved, false
}
