package policy_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/calls"
	"github.com/patchbay/patchbay/switch/policy"
	"github.com/patchbay/patchbay/switch/store"
	"github.com/patchbay/patchbay/wasmhost"
)

func TestAllowDenyRewrite(t *testing.T) {
	e := newEnv(t, policy.Config{})
	wasm := guest(t, "1")
	c := call(e.tenant)

	p := e.install(e.tenant, "gate", wasm, policy.InstallOptions{Config: "allow"})
	if len(p.Hash) != 64 || p.Size != int64(len(wasm)) || p.TimeoutMs != 2000 || p.MemoryMB != 64 ||
		!reflect.DeepEqual(p.FailModes, map[string]string{"redirect": "closed", "hangup": "open"}) {
		t.Fatalf("installed %+v", p)
	}
	out := e.redirect(c, redirectTo("https://app.example/next"))
	if out.Verdict != store.VerdictAllow || out.URL != "https://app.example/next" || out.Method != "POST" || out.Denied() != nil {
		t.Fatalf("allow: %+v", out)
	}

	e.install(e.tenant, "gate", wasm, policy.InstallOptions{Config: "deny:not after hours"})
	out = e.redirect(c, redirectTo("https://app.example/next"))
	var denied *calls.DeniedError
	if out.Verdict != store.VerdictDeny || !errors.As(out.Denied(), &denied) || denied.Plugin != "gate" || denied.Reason != "not after hours" {
		t.Fatalf("deny: %+v (%v)", out, out.Denied())
	}
	if out := e.hangup(c); out.Verdict != store.VerdictDeny || out.Reason != "not after hours" {
		t.Fatalf("hangup deny: %+v", out)
	}

	e.install(e.tenant, "gate", wasm, policy.InstallOptions{Config: "rewrite:https://vm.example/box GET"})
	out = e.redirect(c, redirectTo("https://app.example/next"))
	if out.Verdict != store.VerdictRewrite || out.URL != "https://vm.example/box" || out.Method != "GET" {
		t.Fatalf("rewrite: %+v", out)
	}

	// Every decision is recorded, in order, with the version and a latency.
	got, err := e.st.Decisions(t.Context(), c.Sid)
	if err != nil || len(got) != 4 {
		t.Fatalf("Decisions = %d, %v; want 4", len(got), err)
	}
	want := []struct{ hook, verdict, reason, url string }{
		{"redirect", "allow", "", ""}, {"redirect", "deny", "not after hours", ""},
		{"hangup", "deny", "not after hours", ""}, {"redirect", "rewrite", "", "https://vm.example/box"},
	}
	for i, d := range got {
		w := want[i]
		if d.Hook != w.hook || d.Verdict != w.verdict || d.Reason != w.reason || d.RewriteURL != w.url ||
			d.Plugin != "gate" || d.PluginAccountSid != e.tenant.Sid || d.AccountSid != e.tenant.Sid ||
			d.CallSid != c.Sid || d.Hash != p.Hash || d.LatencyMicros <= 0 || !d.DateCreated.Equal(testNow) ||
			!strings.HasPrefix(d.Sid, "DE") || d.Error != "" || d.FailMode != "" {
			t.Errorf("decision %d = %+v, want %+v", i, d, w)
		}
	}
	if !reflect.DeepEqual(out.Decisions, got[3:]) {
		t.Errorf("Outcome.Decisions = %+v, want the recorded %+v", out.Decisions, got[3:])
	}
	if s := e.stats(e.tenant, "gate"); s.Invocations != 4 || s.Allowed != 1 || s.Denied != 2 || s.Rewritten != 1 || s.Failures != 0 || !s.Loaded {
		t.Errorf("stats %+v", s)
	}
}

