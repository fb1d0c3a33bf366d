package wasmhost

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/patchbay/patchbay/wasmhost/gojumps"
	"github.com/patchbay/patchbay/wasmhost/internal/abi"
	"github.com/patchbay/patchbay/wasmhost/internal/pool"
)

// Host runs guest modules. It owns one wazero runtime, the compilation
// cache, the registry of compiled modules and the idle-instance budget.
// Its methods are safe for concurrent use.
type Host struct {
	cfg    Config
	rt     wazero.Runtime
	cache  wazero.CompilationCache // nil without Config.CacheDir
	budget *pool.Budget
	wasi   map[string]bool // functions the WASI host module exports

	mu                    sync.Mutex
	compiled              map[string]*compiled // by sha256 of the module bytes
	resident              list.List            // of *compiled with machine code in memory; see resident.go
	modules               map[*Module]struct{}
	closed                bool
	evictions, recompiles uint64
}

// compiled is a compiled module shared by every Module loaded from the
// same bytes; instances are never shared.
type compiled struct {
	hash  string
	ready chan struct{} // closed once the first compilation ended
	err   error         // of the first compilation
	wasm  []byte        // kept for recompilation without CacheDir (see keepBytes)

	// Guarded by Host.mu; see resident.go.
	cm      wazero.CompiledModule
	elem    *list.Element
	refs    int // Modules using it
	active  int
	loading chan struct{}
}

// New starts a host. One runtime serves every module: the runtime-wide
// memory limit is set to Config.MaxMemoryMB and each instance's own cap is
// enforced by its memory allocator (see internal/memcap), which avoids a
// runtime (and a WASI instance) per cap class.
func New(ctx context.Context, cfg Config) (*Host, error) {
	cfg = cfg.withDefaults()
	rc := wazero.NewRuntimeConfigCompiler().
		WithCloseOnContextDone(true). // a guest in a loop must be stoppable: never remove
		WithMemoryLimitPages(uint32(cfg.MaxMemoryMB) * 16)
	h := &Host{
		cfg:      cfg,
		budget:   pool.NewBudget(cfg.IdleMemoryBytes),
		compiled: map[string]*compiled{},
		modules:  map[*Module]struct{}{},
		wasi:     map[string]bool{},
	}
	if cfg.CacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("wasmhost: opening compilation cache %s: %w", cfg.CacheDir, err)
		}
		h.cache = cache
		rc = rc.WithCompilationCache(cache)
	}
	h.rt = wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, h.rt); err != nil {
		h.Close(ctx)
		return nil, fmt.Errorf("wasmhost: instantiating WASI: %w", err)
	}
	for name := range h.rt.Module(abi.WASIModule).ExportedFunctionDefinitions() {
		h.wasi[name] = true
	}
	return h, nil
}

// Load compiles (or finds already compiled) wasm, checks it against the
// ABI and opts.Hooks, and returns a Module ready to invoke. It runs the
// module once to read its ABI version, so a valid module comes back with
// one warm instance. Errors match ErrModuleTooLarge, ErrCompile,
// ErrMissingExport, ErrABIVersion, ErrMemoryLimit, ErrBadOutput (an
// unusable patchbay_hooks or patchbay_input_buffer answer), ErrTrap,
// ErrTimeout or ErrCanceled.
// Nothing is left behind on failure.
func (h *Host) Load(ctx context.Context, wasm []byte, opts ModuleOptions) (*Module, error) {
	opts = h.normalise(opts)
	fail := func(k kind, format string, args ...any) error {
		return &Error{Plugin: opts.Name, Kind: k, Detail: fmt.Sprintf(format, args...)}
	}
	if len(wasm) > h.cfg.MaxModuleBytes {
		return nil, fail(ErrModuleTooLarge, "module is %d bytes, the limit is %d", len(wasm), h.cfg.MaxModuleBytes)
	}
	for _, hook := range opts.Hooks {
		if !validHookName(hook) {
			return nil, fail(ErrMissingExport, "hook name %q is not [a-z0-9_]+", hook)
		}
	}
	c, err := h.acquire(ctx, wasm)
	if err != nil {
		if errors.Is(err, ErrClosed) || ctx.Err() != nil {
			return nil, err
		}
		return nil, fail(ErrCompile, "%v", firstLine(err.Error()))
	}
	m := newModule(h, c, opts)
	cm, err := h.use(ctx, c)
	if err != nil {
		m.Close()
		return nil, m.poolError("", err)
	}
	if err := m.validate(ctx, cm); err != nil {
		h.done(c)
		m.Close()
		return nil, err
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		h.done(c)
		m.Close()
		return nil, &Error{Plugin: opts.Name, Kind: ErrClosed}
	}
	h.modules[m] = struct{}{}
	h.mu.Unlock()
	h.done(c)
	return m, nil
}

