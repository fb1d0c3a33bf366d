package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/sdk"
	"github.com/patchbay/patchbay/wasmhost"
	"github.com/patchbay/patchbay/wasmhost/wasmtest"
)

const (
	voicemail = "https://vm.example.com/voicemail.xml"
	config    = "voicemail=" + voicemail + "\nmethod=GET\nzone=Europe/Paris\n" +
		"open=mon-fri 09:00-17:30, sat 10:00-13:00; closed=2026-12-25"
)

func at(t *testing.T, rfc3339 string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, rfc3339)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestScheduleOpen(t *testing.T) {
	s, err := parseSchedule(config)
	if err != nil {
		t.Fatal(err)
	}
	night, err := parseSchedule("voicemail=" + voicemail + "; open=fri 22:00-06:00")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		s    schedule
		now  string
		open bool
	}{
		{s, "2026-03-02T09:00:00Z", true},      // Monday 10:00 in Paris (CET)
		{s, "2026-03-02T10:00:00+01:00", true}, // the same instant, with an offset
		{s, "2026-03-02T07:59:59Z", false},     // Monday 08:59:59
		{s, "2026-03-02T08:00:00Z", true},      // Monday 09:00, opening
		{s, "2026-03-02T16:30:00Z", false},     // Monday 17:30, closing is exclusive
		{s, "2026-03-07T11:59:00Z", true},      // Saturday 12:59
		{s, "2026-03-07T12:00:00Z", false},     // Saturday 13:00
		{s, "2026-03-08T10:00:00Z", false},     // Sunday
		{s, "2026-03-30T07:30:00Z", true},      // Monday 09:30 in summer time (CEST); 08:30 in CET
		{s, "2026-12-25T10:00:00Z", false},     // a Friday, but closed
		{s, "2026-12-24T22:59:00Z", false},     // Thursday 23:59
		{night, "2026-03-06T22:30:00Z", true},  // Friday 22:30 UTC
		{night, "2026-03-07T05:59:00Z", true},  // Saturday 05:59, the same night
		{night, "2026-03-07T06:00:00Z", false}, // Saturday 06:00
		{night, "2026-03-06T05:00:00Z", false}, // Friday 05:00: Thursday night is closed
		{night, "2026-03-05T23:00:00Z", false}, // Thursday 23:00
	}
	for _, c := range cases {
		if got := c.s.open(at(t, c.now)); got != c.open {
			t.Errorf("%s: open=%v, want %v", c.now, got, c.open)
		}
	}
}

func TestScheduleRefusesBadConfig(t *testing.T) {
	bad := map[string]string{
		"":                       "voicemail=URL is required",
		"voicemail=" + voicemail: "open=DAYS HH:MM-HH:MM is required",
		"voicemail=/relative; open=mon 09:00-10:00":                            "is not an absolute http(s) URL",
		"voicemail=" + voicemail + "; open=mon 9:00-10:00":                     "are not HH:MM-HH:MM",
		"voicemail=" + voicemail + "; open=mon 10:00-10:00":                    "are empty",
		"voicemail=" + voicemail + "; open=mon 24:00-10:00":                    "are not HH:MM-HH:MM",
		"voicemail=" + voicemail + "; open=lun 09:00-10:00":                    "are not mon..sun",
		"voicemail=" + voicemail + "; open=mon-fri":                            "want DAYS HH:MM-HH:MM",
		"voicemail=" + voicemail + "; open=mon 09:00-10:00; zone=Mars/Olympus": "not a known time zone",
		"voicemail=" + voicemail + "; open=mon 09:00-10:00; method=PUT":        "is not GET or POST",
		"voicemail=" + voicemail + "; open=mon 09:00-10:00; closed=25/12":      "is not a YYYY-MM-DD date",
		"voicemail=" + voicemail + "; open=mon 09:00-10:00; colour=blue":       `unknown setting "colour"`,
		"voicemail=" + voicemail + "; voicemail=" + voicemail:                  "voicemail is given twice",
		"voicemail " + voicemail:                                               "is not key=value",
	}
	for cfg, want := range bad {
		_, err := parseSchedule(cfg)
		if !errors.Is(err, errConfig) || !strings.Contains(err.Error(), want) {
			t.Errorf("Config %q: %v, want an error containing %q", cfg, err, want)
		}
	}
	// A week-wrapping day span and every zone of the embedded database.
	s, err := parseSchedule("voicemail=" + voicemail + "; zone=America/New_York; open=sat-mon 00:00-24:00")
	if err != nil {
		t.Fatal(err)
	}
	if !s.open(at(t, "2026-03-09T12:00:00-04:00")) || s.open(at(t, "2026-03-10T12:00:00-04:00")) {
		t.Errorf("sat-mon: Monday must be open, Tuesday closed")
	}
}

// redirectInput is a redirect request as the switch sends it, at now.
func redirectInput(url, config, now string) sdk.RedirectInput {
	return sdk.RedirectInput{
		Call:    sdk.Call{Sid: "CA1", AccountSid: "AC1", From: "+15550001", To: "+15550002", Direction: "inbound", Status: "in-progress", URL: "https://app.example.com/start"},
		Request: sdk.RedirectRequest{URL: url, Method: "POST", RequesterSid: "AC1"},
		Config:  config,
		Now:     now,
	}
}

// input is the ABI encoding of a redirect request, by the SDK's encoder as
// the switch does it.
func input(url, config, now string) []byte {
	return sdk.AppendRedirectInput(nil, redirectInput(url, config, now))
}