func TestInputHoldsTheCallAndTheRequestOnly(t *testing.T) {
	e := newEnv(t, policy.Config{})
	e.install(e.tenant, "echo", guest(t, "1"), policy.InstallOptions{Config: "echo"})
	c := call(e.tenant)
	out := e.redirect(c, policy.RedirectRequest{
		URL: "https://app.example/next", Method: "GET", FallbackURL: "https://app.example/fb",
		MoveConnectedCallLeg: true, RequesterSid: e.reseller.Sid, ConnectedCallSid: "CAleg",
	})
	want := strings.Join([]string{c.Sid, e.tenant.Sid, "alice", "+15551230000", "inbound", "in-progress", "https://app.example/current", "CAleg",
		"https://app.example/next", "GET", "https://app.example/fb", "true", e.reseller.Sid, "2026-03-01T12:00:00Z"}, "|")
	if out.Reason != want {
		t.Fatalf("redirect input seen by the plugin:\n%s\nwant\n%s", out.Reason, want)
	}
	out, err := e.eng.Hangup(t.Context(), nil, c, policy.HangupRequest{Status: store.StatusCanceled, RequesterSid: e.tenant.Sid})
	want = strings.Join([]string{c.Sid, e.tenant.Sid, "alice", "+15551230000", "inbound", "in-progress", "https://app.example/current", "",
		"canceled", e.tenant.Sid, "2026-03-01T12:00:00Z"}, "|")
	if err != nil || out.Reason != want {
		t.Fatalf("hangup input seen by the plugin: %q, %v\nwant %q", out.Reason, err, want)
	}
}

// TestInputTimeIsConfigNow: plugins get the engine's time source as "now",
// in UTC to the second, read once per request so the whole chain sees the
// same instant (the clock below moves a second per reading).
func TestInputTimeIsConfigNow(t *testing.T) {
	start := time.Date(2026, 11, 25, 15, 0, 0, 123456789, time.FixedZone("EST", -5*3600))
	var readings atomic.Int64
	e := newEnv(t, policy.Config{Now: func() time.Time {
		return start.Add(time.Duration(readings.Add(1)-1) * time.Second)
	}})
	wasm := guest(t, "1")
	e.install(e.reseller, "stamp", wasm, policy.InstallOptions{Hooks: []string{"redirect"}, Config: "stamp:https://app.example/next"})
	e.install(e.tenant, "echo", wasm, policy.InstallOptions{Config: "echo"})

	readings.Store(0)
	out := e.redirect(call(e.tenant), redirectTo("https://app.example/asked"))
	fields := strings.Split(out.Reason, "|")
	if len(fields) != 14 {
		t.Fatalf("echo reason %q", out.Reason)
	}
	if url, now := fields[8], fields[13]; url != "https://app.example/next?now=2026-11-25T20:00:00Z" || now != "2026-11-25T20:00:00Z" {
		t.Fatalf("redirect: the first plugin saw now in %q, the second %q; want both 2026-11-25T20:00:00Z", url, now)
	}

	readings.Store(10)
	out = e.hangup(call(e.tenant))
	if now := out.Reason[strings.LastIndexByte(out.Reason, '|')+1:]; now != "2026-11-25T20:00:10Z" {
		t.Fatalf("hangup: now %q in %q, want 2026-11-25T20:00:10Z", now, out.Reason)
	}
}

