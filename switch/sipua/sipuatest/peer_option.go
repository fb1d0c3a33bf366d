package sipuatest

import (
	"errors"
	"log/slog"
)

// Option configures a Peer. Options run after the defaults are set.
type Option func(*peerConfig) error

type peerConfig struct {
	tcp    bool
	user   string
	logger *slog.Logger
}

// WithTCP makes the peer listen on TCP too (on its own free port, see
// Peer.TCPAddr), so calls can be placed and received over TCP. Default: UDP
// only.
func WithTCP() Option {
	return func(c *peerConfig) error {
		c.tcp = true
		return nil
	}
}

// WithUser sets the user part of the peer's From and Contact URIs.
// Default: "peer".
func WithUser(user string) Option {
	return func(c *peerConfig) error {
		if user == "" {
			return errors.New("sipuatest: empty user")
		}
		c.user = user
		return nil
	}
}

// WithLogger sends the peer's log (and sipgo's) to l. Default: the test's
// log (t.Log) at Info level when built with NewPeer, nothing with New.
func WithLogger(l *slog.Logger) Option {
	return func(c *peerConfig) error {
		if l == nil {
			return errors.New("sipuatest: nil logger")
		}
		c.logger = l
		return nil
	}
}