func (h *Host) normalise(o ModuleOptions) ModuleOptions {
	if o.Name == "" {
		o.Name = "unnamed"
	}
	if o.MemoryMB <= 0 {
		o.MemoryMB = h.cfg.DefaultMemoryMB
	}
	o.MemoryMB = min(o.MemoryMB, h.cfg.MaxMemoryMB)
	if o.Timeout <= 0 {
		o.Timeout = h.cfg.DefaultTimeout
	}
	o.Timeout = min(o.Timeout, h.cfg.MaxTimeout)
	o.Hooks = append([]string(nil), o.Hooks...)
	return o
}

func validHookName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return true
}

// acquire returns the compiled module for wasm, compiling it unless a
// Module already uses the same bytes; concurrent loads of the same bytes
// compile once.
func (h *Host) acquire(ctx context.Context, wasm []byte) (*compiled, error) {
	sum := sha256.Sum256(wasm)
	hash := hex.EncodeToString(sum[:])
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, &Error{Kind: ErrClosed}
	}
	c, ok := h.compiled[hash]
	if ok {
		c.refs++
		h.mu.Unlock()
		select {
		case <-c.ready:
		case <-ctx.Done():
			h.release(c)
			return nil, fmt.Errorf("wasmhost: waiting for compilation: %w", ctx.Err())
		}
		if c.err != nil {
			h.release(c)
			return nil, c.err
		}
		return c, nil
	}
	c = &compiled{hash: hash, ready: make(chan struct{}), refs: 1}
	h.compiled[hash] = c
	h.mu.Unlock()
	cm, err := h.compile(ctx, wasm)
	if err == nil {
		if err = h.keepBytes(c, wasm); err != nil {
			cm.Close(context.Background())
		}
	}
	h.mu.Lock()
	if err == nil {
		c.cm = cm
		c.elem = h.resident.PushFront(c)
	}
	c.err = err
	h.mu.Unlock()
	close(c.ready)
	if err != nil {
		h.release(c)
		return nil, err
	}
	return c, nil
}

// compile compiles wasm after letting the forward jumps of Go-compiled
// code skip wazero's termination check (package gojumps): in a Go guest
// those checks are most of the time spent, and a forward jump cannot be
// part of a loop that needs one. Modules the rewrite cannot read are
// compiled as they are.
func (h *Host) compile(ctx context.Context, wasm []byte) (wazero.CompiledModule, error) {
	fast, st, err := gojumps.Rewrite(wasm)
	if err != nil {
		h.cfg.Logger.Debug("wasmhost: compiling the module unchanged", "err", err)
		return h.rt.CompileModule(ctx, wasm)
	}
	cm, fastErr := h.rt.CompileModule(ctx, fast)
	if fastErr == nil {
		if st.Forward > 0 {
			h.cfg.Logger.Debug("wasmhost: direct forward jumps", "dispatch_functions", st.Dispatch,
				"forward", st.Forward, "backward", st.Backward, "unlooped", st.Unlooped)
		}
		return cm, nil
	}
	// The rewrite keeps a valid module valid, so the original normally
	// fails the same way, and compiling it reports the error against the
	// uploaded bytes. If the original compiles, the rewrite is at fault:
	// the module still runs, unchanged, and the fault is logged.
	cm, err = h.rt.CompileModule(ctx, wasm)
	if err == nil && ctx.Err() == nil {
		h.cfg.Logger.Error("wasmhost: gojumps produced a module wazero rejects; compiled the module unchanged", "err", fastErr)
	}
	return cm, err
}

// release drops a Module's reference to c and closes it with the last one.
func (h *Host) release(c *compiled) {
	h.mu.Lock()
	c.refs--
	last := c.refs == 0
	var cm wazero.CompiledModule
	if last {
		if h.compiled[c.hash] == c {
			delete(h.compiled, c.hash)
		}
		if c.elem != nil {
			h.resident.Remove(c.elem)
		}
		cm, c.cm, c.elem = c.cm, nil, nil
	}
	h.mu.Unlock()
	if cm != nil {
		// Safe with instances still running: wazero documents that
		// closing a compiled module does not affect its instances.
		cm.Close(context.Background())
	}
}

func (h *Host) forget(m *Module) {
	h.mu.Lock()
	delete(h.modules, m)
	h.mu.Unlock()
}