func TestChainRunsAncestorsFirst(t *testing.T) {
	e := newEnv(t, policy.Config{})
	wasm := guest(t, "1")
	c := call(e.tenant)

	chain, err := e.eng.Chain(t.Context(), e.tenant.Sid)
	if err != nil || !reflect.DeepEqual(chain, []string{e.root.Sid, e.reseller.Sid, e.tenant.Sid}) {
		t.Fatalf("Chain = %v, %v", chain, err)
	}

	// The reseller rewrites; the tenant's plugins run after it, in name
	// order, and see the rewritten request.
	e.install(e.reseller, "route", wasm, policy.InstallOptions{Config: "rewrite:https://reseller.example/ivr"})
	e.install(e.tenant, "b-echo", wasm, policy.InstallOptions{Config: "echo"})
	e.install(e.tenant, "a-rewrite", wasm, policy.InstallOptions{Config: "rewrite:https://tenant.example/menu GET"})
	out := e.redirect(c, redirectTo("https://app.example/next"))
	if out.Verdict != store.VerdictDeny || out.Plugin != "b-echo" || out.PluginAccountSid != e.tenant.Sid ||
		!strings.Contains(out.Reason, "|https://tenant.example/menu|GET|") {
		t.Fatalf("outcome %+v: want b-echo to see a-rewrite's target", out)
	}
	var order []string
	for _, d := range out.Decisions {
		order = append(order, d.Plugin)
	}
	if !reflect.DeepEqual(order, []string{"route", "a-rewrite", "b-echo"}) {
		t.Fatalf("order %v, want ancestors first then name order", order)
	}
	if out.Decisions[0].PluginAccountSid != e.reseller.Sid || out.Decisions[0].AccountSid != e.tenant.Sid {
		t.Errorf("reseller's decision %+v", out.Decisions[0])
	}

	// A deny of an ancestor is final: the tenant's plugins do not run.
	if err := e.eng.Remove(t.Context(), e.tenant.Sid, "b-echo"); err != nil {
		t.Fatal(err)
	}
	e.install(e.root, "freeze", wasm, policy.InstallOptions{Config: "deny:maintenance"})
	before := e.stats(e.tenant, "a-rewrite").Invocations
	out = e.redirect(c, redirectTo("https://app.example/next"))
	if out.Verdict != store.VerdictDeny || out.Plugin != "freeze" || out.Reason != "maintenance" || len(out.Decisions) != 1 {
		t.Fatalf("root deny: %+v", out)
	}
	if after := e.stats(e.tenant, "a-rewrite").Invocations; after != before {
		t.Errorf("tenant plugin ran after an ancestor denied (%d -> %d)", before, after)
	}

	// Any deny wins, even after rewrites and allows.
	e.install(e.root, "freeze", wasm, policy.InstallOptions{Config: "allow"})
	e.install(e.tenant, "z-deny", wasm, policy.InstallOptions{Config: "deny:tenant says no"})
	out = e.redirect(c, redirectTo("https://app.example/next"))
	if out.Verdict != store.VerdictDeny || out.Plugin != "z-deny" || len(out.Decisions) != 4 {
		t.Fatalf("late deny: %+v", out)
	}

	// The chain must be the call's: a chain ending elsewhere is refused.
	if _, err := e.eng.Redirect(t.Context(), []string{e.root.Sid}, c, redirectTo("https://x.example/")); !errors.Is(err, policy.ErrBadChain) {
		t.Errorf("Redirect with a foreign chain: %v, want ErrBadChain", err)
	}
}

func TestIsolationBetweenTenants(t *testing.T) {
	e := newEnv(t, policy.Config{})
	wasm := guest(t, "1")
	e.install(e.other, "spy", wasm, policy.InstallOptions{Config: "echo"})
	e.install(e.tenant, "mine", wasm, policy.InstallOptions{Config: "allow"})

	c := call(e.tenant)
	for range 3 {
		if out := e.redirect(c, redirectTo("https://app.example/next")); out.Verdict != store.VerdictAllow || len(out.Decisions) != 1 {
			t.Fatalf("tenant's call: %+v", out)
		}
		e.hangup(c)
	}
	if s := e.stats(e.other, "spy"); s.Invocations != 0 {
		t.Fatalf("the other tenant's plugin ran %d times for this tenant's calls", s.Invocations)
	}
	found := false
	for _, m := range e.host.Stats().Modules {
		if m.Name == "spy" {
			found = true
			if m.Invocations != 0 {
				t.Fatalf("wasmhost counts %d invocations of spy", m.Invocations)
			}
		}
	}
	if !found {
		t.Fatal("spy not loaded in the wasmhost")
	}
	// Its own tenant's calls do reach it, and see only that call.
	oc := call(e.other)
	if out := e.redirect(oc, redirectTo("https://other.example/")); out.Verdict != store.VerdictDeny || strings.Contains(out.Reason, e.tenant.Sid) {
		t.Fatalf("other's call: %+v", out)
	}
	if got, _ := e.st.Decisions(t.Context(), c.Sid); len(got) != 6 {
		t.Fatalf("tenant's call has %d decisions, want 6 (its own plugin only)", len(got))
	}
}

