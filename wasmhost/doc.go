// Package wasmhost runs guest WebAssembly modules (tenant policy plugins,
// the RCML handler) in a sandbox: bytes in, bytes out, for a named hook. It
// knows nothing of calls; the ABI it speaks is sdk/README.md.
//
// # Lifecycle
//
// New starts a Host (one wazero runtime, compiler engine, an on-disk
// compilation cache in Config.CacheDir). Host.Load validates a module
// (size, compile, imports, exports and their types, initial memory against
// the cap, then one instance is started to read its ABI version and the
// hooks it implements) and returns a Module; any failure cleans up what was
// built. Module.Invoke runs a hook on an instance of the Module's pool.
// Module.Close unloads it (invocations in flight finish); Host.Close stops
// everything. To replace a plugin atomically, Load the new version, swap
// the *Module the caller uses, then Close the old one.
//
// # Decisions
//
// Registry: compiled modules are keyed by the sha256 of their bytes and
// shared between Modules with the same bytes; instances never are, so one
// tenant's guest state is never visible to another's.
//
// Pool: each Module has at most Config.PoolSize instances, each serving
// one invocation at a time. An instance that failed in any way (trap,
// timeout, memory cap, bad output) is closed and replaced lazily by the
// next invocation. Idle instances of all modules share a memory budget
// (Config.IdleMemoryBytes); beyond it the least recently used are closed.
//
// Deadlines: every invocation (waiting for an instance, starting one, the
// call) runs under the module's timeout with WithCloseOnContextDone(true),
// which really stops a guest in a loop; without it a runaway guest hangs
// the host at the next garbage collection.
//
// Memory caps: the runtime-wide limit (WithMemoryLimitPages) is set to
// Config.MaxMemoryMB, and each instance gets its own cap through wazero's
// experimental memory allocator (internal/memcap), which refuses growth
// past the cap and remembers it, so a cap hit is reported as
// ErrMemoryLimit rather than a bare trap. This avoids a runtime (and a
// WASI instance and a compiled copy) per cap class; the cost is a
// dependency on wazero's experimental API, checked by the memory-bomb test.
//
// Sandbox: see Module.newInstance: no files, network, arguments or
// environment; fake clocks and a fixed-seed random source.
//
// Guest output: stdout and stderr are logged line by line with the plugin
// name and the call sid, bounded per invocation (Config.GuestLogBytes).
//
// # Not done yet: evicting compiled modules
//
// Idle instances are evicted under the budget; compiled modules are not:
// each distinct module keeps its machine code while a Module uses it. The
// design: keep the module bytes in CacheDir (by hash) rather than in
// memory, count compiled modules against the same budget, and when a
// compiled module has no instance in use and the budget is exceeded, close
// it; the next Invoke recompiles from the bytes, which the on-disk
// compilation cache turns into a ~40 ms load instead of ~0.8 s.
package wasmhost
