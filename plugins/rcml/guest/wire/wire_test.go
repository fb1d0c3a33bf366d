package wire_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"runtime"
	"testing"

	"github.com/patchbay/patchbay/plugins/rcml"
	"github.com/patchbay/patchbay/plugins/rcml/guest/wire"
)

func TestInputRoundTrip(t *testing.T) {
	for _, d := range []rcml.Document{
		{},
		{Body: []byte("<Response/>"), URL: "https://a.example.com/x?y=1", ContentType: "text/xml; charset=utf-8"},
		{Body: []byte{0, 1, 2, 0xff}, URL: "\x00\xff", ContentType: ""},
	} {
		in := wire.AppendInput([]byte("junk"), d)[4:]
		if len(in) != wire.InputSize(d) {
			t.Fatalf("InputSize %d, encoded %d bytes", wire.InputSize(d), len(in))
		}
		got, err := wire.DecodeInput(in)
		if err != nil {
			t.Fatal(err)
		}
		if got.URL != d.URL || got.ContentType != d.ContentType || !bytes.Equal(got.Body, d.Body) {
			t.Fatalf("round trip of %+v gave %+v", d, got)
		}
	}
}

func TestDecodeInputRefusesBadBytes(t *testing.T) {
	good := wire.AppendInput(nil, rcml.Document{Body: []byte("b"), URL: "u", ContentType: "c"})
	bad := [][]byte{
		nil,
		good[:5],
		append([]byte{2}, good[1:]...), // unknown version
		{1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0}, // URL length past the end
		{1, 0, 0, 0, 0, 9, 0, 0, 0, 'a'},              // content type length past the end
		{1, 1, 0, 0, 0, 'u', 0xff, 0xff, 0xff, 0x7f},  // same, with a URL
	}
	for _, b := range bad {
		if _, err := wire.DecodeInput(b); !errors.Is(err, wire.ErrBadInput) {
			t.Errorf("DecodeInput(%q) = %v, want ErrBadInput", b, err)
		}
	}
}