func TestFailModes(t *testing.T) {
	e := newEnv(t, policy.Config{})
	wasm := guest(t, "1")
	c := call(e.tenant)
	budget := 100 * time.Millisecond

	// A loop: redirect fails closed, hangup fails open, both within budget.
	e.install(e.tenant, "spin", wasm, policy.InstallOptions{Config: "loop", TimeoutMs: int(budget / time.Millisecond)})
	start := time.Now()
	out := e.redirect(c, redirectTo("https://app.example/next"))
	if took := time.Since(start); took > budget+time.Second {
		t.Errorf("redirect decision took %v with a %v budget", took, budget)
	}
	if out.Verdict != store.VerdictDeny || out.Reason != "plugin/spin: unavailable (timeout)" || out.Plugin != "spin" {
		t.Fatalf("looping redirect: %+v", out)
	}
	d := out.Decisions[0]
	if d.Verdict != store.VerdictError || d.FailMode != store.FailClosed || !strings.Contains(d.Error, "timeout") || d.LatencyMicros < 90_000 {
		t.Fatalf("decision %+v", d)
	}
	start = time.Now()
	if out := e.hangup(c); out.Verdict != store.VerdictAllow || out.Decisions[0].FailMode != store.FailOpen {
		t.Fatalf("looping hangup: %+v", out)
	}
	if took := time.Since(start); took > budget+time.Second {
		t.Errorf("hangup decision took %v with a %v budget", took, budget)
	}
	if !strings.Contains(e.logs.String(), `"kind":"timeout"`) {
		t.Errorf("failure not logged: %s", e.logs.String())
	}

	// The tenant may choose the other fail modes.
	e.install(e.tenant, "spin", wasm, policy.InstallOptions{Config: "loop", TimeoutMs: 20,
		FailModes: map[string]string{"redirect": "open", "hangup": "closed"}})
	if out := e.redirect(c, redirectTo("https://app.example/next")); out.Verdict != store.VerdictAllow || out.URL != "https://app.example/next" {
		t.Fatalf("open redirect: %+v", out)
	}
	if out := e.hangup(c); out.Verdict != store.VerdictDeny || out.Reason != "plugin/spin: unavailable (timeout)" {
		t.Fatalf("closed hangup: %+v", out)
	}

	// A trap and an invalid answer.
	for _, tc := range []struct{ config, kind string }{{"panic", "trap"}, {"bogus", "bad output"}} {
		e.install(e.tenant, "spin", wasm, policy.InstallOptions{Config: tc.config})
		if out := e.redirect(c, redirectTo("https://app.example/next")); out.Reason != "plugin/spin: unavailable ("+tc.kind+")" {
			t.Fatalf("%s: %+v", tc.config, out)
		}
	}
	// A rewrite is not an answer to hangup.
	e.install(e.tenant, "spin", wasm, policy.InstallOptions{Config: "rewrite:https://x.example/", FailModes: map[string]string{"hangup": "closed"}})
	if out := e.hangup(c); out.Reason != "plugin/spin: unavailable (bad output)" {
		t.Fatalf("rewrite on hangup: %+v", out)
	}
	s := e.stats(e.tenant, "spin")
	if s.Timeouts != 4 || s.Traps != 1 || s.BadOutputs != 2 || s.Failures != 7 || s.Invocations != 7 {
		t.Fatalf("stats %+v", s)
	}
	// After all that the plugin still decides.
	e.install(e.tenant, "spin", wasm, policy.InstallOptions{Config: "allow"})
	if out := e.redirect(c, redirectTo("https://app.example/next")); out.Verdict != store.VerdictAllow {
		t.Fatalf("after failures: %+v", out)
	}
}

