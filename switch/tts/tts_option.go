package tts

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Option configures a provider made by New, NewEspeak or NewHTTP. Options
// that do not concern a provider are ignored by it.
type Option func(*config) error

type config struct {
	maxText    int
	maxAudio   int64
	timeout    time.Duration
	espeakPath string
	client     *http.Client
	log        *slog.Logger
}

func defaultConfig() config {
	return config{
		maxText:    4096,
		maxAudio:   16 << 20,
		timeout:    10 * time.Second,
		espeakPath: "espeak-ng",
		log:        slog.New(slog.DiscardHandler),
	}
}

func newConfig(opts []Option) (config, error) {
	c := defaultConfig()
	for _, o := range opts {
		if err := o(&c); err != nil {
			return c, err
		}
	}
	if c.client == nil {
		// No overall client timeout: each request is bounded by its context.
		c.client = &http.Client{}
	}
	return c, nil
}

// WithMaxText bounds a text in bytes (after trimming); a longer one fails
// with ErrTextTooLong. Default 4096, about 700 words: four minutes of
// espeak-ng speech.
func WithMaxText(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("tts: max text %d must be positive", n)
		}
		c.maxText = n
		return nil
	}
}

// WithMaxAudioBytes bounds the audio one synthesis may return; more fails
// with ErrAudioTooLarge (and espeak-ng is killed). Default 16 MiB, about six
// minutes of espeak-ng's 22,050 Hz 16-bit output.
func WithMaxAudioBytes(n int64) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("tts: max audio bytes %d must be positive", n)
		}
		c.maxAudio = n
		return nil
	}
}

// WithTimeout bounds one synthesis (an espeak-ng run, an HTTP request), on
// top of the caller's context. Default 10 s.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return errors.New("tts: timeout must be positive")
		}
		c.timeout = d
		return nil
	}
}

// WithEspeakPath runs this espeak-ng binary (a name is looked up in PATH).
// Default "espeak-ng".
func WithEspeakPath(path string) Option {
	return func(c *config) error {
		if path == "" {
			return errors.New("tts: empty espeak-ng path")
		}
		c.espeakPath = path
		return nil
	}
}

// WithHTTPClient sends the HTTP provider's requests with client, for
// instance the switch's shared webhook client (pooled connections, a
// User-Agent). Default: a client of its own with the standard transport.
func WithHTTPClient(client *http.Client) Option {
	return func(c *config) error {
		if client == nil {
			return errors.New("tts: nil HTTP client")
		}
		c.client = client
		return nil
	}
}

// WithLogger sets the logger. Default: discard.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("tts: nil logger")
		}
		c.log = l
		return nil
	}
}
