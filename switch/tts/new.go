package tts

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Engine settings of New, as in the switch's --tts flag.
const (
	SettingAuto   = "auto"
	SettingEspeak = EngineEspeak
	SettingHTTP   = EngineHTTP
	SettingNone   = "none"
)

// New returns the provider the switch's configuration asks for:
//
//   - "auto" (or ""): espeak-ng when installed, else an error matching
//     ErrNoEngine;
//   - "espeak-ng": espeak-ng, and an error if it is missing or broken;
//   - "http": the service at rawURL (required);
//   - "none": an error matching ErrNoEngine.
//
// An ErrNoEngine outcome is not a configuration mistake: the switch logs it
// at start-up and runs with a Cache made with a nil provider, whose Says
// fail with ErrNoEngine. Any other error is. ctx bounds the espeak-ng
// probe.
func New(ctx context.Context, setting, rawURL string, opts ...Option) (Provider, error) {
	switch strings.ToLower(strings.TrimSpace(setting)) {
	case SettingAuto, "":
		e, err := NewEspeak(ctx, opts...)
		if errors.Is(err, errNotInstalled) {
			return nil, fmt.Errorf("%w: --tts=auto and %w", ErrNoEngine, err)
		}
		if err != nil {
			return nil, err
		}
		return e, nil
	case SettingEspeak:
		e, err := NewEspeak(ctx, opts...)
		if err != nil {
			return nil, err
		}
		return e, nil
	case SettingHTTP:
		if strings.TrimSpace(rawURL) == "" {
			return nil, errors.New("tts: --tts=http needs --tts-url")
		}
		h, err := NewHTTP(rawURL, opts...)
		if err != nil {
			return nil, err
		}
		return h, nil
	case SettingNone:
		return nil, fmt.Errorf("%w: --tts=none", ErrNoEngine)
	}
	return nil, fmt.Errorf("tts: unknown engine %q: want auto, espeak-ng, http or none", setting)
}
