package rcml

import (
	"testing"

	"github.com/patchbay/patchbay/plugins/rcml/rcmltest"
)

// typicalDoc is the typical ~1 KiB IVR document every RCML benchmark and
// differential test parses.
var typicalDoc = rcmltest.Typical()

func TestTypicalDocument(t *testing.T) {
	p := mustParse(t, typicalDoc)
	want := []Kind{KindSay, KindPause, KindGather, KindSay, KindDial, KindRecord, KindRedirect}
	if got := kinds(p.Verbs); !equalKinds(got, want) {
		t.Fatalf("kinds = %v, want %v", got, want)
	}
	if len(p.Warnings) != 0 {
		t.Errorf("warnings: %+v", p.Warnings)
	}
	d := p.Verbs[4].Dial
	if len(d.Targets) != 3 || d.Targets[0].Headers["X-Priority"] != "high" || d.Targets[1].To != "sip:desk@pbx.example.com;transport=tcp" ||
		d.Targets[2].URL != "http://app.example.com/ivr/whisper" {
		t.Errorf("dial targets = %s", mustJSON(d.Targets))
	}
	if g := p.Verbs[2].Gather; len(g.Prompts) != 2 || g.Prompts[1].Play.Loop != 2 {
		t.Errorf("gather = %s", mustJSON(g))
	}
	roundTrip(t, p)
}

func equalKinds(a, b []Kind) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestJSONRoundTripEveryVerb puts every verb and noun, with non-default values, through JSON.
func TestJSONRoundTripEveryVerb(t *testing.T) {
	doc := `<Response>
<Play loop="0">a.wav</Play><Say voice="woman" loop="2" language="de">Hallo</Say><Pause length="0"/><Hangup/>
<Redirect method="GET">b.xml</Redirect><Reject reason="busy"/>
<Gather action="g" input="dtmf speech" hints="a,b"><Say>s</Say><Play>p</Play><Pause/></Gather>
<Record transcribeCallback="t" finishOnKey="-1" media="video_only"/>
<Dial record="true" callerId="+1"><Number statusCallbackEvent="answered">+1?X-A=1</Number><Sip username="u" password="p">s@h</Sip></Dial>
<Dial><Conference waitUrl="" muted="true">r</Conference></Dial>
<Sms to="1" from="2">t</Sms><Fax to="1">d</Fax><Email to="a" from="b" cc="c">e</Email>
<Say voice="x" loop="y">warned</Say>
</Response>`
	p := mustParse(t, doc)
	if len(p.Verbs) != 14 || len(p.Warnings) != 2 {
		t.Fatalf("got %d verbs, %d warnings: %v", len(p.Verbs), len(p.Warnings), kinds(p.Verbs))
	}
	roundTrip(t, p)
}

func BenchmarkParseTypical(b *testing.B) {
	body := []byte(typicalDoc)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(body, testDocURL); err != nil {
			b.Fatal(err)
		}
	}
}