func TestBudgetsAreCappedByTheOperator(t *testing.T) {
	e := newEnv(t, policy.Config{DefaultTimeout: 40 * time.Millisecond, MaxTimeout: 150 * time.Millisecond, DefaultMemoryMB: 32, MaxMemoryMB: 48})
	wasm := guest(t, "1")
	p := e.install(e.tenant, "greedy", wasm, policy.InstallOptions{Config: "loop", TimeoutMs: 60_000, MemoryMB: 4000})
	if p.TimeoutMs != 150 || p.MemoryMB != 48 {
		t.Fatalf("asked 60 s / 4000 MiB, got %d ms / %d MiB; want the maxima 150 / 48", p.TimeoutMs, p.MemoryMB)
	}
	start := time.Now()
	out := e.redirect(call(e.tenant), redirectTo("https://app.example/"))
	if took := time.Since(start); took > 150*time.Millisecond+time.Second || out.Reason != "plugin/greedy: unavailable (timeout)" {
		t.Fatalf("capped loop: %+v after %v", out, took)
	}
	if p := e.install(e.tenant, "modest", wasm, policy.InstallOptions{Config: "allow", TimeoutMs: 10, MemoryMB: 8}); p.TimeoutMs != 10 || p.MemoryMB != 8 {
		t.Fatalf("a tenant may ask for less: %+v", p)
	}
	if p := e.install(e.tenant, "default", wasm, policy.InstallOptions{Config: "allow"}); p.TimeoutMs != 40 || p.MemoryMB != 32 {
		t.Fatalf("defaults: %+v", p)
	}
}

func TestMemoryBombStopsAtTheCap(t *testing.T) {
	// A budget far beyond what growing to 48 MiB takes, so that the cap and
	// not the clock stops the guest even on a loaded CI machine (a 2 s
	// budget was not enough there once).
	e := newEnv(t, policy.Config{DefaultMemoryMB: 32, MaxMemoryMB: 48, DefaultTimeout: 50 * time.Second, MaxTimeout: 50 * time.Second})
	p := e.install(e.tenant, "bomb", guest(t, "1"), policy.InstallOptions{Config: "bomb", MemoryMB: 1000})
	if p.MemoryMB != 48 {
		t.Fatalf("memory cap %d MiB, want the operator's 48", p.MemoryMB)
	}
	if out := e.redirect(call(e.tenant), redirectTo("https://app.example/")); out.Reason != "plugin/bomb: unavailable (memory limit)" {
		t.Fatalf("bomb: %+v", out)
	}
	if s := e.stats(e.tenant, "bomb"); s.MemoryLimitHits != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestReplaceIsAtomicUnderConcurrentDecisions(t *testing.T) {
	e := newEnv(t, policy.Config{})
	v1, v2 := guest(t, "1"), guest(t, "2")
	p1 := e.install(e.tenant, "ver", v1, policy.InstallOptions{Config: "version"})
	// Compile version 2 into the disk cache first: compiling under -race
	// while six goroutines decide takes most of a minute, and the swap, not
	// the compiler, is under test.
	warm, err := e.host.Load(t.Context(), v2, wasmhost.ModuleOptions{Name: "warm-up"})
	if err != nil {
		t.Fatal(err)
	}
	warm.Close()

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		seen     = map[string]int{}
		stop     = make(chan struct{})
		replaced = make(chan struct{})
		late     []string // versions seen by decisions started after the replace
	)
	for range 6 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				after := false
				select {
				case <-replaced:
					after = true
				default:
				}
				out, err := e.eng.Redirect(context.Background(), nil, call(e.tenant), redirectTo("https://app.example/"))
				if err != nil {
					t.Error(err)
					return
				}
				d := out.Decisions[0]
				mu.Lock()
				seen[d.Reason+" "+d.Hash]++
				if after {
					late = append(late, d.Reason)
				}
				mu.Unlock()
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	p2 := e.install(e.tenant, "ver", v2, policy.InstallOptions{Config: "version"})
	close(replaced)
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()

	if p2.Sid != p1.Sid || p2.Hash == p1.Hash {
		t.Fatalf("replace kept sid %s -> %s, hash %s -> %s", p1.Sid, p2.Sid, p1.Hash, p2.Hash)
	}
	for k := range seen {
		if k != "1 "+p1.Hash && k != "2 "+p2.Hash {
			t.Errorf("a decision answered %q: neither version 1 nor 2 (a failure during the swap?)", k)
		}
	}
	if seen["1 "+p1.Hash] == 0 || seen["2 "+p2.Hash] == 0 {
		t.Errorf("decisions per version %v: want both", seen)
	}
	for _, v := range late {
		if v != "2" {
			t.Fatalf("a decision started after the replace ran version %s", v)
		}
	}
	// The old version is unloaded once its decisions finished.
	for _, m := range e.host.Stats().Modules {
		if m.Hash == p1.Hash {
			t.Errorf("version 1 still loaded: %+v", m)
		}
	}
}

