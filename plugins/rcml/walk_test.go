package rcml

import (
	"slices"
	"testing"
)

func TestWalkOrderAndOwnership(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []Kind
	}{
		{"document order", `<Response><Say>a</Say><Play>b.wav</Play><Pause/><Hangup/></Response>`,
			[]Kind{KindSay, KindPlay, KindPause, KindHangup}},
		{"root name not checked", `<Anything><Hangup/></Anything>`, []Kind{KindHangup}},
		{"root may be a verb", `<Say>hi</Say>`, []Kind{KindSay}},
		{"unknown elements ignored, verbs inside them taken",
			`<Response><Foo><Bar><Say>deep</Say></Bar></Foo><Unknown/></Response>`, []Kind{KindSay}},
		{"verb names are case-sensitive", `<Response><say>x</say><HANGUP/></Response>`, nil},
		{"gather owns its prompts", `<Response><Gather><Say>a</Say><Play>b</Play><Pause/></Gather><Hangup/></Response>`,
			[]Kind{KindGather, KindHangup}},
		{"gather ignores owned non-prompt verbs", `<Response><Gather><Redirect>x</Redirect><Hangup/></Gather></Response>`,
			[]Kind{KindGather}},
		{"verbs owned by other verbs are skipped", `<Response><Say>a<Play>p</Play></Say><Dial><Number>1</Number><Hangup/></Dial></Response>`,
			[]Kind{KindSay, KindDial}},
		{"grandchild of the verb taken last is taken", `<Response><Gather><X><Play>p</Play></X></Gather></Response>`,
			[]Kind{KindGather, KindPlay}},
		{"upstream quirk: after a taken grandchild, a direct child is taken too",
			`<Response><Gather><X><Play>p</Play></X><Say>s</Say></Gather></Response>`,
			[]Kind{KindGather, KindPlay, KindSay}},
		{"Enqueue and Leave own their children but are not planned",
			`<Response><Enqueue><Say>x</Say></Enqueue><Leave/><Hangup/></Response>`, []Kind{KindHangup}},
		{"dropped verb keeps order of the rest", `<Response><Say></Say><Redirect/><Play>a</Play><Dial/></Response>`,
			[]Kind{KindPlay}},
		{"nested verb inside a dropped verb comes after it", `<Response><Dial><X><Say>in</Say></X></Dial><Hangup/></Response>`,
			[]Kind{KindSay, KindHangup}},
		{"comments and CDATA", `<Response><!-- c --><Say><![CDATA[a < b & c]]></Say></Response>`, []Kind{KindSay}},
		{"namespaced elements match on local name", `<r:Response xmlns:r="urn:x"><r:Hangup/></r:Response>`, []Kind{KindHangup}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParse(t, tc.doc)
			if got := kinds(p.Verbs); !slices.Equal(got, tc.want) {
				t.Errorf("kinds = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestGatherPrompts(t *testing.T) {
	v, warn := only(t, `<Gather><Say voice="woman" loop="2">Press 1</Say><Pause length="3"/><Play loop="0">menu.wav</Play><Say></Say></Gather>`)
	checkCodes(t, "gather", warn, []int{CodeSayText}) // the empty <Say> is dropped, with a warning
	want := []Verb{
		{Kind: KindSay, Say: &Say{Text: "Press 1", Voice: "woman", Language: "en", Loop: 2}},
		{Kind: KindPause, Pause: &Pause{Length: 3}},
		{Kind: KindPlay, Play: &Play{URL: "http://app.example.com/ivr/menu.wav", Loop: 0}},
	}
	if len(v.Gather.Prompts) != len(want) {
		t.Fatalf("prompts = %+v", v.Gather.Prompts)
	}
	for i := range want {
		got := v.Gather.Prompts[i]
		if got.Kind != want[i].Kind || (got.Say != nil && *got.Say != *want[i].Say) ||
			(got.Play != nil && *got.Play != *want[i].Play) || (got.Pause != nil && *got.Pause != *want[i].Pause) {
			t.Errorf("prompt %d = %+v, want %+v", i, got, want[i])
		}
	}
	// Prompt warnings use the nested codes upstream uses.
	_, warn = only(t, `<Gather><Say voice="robot" loop="x">a</Say><Play loop="-1">b</Play><Pause length="z"/><Play>%zz</Play></Gather>`)
	checkCodes(t, "gather prompts", warn, []int{CodeGatherSayLoop, CodeGatherSayVoice, CodePlayLoop, CodePauseLength, CodeGatherPlayURI})
}

func TestText(t *testing.T) {
	tests := []struct{ doc, want string }{
		{`<Say>  hello  </Say>`, "hello"},
		{"<Say>\n\tline one\n</Say>", "line one"},
		{`<Say>a<b>ignored</b>c</Say>`, "ac"},
		{`<Say>x &amp; y &lt;z&gt; &#65;&#x42;</Say>`, "x & y <z> AB"},
		{`<Say>Tom & Jerry</Say>`, "Tom & Jerry"},
		{`<Say>a&b;c</Say>`, ""}, // unknown entity: parse failure, checked below
		{`<Say><![CDATA[1 & 2 &amp;]]></Say>`, "1 & 2 &amp;"},
		{`<Say>caf` + "\u00e9" + `</Say>`, "caf\u00e9"},
	}
	for _, tc := range tests {
		p, err := Parse([]byte(tc.doc), testDocURL)
		if tc.want == "" {
			if err == nil {
				t.Errorf("Parse(%q) succeeded, want an error", tc.doc)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.doc, err)
			continue
		}
		if got := p.Verbs[0].Say.Text; got != tc.want {
			t.Errorf("Parse(%q) text = %q, want %q", tc.doc, got, tc.want)
		}
	}
}

func TestLatin1Declaration(t *testing.T) {
	doc := append([]byte(`<?xml version="1.0" encoding="ISO-8859-1"?><Say>caf`), 0xe9, '<', '/', 'S', 'a', 'y', '>')
	p, err := Parse(doc, testDocURL)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Verbs[0].Say.Text; got != "caf\u00e9" {
		t.Errorf("text = %q", got)
	}
	if _, err := Parse([]byte(`<?xml version="1.0" encoding="EBCDIC"?><Hangup/>`), testDocURL); err == nil {
		t.Error("unknown encoding accepted")
	}
}