const (
	insideHours  = "2026-03-02T09:00:00Z" // Monday 10:00 in Paris
	outsideHours = "2026-03-08T10:00:00Z" // Sunday
)

var hookCases = []struct {
	name, url, config, now string
	want                   sdk.Decision
}{
	{"inside hours", "https://app.example.com/next", config, insideHours, sdk.Allow()},
	{"outside hours", "https://app.example.com/next", config, outsideHours,
		sdk.Decision{Verdict: sdk.VerdictRewrite, Reason: "outside business hours", URL: voicemail, Method: "GET"}},
	{"outside hours, keeping the method", "https://app.example.com/next", "voicemail=" + voicemail + "; open=mon-fri 09:00-17:00", outsideHours,
		sdk.Decision{Verdict: sdk.VerdictRewrite, Reason: "outside business hours", URL: voicemail}},
	{"already to voicemail", voicemail, "voicemail=" + voicemail + "; open=mon-fri 09:00-17:00", outsideHours, sdk.Allow()},
	{"no time from the host", "https://app.example.com/next", config, "", sdk.Allow()},
	{"now with an offset", "https://app.example.com/next", config, "2026-03-08T11:00:00+01:00",
		sdk.Decision{Verdict: sdk.VerdictRewrite, Reason: "outside business hours", URL: voicemail, Method: "GET"}},
	{"bad config", "https://app.example.com/next", "open=always", insideHours,
		sdk.Deny(`businesshours: Config: open "always": want DAYS HH:MM-HH:MM`)},
}

// TestRedirectHookNatively runs the SDK's decoding, the policy and the
// SDK's encoding as plain Go.
func TestRedirectHookNatively(t *testing.T) {
	var p plugin
	for _, c := range hookCases {
		var in sdk.RedirectInput
		if err := sdk.DecodeRedirectInput(input(c.url, c.config, c.now), &in); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		d, err := p.redirect(in)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		checkDecision(t, c.name, sdk.AppendDecision(nil, d), c.want)
	}
	if _, err := p.redirect(redirectInput("https://app.example.com/next", config, "yesterday")); err == nil {
		t.Error("a malformed now was accepted")
	}
}

func checkDecision(t *testing.T, name string, out []byte, want sdk.Decision) {
	t.Helper()
	var d sdk.Decision
	if err := sdk.DecodeDecision(out, &d); err != nil {
		t.Fatalf("%s: output %s: %v", name, out, err)
	}
	if err := d.Validate(sdk.HookRedirect); err != nil {
		t.Errorf("%s: output %s: %v", name, out, err)
	}
	if d != want {
		t.Errorf("%s: got %+v, want %+v", name, d, want)
	}
}

// guests builds the plugin once per test binary: a build takes seconds.
var guests wasmtest.Builder

func build(tb testing.TB) []byte {
	tb.Helper()
	return guests.Go(tb, ".")
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
	m, err := h.Load(ctx, wasm, wasmhost.ModuleOptions{Name: "businesshours", Hooks: []string{sdk.HookRedirect}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, c := range hookCases {
		out, err := m.Invoke(ctx, sdk.HookRedirect, input(c.url, c.config, c.now), wasmhost.CallInfo{CallSid: "CA1"})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		checkDecision(t, c.name, out, c.want)
	}
	// An input without "now" at all (a switch older than the field) is
	// allowed, as an empty one is.
	noNow := `{"call":{"sid":"CA1"},"request":{"url":"https://app.example.com/next","method":"POST"},` +
		`"config":"voicemail=` + voicemail + `; open=mon-fri 09:00-17:00"}`
	out, err := m.Invoke(ctx, sdk.HookRedirect, []byte(noNow), wasmhost.CallInfo{CallSid: "CA1"})
	if err != nil {
		t.Fatalf("input without now: %v", err)
	}
	checkDecision(t, "input without now", out, sdk.Allow())
	// Input that is not the ABI's JSON, or a now that is not RFC 3339,
	// traps, so the fail mode decides.
	for _, bad := range []string{`{"now": "yesterday"}`, "not json"} {
		if _, err := m.Invoke(ctx, sdk.HookRedirect, []byte(bad), wasmhost.CallInfo{CallSid: "CA1"}); !errors.Is(err, wasmhost.ErrTrap) {
			t.Errorf("input %q: %v, want a trap", bad, err)
		}
	}
	// It implements redirect only, so binding it to hangup is refused.
	if _, err := h.Load(ctx, wasm, wasmhost.ModuleOptions{Name: "businesshours", Hooks: []string{sdk.HookHangup}}); !errors.Is(err, wasmhost.ErrMissingExport) {
		t.Fatalf("binding to hangup: %v, want ErrMissingExport", err)
	}
}

// BenchmarkDecision measures one decision on a pooled instance, input
// encoding and output decoding included (the SDK's codec in the guest).
func BenchmarkDecision(b *testing.B) {
	wasm := build(b)
	ctx := context.Background()
	h, err := wasmhost.New(ctx, wasmhost.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close(ctx)
	m, err := h.Load(ctx, wasm, wasmhost.ModuleOptions{Name: "businesshours", Hooks: []string{sdk.HookRedirect}})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	var d sdk.Decision
	for b.Loop() {
		out, err := m.Invoke(ctx, sdk.HookRedirect, input("https://app.example.com/next", config, outsideHours), wasmhost.CallInfo{CallSid: "CA1"})
		if err != nil {
			b.Fatal(err)
		}
		if err := sdk.DecodeDecision(out, &d); err != nil || d.Verdict != sdk.VerdictRewrite {
			b.Fatalf("%s: %v", out, err)
		}
	}
}