// checkStatic checks what can be checked without running the module:
// imports, exports and their types, and the initial memory against the cap.
func (h *Host) checkStatic(cm wazero.CompiledModule, opts ModuleOptions) (hooks map[string]bool, err error) {
	fail := func(k kind, format string, args ...any) error {
		return &Error{Plugin: opts.Name, Kind: k, Detail: fmt.Sprintf(format, args...)}
	}
	for _, f := range cm.ImportedFunctions() {
		mod, name, _ := f.Import()
		if mod != abi.WASIModule || !h.wasi[name] {
			return nil, fail(ErrCompile, "module imports %s.%s, which the host does not provide (only %s)", mod, name, abi.WASIModule)
		}
	}
	if len(cm.ImportedMemories()) > 0 {
		return nil, fail(ErrCompile, "module imports a memory; it must define and export its own")
	}
	mem, ok := cm.ExportedMemories()[abi.ExportMemory]
	if !ok {
		return nil, fail(ErrMissingExport, "module does not export its memory as %q", abi.ExportMemory)
	}
	if need, limit := uint64(mem.Min())*65536, uint64(opts.MemoryMB)<<20; need > limit {
		return nil, fail(ErrMemoryLimit, "module needs %d KiB of memory at start, its cap is %d MiB", need>>10, opts.MemoryMB)
	}
	exports := cm.ExportedFunctions()
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	want := func(name string, params, results []api.ValueType) error {
		f, ok := exports[name]
		if !ok {
			return fail(ErrMissingExport, "module does not export %s", name)
		}
		if !sameTypes(f.ParamTypes(), params) || !sameTypes(f.ResultTypes(), results) {
			return fail(ErrMissingExport, "export %s has type %s, want %s",
				name, signature(f.ParamTypes(), f.ResultTypes()), signature(params, results))
		}
		return nil
	}
	if err := want(abi.ExportVersion, nil, []api.ValueType{i32}); err != nil {
		return nil, err
	}
	if err := want(abi.ExportAlloc, []api.ValueType{i32}, []api.ValueType{i32}); err != nil {
		return nil, err
	}
	for _, optional := range []string{abi.ExportHooks, abi.ExportInputBuffer} {
		if _, ok := exports[optional]; ok {
			if err := want(optional, nil, []api.ValueType{i64}); err != nil {
				return nil, err
			}
		}
	}
	for _, hook := range opts.Hooks {
		if err := want(abi.HookExport(hook), []api.ValueType{i32, i32}, []api.ValueType{i64}); err != nil {
			return nil, err
		}
	}
	hooks = map[string]bool{}
	for name, f := range exports {
		hook, ok := strings.CutPrefix(name, abi.HookExportPrefix)
		if ok && sameTypes(f.ParamTypes(), []api.ValueType{i32, i32}) && sameTypes(f.ResultTypes(), []api.ValueType{i64}) {
			hooks[hook] = true
		}
	}
	return hooks, nil
}

func sameTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func signature(params, results []api.ValueType) string {
	names := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf("(%s) -> (%s)", names(params), names(results))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// HostStats is a snapshot of a Host's counters.
type HostStats struct {
	Modules         []ModuleStats // one per loaded Module
	CompiledModules int           // distinct compiled modules (by hash)
	// ResidentCompiled counts the compiled modules whose machine code is
	// in memory; the others were evicted (Config.MaxCompiledModules).
	ResidentCompiled int
	// CompiledEvictions and Recompilations count compiled modules evicted
	// and compiled again on their next use.
	CompiledEvictions, Recompilations uint64
	IdleBytes                         int64 // memory of idle instances, all modules
	IdleBudget                        int64 // Config.IdleMemoryBytes
}

// Stats returns the host's counters and every module's.
func (h *Host) Stats() HostStats {
	h.mu.Lock()
	mods := make([]*Module, 0, len(h.modules))
	for m := range h.modules {
		mods = append(mods, m)
	}
	s := HostStats{CompiledModules: len(h.compiled), ResidentCompiled: h.resident.Len(),
		CompiledEvictions: h.evictions, Recompilations: h.recompiles,
		IdleBytes: h.budget.IdleBytes(), IdleBudget: h.cfg.IdleMemoryBytes}
	h.mu.Unlock()
	for _, m := range mods {
		s.Modules = append(s.Modules, m.Stats())
	}
	return s
}

// Close closes every module and the runtime; running invocations are
// stopped (they fail with ErrCanceled or ErrTrap). The compilation cache on
// disk stays for the next start.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	mods := make([]*Module, 0, len(h.modules))
	for m := range h.modules {
		mods = append(mods, m)
	}
	h.mu.Unlock()
	for _, m := range mods {
		m.Close()
	}
	var errs []error
	if err := h.rt.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("wasmhost: closing runtime: %w", err))
	}
	if h.cache != nil {
		if err := h.cache.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("wasmhost: closing compilation cache: %w", err))
		}
	}
	return errors.Join(errs...)
}
