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
// Deadlines: waiting for a free instance, and then the call itself, each
// run under the module's timeout; starting a fresh instance is bounded by
// Config.LoadTimeout instead (it is the host's cost, and a module whose
// start loops is refused at Load). Calls run with WithCloseOnContextDone(true),
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
// Compiled modules: a distinct Go guest's compiled code costs ~30 MiB of
// resident memory (~9 MiB of it Go heap). Under Config.MaxCompiledModules
// the least recently used compiled module that no invocation, validation
// or instance start is using is closed, together with the idle instances
// of its plugins (an instance keeps its machine code alive), and compiled
// again on its next use from the module bytes, which wait in CacheDir (by
// hash, checked on reading) or in memory without a CacheDir; the on-disk
// compilation cache makes that a ~40 ms load instead of a ~0.8 s compile.
// The recompilation is the host's doing, so it is bounded by LoadTimeout
// rather than the plugin's budget. See resident.go.
//
// # Cost of a decision
//
// WithCloseOnContextDone makes wazero call a termination check at the head
// of every wasm loop, and the check leaves the machine code for Go (~40-60
// ns). Go's wasm backend compiles each function with jumps into a
// dispatch loop and sends every jump, forward or backward, through its
// head, so in a Go guest nearly every taken branch and every call paid a
// check. Before compiling, the host rewrites the module (package gojumps):
// forward jumps branch straight to their target, and a dispatch loop that
// nothing jumps back to any more becomes a block. Backward jumps keep the
// check, so a guest that does not stop is still stopped; the RCML parse
// went from ~7,300 checks to ~1,400. Modules the rewrite does not
// recognise are compiled as uploaded; the registry key and the reported
// hash are always those of the uploaded bytes.
//
// Each guest call also costs a cancellation watcher that wazero starts
// with the option (a goroutine and a channel). A module that exports
// patchbay_input_buffer (the Go SDK and the RCML guest do) is invoked with
// one call; others take two (patchbay_alloc, then the hook). The host's
// own share is 3.5-4.1 µs per invocation (BenchmarkHandWrittenEcho, two
// calls). Figures and commands: sdk/README.md, "Performance", and
// docs/performance.md.
package wasmhost