func FuzzDecodeInput(f *testing.F) {
	f.Add(wire.AppendInput(nil, rcml.Document{Body: []byte("<Say>x</Say>"), URL: "u", ContentType: "text/xml"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := wire.DecodeInput(b)
		if err != nil {
			return
		}
		if again := wire.AppendInput(nil, d); !bytes.Equal(again, b) {
			t.Fatalf("decoded %q, re-encoded %q", b, again)
		}
	})
}

// plans has every field of every plan type set, and strings that need
// escaping.
var plans = []*rcml.Plan{
	nil,
	{},
	{Verbs: []rcml.Verb{}},
	{
		Verbs: []rcml.Verb{
			{Kind: rcml.KindPlay, Play: &rcml.Play{URL: "https://x/a.wav?a=1&b=<2>", Loop: 0}},
			{Kind: rcml.KindSay, Say: &rcml.Say{Text: "\"quote\" \\ \b\f\n\r\t\x00\x1f\x7f é \u2028\u2029 \xff\xfe 😀", Voice: "woman", Language: "de", Loop: -3}},
			{Kind: rcml.KindPause, Pause: &rcml.Pause{Length: 1 << 40}},
			{Kind: rcml.KindHangup},
			{Kind: rcml.KindRedirect, Redirect: &rcml.Redirect{URL: "/next", Method: rcml.MethodGET}},
			{Kind: rcml.KindReject, Reject: &rcml.Reject{Reason: rcml.RejectBusy}},
			{Kind: rcml.KindGather, Gather: &rcml.Gather{Action: "g", Method: "POST", Timeout: 5, FinishOnKey: "#", NumDigits: 32767,
				StartInputKey: "*", Input: rcml.InputDTMFSpeech, Language: "en-US", Hints: []string{"a", "<b>"},
				PartialResultCallback: "p", PartialResultCallbackMethod: "GET",
				Prompts: []rcml.Verb{{Kind: rcml.KindSay, Say: &rcml.Say{Text: "s"}}, {Kind: rcml.KindPause, Pause: &rcml.Pause{}}}}},
			{Kind: rcml.KindGather, Gather: &rcml.Gather{}},
			{Kind: rcml.KindRecord, Record: &rcml.Record{Action: "r", Method: "GET", Timeout: 1, FinishOnKey: "", MaxLength: 3600,
				PlayBeep: true, Transcribe: true, TranscribeCallback: "t", Media: rcml.MediaAudioVideo}},
			{Kind: rcml.KindRecord, Record: &rcml.Record{}},
			{Kind: rcml.KindDial, Dial: &rcml.Dial{Mode: rcml.DialModeFork, Action: "d", Method: "POST", Timeout: 30, TimeLimit: 14400,
				CallerID: "+1", Record: true, FromText: true, Targets: []rcml.Target{
					{Kind: rcml.TargetSip, To: "sip:a@b;transport=tcp", Headers: map[string]string{"X-Z": "1", "X-A": "&", "X-M": ""},
						URL: "u", Method: "GET", StatusCallback: "s", StatusCallbackMethod: "POST",
						StatusCallbackEvents: []string{"answered", "completed"}, Username: "u", Password: "p"},
					{Kind: rcml.TargetNumber, To: "+1", Headers: map[string]string{}, StatusCallbackEvents: []string{}},
				}}},
			{Kind: rcml.KindDial, Dial: &rcml.Dial{Mode: rcml.DialModeConference, Conference: &rcml.Conference{Name: "room", Muted: true,
				Beep: true, StartConferenceOnEnter: true, EndConferenceOnExit: true, WaitURL: "", WaitMethod: "POST", MaxParticipants: 40}}},
			{Kind: rcml.KindSms, Sms: &rcml.Sms{Body: "b", To: "t", From: "f", Action: "a", Method: "POST", StatusCallback: "s"}},
			{Kind: rcml.KindSms, Sms: &rcml.Sms{}},
			{Kind: rcml.KindFax, Fax: &rcml.Fax{Document: "d", To: "t", From: "f", Action: "a", Method: "POST", StatusCallback: "s"}},
			{Kind: rcml.KindFax, Fax: &rcml.Fax{}},
			{Kind: rcml.KindEmail, Email: &rcml.Email{Body: "b", To: "t", From: "f", CC: "c", BCC: "bc", Subject: "s"}},
			{Kind: rcml.KindEmail, Email: &rcml.Email{}},
		},
		Warnings: []rcml.Warning{{Code: 13322, Message: "<Say loop> \"y\""}, {Code: -1}},
	},
}

// jsonRoundTrip is p as the host got it when the output was JSON: through
// encoding/json and back (empty lists with omitempty become nil, invalid
// UTF-8 becomes U+FFFD), and with the verbs never nil. The binary output must
// decode to exactly that, so that nothing downstream sees a difference.
func jsonRoundTrip(t testing.TB, p *rcml.Plan) *rcml.Plan {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back rcml.Plan
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Verbs == nil {
		back.Verbs = []rcml.Verb{}
	}
	return &back
}

// TestPlanRoundTrip: every field of every plan type comes back.
func TestPlanRoundTrip(t *testing.T) {
	for i, p := range plans {
		o, err := wire.DecodeOutput(wire.AppendPlanOutput([]byte("junk"), p)[4:])
		if err != nil || o.Failure != nil {
			t.Fatalf("plan %d: %+v, %v", i, o, err)
		}
		want := jsonRoundTrip(t, p)
		if p == nil {
			want = &rcml.Plan{Verbs: []rcml.Verb{}}
		}
		if !reflect.DeepEqual(o.Plan, want) {
			t.Fatalf("plan %d:\n got %+v\nwant %+v", i, o.Plan, want)
		}
	}
}

// FuzzPlanStrings: any string in any place of a plan comes back, as UTF-8.
func FuzzPlanStrings(f *testing.F) {
	for _, s := range []string{"", "plain", "<&>\"\\", "\x00\x1f\b\f", "\u2028\u2029", "\xff\xc3", "é😀", "a\xed\xa0\x80b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := &rcml.Plan{
			Verbs: []rcml.Verb{
				{Kind: rcml.Kind(s), Say: &rcml.Say{Text: s, Voice: s}},
				{Kind: rcml.KindDial, Dial: &rcml.Dial{Mode: s, Targets: []rcml.Target{{To: s, Headers: map[string]string{s: s, "k": s}, StatusCallbackEvents: []string{s}}}}},
				{Kind: rcml.KindGather, Gather: &rcml.Gather{Hints: []string{s, s}, Prompts: []rcml.Verb{{Kind: rcml.KindPlay, Play: &rcml.Play{URL: s}}}}},
			},
			Warnings: []rcml.Warning{{Message: s}},
		}
		o, err := wire.DecodeOutput(wire.AppendPlanOutput(nil, p))
		if err != nil {
			t.Fatal(err)
		}
		if want := jsonRoundTrip(t, p); !reflect.DeepEqual(o.Plan, want) {
			t.Fatalf("%q:\n got %+v\nwant %+v", s, o.Plan, want)
		}
	})
}

