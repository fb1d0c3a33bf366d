package rcml

import (
	"testing"
)

// target returns a Target with the defaults every noun gets.
func target(kind, to string, mod func(*Target)) Target {
	t := Target{Kind: kind, To: to, Method: MethodPOST, StatusCallbackMethod: MethodPOST}
	if mod != nil {
		mod(&t)
	}
	return t
}

func dial(mod func(*Dial)) Verb {
	d := Dial{Mode: DialModeFork, Method: MethodPOST, Timeout: 30, TimeLimit: 14400}
	if mod != nil {
		mod(&d)
	}
	return Verb{Kind: KindDial, Dial: &d}
}

func TestDialAttributes(t *testing.T) {
	num := []Target{target(TargetNumber, "+15551234", nil)}
	runVerbCases(t, []verbCase{
		{`<Dial>+15551234</Dial>`, dial(func(d *Dial) { d.Targets, d.FromText = num, true }), nil},
		{`<Dial action="after" method="get" timeout="10" timeLimit="60" callerId="+15550000" record="true">+15551234</Dial>`,
			dial(func(d *Dial) {
				d.Action, d.Method, d.Timeout, d.TimeLimit = "http://app.example.com/ivr/after", MethodGET, 10, 60
				d.CallerID, d.Record, d.Targets, d.FromText = "+15550000", true, num, true
			}), nil},
		{`<Dial callerId="client:bob">+15551234</Dial>`, dial(func(d *Dial) { d.CallerID, d.Targets, d.FromText = "client:bob", num, true }), nil},
		{`<Dial method="HEAD">+15551234</Dial>`, dial(func(d *Dial) { d.Targets, d.FromText = num, true }), []int{CodeDialMethod}},
		{`<Dial timeout="0">+15551234</Dial>`, dial(func(d *Dial) { d.Targets, d.FromText = num, true }), []int{CodeDialTimeout}},
		{`<Dial timeLimit="forever">+15551234</Dial>`, dial(func(d *Dial) { d.Targets, d.FromText = num, true }), []int{CodeDialTimeLimit}},
		{`<Dial callerId="Bob &lt;sip:b@x&gt;">+15551234</Dial>`, dial(func(d *Dial) { d.Targets, d.FromText = num, true }), []int{CodeDialCallerID}},
		{`<Dial record="maybe">+15551234</Dial>`, dial(func(d *Dial) { d.Targets, d.FromText = num, true }), []int{CodeDialRecord}},
	})
}

func TestDialTextShortcut(t *testing.T) {
	short := func(ts ...Target) Verb { return dial(func(d *Dial) { d.Targets, d.FromText = ts, true }) }
	runVerbCases(t, []verbCase{
		{`<Dial>alice@example.com</Dial>`, short(target(TargetSip, "sip:alice@example.com", nil)), nil},
		{`<Dial>sip:alice@example.com;transport=tcp</Dial>`, short(target(TargetSip, "sip:alice@example.com;transport=tcp", nil)), nil},
		{`<Dial>client:alice</Dial>`, short(target(TargetClient, "alice", nil)), nil},
		{`<Dial>clientbob</Dial>`, short(target(TargetClient, "clientbob", nil)), nil},
		{`<Dial>1234</Dial>`, short(target(TargetNumber, "1234", nil)), nil},
		{`<Dial>client:alice?X-A=1&X-B=2</Dial>`, short(target(TargetClient, "alice", func(t *Target) {
			t.Headers = map[string]string{"X-A": "1", "X-B": "2"}
		})), nil},
		// '@' in a header value does not make a number a SIP target.
		{`<Dial>+1555?X-Mail=a@b</Dial>`, short(target(TargetNumber, "+1555", func(t *Target) {
			t.Headers = map[string]string{"X-Mail": "a@b"}
		})), nil},
	})
}

