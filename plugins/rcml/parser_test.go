package rcml

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzParserReuse: a Parser that parsed one document parses the next exactly
// as a new one would, whatever the first left behind (open elements, long
// text, warnings, an error half-way).
func FuzzParserReuse(f *testing.F) {
	docs := []string{
		``,
		`<a><b><c></b></a>`,
		`<Response><Say>a &amp; b` + "\r\n" + `c</Say><Gather hints="x"><Say>s</Say><Pause/></Gather><Say loop="x">q</Say></Response>`,
		`<Response><Dial>client:bob?X-A=1&X-B=2</Dial><Dial><Conference>r</Conference></Dial></Response>`,
		typicalDoc,
	}
	for _, a := range docs {
		for _, b := range docs {
			f.Add([]byte(a), []byte(b))
		}
	}
	f.Fuzz(func(t *testing.T, first, second []byte) {
		var ps Parser
		ps.Parse(first, testDocURL)
		got, gotErr := ps.Parse(second, testDocURL)
		want, wantErr := Parse(second, testDocURL)
		if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
			t.Fatalf("after %q: error %v, a new parser gives %v", first, gotErr, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("after %q:\n got %+v\nwant %+v", first, got, want)
		}
	})
}

// TestParserReusesItsMemory: the second parse of a document allocates less
// than the first, which is what the Parser is for.
func TestParserReusesItsMemory(t *testing.T) {
	body := []byte(typicalDoc)
	fresh := testing.AllocsPerRun(50, func() { Parse(body, testDocURL) })
	var ps Parser
	ps.Parse(body, testDocURL)
	reused := testing.AllocsPerRun(50, func() { ps.Parse(body, testDocURL) })
	if reused >= fresh-4 {
		t.Fatalf("%v allocations with a reused Parser, %v with a new one", reused, fresh)
	}
}

// TestParserKeepsBoundedMemory: a large document does not leave its memory
// to the Parser for good, and a Dial's invalid nouns reuse one list.
func TestParserKeepsBoundedMemory(t *testing.T) {
	var ps Parser
	big := "<Response><Dial>" + strings.Repeat("<Number/>", 3000) + "</Dial>" + strings.Repeat("<Pause/>", 3000) + "</Response>"
	if _, err := ps.Parse([]byte(big), testDocURL); err != nil {
		t.Fatal(err)
	}
	if n := len(ps.p.mem.targets.lists); n != 1 {
		t.Errorf("3,000 empty nouns of one Dial took %d target lists, want 1", n)
	}
	if _, err := ps.Parse([]byte(typicalDoc), testDocURL); err != nil {
		t.Fatal(err)
	}
	if c := cap(ps.p.mem.pauses); c > keptElements {
		t.Errorf("the parser kept room for %d pauses", c)
	}
	if c := cap(ps.p.plan.Verbs); c > keptElements {
		t.Errorf("the parser kept room for %d verbs", c)
	}
}