// FuzzDecodeOutput: whatever a guest writes, the host neither panics nor
// allocates past the output's size, and what it accepts re-encodes to the
// same value.
func FuzzDecodeOutput(f *testing.F) {
	for _, p := range plans {
		f.Add(wire.AppendPlanOutput(nil, p))
	}
	f.Add(wire.AppendFailureOutput(nil, wire.Failure{Kind: wire.KindParse, Cause: wire.CauseMalformed, Line: 2, Offset: 9, Message: "m"}))
	f.Fuzz(func(t *testing.T, out []byte) {
		o, err := wire.DecodeOutput(out)
		if err != nil {
			if !errors.Is(err, wire.ErrBadOutput) {
				t.Fatalf("error %v does not match ErrBadOutput", err)
			}
			return
		}
		var again []byte
		if o.Plan != nil {
			again = wire.AppendPlanOutput(nil, o.Plan)
		} else {
			again = wire.AppendFailureOutput(nil, *o.Failure)
		}
		o2, err := wire.DecodeOutput(again)
		if err != nil || !reflect.DeepEqual(o, o2) {
			t.Fatalf("%x decoded to %+v, re-encoded and decoded to %+v, %v", out, o, o2, err)
		}
	})
}

// TestOutputs: a plan and each kind of failure come back as the error
// rcml.Handle gave, or as the plan.
func TestOutputs(t *testing.T) {
	plan := plans[3]
	o, err := wire.DecodeOutput(wire.AppendPlanOutput(nil, plan))
	if err != nil || o.Failure != nil {
		t.Fatalf("plan output: %+v, %v", o, err)
	}
	if !reflect.DeepEqual(o.Plan, jsonRoundTrip(t, plan)) {
		t.Fatalf("plan output decoded to %+v", o.Plan)
	}

	_, unsupported := rcml.Handle(rcml.Document{ContentType: "image/png"})
	_, badURL := rcml.Handle(rcml.Document{ContentType: "text/xml", URL: "http://[::1"})
	_, badInput := wire.DecodeInput(nil)
	for _, orig := range []error{
		&rcml.ParseError{Line: 3, Offset: 77, Msg: "m", Err: rcml.ErrTooDeep},
		&rcml.ParseError{Msg: "big", Err: rcml.ErrDocumentTooLarge},
		&rcml.ParseError{Line: 1, Msg: "h", Err: rcml.ErrHintsLimit},
		&rcml.ParseError{Line: 2, Offset: 1, Msg: "x", Err: errors.Join(rcml.ErrMalformed, errors.New("xml"))},
		rcml.ErrNoContentType, unsupported, badURL, badInput, errors.New("something else"),
	} {
		out := wire.AppendFailureOutput(nil, wire.FailureOf(orig))
		o, err := wire.DecodeOutput(out)
		if err != nil || o.Plan != nil {
			t.Fatalf("%s: %+v, %v", out, o, err)
		}
		got := o.Failure.Err()
		if got.Error() != orig.Error() {
			t.Errorf("%s: text %q, want %q", out, got, orig)
		}
		for _, s := range []error{rcml.ErrDocumentTooLarge, rcml.ErrTooDeep, rcml.ErrHintsLimit, rcml.ErrMalformed,
			rcml.ErrNoContentType, rcml.ErrUnsupportedContentType, rcml.ErrInvalidDocumentURL, wire.ErrBadInput} {
			if errors.Is(got, s) != errors.Is(orig, s) {
				t.Errorf("%s: errors.Is(%v) = %v, want %v", out, s, errors.Is(got, s), errors.Is(orig, s))
			}
		}
		var ope, gpe *rcml.ParseError
		if errors.As(orig, &ope) && (!errors.As(got, &gpe) || gpe.Line != ope.Line || gpe.Offset != ope.Offset || gpe.Msg != ope.Msg) {
			t.Errorf("%s: parse error %+v, want %+v", out, got, ope)
		}
	}
}

