package policy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/patchbay/patchbay/sdk"
	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
	"github.com/patchbay/patchbay/wasmhost"
)

// Errors of Install and Remove. Module validation failures are
// *wasmhost.Error values (match them with errors.Is on wasmhost.ErrCompile,
// ErrMissingExport, ErrABIVersion, ErrModuleTooLarge, ...), and Remove of an
// unknown plugin gives store.ErrNotFound.
var (
	// ErrInvalidName: a plugin name is not [A-Za-z0-9_-]{1,64}.
	ErrInvalidName = errors.New("policy: invalid plugin name")
	// ErrInvalidOptions: unknown or missing hooks, a fail mode other than
	// open or closed, a negative budget, or a Config over MaxConfigBytes.
	ErrInvalidOptions = errors.New("policy: invalid plugin options")
	// ErrClosed: the Engine was closed.
	ErrClosed = errors.New("policy: engine closed")
	// ErrBadChain: the chain given for a call does not end with the call's
	// account.
	ErrBadChain = errors.New("policy: chain does not end with the call's account")
)

// HookRCMLRedirect binds a plugin's redirect hook to RCML <Redirect> verbs
// as well as to LCM redirects: a tenant opts in by binding it. It runs the
// module's redirect export; no ABI change.
const HookRCMLRedirect = "rcml_redirect"

// Hooks returns every hook a plugin may bind, in the ABI's spelling (a new
// slice: the caller may keep or change it).
func Hooks() []string { return []string{sdk.HookRedirect, sdk.HookHangup, HookRCMLRedirect} }

// exportOf is the ABI hook a binding invokes.
func exportOf(binding string) string {
	if binding == HookRCMLRedirect {
		return sdk.HookRedirect
	}
	return binding
}

