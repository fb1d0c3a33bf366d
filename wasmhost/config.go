package wasmhost

import (
	"log/slog"
	"time"
)

// Config is the operator's configuration of a Host. The zero value works:
// every zero field takes the default its comment names.
type Config struct {
	// CacheDir holds wazero's compilation cache, so a restart does not
	// recompile. Empty: compile in memory only.
	CacheDir string
	// MaxModuleBytes bounds an uploaded module. Default 16 MiB.
	MaxModuleBytes int
	// DefaultTimeout is an invocation's budget when the module asks for
	// none; MaxTimeout bounds what a module may ask for. Defaults 50 ms and
	// 1 s.
	DefaultTimeout, MaxTimeout time.Duration
	// DefaultMemoryMB is an instance's memory cap when the module asks for
	// none; MaxMemoryMB bounds what a module may ask for. Defaults 64 and
	// 256 MiB.
	DefaultMemoryMB, MaxMemoryMB int
	// PoolSize bounds the live instances of one module, hence its
	// concurrent invocations. Default 4.
	PoolSize int
	// IdleMemoryBytes bounds the memory held by idle instances of all
	// modules together; the least recently used are closed beyond it.
	// Default 256 MiB; negative means no bound.
	IdleMemoryBytes int64
	// MaxCompiledModules bounds the distinct compiled modules whose
	// machine code stays in memory (a Go guest's is several MiB). Beyond
	// it the least recently used one that no invocation is using is
	// evicted, with the idle instances of its plugins, and compiled again
	// on its next use: from CacheDir's compilation cache (~40 ms for a Go
	// guest) when set, in which case the module bytes wait there too, or
	// from bytes kept in memory otherwise. 0 means no bound.
	MaxCompiledModules int
	// LoadTimeout bounds the validation run of Load (compile excluded)
	// and a recompilation after eviction.
	// Default 5 s.
	LoadTimeout time.Duration
	// GuestLogBytes bounds what one invocation may write to stdout and to
	// stderr each. Default 4 KiB.
	GuestLogBytes int
	// Logger receives guest output and host events. Default: discard.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.MaxModuleBytes <= 0 {
		c.MaxModuleBytes = 16 << 20
	}
	if c.DefaultTimeout <= 0 {
		c.DefaultTimeout = 50 * time.Millisecond
	}
	if c.MaxTimeout <= 0 {
		c.MaxTimeout = time.Second
	}
	c.MaxTimeout = max(c.MaxTimeout, c.DefaultTimeout)
	if c.DefaultMemoryMB <= 0 {
		c.DefaultMemoryMB = 64
	}
	if c.MaxMemoryMB <= 0 {
		c.MaxMemoryMB = 256
	}
	c.MaxMemoryMB = min(max(c.MaxMemoryMB, c.DefaultMemoryMB), 4095)
	if c.PoolSize <= 0 {
		c.PoolSize = 4
	}
	if c.IdleMemoryBytes == 0 {
		c.IdleMemoryBytes = 256 << 20
	}
	if c.LoadTimeout <= 0 {
		c.LoadTimeout = 5 * time.Second
	}
	if c.GuestLogBytes <= 0 {
		c.GuestLogBytes = 4 << 10
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// ModuleOptions is what a tenant asks for one module.
type ModuleOptions struct {
	// Name identifies the plugin in errors, logs and stats.
	Name string
	// MemoryMB caps each instance's memory; 0 means Config.DefaultMemoryMB.
	// Over Config.MaxMemoryMB is clamped to it.
	MemoryMB int
	// Timeout is each invocation's budget; 0 means Config.DefaultTimeout.
	// Over Config.MaxTimeout is clamped to it.
	Timeout time.Duration
	// Hooks the module must implement (e.g. "redirect"): Load refuses a
	// module without their exports.
	Hooks []string
}

// CallInfo says on whose behalf an invocation runs; it tags the guest's
// log lines.
type CallInfo struct {
	CallSid string
}
