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

const config = "112, 911; +1 (555) 010-0100\nsip:Hotline@pbx.example.com"

func input(to string) sdk.HangupInput {
	return sdk.HangupInput{
		Call:    sdk.Call{Sid: "CA1", AccountSid: "AC1", From: "+15550001", To: to, Direction: "outbound-api", Status: "in-progress"},
		Request: sdk.HangupRequest{Status: "completed", RequesterSid: "AC1"},
		Config:  config,
	}
}

var cases = []struct {
	to     string
	reason string // empty: allowed
}{
	{"112", "calls to 112 are protected: hangup refused"},
	{"sip:911@gw.example.com;user=phone", "calls to 911 are protected: hangup refused"},
	{"+15550100100", "calls to +1 (555) 010-0100 are protected: hangup refused"},
	{"tel:1-555-010-0100", "calls to +1 (555) 010-0100 are protected: hangup refused"},
	{"sip:hotline@pbx.example.com", "calls to sip:Hotline@pbx.example.com are protected: hangup refused"},
	{"+15550100101", ""},
	{"1120", ""},
	{"sip:alice@pbx.example.com", ""},
	{"", ""},
}

// TestPolicyNatively checks the policy as plain Go.
func TestPolicyNatively(t *testing.T) {
	for _, c := range cases {
		check(t, c.to, c.reason, policy(input(c.to)))
	}
	if d := policy(sdk.HangupInput{Call: sdk.Call{To: "112"}}); d != sdk.Allow() {
		t.Errorf("empty Config: %+v, want allow", d)
	}
}

func check(t *testing.T, to, reason string, d sdk.Decision) {
	t.Helper()
	if err := d.Validate(sdk.HookHangup); err != nil {
		t.Errorf("to %q: %v", to, err)
	}
	want := sdk.Allow()
	if reason != "" {
		want = sdk.Deny(reason)
	}
	if d != want {
		t.Errorf("to %q: %+v, want %+v", to, d, want)
	}
}

// guests builds the plugin once per test binary: a build takes seconds.
var guests wasmtest.Builder

func build(t *testing.T) []byte {
	t.Helper()
	return guests.Go(t, ".")
}

// hostConfig gives invocations a budget far above a decision's cost:
// starting a Go instance (a few ms; again after a trap) under the race
// detector on a busy machine can exceed the 50 ms default. Time budgets are
// wasmhost's concern, not these tests'.
func hostConfig() wasmhost.Config {
	return wasmhost.Config{DefaultTimeout: 10 * time.Second, MaxTimeout: 10 * time.Second}
}

// TestPluginInWasmhost builds the plugin with the stock toolchain and runs
// it in the sandbox, as the switch will.
func TestPluginInWasmhost(t *testing.T) {
	wasm := build(t)
	ctx := context.Background()
	h, err := wasmhost.New(ctx, hostConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	m, err := h.Load(ctx, wasm, wasmhost.ModuleOptions{Name: "protectednumbers", Hooks: []string{sdk.HookHangup}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, c := range cases {
		b, err := m.Invoke(ctx, sdk.HookHangup, sdk.AppendHangupInput(nil, input(c.to)), wasmhost.CallInfo{CallSid: "CA1"})
		if err != nil {
			t.Fatalf("to %q: %v", c.to, err)
		}
		var d sdk.Decision
		if err := sdk.DecodeDecision(b, &d); err != nil {
			t.Fatalf("to %q: bad output %s: %v", c.to, b, err)
		}
		check(t, c.to, c.reason, d)
	}
	// It implements hangup only, so binding it to redirect is refused.
	if _, err := h.Load(ctx, wasm, wasmhost.ModuleOptions{Name: "protectednumbers", Hooks: []string{sdk.HookRedirect}}); !errors.Is(err, wasmhost.ErrMissingExport) {
		t.Fatalf("binding to redirect: %v, want ErrMissingExport", err)
	}
}
