package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/patchbay/patchbay/switch/audio"
	"github.com/patchbay/patchbay/switch/call"
	"github.com/patchbay/patchbay/switch/media"
	"github.com/patchbay/patchbay/switch/tts"
)

// newSpeech builds <Say>'s engine from the configuration. No engine is not
// an error: the switch says so once here, and each <Say> then records a
// notification instead of playing nothing.
func newSpeech(ctx context.Context, cfg Config, log *slog.Logger) (call.Speech, error) {
	provider, err := tts.New(ctx, cfg.TTSEngine, cfg.TTSURL, tts.WithLogger(log))
	if errors.Is(err, tts.ErrNoEngine) {
		log.Warn("no text-to-speech engine: <Say> will be skipped with a notification (install espeak-ng, or set --tts=http with --tts-url)", "reason", err)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("text-to-speech: %w", err)
	}
	// No content-type hint: the provider may answer WAV or MP3, and the
	// decoder tells them apart by their bytes.
	decode := func(b []byte) (*media.Clip, error) { return audio.Decode(b, "") }
	cache, err := tts.NewCache(provider, decode, tts.WithCacheBytes(int64(cfg.TTSCacheMB)<<20))
	if err != nil {
		return nil, fmt.Errorf("text-to-speech cache: %w", err)
	}
	log.Info("text-to-speech ready", "engine", cache.Engine())
	return speech{cache}, nil
}

// speech adapts the tts cache to what the call actor asks of it.
type speech struct{ c *tts.Cache }

func (s speech) Speak(ctx context.Context, r call.SpeechRequest) (call.SpeechResult, error) {
	sp, err := s.c.Say(ctx, tts.Request{Text: r.Text, Voice: r.Voice, Language: r.Language})
	if err != nil {
		return call.SpeechResult{}, err
	}
	return call.SpeechResult{Audio: sp.Clip, Language: sp.Language, FellBack: sp.LanguageFellBack}, nil
}
