package wasmhost

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/patchbay/patchbay/wasmhost/internal/abi"
	"github.com/patchbay/patchbay/wasmhost/internal/latency"
	"github.com/patchbay/patchbay/wasmhost/internal/pool"
)

// Module is one loaded plugin version: a compiled module (shared with any
// Module loaded from the same bytes) and its own pool of instances, which
// are never shared with another Module. Its methods are safe for concurrent
// use; each invocation gets an instance of its own.
type Module struct {
	host  *Host
	c     *compiled
	opts  ModuleOptions
	hooks map[string]bool // hook exports with the right type
	group *pool.Group

	closeOnce sync.Once
	closed    atomic.Bool

	invocations, timeouts, canceled, traps, memoryHits, badOutputs, instantiations atomic.Uint64
	latency                                                                        *latency.Histogram
}

func newModule(h *Host, c *compiled, opts ModuleOptions) *Module {
	m := &Module{host: h, c: c, opts: opts, latency: latency.New()}
	m.group = h.budget.NewGroup(h.cfg.PoolSize, func(ctx context.Context) (pool.Item, error) {
		m.instantiations.Add(1)
		// Starting an instance is the host's cost, not the guest's decision:
		// it gets LoadTimeout of its own (a module whose start loops was
		// refused at Load), so a cold start on a loaded machine does not eat
		// the invocation budget. Cancellation by the caller still applies.
		ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.LoadTimeout)
		defer cancel()
		stop := context.AfterFunc(ctx, func() {
			if errors.Is(context.Cause(ctx), context.Canceled) {
				cancel()
			}
		})
		defer stop()
		return m.newInstance(ictx)
	})
	return m
}

// validate runs the static checks, then one instance: its ABI version and,
// when it says, the hooks it implements.
func (m *Module) validate(ctx context.Context, cm wazero.CompiledModule) error {
	hooks, err := m.host.checkStatic(cm, m.opts)
	if err != nil {
		return err
	}
	m.hooks = hooks
	ctx, cancel := context.WithTimeout(ctx, m.host.cfg.LoadTimeout)
	defer cancel()
	it, err := m.group.Get(ctx, 0)
	if err != nil {
		return m.poolError("", err)
	}
	inst := it.(*instance)
	version, hookList, err := inst.describe(ctx, m.opts.Name)
	if err != nil {
		m.group.Put(inst, false)
		return err
	}
	m.group.Put(inst, true)
	if version != abi.Version {
		return &Error{Plugin: m.opts.Name, Kind: ErrABIVersion,
			Detail: fmt.Sprintf("module speaks ABI version %d, this host speaks version %d", version, abi.Version)}
	}
	if hookList != nil {
		implemented := map[string]bool{}
		for _, h := range strings.Fields(*hookList) {
			implemented[h] = true
		}
		for _, h := range m.opts.Hooks {
			if !implemented[h] {
				return &Error{Plugin: m.opts.Name, Kind: ErrMissingExport,
					Detail: fmt.Sprintf("module exports hook %s but does not implement it (it implements %q)", h, *hookList)}
			}
		}
	}
	return nil
}

// Name is ModuleOptions.Name.
func (m *Module) Name() string { return m.opts.Name }

// Hash is the hex sha256 of the module's bytes: its version.
func (m *Module) Hash() string { return m.c.hash }

// Invoke runs hook with input on an instance of its own and returns a copy
// of the output. Waiting for a free instance and the call are each bounded
// by the module's timeout, starting a fresh instance by Config.LoadTimeout,
// and all of it by ctx. On any failure the instance is discarded and the
// error matches one of ErrTimeout, ErrCanceled, ErrTrap, ErrMemoryLimit,
// ErrBadOutput, ErrMissingExport, ErrInputTooLarge or ErrClosed.
func (m *Module) Invoke(ctx context.Context, hook string, input []byte, info CallInfo) ([]byte, error) {
	start := time.Now()
	out, err := m.invoke(ctx, hook, input, info)
	m.record(time.Since(start), err)
	return out, err
}