// exportsOf are the ABI hooks a module bound to bindings must export.
func exportsOf(bindings []string) []string {
	var out []string
	for _, b := range bindings {
		if e := exportOf(b); !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

// DefaultFailMode is the fail mode of a bound hook the tenant did not give
// one for: a broken redirect policy must not let calls go where the tenant
// forbade, a broken hangup policy must not keep calls up that someone wants
// ended.
func DefaultFailMode(hook string) string {
	if hook == sdk.HookHangup {
		return store.FailOpen
	}
	return store.FailClosed
}

// MaxConfigBytes bounds a plugin's Config: it is part of every input, which
// the ABI limits to 64 KiB.
const MaxConfigBytes = 16 << 10

// maxChainDepth bounds the walk up the account tree (the API allows 16
// levels), so a corrupt parent cycle cannot loop forever.
const maxChainDepth = 32

// decisionSidPrefix starts the sid of a store.Decision.
const decisionSidPrefix = "DE"

// Config is the operator's configuration of an Engine. Host and Store are
// required; every zero budget field takes the default its comment names,
// which are the wasmhost's: give both the same values.
type Config struct {
	Host   *wasmhost.Host
	Store  store.Store
	Logger *slog.Logger // default: discard
	// DefaultTimeout is a plugin's budget per invocation when the tenant
	// asks for none; MaxTimeout caps what a tenant may ask. 50 ms and 1 s.
	DefaultTimeout, MaxTimeout time.Duration
	// DefaultMemoryMB is an instance's memory cap when the tenant asks for
	// none; MaxMemoryMB caps what a tenant may ask. 64 and 256 MiB.
	DefaultMemoryMB, MaxMemoryMB int
	// MaxModuleBytes bounds an upload. 16 MiB.
	MaxModuleBytes int64
	// Now stamps plugin and decision records, and is the time plugins get
	// in their input ("now"). Default time.Now.
	Now func() time.Time
}

// InstallOptions is what a tenant asks for a plugin.
type InstallOptions struct {
	// Hooks to bind: at least one of Hooks, no repeats.
	Hooks []string
	// FailModes maps a bound hook to store.FailOpen or store.FailClosed;
	// a bound hook without one gets DefaultFailMode.
	FailModes map[string]string
	// TimeoutMs is the budget of one invocation, MemoryMB the memory cap of
	// one instance; 0 means the operator's default, and more than the
	// operator's maximum is capped to it.
	TimeoutMs int
	MemoryMB  int
	// Config is handed to the plugin with every input.
	Config string
}

// Engine runs the policy plugins of every tenant. Its methods are safe for
// concurrent use.
type Engine struct {
	cfg Config
	log *slog.Logger

	// installMu serialises Install, Remove and LoadAll: each reads the
	// store, loads a module and swaps; two at once on one name would race.
	installMu sync.Mutex

	// mu guards slots, closed and every version's refs and retired.
	// slots is indexed by account first, so a decision looks at the
	// plugins of the accounts of its chain only.
	mu     sync.Mutex
	slots  map[string]map[string]*slot
	closed bool
}

type slotKey struct{ account, name string }

// slot is one plugin (account and name) across its versions.
type slot struct {
	current  *version
	counters counters
}

// version is one loaded upload of a plugin.
type version struct {
	plugin  store.Plugin
	mod     *wasmhost.Module // nil when it failed to load at start-up
	loadErr string
	refs    int  // decisions running on it
	retired bool // replaced or removed: closed when refs drops to 0
}

// counters count a plugin's decisions since the Engine started, across its
// versions.
type counters struct {
	invocations, allowed, denied, rewritten                        atomic.Uint64
	failures, timeouts, traps, memoryHits, badOutputs, unavailable atomic.Uint64
}

// New returns an Engine with no plugin loaded; call LoadAll to load the
// stored ones.
func New(cfg Config) (*Engine, error) {
	switch {
	case cfg.Host == nil:
		return nil, errors.New("policy: Config.Host is required")
	case cfg.Store == nil:
		return nil, errors.New("policy: Config.Store is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.DefaultTimeout <= 0 {
		cfg.DefaultTimeout = 50 * time.Millisecond
	}
	if cfg.MaxTimeout <= 0 {
		cfg.MaxTimeout = time.Second
	}
	cfg.MaxTimeout = max(cfg.MaxTimeout, cfg.DefaultTimeout)
	if cfg.DefaultMemoryMB <= 0 {
		cfg.DefaultMemoryMB = 64
	}
	if cfg.MaxMemoryMB <= 0 {
		cfg.MaxMemoryMB = 256
	}
	cfg.MaxMemoryMB = max(cfg.MaxMemoryMB, cfg.DefaultMemoryMB)
	if cfg.MaxModuleBytes <= 0 {
		cfg.MaxModuleBytes = 16 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Engine{cfg: cfg, log: cfg.Logger, slots: map[string]map[string]*slot{}}, nil
}

// ValidName reports whether name is a plugin name: [A-Za-z0-9_-]{1,64}.
func ValidName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		switch b := name[i]; {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9', b == '_', b == '-':
		default:
			return false
		}
	}
	return true
}

// normalise checks opts and applies the operator's defaults and maxima.
func (e *Engine) normalise(opts InstallOptions) (InstallOptions, error) {
	out := InstallOptions{FailModes: map[string]string{}, Config: opts.Config}
	known := strings.Join(Hooks(), ", ")
	if len(opts.Hooks) == 0 {
		return out, fmt.Errorf("%w: bind at least one hook of %s", ErrInvalidOptions, known)
	}
	for _, h := range opts.Hooks {
		if !slices.Contains(Hooks(), h) {
			return out, fmt.Errorf("%w: unknown hook %q (hooks are %s)", ErrInvalidOptions, h, known)
		}
		if slices.Contains(out.Hooks, h) {
			return out, fmt.Errorf("%w: hook %s bound twice", ErrInvalidOptions, h)
		}
		out.Hooks = append(out.Hooks, h)
	}
	for h, mode := range opts.FailModes {
		if !slices.Contains(out.Hooks, h) {
			return out, fmt.Errorf("%w: fail mode given for hook %q, which is not bound", ErrInvalidOptions, h)
		}
		if mode != store.FailOpen && mode != store.FailClosed {
			return out, fmt.Errorf("%w: fail mode of %s must be %s or %s, not %q", ErrInvalidOptions, h, store.FailOpen, store.FailClosed, mode)
		}
	}
	for _, h := range out.Hooks {
		out.FailModes[h] = DefaultFailMode(h)
		if mode, ok := opts.FailModes[h]; ok {
			out.FailModes[h] = mode
		}
	}
	switch {
	case opts.TimeoutMs < 0:
		return out, fmt.Errorf("%w: timeout %d ms is negative", ErrInvalidOptions, opts.TimeoutMs)
	case opts.MemoryMB < 0:
		return out, fmt.Errorf("%w: memory cap %d MiB is negative", ErrInvalidOptions, opts.MemoryMB)
	case len(opts.Config) > MaxConfigBytes:
		return out, fmt.Errorf("%w: config is %d bytes, the limit is %d", ErrInvalidOptions, len(opts.Config), MaxConfigBytes)
	}
	out.TimeoutMs = int(e.cfg.DefaultTimeout / time.Millisecond)
	if opts.TimeoutMs > 0 {
		out.TimeoutMs = min(opts.TimeoutMs, int(e.cfg.MaxTimeout/time.Millisecond))
	}
	out.TimeoutMs = max(out.TimeoutMs, 1)
	out.MemoryMB = e.cfg.DefaultMemoryMB
	if opts.MemoryMB > 0 {
		out.MemoryMB = min(opts.MemoryMB, e.cfg.MaxMemoryMB)
	}
	return out, nil
}

// load loads p's module into the wasmhost with p's budget and hooks.
func (e *Engine) load(ctx context.Context, p store.Plugin, wasm []byte) (*wasmhost.Module, error) {
	return e.cfg.Host.Load(ctx, wasm, wasmhost.ModuleOptions{
		Name:     p.Name,
		MemoryMB: p.MemoryMB,
		Timeout:  time.Duration(p.TimeoutMs) * time.Millisecond,
		Hooks:    exportsOf(p.Hooks),
	})
}

// Install validates, loads and stores a plugin of accountSid, replacing the
// one of that name if any (its sid and creation date are kept). Decisions
// running on the replaced version finish on it; later ones use the new one.
// Nothing changes when it fails. The record returned holds the budget as
// applied (defaults filled in, maxima enforced).
func (e *Engine) Install(ctx context.Context, accountSid, name string, wasm []byte, opts InstallOptions) (store.Plugin, error) {
	if !ValidName(name) {
		return store.Plugin{}, fmt.Errorf("%w: %q is not [A-Za-z0-9_-]{1,64}", ErrInvalidName, name)
	}
	opts, err := e.normalise(opts)
	if err != nil {
		return store.Plugin{}, err
	}
	if int64(len(wasm)) > e.cfg.MaxModuleBytes {
		return store.Plugin{}, &wasmhost.Error{Plugin: name, Kind: wasmhost.ErrModuleTooLarge,
			Detail: fmt.Sprintf("module is %d bytes, the limit is %d", len(wasm), e.cfg.MaxModuleBytes)}
	}
	e.installMu.Lock()
	defer e.installMu.Unlock()
	if e.isClosed() {
		return store.Plugin{}, ErrClosed
	}
	now := e.cfg.Now()
	p := store.Plugin{
		Sid: sid.New(sid.Plugin), AccountSid: accountSid, Name: name,
		Size: int64(len(wasm)), Hooks: opts.Hooks, FailModes: opts.FailModes,
		TimeoutMs: opts.TimeoutMs, MemoryMB: opts.MemoryMB, Config: opts.Config,
		DateCreated: now, DateUpdated: now,
	}
	old, err := e.cfg.Store.Plugin(ctx, accountSid, name)
	switch {
	case err == nil:
		p.Sid, p.DateCreated = old.Sid, old.DateCreated
	case !errors.Is(err, store.ErrNotFound):
		return store.Plugin{}, fmt.Errorf("policy: install %s/%s: %w", accountSid, name, err)
	}
	mod, err := e.load(ctx, p, wasm)
	if err != nil {
		return store.Plugin{}, err
	}
	p.Hash = mod.Hash()
	if err := e.cfg.Store.PutPlugin(ctx, p, wasm); err != nil {
		mod.Close()
		return store.Plugin{}, fmt.Errorf("policy: install %s/%s: %w", accountSid, name, err)
	}
	e.swap(slotKey{accountSid, name}, &version{plugin: p, mod: mod})
	e.log.Info("policy plugin installed", "account_sid", accountSid, "plugin", name, "hash", p.Hash,
		"hooks", p.Hooks, "timeout_ms", p.TimeoutMs, "memory_mb", p.MemoryMB)
	return p, nil
}

// Remove deletes a plugin (store.ErrNotFound if there is none). Decisions
// running on it finish; later ones no longer see it.
func (e *Engine) Remove(ctx context.Context, accountSid, name string) error {
	e.installMu.Lock()
	defer e.installMu.Unlock()
	if e.isClosed() {
		return ErrClosed
	}
	if err := e.cfg.Store.DeletePlugin(ctx, accountSid, name); err != nil {
		return fmt.Errorf("policy: remove %s/%s: %w", accountSid, name, err)
	}
	e.swap(slotKey{accountSid, name}, nil)
	e.log.Info("policy plugin removed", "account_sid", accountSid, "plugin", name)
	return nil
}

// LoadAll loads every stored plugin. A plugin whose module no longer loads
// (an operator limit lowered, a store inconsistency) is logged and kept as
// failing, so its fail mode applies; only a store failure is an error.
func (e *Engine) LoadAll(ctx context.Context) error {
	e.installMu.Lock()
	defer e.installMu.Unlock()
	if e.isClosed() {
		return ErrClosed
	}
	all, err := e.cfg.Store.AllPlugins(ctx)
	if err != nil {
		return fmt.Errorf("policy: load plugins: %w", err)
	}
	for _, p := range all {
		v := &version{plugin: p}
		wasm, err := e.cfg.Store.PluginModule(ctx, p.Hash)
		if err == nil {
			v.mod, err = e.load(ctx, p, wasm)
		}
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("policy: load plugins: %w", ctx.Err())
			}
			v.loadErr = err.Error()
			e.log.Error("policy plugin failed to load; its fail mode applies", "account_sid", p.AccountSid, "plugin", p.Name, "hash", p.Hash, "err", err)
		}
		e.swap(slotKey{p.AccountSid, p.Name}, v)
	}
	return nil
}

