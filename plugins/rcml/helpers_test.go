package rcml

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
)

const testDocURL = "http://app.example.com/ivr/start.xml"

// mustParse parses doc (wrapped in nothing: callers write the whole document).
func mustParse(t *testing.T, doc string) *Plan {
	t.Helper()
	p, err := Parse([]byte(doc), testDocURL)
	if err != nil {
		t.Fatalf("Parse(%q): %v", doc, err)
	}
	return p
}

// only parses a document that must yield exactly one verb and returns it with the
// warning codes.
func only(t *testing.T, doc string) (Verb, []int) {
	t.Helper()
	p := mustParse(t, doc)
	if len(p.Verbs) != 1 {
		t.Fatalf("Parse(%q) gave %d verbs, want 1: %+v", doc, len(p.Verbs), p.Verbs)
	}
	return p.Verbs[0], codes(p)
}

func codes(p *Plan) []int {
	var out []int
	for _, w := range p.Warnings {
		out = append(out, w.Code)
	}
	return out
}

func kinds(vs []Verb) []Kind {
	var out []Kind
	for _, v := range vs {
		out = append(out, v.Kind)
	}
	return out
}

func checkCodes(t *testing.T, doc string, got, want []int) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s\nwarning codes = %v, want %v", doc, got, want)
	}
}

// roundTrip checks that a plan survives JSON unchanged.
func roundTrip(t testing.TB, p *Plan) {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var back Plan
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	if !reflect.DeepEqual(&back, p) {
		t.Fatalf("JSON round trip changed the plan:\n got %+v\nwant %+v\njson %s", back, *p, b)
	}
}

func jsonMarshal(p *Plan) ([]byte, error) { return json.Marshal(p) }

func isParseError(err error, cause error) bool {
	var pe *ParseError
	return errors.As(err, &pe) && errors.Is(err, cause)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
