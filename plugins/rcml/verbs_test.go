package rcml

import (
	"reflect"
	"testing"
)

// verbCase is one document with one verb: the verb expected and the warning codes.
type verbCase struct {
	doc   string
	want  Verb
	codes []int
}

func runVerbCases(t *testing.T, cases []verbCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.doc, func(t *testing.T) {
			got, codes := only(t, tc.doc)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("verb =\n %s\nwant\n %s", dump(got), dump(tc.want))
			}
			checkCodes(t, tc.doc, codes, tc.codes)
		})
	}
}

func dump(v Verb) string {
	p := Plan{Verbs: []Verb{v}}
	b, _ := jsonMarshal(&p)
	return string(b)
}

func TestSay(t *testing.T) {
	say := func(s Say) Verb { return Verb{Kind: KindSay, Say: &s} }
	runVerbCases(t, []verbCase{
		{`<Say>hi</Say>`, say(Say{Text: "hi", Voice: "man", Language: "en", Loop: 1}), nil},
		{`<Say voice="woman" language="fr" loop="3">hi</Say>`, say(Say{Text: "hi", Voice: "woman", Language: "fr", Loop: 3}), nil},
		{`<Say voice=" WOMAN " loop="0">hi</Say>`, say(Say{Text: "hi", Voice: "woman", Language: "en", Loop: 0}), nil},
		{`<Say voice="alice">hi</Say>`, say(Say{Text: "hi", Voice: "man", Language: "en", Loop: 1}), []int{CodeSayVoice}},
		{`<Say loop="two">hi</Say>`, say(Say{Text: "hi", Voice: "man", Language: "en", Loop: 1}), []int{CodeSayLoop}},
		{`<Say loop="-1">hi</Say>`, say(Say{Text: "hi", Voice: "man", Language: "en", Loop: 1}), []int{CodeSayLoop}},
		{`<Say voice="" loop="" language="">hi</Say>`, say(Say{Text: "hi", Voice: "man", Language: "en", Loop: 1}), nil},
	})
}

func TestPlay(t *testing.T) {
	play := func(u string, loop int) Verb { return Verb{Kind: KindPlay, Play: &Play{URL: u, Loop: loop}} }
	runVerbCases(t, []verbCase{
		{`<Play>beep.wav</Play>`, play("http://app.example.com/ivr/beep.wav", 1), nil},
		{`<Play>/music/a.wav</Play>`, play("http://app.example.com/music/a.wav", 1), nil},
		{`<Play>../a.wav?x=1&y=2</Play>`, play("http://app.example.com/a.wav?x=1&y=2", 1), nil},
		{`<Play>//cdn.example.net/a.wav</Play>`, play("http://cdn.example.net/a.wav", 1), nil},
		{`<Play>HTTPS://Other.example/./x/../a.wav</Play>`, play("HTTPS://Other.example/./x/../a.wav", 1), nil},
		{`<Play loop="0">a.wav</Play>`, play("http://app.example.com/ivr/a.wav", 0), nil},
		{`<Play loop="1.5">a.wav</Play>`, play("http://app.example.com/ivr/a.wav", 1), []int{CodePlayLoop}},
	})
	p := mustParse(t, `<Response><Play>%zz</Play><Play>ok.wav</Play></Response>`)
	if len(p.Verbs) != 1 || p.Verbs[0].Play.URL != "http://app.example.com/ivr/ok.wav" {
		t.Errorf("invalid URL not dropped: %+v", p.Verbs)
	}
	checkCodes(t, "bad url", codes(p), []int{CodeInvalidURI})
}