// Close unloads every plugin; decisions running finish first on theirs.
// Later calls fail with ErrClosed.
func (e *Engine) Close() {
	e.mu.Lock()
	e.closed = true
	var toClose []*wasmhost.Module
	for _, byName := range e.slots {
		for _, s := range byName {
			if m := e.retireLocked(s.current); m != nil {
				toClose = append(toClose, m)
			}
		}
	}
	clear(e.slots)
	e.mu.Unlock()
	for _, m := range toClose {
		m.Close()
	}
}

func (e *Engine) isClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

// swap makes v the current version of k (nil removes the plugin) and
// retires the previous one.
func (e *Engine) swap(k slotKey, v *version) {
	e.mu.Lock()
	s := e.slots[k.account][k.name]
	var old *version
	if s != nil {
		old = s.current
	}
	switch {
	case e.closed:
		old = v // never installed: close it at once
	case v == nil:
		delete(e.slots[k.account], k.name)
		if len(e.slots[k.account]) == 0 {
			delete(e.slots, k.account)
		}
	case s == nil:
		if e.slots[k.account] == nil {
			e.slots[k.account] = map[string]*slot{}
		}
		e.slots[k.account][k.name] = &slot{current: v}
	default:
		s.current = v
	}
	m := e.retireLocked(old)
	e.mu.Unlock()
	if m != nil {
		m.Close()
	}
}