func TestDialNouns(t *testing.T) {
	nouns := func(ts ...Target) Verb { return dial(func(d *Dial) { d.Targets = ts }) }
	runVerbCases(t, []verbCase{
		{`<Dial>ignored text<Number>+1</Number><Client>client:bob</Client><Sip>bob@pbx</Sip><Uri>sips:c@pbx</Uri></Dial>`,
			nouns(target(TargetNumber, "+1", nil), target(TargetClient, "bob", nil),
				target(TargetSip, "sip:bob@pbx", nil), target(TargetSip, "sips:c@pbx", nil)), nil},
		{`<Dial><Sip username="u" password="p" url="screen.xml" method="GET" statusCallback="/status" statusCallbackMethod="get" statusCallbackEvent="initiated,  answered , completed">sip:alice@pbx:5080;transport=tcp?X-Tenant=acme&X-Empty</Sip></Dial>`,
			nouns(target(TargetSip, "sip:alice@pbx:5080;transport=tcp", func(t *Target) {
				t.Headers = map[string]string{"X-Tenant": "acme", "X-Empty": ""}
				t.Username, t.Password = "u", "p"
				t.URL, t.Method = "http://app.example.com/ivr/screen.xml", MethodGET
				t.StatusCallback, t.StatusCallbackMethod = "http://app.example.com/status", MethodGET
				t.StatusCallbackEvents = []string{"initiated", "answered", "completed"}
			})), nil},
		{`<Dial><Number username="u">+1</Number></Dial>`, nouns(target(TargetNumber, "+1", nil)), nil},
		{`<Dial><Number method="x" statusCallbackMethod="y">+1</Number></Dial>`, nouns(target(TargetNumber, "+1", nil)),
			[]int{CodeDialNounMethod, CodeDialNounMethod}},
		{`<Dial><Number url="%zz">+1</Number></Dial>`, nouns(target(TargetNumber, "+1", nil)), []int{CodeInvalidURI}},
		{`<Dial><Number></Number><Client>bob</Client><Video/></Dial>`, nouns(target(TargetClient, "bob", nil)), nil},
	})
	// Nouns that all turned out empty disable the text shortcut; the Dial is dropped.
	p := mustParse(t, `<Response><Dial>+1555<Number> </Number></Dial><Hangup/></Response>`)
	if got := kinds(p.Verbs); len(got) != 1 || got[0] != KindHangup {
		t.Errorf("kinds = %v, want [Hangup]", got)
	}
	// Nouns below a Dial's direct children are not nouns of it.
	p = mustParse(t, `<Response><Dial><X><Number>+1</Number></X>+2</Dial></Response>`)
	if got := p.Verbs[0].Dial.Targets; len(got) != 1 || got[0].To != "+2" {
		t.Errorf("targets = %+v, want the text shortcut +2", got)
	}
}

func TestDialConference(t *testing.T) {
	conf := func(mod func(*Conference)) Verb {
		c := Conference{Name: "room", Beep: true, StartConferenceOnEnter: true, WaitURL: DefaultConferenceWaitURL, WaitMethod: MethodPOST, MaxParticipants: 40}
		if mod != nil {
			mod(&c)
		}
		return dial(func(d *Dial) { d.Mode, d.Conference = DialModeConference, &c })
	}
	runVerbCases(t, []verbCase{
		{`<Dial><Conference>room</Conference></Dial>`, conf(nil), nil},
		{`<Dial><Conference muted="true" beep="false" startConferenceOnEnter="false" endConferenceOnExit="true" waitUrl="hold.xml" waitMethod="GET" maxParticipants="5">room</Conference></Dial>`,
			conf(func(c *Conference) {
				c.Muted, c.Beep, c.StartConferenceOnEnter, c.EndConferenceOnExit = true, false, false, true
				c.WaitURL, c.WaitMethod, c.MaxParticipants = "http://app.example.com/ivr/hold.xml", MethodGET, 5
			}), nil},
		{`<Dial><Conference waitUrl="">room</Conference></Dial>`, conf(func(c *Conference) { c.WaitURL = "" }), nil},
		{`<Dial><Conference waitUrl="%zz" waitMethod="PUT">room</Conference></Dial>`, conf(nil),
			[]int{CodeConferenceWaitMethod, CodeConferenceWaitURL}},
		{`<Dial><Conference muted="no" maxParticipants="0">room</Conference></Dial>`, conf(nil),
			[]int{CodeConferenceValue, CodeConferenceValue}},
		// Conference takes precedence over other nouns, whatever their order; the first one wins.
		{`<Dial><Number>+1</Number><Conference>room</Conference><Client>bob</Client><Conference>other</Conference></Dial>`, conf(nil), nil},
	})
	// A Conference without a name is no conference.
	p := mustParse(t, `<Response><Dial><Conference> </Conference><Number>+1</Number></Dial></Response>`)
	if d := p.Verbs[0].Dial; d.Mode != DialModeFork || d.Conference != nil || len(d.Targets) != 1 {
		t.Errorf("dial = %+v", d)
	}
}

func TestSplitHeaders(t *testing.T) {
	tests := []struct {
		in, to string
		h      map[string]string
	}{
		{"alice", "alice", nil},
		{" alice ?", "alice", nil},
		{"a?X-A=1&X-A=2", "a", map[string]string{"X-A": "2"}},
		{"a?=v&&X-B= 3 ", "a", map[string]string{"X-B": "3"}},
		{"a?X-Q=x=y", "a", map[string]string{"X-Q": "x=y"}},
	}
	for _, tc := range tests {
		to, h := splitHeaders(tc.in)
		if to != tc.to || len(h) != len(tc.h) || (tc.h == nil) != (h == nil) {
			t.Errorf("splitHeaders(%q) = %q, %v; want %q, %v", tc.in, to, h, tc.to, tc.h)
			continue
		}
		for k, v := range tc.h {
			if h[k] != v {
				t.Errorf("splitHeaders(%q)[%q] = %q, want %q", tc.in, k, h[k], v)
			}
		}
	}
}
