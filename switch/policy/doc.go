// Package policy runs tenant policy plugins on live-call modifications: the
// redirect hook before an LCM Url redirect takes effect, the hangup hook
// before Status=completed|canceled does.
//
// # Lifecycle
//
// An Engine keeps one loaded version (a wasmhost.Module) per plugin,
// keyed by account and name. Install validates the upload (name, hooks,
// fail modes, size), loads it in the wasmhost (compile, exports of the
// bound hooks, ABI version), stores it, and swaps it in; the version it
// replaces is closed once the decisions running on it have finished, so a
// replacement never fails a decision in flight. Remove does the same with
// nothing in its place. LoadAll loads the stored plugins at start-up; one
// that no longer loads stays installed and fails (its fail mode decides),
// rather than silently dropping a tenant's policy.
//
// # The chain
//
// The plugins that decide about a call are those of the call's account and
// of its ancestors, ancestors first, so a reseller's policy binds its
// sub-accounts; within one account they run in name order (a tenant
// orders its plugins by naming them). A deny is final: later plugins do not
// run. A rewrite changes the request that later plugins see. A plugin never
// sees a call of an account outside its own subtree, and its input holds
// only that call, the request, its own Config and the time of the request
// (Config.Now, the same for every plugin of the chain: the sandbox's own
// clock is a fake).
//
// # Failures
//
// A trap, a timeout, a memory-cap hit or an output that is not a valid
// decision is a failure of the plugin: it is logged and counted, and the
// plugin's fail mode for the hook decides (defaults: redirect fails closed,
// hangup fails open). Every invocation is bounded by the plugin's time
// budget, so a decision never hangs; only the caller's own cancellation
// makes Redirect or Hangup return an error.
//
// # Audit
//
// Every decision, failed ones included, is recorded as a store.Decision of
// the call (plugin, version hash, verdict, reason, rewritten target, the
// failure and the fail mode applied, latency). A recording failure is
// logged and does not change the outcome.
package policy
