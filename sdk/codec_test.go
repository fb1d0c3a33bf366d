package sdk

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func sampleRedirect() RedirectInput {
	return RedirectInput{
		Call: Call{Sid: "CA1", AccountSid: "AC1", From: "+1555\"0001", To: "sip:bob@example.com", Direction: "inbound",
			Status: "in-progress", URL: "http://app/a?x=1&y=<2>", ConnectedCallSid: "CA2"},
		Request: RedirectRequest{URL: "http://app/b", Method: "POST", FallbackURL: "http://app/f",
			MoveConnectedCallLeg: true, RequesterSid: "AC0"},
		Config: "{\"allow\":[\"app\"]}\n\ttab\\ é 😀 \x01",
		Now:    "2026-11-25T20:00:00Z",
	}
}

func TestInputsRoundTripAndMatchEncodingJSON(t *testing.T) {
	in := sampleRedirect()
	b := AppendRedirectInput(nil, in)
	var viaStd RedirectInput
	if err := json.Unmarshal(b, &viaStd); err != nil {
		t.Fatalf("encoding/json rejects our encoding %s: %v", b, err)
	}
	var ours RedirectInput
	if err := DecodeRedirectInput(b, &ours); err != nil {
		t.Fatal(err)
	}
	if ours != in || viaStd != in {
		t.Fatalf("round trip:\n ours %+v\n std  %+v\n want %+v", ours, viaStd, in)
	}
	std, _ := json.Marshal(in)
	var fromStd RedirectInput
	if err := DecodeRedirectInput(std, &fromStd); err != nil || fromStd != in {
		t.Fatalf("decoding encoding/json's output: %+v, %v", fromStd, err)
	}

	h := HangupInput{Call: in.Call, Request: HangupRequest{Status: "completed", RequesterSid: "AC0"}, Config: "x",
		Now: "2026-11-25T20:00:00Z"}
	hb := AppendHangupInput(nil, h)
	var ho, hs HangupInput
	if err := DecodeHangupInput(hb, &ho); err != nil || ho != h {
		t.Fatalf("hangup round trip: %+v, %v", ho, err)
	}
	if err := json.Unmarshal(hb, &hs); err != nil || hs != h {
		t.Fatalf("encoding/json reads our hangup encoding %s as %+v, %v", hb, hs, err)
	}
	std, _ = json.Marshal(h)
	var hFromStd HangupInput
	if err := DecodeHangupInput(std, &hFromStd); err != nil || hFromStd != h {
		t.Fatalf("decoding encoding/json's hangup output: %+v, %v", hFromStd, err)
	}
}

// TestNowIsOptional: an input without "now" (from a host older than the
// field) decodes with Now empty. The other side, an older guest reading an
// input with "now", is TestDecodeSkipsUnknownFieldsAndAcceptsEscapes.
func TestNowIsOptional(t *testing.T) {
	var in RedirectInput
	if err := DecodeRedirectInput([]byte(`{"call":{"sid":"CA1"},"request":{"url":"http://x"},"config":"c"}`), &in); err != nil || in.Now != "" || in.Config != "c" {
		t.Fatalf("redirect input without now: %+v, %v", in, err)
	}
	var h HangupInput
	if err := DecodeHangupInput([]byte(`{"request":{"status":"completed"},"config":"c"}`), &h); err != nil || h.Now != "" || h.Request.Status != "completed" {
		t.Fatalf("hangup input without now: %+v, %v", h, err)
	}
}

func TestDecodeSkipsUnknownFieldsAndAcceptsEscapes(t *testing.T) {
	doc := ` { "future": {"a": [1, -2.5e3, true, null, {"b": "c"}]}, "config" : "a\u00e9\ud83d\ude00\n\/",
		"call": {"sid": "CA1", "extra": 12}, "now": "2026-11-25T20:00:00Z", "request": {"url": "http://x", "move_connected_call_leg": true} } `
	var in RedirectInput
	if err := DecodeRedirectInput([]byte(doc), &in); err != nil {
		t.Fatal(err)
	}
	if in.Config != "aé😀\n/" || in.Now != "2026-11-25T20:00:00Z" || in.Call.Sid != "CA1" || in.Request.URL != "http://x" || !in.Request.MoveConnectedCallLeg {
		t.Fatalf("decoded %+v", in)
	}
}