func TestDecodeOutputRefusesGarbage(t *testing.T) {
	plan := wire.AppendPlanOutput(nil, plans[3])
	failure := wire.AppendFailureOutput(nil, wire.Failure{Kind: wire.KindInternal, Message: "m"})
	u32 := func(n uint32) []byte { return []byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)} }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for name, out := range map[string][]byte{
		"empty":              nil,
		"version only":       {wire.OutputVersion},
		"JSON of old":        []byte(`{"plan":{"verbs":[]}}`),
		"other version":      cat([]byte{2}, plan[1:]),
		"unknown tag":        {wire.OutputVersion, 'X', 0, 0, 0, 0, 0, 0, 0, 0},
		"truncated plan":     plan[:len(plan)-1],
		"truncated failure":  failure[:len(failure)-3],
		"trailing bytes":     cat(plan, []byte{0}),
		"huge verb count":    cat([]byte{wire.OutputVersion, 'P'}, u32(1<<31), u32(0)),
		"huge string length": cat([]byte{wire.OutputVersion, 'P'}, u32(1), u32(0xffffffff)),
		"unknown verb part":  cat([]byte{wire.OutputVersion, 'P'}, u32(1), u32(0), []byte{0, 0x80}, u32(0)),
		"boolean of 2":       cat([]byte{wire.OutputVersion, 'P'}, u32(1), u32(0), []byte{1 << 5, 0}, u32(0), u32(0), u32(0), make([]byte, 16), u32(0), []byte{2}),
		"failure no kind":    cat([]byte{wire.OutputVersion, 'E'}, u32(0), u32(0), make([]byte, 16), u32(0)),
	} {
		if _, err := wire.DecodeOutput(out); !errors.Is(err, wire.ErrBadOutput) {
			t.Errorf("%s: DecodeOutput(%x) = %v, want ErrBadOutput", name, out, err)
		}
	}
}

// TestDecodeOutputBoundsAllocation: lists are allocated at their claimed
// length before their elements are read, so an output claiming the most
// verbs it can, twice over (the plan's and a Gather's prompts), must still
// cost the host no more than a few dozen times its size.
func TestDecodeOutputBoundsAllocation(t *testing.T) {
	const size = 64 << 10
	u32 := func(n uint32) []byte { return []byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)} }
	// The most verbs a list can claim and still fit, at 6 bytes a verb, and
	// one verb per byte left.
	for _, claim := range []uint32{size/6 - 100, size - 100} {
		out := []byte{wire.OutputVersion, 'P'}
		out = append(out, u32(claim)...)                  // the plan's verbs
		out = append(out, 0, 0, 0, 0, 1<<6, 0)            // the first: kind "", a Gather
		out = append(out, make([]byte, 8*4+2*8)...)       // its strings and integers, hints empty
		out = append(out, u32(claim)...)                  // its prompts
		out = append(out, make([]byte, size-len(out))...) // empty verbs, then the end
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := wire.DecodeOutput(out)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, wire.ErrBadOutput) {
			t.Fatalf("claim %d: DecodeOutput = %v, want ErrBadOutput", claim, err)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 40*size {
			t.Fatalf("claim %d: decoding %d bytes allocated %d", claim, size, got)
		}
	}

	// A prompt cannot be a Gather, so lists of verbs nest one level only.
	nested := []byte{wire.OutputVersion, 'P'}
	nested = append(nested, u32(1)...)
	nested = append(nested, 0, 0, 0, 0, 1<<6, 0)
	nested = append(nested, make([]byte, 8*4+2*8)...)
	nested = append(nested, u32(1)...)
	nested = append(nested, 0, 0, 0, 0, 1<<6, 0)
	nested = append(nested, make([]byte, 64)...)
	if _, err := wire.DecodeOutput(nested); !errors.Is(err, wire.ErrBadOutput) {
		t.Fatalf("a Gather as a prompt: %v, want ErrBadOutput", err)
	}
}