func TestRelativeURLsWithoutDocumentURL(t *testing.T) {
	p, err := Parse([]byte(`<Play>a.wav</Play>`), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Verbs[0].Play.URL; got != "a.wav" {
		t.Errorf("URL = %q, want it kept relative", got)
	}
	if _, err := Parse([]byte(`<Hangup/>`), "http://bad host/"); err == nil {
		t.Error("invalid document URL accepted")
	}
}

func TestPauseHangupRedirectReject(t *testing.T) {
	runVerbCases(t, []verbCase{
		{`<Pause/>`, Verb{Kind: KindPause, Pause: &Pause{Length: 1}}, nil},
		{`<Pause length="10"/>`, Verb{Kind: KindPause, Pause: &Pause{Length: 10}}, nil},
		{`<Pause length="0"/>`, Verb{Kind: KindPause, Pause: &Pause{Length: 0}}, nil},
		{`<Pause length="ten"/>`, Verb{Kind: KindPause, Pause: &Pause{Length: 1}}, []int{CodePauseLength}},
		{`<Hangup/>`, Verb{Kind: KindHangup}, nil},
		{`<Redirect>next.xml</Redirect>`, Verb{Kind: KindRedirect, Redirect: &Redirect{URL: "http://app.example.com/ivr/next.xml", Method: MethodPOST}}, nil},
		{`<Redirect method="get">next.xml</Redirect>`, Verb{Kind: KindRedirect, Redirect: &Redirect{URL: "http://app.example.com/ivr/next.xml", Method: MethodGET}}, nil},
		{`<Redirect method="PUT">next.xml</Redirect>`, Verb{Kind: KindRedirect, Redirect: &Redirect{URL: "http://app.example.com/ivr/next.xml", Method: MethodPOST}}, []int{CodeRedirectMethod}},
		{`<Reject/>`, Verb{Kind: KindReject, Reject: &Reject{Reason: RejectRejected}}, nil},
		{`<Reject reason="busy"/>`, Verb{Kind: KindReject, Reject: &Reject{Reason: RejectBusy}}, nil},
		{`<Reject reason="Rejected"/>`, Verb{Kind: KindReject, Reject: &Reject{Reason: RejectRejected}}, nil},
		{`<Reject reason="gone"/>`, Verb{Kind: KindReject, Reject: &Reject{Reason: RejectRejected}}, []int{CodeRejectReason}},
	})
	p := mustParse(t, `<Response><Redirect method="bad"> </Redirect></Response>`)
	if len(p.Verbs) != 0 {
		t.Errorf("empty Redirect kept: %+v", p.Verbs)
	}
}

func TestGather(t *testing.T) {
	def := func(mod func(*Gather)) Verb {
		g := Gather{Method: MethodPOST, Timeout: 5, FinishOnKey: "#", NumDigits: 32767, StartInputKey: "*0123456789",
			Input: InputDTMF, Language: "en-US", PartialResultCallbackMethod: MethodPOST}
		if mod != nil {
			mod(&g)
		}
		return Verb{Kind: KindGather, Gather: &g}
	}
	runVerbCases(t, []verbCase{
		{`<Gather/>`, def(nil), nil},
		{`<Gather action="menu" method="GET" timeout="10" finishOnKey="*" numDigits="4" startInputKey="1" input="speech dtmf" language="es-ES" hints="yes, no ,maybe" partialResultCallback="/partial" partialResultCallbackMethod="get"/>`,
			def(func(g *Gather) {
				g.Action, g.Method, g.Timeout, g.FinishOnKey, g.NumDigits = "http://app.example.com/ivr/menu", MethodGET, 10, "*", 4
				g.StartInputKey, g.Input, g.Language, g.Hints = "1", InputDTMFSpeech, "es-ES", []string{"yes", "no", "maybe"}
				g.PartialResultCallback, g.PartialResultCallbackMethod = "http://app.example.com/partial", MethodGET
			}), nil},
		{`<Gather input="SPEECH"/>`, def(func(g *Gather) { g.Input = InputSpeech }), nil},
		{`<Gather finishOnKey=""/>`, def(nil), nil},
		{`<Gather finishOnKey="a"/>`, def(nil), []int{CodeGatherFinishOnKey}},
		{`<Gather finishOnKey="1234567890*#1"/>`, def(nil), []int{CodeGatherFinishOnKey}},
		{`<Gather method="DELETE"/>`, def(nil), []int{CodeGatherMethod}},
		{`<Gather timeout="soon"/>`, def(nil), []int{CodeGatherTimeout}},
		{`<Gather numDigits="0"/>`, def(nil), []int{CodeGatherNumDigits}},
		{`<Gather startInputKey="x"/>`, def(nil), []int{CodeGatherStartInputKey}},
		{`<Gather input="voice"/>`, def(nil), []int{CodeGatherInput}},
		{`<Gather action="%zz"/>`, def(nil), []int{CodeInvalidURI}},
	})
}

func TestGatherHintsLimits(t *testing.T) {
	many := ""
	for i := range 51 {
		if i > 0 {
			many += ","
		}
		many += "w"
	}
	long := ""
	for range 101 {
		long += "x"
	}
	for _, hints := range []string{many, "ok," + long} {
		_, err := Parse([]byte(`<Response><Say>first</Say><Gather hints="`+hints+`"/></Response>`), testDocURL)
		if !isParseError(err, ErrHintsLimit) {
			t.Errorf("hints %.20q...: err = %v, want ParseError(ErrHintsLimit)", hints, err)
		}
	}
	// 50 phrases with trailing commas and a 100-character phrase are fine.
	if _, err := Parse([]byte(`<Gather hints="`+many[2:]+`,,,"/>`), testDocURL); err != nil {
		t.Errorf("50 hints: %v", err)
	}
	if _, err := Parse([]byte(`<Gather hints="`+long[1:]+`"/>`), testDocURL); err != nil {
		t.Errorf("100-char hint: %v", err)
	}
	// An owned Gather is never executed, so its hints are not checked (as upstream).
	if _, err := Parse([]byte(`<Say>a<Gather hints="`+many+`"/></Say>`), testDocURL); err != nil {
		t.Errorf("owned gather: %v", err)
	}
}

func TestRecord(t *testing.T) {
	def := func(mod func(*Record)) Verb {
		r := Record{Method: MethodPOST, Timeout: 5, FinishOnKey: "1234567890*#", MaxLength: 3600, PlayBeep: true, Media: MediaAudioOnly}
		if mod != nil {
			mod(&r)
		}
		return Verb{Kind: KindRecord, Record: &r}
	}
	runVerbCases(t, []verbCase{
		{`<Record/>`, def(nil), nil},
		{`<Record action="done" method="get" timeout="2" finishOnKey="#" maxLength="60" playBeep="false" transcribe="TRUE" media="audio_video"/>`,
			def(func(r *Record) {
				r.Action, r.Method, r.Timeout, r.FinishOnKey, r.MaxLength = "http://app.example.com/ivr/done", MethodGET, 2, "#", 60
				r.PlayBeep, r.Transcribe, r.Media = false, true, MediaAudioVideo
			}), nil},
		{`<Record transcribeCallback="/tx"/>`, def(func(r *Record) { r.TranscribeCallback, r.Transcribe = "http://app.example.com/tx", true }), nil},
		{`<Record finishOnKey="-1"/>`, def(func(r *Record) { r.FinishOnKey = "" }), nil},
		{`<Record finishOnKey=""/>`, def(func(r *Record) { r.FinishOnKey = "#" }), nil},
		{`<Record finishOnKey="x"/>`, def(func(r *Record) { r.FinishOnKey = "#" }), []int{CodeRecordFinishOnKey}},
		{`<Record method="PATCH"/>`, def(nil), []int{CodeRecordMethod}},
		{`<Record timeout="a" maxLength="0" playBeep="yes" transcribe="1" media="hd"/>`, def(nil),
			[]int{CodeRecordValue, CodeRecordValue, CodeRecordValue, CodeRecordValue, CodeRecordValue}},
	})
}

func TestMessagingVerbs(t *testing.T) {
	runVerbCases(t, []verbCase{
		{`<Sms to="+1" from="+2" action="sent" statusCallback="/cb">Hello</Sms>`,
			Verb{Kind: KindSms, Sms: &Sms{Body: "Hello", To: "+1", From: "+2", Action: "http://app.example.com/ivr/sent", Method: MethodPOST, StatusCallback: "http://app.example.com/cb"}}, nil},
		{`<Sms method="put">x</Sms>`, Verb{Kind: KindSms, Sms: &Sms{Body: "x", Method: MethodPOST}}, []int{CodeMessageMethod}},
		{`<Fax to="+1" method="GET">doc.pdf</Fax>`, Verb{Kind: KindFax, Fax: &Fax{Document: "doc.pdf", To: "+1", Method: MethodGET}}, nil},
		{`<Email to="a@x" from="b@x" cc="c@x" bcc="d@x">Body</Email>`,
			Verb{Kind: KindEmail, Email: &Email{Body: "Body", To: "a@x", From: "b@x", CC: "c@x", BCC: "d@x", Subject: DefaultEmailSubject}}, nil},
		{`<Email to="a@x" from="b@x" subject="Hi"/>`, Verb{Kind: KindEmail, Email: &Email{To: "a@x", From: "b@x", Subject: "Hi"}}, nil},
	})
}

func TestWarningsInDocumentOrder(t *testing.T) {
	p := mustParse(t, `<Response><Gather timeout="x"><Say voice="robot">a</Say></Gather><Pause length="y"/></Response>`)
	checkCodes(t, "order", codes(p), []int{CodeGatherTimeout, CodeGatherSayVoice, CodePauseLength})
	for _, w := range p.Warnings {
		if w.Message == "" {
			t.Errorf("warning %d has no message", w.Code)
		}
	}
}