func TestDecodeRejectsMalformed(t *testing.T) {
	for _, doc := range []string{
		``, `[]`, `{`, `{"config"}`, `{"config":"x"`, `{"config":"x",}`, `{"config":"x"} trailing`,
		`{"config":12}`, `{"x":01}`, `{"x":-}`, `{"x":tru}`, `{"config":"\q"}`, `{"config":"\u12"}`,
		`{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
	} {
		var in RedirectInput
		if err := DecodeRedirectInput([]byte(doc), &in); !errors.Is(err, ErrSyntax) {
			t.Errorf("%q: err = %v, want ErrSyntax", doc, err)
		}
	}
}

func TestDecisionEncodingAndValidation(t *testing.T) {
	for _, tc := range []struct {
		d    Decision
		hook string
		ok   bool
	}{
		{Allow(), HookRedirect, true},
		{Deny("no \"way\""), HookHangup, true},
		{Rewrite("https://vm.example.com/box", "GET"), HookRedirect, true},
		{Rewrite("https://vm.example.com/box", ""), HookHangup, false},
		{Rewrite("/relative", ""), HookRedirect, false},
		{Rewrite("ftp://x/y", ""), HookRedirect, false},
		{Rewrite("http://x/y", "PUT"), HookRedirect, false},
		{Decision{Verdict: "maybe"}, HookRedirect, false},
		{Decision{Verdict: VerdictAllow, URL: "http://x"}, HookRedirect, false},
		{Deny(strings.Repeat("x", MaxReasonBytes+1)), HookRedirect, false},
	} {
		b := AppendDecision(nil, tc.d)
		var std, ours Decision
		if err := json.Unmarshal(b, &std); err != nil || std != tc.d {
			t.Errorf("%+v: encoding/json reads %s as %+v, %v", tc.d, b, std, err)
		}
		if err := DecodeDecision(b, &ours); err != nil || ours != tc.d {
			t.Errorf("%+v: decoded as %+v, %v", tc.d, ours, err)
		}
		if err := tc.d.Validate(tc.hook); (err == nil) != tc.ok {
			t.Errorf("%+v.Validate(%s) = %v, want ok=%v", tc.d, tc.hook, err, tc.ok)
		} else if err != nil && !errors.Is(err, ErrInvalidDecision) {
			t.Errorf("Validate error %v is not ErrInvalidDecision", err)
		}
	}
}

func TestDispatch(t *testing.T) {
	var seen RedirectInput
	h := handlers{redirect: func(in RedirectInput) Decision { seen = in; return Deny("because " + in.Call.Sid) }}
	out, err := h.dispatch(nil, HookRedirect, string(AppendRedirectInput(nil, sampleRedirect())))
	if err != nil {
		t.Fatal(err)
	}
	var d Decision
	if err := DecodeDecision(out, &d); err != nil || d != Deny("because CA1") || seen != sampleRedirect() {
		t.Fatalf("decision %+v (%v), handler saw %+v", d, err, seen)
	}
	if _, err := h.dispatch(nil, HookHangup, "{}"); !errors.Is(err, errNoHandler) {
		t.Fatalf("unregistered hook: %v", err)
	}
	if _, err := h.dispatch(nil, HookRedirect, "{"); !errors.Is(err, ErrSyntax) {
		t.Fatalf("bad input: %v", err)
	}
	if h.hooks() != "redirect" {
		t.Fatalf("hooks() = %q", h.hooks())
	}
}

// FuzzCodec holds the codec to encoding/json: what we encode it reads back
// identically, and arbitrary bytes never panic the decoder.
func FuzzCodec(f *testing.F) {
	f.Add("CA1", "http://a/b", "cfg", []byte(`{"config":"x"}`))
	f.Add("\x00\"\\", "é😀", "\xff\xfe", []byte(`{"call":{"sid":"\ud83d\ude00"}}`))
	f.Fuzz(func(t *testing.T, sid, url, config string, raw []byte) {
		in := RedirectInput{Call: Call{Sid: sid, URL: url}, Request: RedirectRequest{URL: url}, Config: config, Now: sid}
		b := AppendRedirectInput(nil, in)
		var std, ours RedirectInput
		if err := json.Unmarshal(b, &std); err != nil {
			t.Fatalf("encoding/json rejects %q: %v", b, err)
		}
		if err := DecodeRedirectInput(b, &ours); err != nil {
			t.Fatalf("decoding %q: %v", b, err)
		}
		if !reflect.DeepEqual(ours, std) {
			t.Fatalf("ours %+v, std %+v", ours, std)
		}
		if utf8.ValidString(sid) && utf8.ValidString(url) && utf8.ValidString(config) && ours != in {
			t.Fatalf("round trip of valid UTF-8 changed it: %+v", ours)
		}
		var junk RedirectInput
		_ = DecodeRedirectInput(raw, &junk)
		var d Decision
		_ = DecodeDecision(raw, &d)
	})
}

// TestFastPathAgreesWithGeneralDecoder checks that the canonical-layout
// fast path is taken for what the Append functions write, gives up on
// anything it cannot read as-is, and decodes exactly what the general
// decoder does.
func TestFastPathAgreesWithGeneralDecoder(t *testing.T) {
	call := Call{Sid: "CA0123456789abcdef0123456789abcdef", AccountSid: "AC01", From: "+15550001", To: "sip:bob@example.com", Direction: "inbound", Status: "in-progress", URL: "https://app.example.com/rcml/start", ConnectedCallSid: "CA99"}
	redirects := []struct {
		in   RedirectInput
		fast bool
	}{
		{RedirectInput{Call: call, Request: RedirectRequest{URL: "https://app/next", Method: "POST", MoveConnectedCallLeg: true, RequesterSid: "AC01"}, Config: "cfg", Now: "2026-11-25T20:00:00Z"}, true},
		{RedirectInput{}, true},
		{RedirectInput{Call: call, Config: "a\"quote"}, false},
		{RedirectInput{Call: call, Config: `back\slash`}, false},
		{RedirectInput{Call: Call{Sid: "é ü 日本"}, Config: "x"}, true},
		{RedirectInput{Config: "a very long configuration string of more than thirty-two bytes, to cross words"}, true},
	}
	for _, tc := range redirects {
		enc := string(AppendRedirectInput(nil, tc.in))
		var fast RedirectInput
		if got := fastRedirectInput(enc, &fast); got != tc.fast {
			t.Errorf("fast path on %s: %v, want %v", enc, got, tc.fast)
		}
		var general, viaAPI RedirectInput
		d := decoder{s: enc}
		if err := d.redirectInput(&general); err != nil {
			t.Fatalf("general decoder on %s: %v", enc, err)
		}
		if err := decodeRedirectInput(enc, &viaAPI); err != nil {
			t.Fatalf("decodeRedirectInput on %s: %v", enc, err)
		}
		if viaAPI != general || viaAPI != tc.in {
			t.Errorf("decoded %+v, general decoder %+v, encoded %+v", viaAPI, general, tc.in)
		}
	}
	// Deviations from the canonical layout fall back to the general decoder.
	for _, enc := range []string{
		` {"call":{},"request":{},"config":"c","now":""}`,
		`{"config":"c","call":{"sid":"CA1"}}`,
		`{"call":{"sid":null,"account_sid":"","from":"","to":"","direction":"","status":"","url":"","connected_call_sid":""},"request":{"url":"","method":"","fallback_url":"","move_connected_call_leg":false,"requester_sid":""},"config":"","now":""}`,
	} {
		var fast, general RedirectInput
		if fastRedirectInput(enc, &fast) {
			t.Errorf("fast path accepted non-canonical %s", enc)
		}
		if err := decodeRedirectInput(enc, &general); err != nil {
			t.Errorf("decoding %s: %v", enc, err)
		}
	}
	hangup := HangupInput{Call: call, Request: HangupRequest{Status: "completed", RequesterSid: "AC01"}, Config: "c", Now: "2026-11-25T20:00:00Z"}
	enc := string(AppendHangupInput(nil, hangup))
	var fast, got HangupInput
	if !fastHangupInput(enc, &fast) || fast != hangup {
		t.Errorf("hangup fast path: %+v", fast)
	}
	if err := decodeHangupInput(enc+" ", &got); err != nil || got != hangup {
		t.Errorf("hangup with trailing space: %+v, %v", got, err)
	}
}

// TestAppendStringWordScan puts each kind of byte that needs care at every
// position of a string longer than the eight-byte scan, and compares with
// encoding/json.
func TestAppendStringWordScan(t *testing.T) {
	for _, special := range []string{`"`, `\`, "\n", "\x01", "\x1f", "é", "\xff", "\x7f", " "} {
		for pos := range 20 {
			s := strings.Repeat("a", pos) + special + strings.Repeat("b", 20-pos)
			want, _ := json.Marshal(s)
			if got := appendString(nil, s); string(got) != strings.ReplaceAll(string(want), `\u003c`, "<") {
				t.Errorf("appendString(%q) = %s, encoding/json %s", s, got, want)
			}
		}
	}
}
