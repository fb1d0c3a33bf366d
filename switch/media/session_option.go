package media

import (
	"errors"
	"log/slog"
)

// SessionOption configures a Session in NewSession.
type SessionOption func(*Session) error

// WithLogger sets the logger; by default the session logs nothing.
func WithLogger(l *slog.Logger) SessionOption {
	return func(s *Session) error {
		if l == nil {
			return errors.New("media: nil logger")
		}
		s.log = l
		return nil
	}
}

// WithDigitHandler sets the function told of each received DTMF digit,
// once per key press. It runs on the read goroutine and must not block
// (post to the call's mailbox). By default digits are only counted.
// Session.SetDigitHandler replaces it later.
func WithDigitHandler(f func(Digit)) SessionOption {
	return func(s *Session) error {
		s.SetDigitHandler(f)
		return nil
	}
}

// WithConsumer sets the first Consumer of received packets (see
// Session.SetConsumer). By default packets are dropped after counting.
func WithConsumer(c Consumer) SessionOption {
	return func(s *Session) error {
		s.SetConsumer(c)
		return nil
	}
}

// WithSSRC fixes the session's SSRC; by default it is random.
func WithSSRC(ssrc uint32) SessionOption {
	return func(s *Session) error {
		s.ssrc = ssrc
		return nil
	}
}
