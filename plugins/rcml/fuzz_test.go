package rcml

import (
	"errors"
	"testing"
)

// FuzzParse checks that no input panics, that every failure is a *ParseError, and that
// every plan round-trips through JSON. Plain `go test` runs the seeds below.
func FuzzParse(f *testing.F) {
	// Literals only: switch/rcmlwasm reads these seeds from this file's
	// syntax to run them through the guest too.
	seeds := []string{
		``,
		`<Response/>`,
		`<Response><Say>a & b</Say><Play>x.wav</Play></Response>`,
		`<Response><Gather hints="a,b"><Say>s</Say><Play>p</Play><Pause length="2"/></Gather></Response>`,
		`<Response><Dial>client:bob?X-A=1&X-B=2</Dial><Dial>a@b;transport=tcp</Dial><Dial>+1</Dial></Response>`,
		`<Response><Dial><Conference waitUrl="">r</Conference><Number>1</Number></Dial></Response>`,
		`<Response><Dial><Conference> </Conference></Dial><Dial><Uri>sip:x@y?</Uri></Dial></Response>`,
		`<Response><Record finishOnKey="-1"/><Reject reason="x"/><Redirect method="x">%zz</Redirect></Response>`,
		`<Response><Gather><X><Play>p</Play></X><Say>s</Say></Gather><Enqueue><Say>q</Say></Enqueue></Response>`,
		`<?xml version="1.0" encoding="ISO-8859-1"?><Say>caf` + "\xe9" + `</Say>`,
		`<Response><Say><![CDATA[a & b]]></Say><!-- c --></Response>`,
		`<Say>&#0;</Say>`,
		`<a><b><c></b></a>`,
		"<Say>\xff</Say>",
		`<Response><Sms>x</Sms><Fax>y</Fax><Email to="a" from="b">z</Email></Response>`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(typicalDoc))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := Parse(body, testDocURL)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *ParseError", err, err)
			}
			return
		}
		roundTrip(t, p)
		for _, v := range p.Verbs {
			if v.Kind == "" {
				t.Fatalf("placeholder verb left in plan: %+v", p.Verbs)
			}
		}
	})
}
