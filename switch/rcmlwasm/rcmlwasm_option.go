package rcmlwasm

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Option configures an Interpreter.
type Option func(*config) error

type config struct {
	module       []byte
	cacheEntries int
	cacheBytes   int64
	timeout      time.Duration
	memoryMB     int
	log          *slog.Logger
}

func defaultConfig() config {
	return config{
		cacheEntries: 1024,
		cacheBytes:   32 << 20,
		timeout:      500 * time.Millisecond,
		memoryMB:     64,
		log:          slog.New(slog.DiscardHandler),
	}
}

// WithModule runs wasm instead of the embedded RCML handler. It must export
// hook rcml_handle and speak the encoding of package wire. Default: the
// module of plugins/rcml/guest/embedded.
func WithModule(wasm []byte) Option {
	return func(c *config) error {
		if len(wasm) == 0 {
			return errors.New("rcmlwasm: empty module")
		}
		c.module = wasm
		return nil
	}
}

// WithCacheEntries bounds the number of cached plans; 0 turns the cache off.
// Default 1024.
func WithCacheEntries(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("rcmlwasm: cache entries %d < 0", n)
		}
		c.cacheEntries = n
		return nil
	}
}

// WithCacheBytes bounds the cached plans' total memory, estimated as four
// times the guest's encoded plan (the plan keeps its encoding, which its
// strings share; its Go values take ~2.3 times as much again). Default
// 32 MiB.
func WithCacheBytes(n int64) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("rcmlwasm: cache bytes %d < 0", n)
		}
		c.cacheBytes = n
		return nil
	}
}

// WithTimeout is the budget of one parse in the sandbox, waiting for a free
// instance included; wasmhost clamps it to its Config.MaxTimeout. Default
// 500 ms: the slowest document under the sandbox's input limit we found
// (7,000 verbs in 56 KiB) takes 150-230 ms in the guest.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("rcmlwasm: timeout %v <= 0", d)
		}
		c.timeout = d
		return nil
	}
}

// WithMemoryMB caps the memory of each guest instance; wasmhost clamps it
// to its Config.MaxMemoryMB. Default 64 MiB.
func WithMemoryMB(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("rcmlwasm: memory %d MiB <= 0", n)
		}
		c.memoryMB = n
		return nil
	}
}

// WithLogger receives sandbox failures. Default: discard.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("rcmlwasm: nil logger")
		}
		c.log = l
		return nil
	}
}
