package httpsonly_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/sdk"
	"github.com/patchbay/patchbay/wasmhost"
)

// plugin builds the module once per test binary: asc takes seconds.
var plugin struct {
	once sync.Once
	wasm []byte
	err  error
}

// build compiles the AssemblyScript sources with build.sh. A missing
// compiler fails the test rather than skipping it: `make test-deps`
// installs it (npm ci), so its absence is a broken setup.
func build(tb testing.TB) []byte {
	tb.Helper()
	plugin.once.Do(func() {
		dir, err := os.MkdirTemp("", "httpsonly-")
		if err != nil {
			plugin.err = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "httpsonly.wasm")
		msg, err := exec.Command("sh", "build.sh", out).CombinedOutput()
		if err != nil {
			plugin.err = errors.New("building the AssemblyScript plugin (install its compiler with `make test-deps` or `npm ci --prefix examples/plugins/httpsonly`): " + err.Error() + "\n" + string(msg))
			return
		}
		plugin.wasm, plugin.err = os.ReadFile(out)
	})
	if plugin.err != nil {
		tb.Fatal(plugin.err)
	}
	return plugin.wasm
}

// logBuffer collects the host's log, guest stderr included.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// load starts a host and loads the plugin for the redirect hook.
func load(t testing.TB, opts wasmhost.ModuleOptions) (*wasmhost.Module, *logBuffer) {
	t.Helper()
	wasm := build(t)
	logs := &logBuffer{}
	ctx := context.Background()
	// A budget far above a decision's cost: time budgets are wasmhost's
	// concern, and the race detector on a busy machine is slow.
	h, err := wasmhost.New(ctx, wasmhost.Config{
		Logger:         slog.New(slog.NewTextHandler(logs, nil)),
		DefaultTimeout: 10 * time.Second, MaxTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(ctx) })
	opts.Name = "httpsonly"
	opts.Hooks = []string{sdk.HookRedirect}
	m, err := h.Load(ctx, wasm, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m, logs
}

func redirect(url, fallback, config string) []byte {
	return sdk.AppendRedirectInput(nil, sdk.RedirectInput{
		Call:    sdk.Call{Sid: "CA1", AccountSid: "AC1", From: "+15550001", To: "sip:bob@example.com", Direction: "inbound", Status: "in-progress", URL: "https://app.example.com/start"},
		Request: sdk.RedirectRequest{URL: url, Method: "POST", FallbackURL: fallback, RequesterSid: "AC1"},
		Config:  config,
	})
}

// decide runs the plugin on input and returns its checked decision.
func decide(t testing.TB, m *wasmhost.Module, input []byte) sdk.Decision {
	t.Helper()
	out, err := m.Invoke(context.Background(), sdk.HookRedirect, input, wasmhost.CallInfo{CallSid: "CA1"})
	if err != nil {
		t.Fatalf("Invoke(%.200s): %v", input, err)
	}
	var d sdk.Decision
	if err := sdk.DecodeDecision(out, &d); err != nil {
		t.Fatalf("output %s: %v", out, err)
	}
	if err := d.Validate(sdk.HookRedirect); err != nil {
		t.Fatalf("output %s: %v", out, err)
	}
	return d
}

func TestDecisions(t *testing.T) {
	m, _ := load(t, wasmhost.ModuleOptions{})
	const quirky = "http://app.example.com/caf\u00e9/\"q\"\\x\U0001F600"
	cases := []struct {
		name, url, fallback, config string
		want                        sdk.Decision
	}{
		{"https", "https://app.example.com/next", "", "", sdk.Allow()},
		{"scheme in any case", "HTTPS://App.Example.com/next", "https://app.example.com/f", "", sdk.Allow()},
		{"http", "http://app.example.com/next", "", "", sdk.Deny("Url http://app.example.com/next is not an https URL")},
		{"http fallback", "https://app.example.com/next", "http://app.example.com/f", "", sdk.Deny("FallbackUrl http://app.example.com/f is not an https URL")},
		{"no host", "https:///next", "", "", sdk.Deny("Url https:///next is not an https URL")},
		{"relative", "/next", "", "", sdk.Deny("Url /next is not an https URL")},
		{"empty", "", "", "", sdk.Deny("Url  is not an https URL")},
		{"escapes round-trip", quirky, "", "", sdk.Deny("Url " + quirky + " is not an https URL")},
		{"upgrade http", "http://app.example.com/next?x=1", "", "upgrade", sdk.Rewrite("https://app.example.com/next?x=1", "")},
		{"upgrade keeps https", "https://app.example.com/next", "", "upgrade", sdk.Allow()},
		{"upgrade cannot fix other schemes", "ftp://app.example.com/next", "", "upgrade", sdk.Deny("Url ftp://app.example.com/next is not an https URL")},
		{"upgrade does not cover the fallback", "http://app.example.com/next", "http://app.example.com/f", "upgrade", sdk.Deny("FallbackUrl http://app.example.com/f is not an https URL")},
		{"upgrade needs a printable URL", "http://app.example.com/a b", "", "upgrade", sdk.Deny("Url http://app.example.com/a b is not an https URL")},
		{"unknown config", "https://app.example.com/next", "", "strict", sdk.Deny("httpsonly: Config strict is not understood (want empty or upgrade)")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := decide(t, m, redirect(c.url, c.fallback, c.config)); got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestReadsAnyValidJSON feeds input the Go codec would never write: members
// reordered, unknown members of every JSON type, escapes in names and
// values, white space everywhere.
func TestReadsAnyValidJSON(t *testing.T) {
	m, _ := load(t, wasmhost.ModuleOptions{})
	input := ` { "extra" : [1, -2.5e+3, true, false, null, {"a": [[]], "b": {}}, "\u00e9"],
	  "config" : "up\u0067rade",
	  "request" : { "method": "GET", "future": {"x": [0.5]}, "u\u0072l" : "http:\/\/app.example.com\/caf\u00e9", "fallback_url": "" },
	  "call" : {"sid": "CA1", "legs": []} } `
	want := sdk.Rewrite("https://app.example.com/caf\u00e9", "")
	if got := decide(t, m, []byte(input)); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// TestRefusesBadInput: malformed input traps (so the plugin's fail mode
// decides), says why on stderr, and the next call gets a fresh instance.
func TestRefusesBadInput(t *testing.T) {
	m, logs := load(t, wasmhost.ModuleOptions{})
	good := redirect("https://app.example.com/next", "", "")
	bad := map[string]string{
		"not JSON":            "redirect me",
		"truncated":           string(good[:len(good)-10]),
		"text after":          string(good) + " {}",
		"url not a string":    `{"request": {"url": 42}}`,
		"bad escape":          `{"request": {"url": "https:\/\/a\q"}}`,
		"raw control char":    "{\"request\": {\"url\": \"https://a\x01\"}}",
		"bad number":          `{"x": 01, "request": {"url": "https://a"}}`,
		"missing comma":       `{"config": "" "request": {}}`,
		"nested too deeply":   `{"x": ` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
		"unterminated string": `{"config": "abc`,
	}
	for name, input := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := m.Invoke(context.Background(), sdk.HookRedirect, []byte(input), wasmhost.CallInfo{CallSid: "CAbad"})
			if !errors.Is(err, wasmhost.ErrTrap) {
				t.Fatalf("Invoke: %v, want a trap", err)
			}
			if d := decide(t, m, good); d != sdk.Allow() {
				t.Fatalf("after the trap: %+v", d)
			}
		})
	}
	if got := strings.Count(logs.String(), "httpsonly: malformed redirect input"); got != len(bad) {
		t.Errorf("guest said why %d times, want %d; log:\n%s", got, len(bad), logs)
	}
	if st := m.Stats(); st.Traps != uint64(len(bad)) {
		t.Errorf("traps counted %d, want %d", st.Traps, len(bad))
	}
}

// TestMemoryIsReused runs far more input through one instance than its
// memory cap holds: the garbage collector must reclaim each call's buffers.
func TestMemoryIsReused(t *testing.T) {
	m, _ := load(t, wasmhost.ModuleOptions{MemoryMB: 1})
	input := redirect("https://app.example.com/"+strings.Repeat("x", 8<<10), "", "")
	for range 500 { // 4 MiB of input through a 1 MiB instance
		if d := decide(t, m, input); d != sdk.Allow() {
			t.Fatalf("got %+v", d)
		}
	}
	if st := m.Stats(); st.Instantiations != 1 || st.MemoryLimitHits != 0 {
		t.Errorf("stats %+v: want one instance serving every call", st)
	}
}

// TestImplementsRedirectOnly: binding the module to hangup is refused at
// load, as an upload would be.
func TestImplementsRedirectOnly(t *testing.T) {
	ctx := context.Background()
	h, err := wasmhost.New(ctx, wasmhost.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	if _, err := h.Load(ctx, build(t), wasmhost.ModuleOptions{Name: "httpsonly", Hooks: []string{sdk.HookHangup}}); !errors.Is(err, wasmhost.ErrMissingExport) {
		t.Fatalf("binding to hangup: %v, want ErrMissingExport", err)
	}
}

// BenchmarkDecision measures one decision on a pooled instance, input
// encoding and output decoding included.
func BenchmarkDecision(b *testing.B) {
	m, _ := load(b, wasmhost.ModuleOptions{})
	input := redirect("http://app.example.com/next", "https://app.example.com/fallback", "upgrade")
	for b.Loop() {
		if d := decide(b, m, input); d.Verdict != sdk.VerdictRewrite {
			b.Fatalf("got %+v", d)
		}
	}
}