// retireLocked marks v retired and returns its module if it must be
// closed now (nothing runs on it). Called with e.mu held.
func (e *Engine) retireLocked(v *version) *wasmhost.Module {
	if v == nil {
		return nil
	}
	v.retired = true
	if v.refs == 0 {
		return v.mod
	}
	return nil
}

// acquire returns the current version of a plugin with a reference held,
// or nil if the plugin is gone.
func (e *Engine) acquire(k slotKey) (*slot, *version) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.slots[k.account][k.name]
	if s == nil {
		return nil, nil
	}
	s.current.refs++
	return s, s.current
}

// release drops a reference taken by acquire, closing a retired version
// with its last one.
func (e *Engine) release(v *version) {
	e.mu.Lock()
	v.refs--
	var m *wasmhost.Module
	if v.retired && v.refs == 0 {
		m = v.mod
	}
	e.mu.Unlock()
	if m != nil {
		m.Close()
	}
}

// Binds reports whether any tenant has a plugin bound to hook. Callers
// skip loading the call and walking the account chain when none has: the
// common case, on the per-call path.
func (e *Engine) Binds(hook string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, byName := range e.slots {
		for _, s := range byName {
			if slices.Contains(s.current.plugin.Hooks, hook) {
				return true
			}
		}
	}
	return false
}

