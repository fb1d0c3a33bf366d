package webhook

import (
	"errors"
	"log/slog"
	"time"
)

// OutboxOption configures an Outbox in NewOutbox.
type OutboxOption func(*Outbox) error

// WithOutboxLogger sets the logger. Default: discard.
func WithOutboxLogger(l *slog.Logger) OutboxOption {
	return func(o *Outbox) error {
		if l == nil {
			return errors.New("webhook: nil logger")
		}
		o.log = l
		return nil
	}
}

// WithWorkers bounds how many callbacks are in flight at once (each to a
// different call). Default 16.
func WithWorkers(n int) OutboxOption {
	return func(o *Outbox) error {
		if n < 1 {
			return errors.New("webhook: workers must be at least 1")
		}
		o.workers = n
		return nil
	}
}

// WithBackoff sets the delay after the first failed attempt (doubled after
// each further failure) and its cap. Each delay is drawn uniformly from
// [d/2, d] so that callbacks failing together do not retry together.
// Default 1 s and 5 min.
func WithBackoff(first, limit time.Duration) OutboxOption {
	return func(o *Outbox) error {
		if first <= 0 || limit < first {
			return errors.New("webhook: backoff needs 0 < first <= limit")
		}
		o.backoffFirst, o.backoffMax = first, limit
		return nil
	}
}

// WithMaxAttempts gives up on a callback after n failed attempts. Default 20.
func WithMaxAttempts(n int) OutboxOption {
	return func(o *Outbox) error {
		if n < 1 {
			return errors.New("webhook: max attempts must be at least 1")
		}
		o.maxAttempts = n
		return nil
	}
}

// WithMaxAge gives up on a callback instead of retrying it later than d
// after it was enqueued. Every callback gets at least one attempt, however
// old. Default 24 h.
func WithMaxAge(d time.Duration) OutboxOption {
	return func(o *Outbox) error {
		if d <= 0 {
			return errors.New("webhook: max age must be positive")
		}
		o.maxAge = d
		return nil
	}
}

// WithDeliveryTimeout bounds each delivery request. Default 10 s.
func WithDeliveryTimeout(d time.Duration) OutboxOption {
	return func(o *Outbox) error {
		if d <= 0 {
			return errors.New("webhook: delivery timeout must be positive")
		}
		o.requestTimeout = d
		return nil
	}
}

// WithPollInterval sets how often Run reads the store even when nothing woke
// it, a safety net for items it was not told about. Default 5 s.
func WithPollInterval(d time.Duration) OutboxOption {
	return func(o *Outbox) error {
		if d <= 0 {
			return errors.New("webhook: poll interval must be positive")
		}
		o.pollInterval = d
		return nil
	}
}
