package main

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/patchbay/patchbay/plugins/rcml"
	"github.com/patchbay/patchbay/plugins/rcml/guest/wire"
	"github.com/patchbay/patchbay/plugins/rcml/rcmltest"
	"github.com/patchbay/patchbay/sdk"
)

func TestABIConstantsMatchTheSDK(t *testing.T) {
	if abiVersion != sdk.ABIVersion || maxInputBytes != sdk.MaxInputBytes || maxOutputBytes != sdk.MaxOutputBytes {
		t.Fatal("the guest's ABI constants differ from the SDK's")
	}
	for _, r := range hookName {
		if (r < 'a' || r > 'z') && r != '_' {
			t.Fatalf("hook name %q is not [a-z0-9_]+", hookName)
		}
	}
}

func TestHandle(t *testing.T) {
	doc := rcml.Document{Body: []byte(`<Response><Say>hi</Say><Play>a.wav</Play></Response>`), URL: "http://a.example.com/x/", ContentType: "text/xml"}
	want, _ := rcml.Handle(doc)
	dst := append(make([]byte, 0, 4096), "left over from the last call"...)
	out := handle(new(rcml.Parser), dst, wire.AppendInput(nil, doc))
	o, err := wire.DecodeOutput(out)
	if err != nil || !reflect.DeepEqual(o.Plan, want) {
		t.Fatalf("output %s (%v), want the plan %+v", out, err, want)
	}
	if &out[0] != &dst[0] {
		t.Error("handle did not reuse its buffer")
	}
}

func TestHandleFailures(t *testing.T) {
	pauses := rcml.Document{Body: []byte("<Response>" + strings.Repeat("<Pause/>", 4000) + "</Response>"), ContentType: "text/xml"}
	cases := []struct {
		in   []byte
		want error
	}{
		{[]byte{9}, wire.ErrBadInput},
		{wire.AppendInput(nil, rcml.Document{Body: []byte("<a>"), ContentType: "text/xml"}), rcml.ErrMalformed},
		{wire.AppendInput(nil, rcml.Document{}), rcml.ErrNoContentType},
		{wire.AppendInput(nil, pauses), rcml.ErrDocumentTooLarge},
	}
	for _, c := range cases {
		out := handle(new(rcml.Parser), nil, c.in)
		if len(out) > maxOutputBytes {
			t.Fatalf("output of %d bytes", len(out))
		}
		o, err := wire.DecodeOutput(out)
		if err != nil || o.Failure == nil || !errors.Is(o.Failure.Err(), c.want) {
			t.Errorf("input %q: output %s, want an error matching %v", c.in[:min(len(c.in), 20)], out, c.want)
		}
	}
	if out := handle(new(rcml.Parser), nil, wire.AppendInput(nil, pauses)); !bytes.Contains(out, []byte("sandbox limit")) {
		t.Errorf("too large a plan: %s", out)
	}
}

// BenchmarkHandle is one rcml_handle call on the typical document, run
// natively. Its CPU profile is default.pgo, which the Go toolchain uses when
// it builds the guest (profile-guided optimisation): the hot calls of the
// parse are inlined, and in wasm each call of a function with branches
// costs a termination check. After changing the parser, regenerate it with
// make pgo, then make generate.
func BenchmarkHandle(b *testing.B) {
	in := wire.AppendInput(nil, rcml.Document{Body: []byte(rcmltest.Typical()), URL: "https://app.example.com/ivr/start", ContentType: "text/xml"})
	var (
		out []byte
		ps  rcml.Parser
	)
	for b.Loop() {
		out = handle(&ps, out, in)
		if len(out) < 2 || out[1] != 'P' {
			b.Fatalf("output %.80q", out)
		}
	}
}