func TestRemove(t *testing.T) {
	e := newEnv(t, policy.Config{})
	e.install(e.tenant, "gone", guest(t, "1"), policy.InstallOptions{Config: "deny:no"})
	if err := e.eng.Remove(t.Context(), e.tenant.Sid, "gone"); err != nil {
		t.Fatal(err)
	}
	if out := e.redirect(call(e.tenant), redirectTo("https://app.example/")); out.Verdict != store.VerdictAllow || len(out.Decisions) != 0 {
		t.Fatalf("after remove: %+v", out)
	}
	if err := e.eng.Remove(t.Context(), e.tenant.Sid, "gone"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Remove twice: %v, want ErrNotFound", err)
	}
	if _, ok := e.eng.Stats(e.tenant.Sid, "gone"); ok {
		t.Fatal("stats of a removed plugin")
	}
	if n := len(e.host.Stats().Modules); n != 0 {
		t.Fatalf("%d modules loaded after remove", n)
	}
}

func TestLoadAllAfterRestart(t *testing.T) {
	e := newEnv(t, policy.Config{})
	e.install(e.tenant, "keep", guest(t, "1"), policy.InstallOptions{Config: "deny:still here"})
	// A plugin whose module no longer loads (here: a wrong ABI put in the
	// store behind the engine's back) stays installed and fails closed.
	bad := tinyModule(2, "redirect")
	broken := store.Plugin{Sid: "PL00000000000000000000000000000001", AccountSid: e.other.Sid, Name: "broken",
		Hash: sha256Hex(bad), Hooks: []string{"redirect"},
		FailModes: map[string]string{"redirect": "closed"}, TimeoutMs: 50, MemoryMB: 64}
	if err := e.st.PutPlugin(t.Context(), broken, bad); err != nil {
		t.Fatal(err)
	}

	e.eng.Close()
	eng, err := policy.New(policy.Config{Host: e.host, Store: e.st})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if err := eng.LoadAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	out, err := eng.Redirect(t.Context(), nil, call(e.tenant), redirectTo("https://app.example/"))
	if err != nil || out.Reason != "still here" {
		t.Fatalf("after restart: %+v, %v", out, err)
	}
	out, err = eng.Redirect(t.Context(), nil, call(e.other), redirectTo("https://app.example/"))
	if err != nil || out.Verdict != store.VerdictDeny || out.Reason != "plugin/broken: unavailable (not loaded)" {
		t.Fatalf("broken plugin after restart: %+v, %v", out, err)
	}
	if s, ok := eng.Stats(e.other.Sid, "broken"); !ok || s.Loaded || !strings.Contains(s.LoadError, "ABI version 2") {
		t.Fatalf("broken stats %+v", s)
	}
}

