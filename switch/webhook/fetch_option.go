package webhook

import (
	"errors"
	"log/slog"
	"time"
)

// FetcherOption configures a Fetcher in NewFetcher.
type FetcherOption func(*Fetcher) error

// WithFetchTimeout bounds each request (primary and fallback separately),
// on top of the caller's context. Default 10 s.
func WithFetchTimeout(d time.Duration) FetcherOption {
	return func(f *Fetcher) error {
		if d <= 0 {
			return errors.New("webhook: fetch timeout must be positive")
		}
		f.timeout = d
		return nil
	}
}

// WithMaxDocumentSize caps a document's body; a larger one is a protocol
// failure (11206). Default 1 MiB.
func WithMaxDocumentSize(n int64) FetcherOption {
	return func(f *Fetcher) error {
		if n <= 0 {
			return errors.New("webhook: max document size must be positive")
		}
		f.maxBody = n
		return nil
	}
}

// WithFetchLogger sets the logger. Default: discard.
func WithFetchLogger(l *slog.Logger) FetcherOption {
	return func(f *Fetcher) error {
		if l == nil {
			return errors.New("webhook: nil logger")
		}
		f.log = l
		return nil
	}
}
