package policy_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/policy"
	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
	"github.com/patchbay/patchbay/switch/store/badgerstore"
	"github.com/patchbay/patchbay/wasmhost"
	"github.com/patchbay/patchbay/wasmhost/wasmtest"
)

// guests builds the guests of this test binary, each once: a build takes
// seconds.
var guests wasmtest.Builder

// cacheDir is the compilation cache every test's host shares, made by
// TestMain.
var cacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "policy-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// guest builds testdata/guest as a wasip1 reactor, stamped with version (so
// two versions have different bytes).
func guest(tb testing.TB, version string) []byte {
	tb.Helper()
	return guests.Go(tb, "./testdata/guest", "-X main.version="+version)
}

// syncBuffer is a log sink safe for the goroutines of a test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// env is an Engine over an in-memory store and a host of its own, with an
// account tree: root > reseller > tenant, and other (a second top-level
// tenant).
type env struct {
	t                             *testing.T
	eng                           *policy.Engine
	host                          *wasmhost.Host
	st                            store.Store
	logs                          *syncBuffer
	root, reseller, tenant, other store.Account
}

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newEnv(t *testing.T, cfg policy.Config) *env {
	t.Helper()
	st, err := badgerstore.Open(badgerstore.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	host, err := wasmhost.New(context.Background(), wasmhost.Config{
		CacheDir: cacheDir, MaxTimeout: 60 * time.Second, MaxMemoryMB: 512,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = host.Close(context.Background()) })
	logs := &syncBuffer{}
	// Generous budgets unless the test sets its own: under -race on a
	// shared machine a healthy decision can take tens of milliseconds.
	if cfg.DefaultTimeout == 0 {
		cfg.DefaultTimeout, cfg.MaxTimeout = 2*time.Second, 5*time.Second
	}
	cfg.Host, cfg.Store = host, st
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return testNow }
	}
	eng, err := policy.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	e := &env{t: t, eng: eng, host: host, st: st, logs: logs}
	e.root = e.account("")
	e.reseller = e.account(e.root.Sid)
	e.tenant = e.account(e.reseller.Sid)
	e.other = e.account("")
	return e
}

func (e *env) account(parent string) store.Account {
	e.t.Helper()
	a := store.Account{Sid: sid.New(sid.Account), ParentSid: parent, Status: store.AccountActive, AuthToken: sid.Token()}
	if err := e.st.CreateAccount(context.Background(), a); err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (e *env) install(acct store.Account, name string, wasm []byte, opts policy.InstallOptions) store.Plugin {
	e.t.Helper()
	if opts.Hooks == nil {
		opts.Hooks = []string{"redirect", "hangup"}
	}
	p, err := e.eng.Install(context.Background(), acct.Sid, name, wasm, opts)
	if err != nil {
		e.t.Fatalf("Install(%s): %v", name, err)
	}
	return p
}

func call(acct store.Account) store.Call {
	return store.Call{
		Sid: sid.New(sid.Call), AccountSid: acct.Sid, From: "alice", To: "+15551230000",
		Direction: store.DirectionInbound, Status: store.StatusInProgress, URL: "https://app.example/current",
	}
}

func redirectTo(url string) policy.RedirectRequest {
	return policy.RedirectRequest{URL: url, Method: "POST", RequesterSid: "ACrequester"}
}

func (e *env) redirect(c store.Call, req policy.RedirectRequest) policy.Outcome {
	e.t.Helper()
	out, err := e.eng.Redirect(context.Background(), nil, c, req)
	if err != nil {
		e.t.Fatalf("Redirect: %v", err)
	}
	return out
}

func (e *env) hangup(c store.Call) policy.Outcome {
	e.t.Helper()
	out, err := e.eng.Hangup(context.Background(), nil, c, policy.HangupRequest{Status: store.StatusCompleted, RequesterSid: c.AccountSid})
	if err != nil {
		e.t.Fatalf("Hangup: %v", err)
	}
	return out
}

func (e *env) stats(acct store.Account, name string) policy.PluginStats {
	e.t.Helper()
	s, ok := e.eng.Stats(acct.Sid, name)
	if !ok {
		e.t.Fatalf("no stats for %s", name)
	}
	return s
}

// A minimal WebAssembly encoder for hand-made modules that Go cannot
// produce: a wrong ABI version, a missing hook export.

func uleb(v uint64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func wasmName(s string) []byte { return append(uleb(uint64(len(s))), s...) }

func vec(items ...[]byte) []byte {
	b := uleb(uint64(len(items)))
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

func section(id byte, body []byte) []byte {
	return append(append([]byte{id}, uleb(uint64(len(body)))...), body...)
}

// tinyModule is a module speaking ABI abiVersion, with a one-page memory,
// an alloc that hands out offset 1024, and the given hook exports (each
// answering an empty output).
func tinyModule(abiVersion byte, hooks ...string) []byte {
	const i32, i64 = 0x7f, 0x7e
	types := vec(
		[]byte{0x60, 0x00, 0x01, i32},           // () -> i32
		[]byte{0x60, 0x01, i32, 0x01, i32},      // (i32) -> i32
		[]byte{0x60, 0x02, i32, i32, 0x01, i64}, // (i32, i32) -> i64
	)
	funcs := [][]byte{uleb(0), uleb(1)}
	exports := [][]byte{
		append(wasmName("patchbay_abi_version"), 0x00, 0x00),
		append(wasmName("patchbay_alloc"), 0x00, 0x01),
		append(wasmName("memory"), 0x02, 0x00),
	}
	codes := [][]byte{
		{0x04, 0x00, 0x41, abiVersion, 0x0b}, // i32.const version
		{0x05, 0x00, 0x41, 0x80, 0x08, 0x0b}, // i32.const 1024
	}
	for i, h := range hooks {
		funcs = append(funcs, uleb(2))
		exports = append(exports, append(wasmName("patchbay_hook_"+h), 0x00, byte(2+i)))
		codes = append(codes, []byte{0x04, 0x00, 0x42, 0x00, 0x0b}) // i64.const 0
	}
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, section(1, types)...)
	m = append(m, section(3, vec(funcs...))...)
	m = append(m, section(5, vec([]byte{0x00, 0x01}))...)
	m = append(m, section(7, vec(exports...))...)
	m = append(m, section(10, vec(codes...))...)
	return m
}