func TestInstallValidation(t *testing.T) {
	e := newEnv(t, policy.Config{MaxModuleBytes: 4 << 20})
	wasm := guest(t, "1")
	install := func(name string, wasm []byte, opts policy.InstallOptions) error {
		_, err := e.eng.Install(t.Context(), e.tenant.Sid, name, wasm, opts)
		return err
	}
	redirect := []string{"redirect"}
	cases := []struct {
		what string
		err  error
		want error
		text string
	}{
		{"bad name", install("no/slash", wasm, policy.InstallOptions{Hooks: redirect}), policy.ErrInvalidName, ""},
		{"long name", install(strings.Repeat("n", 65), wasm, policy.InstallOptions{Hooks: redirect}), policy.ErrInvalidName, ""},
		{"no hooks", install("p", wasm, policy.InstallOptions{}), policy.ErrInvalidOptions, ""},
		{"unknown hook", install("p", wasm, policy.InstallOptions{Hooks: []string{"answer"}}), policy.ErrInvalidOptions, "answer"},
		{"bad fail mode", install("p", wasm, policy.InstallOptions{Hooks: redirect, FailModes: map[string]string{"redirect": "ajar"}}), policy.ErrInvalidOptions, "ajar"},
		{"fail mode of unbound hook", install("p", wasm, policy.InstallOptions{Hooks: redirect, FailModes: map[string]string{"hangup": "open"}}), policy.ErrInvalidOptions, ""},
		{"huge config", install("p", wasm, policy.InstallOptions{Hooks: redirect, Config: strings.Repeat("c", policy.MaxConfigBytes+1)}), policy.ErrInvalidOptions, ""},
		{"too large", install("p", make([]byte, 4<<20+1), policy.InstallOptions{Hooks: redirect}), wasmhost.ErrModuleTooLarge, "4194304"},
		{"garbage", install("p", []byte("this is not wasm"), policy.InstallOptions{Hooks: redirect}), wasmhost.ErrCompile, ""},
		{"wrong ABI", install("p", tinyModule(7, "redirect"), policy.InstallOptions{Hooks: redirect}), wasmhost.ErrABIVersion, "module speaks ABI version 7, this host speaks version 1"},
		{"missing export", install("p", tinyModule(1, "redirect"), policy.InstallOptions{Hooks: []string{"redirect", "hangup"}}), wasmhost.ErrMissingExport, "patchbay_hook_hangup"},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.want) || !strings.Contains(fmtErr(c.err), c.text) {
			t.Errorf("%s: %v, want %v containing %q", c.what, c.err, c.want, c.text)
		}
	}
	if list, _ := e.st.Plugins(t.Context(), e.tenant.Sid); len(list) != 0 {
		t.Fatalf("refused uploads left %d plugins", len(list))
	}
	// A refused replacement leaves the installed version in place.
	e.install(e.tenant, "p", wasm, policy.InstallOptions{Config: "deny:v1"})
	if err := install("p", []byte("junk"), policy.InstallOptions{Hooks: redirect}); err == nil {
		t.Fatal("junk accepted")
	}
	if out := e.redirect(call(e.tenant), redirectTo("https://app.example/")); out.Reason != "v1" {
		t.Fatalf("after a refused replace: %+v", out)
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestBindsReflectsInstalledHooks(t *testing.T) {
	e := newEnv(t, policy.Config{})
	for _, h := range policy.Hooks() {
		if e.eng.Binds(h) {
			t.Fatalf("Binds(%s) with no plugin", h)
		}
	}
	e.install(e.tenant, "echo", guest(t, "1"), policy.InstallOptions{Hooks: []string{"redirect"}})
	if !e.eng.Binds("redirect") || e.eng.Binds("hangup") || e.eng.Binds(policy.HookRCMLRedirect) {
		t.Fatal("Binds does not match the installed hooks")
	}
	if err := e.eng.Remove(context.Background(), e.tenant.Sid, "echo"); err != nil {
		t.Fatal(err)
	}
	if e.eng.Binds("redirect") {
		t.Fatal("Binds after Remove")
	}
}