// bound returns the names of account's plugins bound to hook, in name
// order.
func (e *Engine) bound(account, hook string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var names []string
	for name, s := range e.slots[account] {
		if slices.Contains(s.current.plugin.Hooks, hook) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// Chain returns accountSid and its ancestors, root first: the accounts
// whose plugins decide about a call of accountSid.
func (e *Engine) Chain(ctx context.Context, accountSid string) ([]string, error) {
	var chain []string
	for cur := accountSid; cur != ""; {
		if len(chain) == maxChainDepth {
			return nil, fmt.Errorf("policy: account %s is more than %d levels deep (a parent cycle?)", accountSid, maxChainDepth)
		}
		chain = append(chain, cur)
		a, err := e.cfg.Store.Account(ctx, cur)
		if err != nil {
			return nil, fmt.Errorf("policy: chain of %s: %w", accountSid, err)
		}
		cur = a.ParentSid
	}
	slices.Reverse(chain)
	return chain, nil
}

// PluginStats counts a plugin's decisions since the Engine started, across
// its versions, and the current version's latency.
type PluginStats struct {
	// Loaded is false when the current version failed to load at start-up
	// (LoadError says why); it then fails every decision.
	Loaded    bool
	LoadError string
	// Invocations counts decisions; Allowed, Denied and Rewritten the
	// plugin's own verdicts, Failures the others, by kind below.
	Invocations, Allowed, Denied, Rewritten                             uint64
	Failures, Timeouts, Traps, MemoryLimitHits, BadOutputs, Unavailable uint64
	// P50 and P99 estimate the current version's invocation latency.
	P50, P99 time.Duration
}

// Stats returns a plugin's counters, or false if it is not installed.
func (e *Engine) Stats(accountSid, name string) (PluginStats, bool) {
	s, v := e.acquire(slotKey{accountSid, name})
	if s == nil {
		return PluginStats{}, false
	}
	defer e.release(v)
	c := &s.counters
	st := PluginStats{
		Loaded: v.mod != nil, LoadError: v.loadErr,
		Invocations: c.invocations.Load(), Allowed: c.allowed.Load(), Denied: c.denied.Load(), Rewritten: c.rewritten.Load(),
		Failures: c.failures.Load(), Timeouts: c.timeouts.Load(), Traps: c.traps.Load(),
		MemoryLimitHits: c.memoryHits.Load(), BadOutputs: c.badOutputs.Load(), Unavailable: c.unavailable.Load(),
	}
	if v.mod != nil {
		ms := v.mod.Stats()
		st.P50, st.P99 = ms.P50, ms.P99
	}
	return st, true
}

// newDecisionSid returns the sid of a new store.Decision.
func newDecisionSid() string { return sid.New(decisionSidPrefix) }