func (m *Module) invoke(ctx context.Context, hook string, input []byte, info CallInfo) ([]byte, error) {
	if m.closed.Load() {
		return nil, &Error{Plugin: m.opts.Name, Hook: hook, Kind: ErrClosed}
	}
	if !m.hooks[hook] {
		return nil, &Error{Plugin: m.opts.Name, Hook: hook, Kind: ErrMissingExport,
			Detail: fmt.Sprintf("module does not export %s", abi.HookExport(hook))}
	}
	if len(input) > abi.MaxInputBytes {
		return nil, &Error{Plugin: m.opts.Name, Hook: hook, Kind: ErrInputTooLarge,
			Detail: fmt.Sprintf("input is %d bytes, the limit is %d", len(input), abi.MaxInputBytes)}
	}
	// Before the budget starts: see Host.use.
	if _, err := m.host.use(ctx, m.c); err != nil {
		return nil, m.poolError(hook, err)
	}
	defer m.host.done(m.c)
	// The budget bounds waiting for a busy pool, then, afresh, the call
	// itself: a cold instance start (bounded by LoadTimeout) is not the
	// guest's time.
	it, err := m.group.Get(ctx, m.opts.Timeout)
	if err != nil {
		return nil, m.poolError(hook, err)
	}
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	inst := it.(*instance)
	out, err := inst.call(ctx, m.opts.Name, hook, input, info.CallSid)
	m.group.Put(inst, err == nil)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Hook = hook
		}
		return nil, err
	}
	return out, nil
}

// poolError turns a failure to get an instance into an *Error.
func (m *Module) poolError(hook string, err error) error {
	var e *Error
	switch {
	case errors.As(err, &e):
		e.Hook = hook
		return e
	case errors.Is(err, pool.ErrClosed):
		return &Error{Plugin: m.opts.Name, Hook: hook, Kind: ErrClosed}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Plugin: m.opts.Name, Hook: hook, Kind: ErrTimeout, Detail: "no instance became free within the budget"}
	case errors.Is(err, context.Canceled):
		return &Error{Plugin: m.opts.Name, Hook: hook, Kind: ErrCanceled}
	}
	return &Error{Plugin: m.opts.Name, Hook: hook, Kind: ErrTrap, Detail: firstLine(err.Error())}
}

func (m *Module) record(d time.Duration, err error) {
	m.invocations.Add(1)
	m.latency.Observe(d)
	switch {
	case err == nil:
	case errors.Is(err, ErrTimeout):
		m.timeouts.Add(1)
	case errors.Is(err, ErrCanceled):
		m.canceled.Add(1)
	case errors.Is(err, ErrMemoryLimit):
		m.memoryHits.Add(1)
	case errors.Is(err, ErrBadOutput):
		m.badOutputs.Add(1)
	case errors.Is(err, ErrTrap):
		m.traps.Add(1)
	}
}

// ModuleStats is a snapshot of one Module's counters.
type ModuleStats struct {
	Name, Hash string
	// Invocations counts every Invoke; the next five count its failures.
	Invocations     uint64
	Timeouts        uint64
	Canceled        uint64
	Traps           uint64
	MemoryLimitHits uint64
	BadOutputs      uint64
	// Instantiations counts instances started (pool misses, replacements).
	Instantiations uint64
	// LatencySum is the total time spent in Invoke; P50 and P99 are
	// estimated from a histogram whose buckets are 19 % wide.
	LatencySum     time.Duration
	P50, P99       time.Duration
	InstancesInUse int
	InstancesIdle  int
	// CodeResident tells whether the module's compiled code is in memory
	// (false after an eviction, until its next use).
	CodeResident bool
}

// Stats returns the module's counters.
func (m *Module) Stats() ModuleStats {
	inUse, idle := m.group.Counts()
	return ModuleStats{
		Name: m.opts.Name, Hash: m.c.hash,
		Invocations: m.invocations.Load(), Timeouts: m.timeouts.Load(), Canceled: m.canceled.Load(),
		Traps: m.traps.Load(), MemoryLimitHits: m.memoryHits.Load(), BadOutputs: m.badOutputs.Load(),
		Instantiations: m.instantiations.Load(),
		LatencySum:     m.latency.Sum(), P50: m.latency.Quantile(0.5), P99: m.latency.Quantile(0.99),
		InstancesInUse: inUse, InstancesIdle: idle,
		CodeResident: m.host.isResident(m.c),
	}
}

// Close unloads the module: idle instances are closed now, running
// invocations finish on theirs, which are then closed, and later Invokes
// fail with ErrClosed. Closing twice is harmless.
func (m *Module) Close() {
	m.closeOnce.Do(func() {
		m.closed.Store(true)
		m.group.Close()
		m.host.forget(m)
		m.host.release(m.c)
	})
}
