package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/patchbay/patchbay/sdk"
	"github.com/patchbay/patchbay/wasmhost"
	"github.com/patchbay/patchbay/wasmhost/wasmtest"
)

const config = "app.example.com, *.trusted.org"

func input(url, fallback string) sdk.RedirectInput {
	return sdk.RedirectInput{
		Call:    sdk.Call{Sid: "CA1", AccountSid: "AC1", Status: "in-progress"},
		Request: sdk.RedirectRequest{URL: url, Method: "POST", FallbackURL: fallback},
		Config:  config,
	}
}

var cases = []struct {
	url, fallback string
	allow         bool
}{
	{"https://app.example.com/next", "", true},
	{"http://APP.example.com:8080/next", "", true},
	{"https://ivr.trusted.org/menu", "https://app.example.com/f", true},
	{"https://evil.example.net/steal", "", false},
	{"https://trusted.org/menu", "", false}, // the wildcard covers subdomains only
	{"https://app.example.com/next", "https://evil.example.net/f", false},
	{"/relative", "", false},
}

// TestPolicyNatively checks the policy as plain Go.
func TestPolicyNatively(t *testing.T) {
	for _, c := range cases {
		d := policy(input(c.url, c.fallback))
		if (d.Verdict == sdk.VerdictAllow) != c.allow || d.Validate(sdk.HookRedirect) != nil {
			t.Errorf("%s (fallback %q): %+v, want allow=%v", c.url, c.fallback, d, c.allow)
		}
	}
}

// TestPluginInWasmhost builds the plugin with the stock toolchain and runs
// it in the sandbox, as the switch will.
func TestPluginInWasmhost(t *testing.T) {
	var guests wasmtest.Builder
	wasm := guests.Go(t, ".")
	ctx := context.Background()
	// A budget far above a decision's cost: the test checks verdicts, and
	// the race detector on a busy machine is slow.
	h, err := wasmhost.New(ctx, wasmhost.Config{CacheDir: t.TempDir(), DefaultTimeout: 10 * time.Second, MaxTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	m, err := h.Load(ctx, wasm, wasmhost.ModuleOptions{Name: "allowlist", Hooks: []string{sdk.HookRedirect}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, c := range cases {
		b, err := m.Invoke(ctx, sdk.HookRedirect, sdk.AppendRedirectInput(nil, input(c.url, c.fallback)), wasmhost.CallInfo{CallSid: "CA1"})
		if err != nil {
			t.Fatal(err)
		}
		var d sdk.Decision
		if err := sdk.DecodeDecision(b, &d); err != nil || d.Validate(sdk.HookRedirect) != nil {
			t.Fatalf("%s: bad decision %s: %v", c.url, b, err)
		}
		if (d.Verdict == sdk.VerdictAllow) != c.allow {
			t.Errorf("%s (fallback %q): %+v, want allow=%v", c.url, c.fallback, d, c.allow)
		}
		if !c.allow && d.Reason == "" {
			t.Errorf("%s: deny without a reason", c.url)
		}
	}
	// It implements redirect only, so binding it to hangup is refused.
	if _, err := h.Load(ctx, wasm, wasmhost.ModuleOptions{Name: "allowlist", Hooks: []string{sdk.HookHangup}}); !errors.Is(err, wasmhost.ErrMissingExport) {
		t.Fatalf("binding to hangup: %v", err)
	}
}
