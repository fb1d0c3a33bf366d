package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/sipua/sipuatest"
)

// hears checks that audio sent by from arrives at to through the switch.
func hears(t *testing.T, from, to *sipuatest.Call, what string) {
	t.Helper()
	before := to.RTP().Packets
	if err := from.SendTone(ctxT(t, 5*time.Second), 1000, 600*time.Millisecond); err != nil {
		t.Fatalf("%s: sending a tone: %v", what, err)
	}
	time.Sleep(100 * time.Millisecond)
	if got := to.RTP().Packets - before; got < 20 {
		t.Fatalf("%s: %d packets arrived for a 600 ms tone (30 sent)", what, got)
	}
}

// The seed's transfer flow: an inbound call is connected to Bob with
// <Dial>; a redirect to RCML that dials Alice transfers it: Bob gets BYE,
// Alice rings and answers, the caller and Alice hear each other.
func TestDialBridgeAndTransferByRedirect(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	bob := sipuatest.NewPeer(t, sipuatest.WithUser("bob"))
	alice := sipuatest.NewPeer(t, sipuatest.WithUser("alice"))
	bob.Answer(sipuatest.AnswerAfter(200 * time.Millisecond))
	alice.Answer(sipuatest.AnswerAfter(200 * time.Millisecond))
	app.rcml("/app", `<Response><Dial action="`+app.URL("/after-dial")+`" timeout="10"><Sip>sip:bob@`+bob.Addr()+`</Sip></Dial></Response>`)
	app.rcml("/dialalice.xml", `<Response><Dial><Sip>sip:alice@`+alice.Addr()+`</Sip></Dial></Response>`)
	app.rcml("/after-dial", `<Response><Hangup/></Response>`)
	sw.provision("900", app.URL("/app"), nil)
	caller := sipuatest.NewPeer(t, sipuatest.WithUser("carol"))

	c := dial(t, sw, caller, "900")
	sid := c.Header("X-RestComm-CallSid")
	bobIn, err := bob.WaitIncoming(ctxT(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	bobSid := bobIn.Header("X-RestComm-CallSid")
	if bobSid == "" || bobSid == sid {
		t.Fatalf("Bob's leg CallSid %q (parent %s)", bobSid, sid)
	}
	if err := bobIn.WaitAck(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	child := sw.waitStatus(bobSid, "in-progress")
	if child["direction"] != "outbound-dial" || child["parent_call_sid"] != sid {
		t.Errorf("child leg record: %v", child)
	}
	// Listed and filterable through the Calls API.
	code, body := sw.do("GET", "/Calls.json?ParentCallSid="+sid, nil)
	if code != 200 || decode(t, body)["total"].(float64) != 1 {
		t.Errorf("ParentCallSid filter: %d %s", code, body)
	}
	hears(t, c, bobIn, "caller → Bob")
	hears(t, bobIn, c, "Bob → caller")

	// Transfer: redirect the caller's leg; Bob is hung up, Alice is dialed.
	if code, body := sw.do("POST", "/Calls/"+sid+".json", url.Values{"Url": {app.URL("/dialalice.xml")}}); code != 200 {
		t.Fatalf("redirect: %d %s", code, body)
	}
	if err := bobIn.WaitBye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatalf("Bob got no BYE on transfer: %v", err)
	}
	aliceIn := answered(t, alice)
	time.Sleep(100 * time.Millisecond)
	hears(t, c, aliceIn, "caller → Alice")
	hears(t, aliceIn, c, "Alice → caller")
	// The interrupted Dial's action is requested once, and its answer not run.
	n := 0
	for _, r := range app.requests() {
		if r.Path == "/after-dial" {
			n++
			if r.Params.Get("DialCallSid") != bobSid || r.Params.Get("DialCallStatus") != "completed" {
				t.Errorf("action parameters: %v", r.Params)
			}
		}
	}
	if n != 1 {
		t.Errorf("Dial action requested %d times, want 1", n)
	}
	if c.ByeReceived() {
		t.Fatal("the caller was hung up by the transfer")
	}
	// Alice hangs up: the caller's document goes on (and ends).
	if err := aliceIn.Bye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitBye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatalf("caller not hung up at the end of the document: %v", err)
	}
}

func TestDialOutcomesAndAction(t *testing.T) {
	cases := []struct {
		name     string
		behavior sipuatest.Behavior
		status   string
	}{
		{"busy", sipuatest.Busy(), "busy"},
		{"no-answer", sipuatest.RingForever(), "no-answer"},
		{"failed", sipuatest.Fail(503), "failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sw := startSwitch(t)
			app := newAppServer(t)
			callee := sipuatest.NewPeer(t)
			callee.Answer(tc.behavior)
			app.rcml("/app", `<Response><Dial timeout="1" action="`+app.URL("/action")+`"><Sip>sip:x@`+callee.Addr()+`</Sip></Dial></Response>`)
			app.rcml("/action", `<Response><Hangup/></Response>`)
			sw.provision("901", app.URL("/app"), nil)
			caller := sipuatest.NewPeer(t)
			c := dial(t, sw, caller, "901")
			r := app.nextAt("/action", 8*time.Second)
			if r.Params.Get("DialCallStatus") != tc.status || r.Params.Get("DialCallDuration") != "0" {
				t.Errorf("action: %v, want DialCallStatus=%s DialCallDuration=0", r.Params, tc.status)
			}
			if err := c.WaitBye(ctxT(t, 5*time.Second)); err != nil {
				t.Fatal(err)
			}
			if tc.name == "no-answer" {
				in := callee.Incoming()[0]
				if err := in.WaitCanceled(ctxT(t, 3*time.Second)); err != nil {
					t.Errorf("ringing branch got no CANCEL: %v", err)
				}
			}
		})
	}
}

// Several nouns ring in parallel; the first to answer is bridged and the
// others get CANCEL.
func TestDialForkFirstAnswerWins(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	fast := sipuatest.NewPeer(t)
	slow := sipuatest.NewPeer(t)
	fast.Answer(sipuatest.AnswerAfter(300 * time.Millisecond))
	slow.Answer(sipuatest.RingForever())
	app.rcml("/app", `<Response><Dial><Sip>sip:slow@`+slow.Addr()+`</Sip><Sip>sip:fast@`+fast.Addr()+`</Sip></Dial></Response>`)
	sw.provision("902", app.URL("/app"), nil)
	caller := sipuatest.NewPeer(t)
	c := dial(t, sw, caller, "902")
	slowIn, err := slow.WaitIncoming(ctxT(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	fastIn, err := fast.WaitIncoming(ctxT(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := slowIn.WaitCanceled(ctxT(t, 5*time.Second)); err != nil {
		t.Fatalf("the losing branch got no CANCEL: %v", err)
	}
	if err := fastIn.WaitAck(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	hears(t, c, fastIn, "caller → winner")
	// Status=completed on the parent tears the bridge down: both get BYE.
	sw.do("POST", "/Calls/"+c.Header("X-RestComm-CallSid")+".json", url.Values{"Status": {"completed"}})
	for _, cc := range []*sipuatest.Call{c, fastIn} {
		if err := cc.WaitBye(ctxT(t, 5*time.Second)); err != nil {
			t.Fatalf("no BYE after completing the parent: %v", err)
		}
	}
}

// A noun's url is screening RCML run on the answered leg before it is
// bridged: the callee hears it, then the two parties are connected; a
// screening document that hangs up drops only that branch.
func TestDialScreeningURL(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	bob := sipuatest.NewPeer(t, sipuatest.WithUser("bob"))
	bob.Answer(sipuatest.AnswerAfter(100 * time.Millisecond))
	app.rcml("/app", `<Response><Dial action="`+app.URL("/action")+`"><Sip url="`+app.URL("/screen")+`">sip:bob@`+bob.Addr()+`</Sip></Dial></Response>`)
	app.rcml("/screen", `<Response><Play>`+app.URL("/tone.wav")+`</Play></Response>`)
	app.rcml("/action", `<Response><Hangup/></Response>`)
	sw.provision("903", app.URL("/app"), nil)
	caller := sipuatest.NewPeer(t)
	c := dial(t, sw, caller, "903")
	in, err := bob.WaitIncoming(ctxT(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	r := app.nextAt("/screen", 5*time.Second)
	if r.Params.Get("CallSid") != in.Header("X-RestComm-CallSid") || r.Params.Get("Direction") != "outbound-dial" {
		t.Errorf("screening fetch: %v", r.Params)
	}
	// The callee hears the 2 s screening prompt, the caller does not.
	if err := in.WaitRTP(ctxT(t, 5*time.Second), 0, 80); err != nil {
		t.Fatalf("the screening prompt did not reach the callee: %v", err)
	}
	if got := c.RTP().PT(0).Packets; got > 10 {
		t.Errorf("the caller heard %d packets during screening", got)
	}
	time.Sleep(500 * time.Millisecond) // the prompt ends, then the bridge
	hears(t, c, in, "caller → screened callee")
	hears(t, in, c, "screened callee → caller")
	if err := in.Bye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitBye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
}

// A re-INVITE putting the far end on hold (sendonly) is answered recvonly
// and the switch stops sending to that leg; sendrecv resumes the audio.
func TestReInviteHoldAndResumeOnABridge(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	bob := sipuatest.NewPeer(t, sipuatest.WithUser("bob"))
	bob.Answer(sipuatest.AnswerAfter(100 * time.Millisecond))
	app.rcml("/app", `<Response><Dial><Sip>sip:bob@`+bob.Addr()+`</Sip></Dial></Response>`)
	sw.provision("904", app.URL("/app"), nil)
	caller := sipuatest.NewPeer(t)
	c := dial(t, sw, caller, "904")
	in := answered(t, bob)
	hears(t, in, c, "before hold")

	code, answer, err := c.ReInvite(ctxT(t, 5*time.Second), "sendonly")
	if err != nil || code != 200 || !strings.Contains(string(answer), "a=recvonly") {
		t.Fatalf("hold re-INVITE: %d %v\n%s", code, err, answer)
	}
	time.Sleep(100 * time.Millisecond)
	before := c.RTP().Packets
	if err := in.SendTone(ctxT(t, 5*time.Second), 1000, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if got := c.RTP().Packets - before; got > 2 {
		t.Errorf("the held caller still received %d packets", got)
	}
	hears(t, c, in, "the held caller still talks to Bob")

	code, answer, err = c.ReInvite(ctxT(t, 5*time.Second), "sendrecv")
	if err != nil || code != 200 || !strings.Contains(string(answer), "a=sendrecv") {
		t.Fatalf("resume re-INVITE: %d %v\n%s", code, err, answer)
	}
	time.Sleep(100 * time.Millisecond)
	hears(t, in, c, "after resume")
	if err := c.Bye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := in.WaitBye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
}

// A noun's statusCallback reports the branch's progress (initiated,
// ringing, answered, completed) with its own CallSid and ParentCallSid; a
// statusCallbackEvent list narrows it.
func TestDialNounStatusCallback(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	app.set("/branch-events", appRoute{status: 200})
	app.set("/answered-only", appRoute{status: 200})
	bob := sipuatest.NewPeer(t)
	bob.Answer(sipuatest.AnswerAfter(200 * time.Millisecond))
	app.rcml("/app", `<Response><Dial><Sip statusCallback="`+app.URL("/branch-events")+`">sip:bob@`+bob.Addr()+`</Sip></Dial></Response>`)
	sw.provision("905", app.URL("/app"), nil)
	caller := sipuatest.NewPeer(t)
	c := dial(t, sw, caller, "905")
	in := answered(t, bob)
	if err := in.Bye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitBye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	cbs := waitProgress(t, app, "/branch-events", 4)
	child, parent := in.Header("X-RestComm-CallSid"), c.Header("X-RestComm-CallSid")
	for i, want := range []string{"initiated", "ringing", "answered", "completed"} {
		p := cbs[i]
		if p.Get("CallStatus") != want || p.Get("SequenceNumber") != fmt.Sprint(i) || p.Get("CallSid") != child ||
			p.Get("ParentCallSid") != parent || p.Get("Direction") != "outbound-dial" {
			t.Errorf("branch callback %d = %v, want %s", i, p, want)
		}
	}
}

// callerId sets the From of the dialed leg, a Number goes to the outbound
// proxy, and timeLimit ends a bridged call: the callee gets BYE and the
// action reports the call completed with its duration.
func TestDialCallerIDNumberAndTimeLimit(t *testing.T) {
	proxy := sipuatest.NewPeer(t)
	proxy.Answer(sipuatest.AnswerAfter(0))
	sw := startSwitch(t, func(c *serverConfig) { c.OutboundProxy = "sip:" + proxy.Addr() })
	app := newAppServer(t)
	app.rcml("/app", `<Response><Dial callerId="+15550009999" timeLimit="2" action="`+app.URL("/action")+`"><Number>+15557770000</Number></Dial></Response>`)
	app.rcml("/action", `<Response><Hangup/></Response>`)
	sw.provision("906", app.URL("/app"), nil)
	caller := sipuatest.NewPeer(t)
	c := dial(t, sw, caller, "906")
	in, err := proxy.WaitIncoming(ctxT(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(in.RequestURI(), "+15557770000@") {
		t.Errorf("the Number was not sent to the proxy: Request-URI %s", in.RequestURI())
	}
	if from := in.Header("From"); !strings.Contains(from, "+15550009999") {
		t.Errorf("callerId not used: From %q", from)
	}
	began := time.Now()
	if err := in.WaitBye(ctxT(t, 6*time.Second)); err != nil {
		t.Fatalf("timeLimit did not end the bridged call: %v", err)
	}
	if d := time.Since(began); d < 1500*time.Millisecond {
		t.Errorf("the bridged call ended after %v, before its 2 s timeLimit", d)
	}
	r := app.nextAt("/action", 5*time.Second)
	if r.Params.Get("DialCallStatus") != "completed" || r.Params.Get("DialCallSid") != in.Header("X-RestComm-CallSid") {
		t.Errorf("action: %v", r.Params)
	}
	if d := r.Params.Get("DialCallDuration"); d != "1" && d != "2" {
		t.Errorf("DialCallDuration = %s, want about 2", d)
	}
	if err := c.WaitBye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
}

// RFC 4733 digits pass through the bridge in both directions.
func TestDialBridgePassesDTMF(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	bob := sipuatest.NewPeer(t)
	bob.Answer(sipuatest.AnswerAfter(100 * time.Millisecond))
	app.rcml("/app", `<Response><Dial><Sip>sip:bob@`+bob.Addr()+`</Sip></Dial></Response>`)
	sw.provision("907", app.URL("/app"), nil)
	caller := sipuatest.NewPeer(t)
	c := dial(t, sw, caller, "907")
	in := answered(t, bob)
	time.Sleep(200 * time.Millisecond)
	if err := c.SendDTMF(ctxT(t, 5*time.Second), "12#"); err != nil {
		t.Fatal(err)
	}
	if err := in.WaitDigits(ctxT(t, 5*time.Second), "12#"); err != nil {
		t.Fatalf("callee got digits %q: %v", in.Digits(), err)
	}
	if err := in.SendDTMF(ctxT(t, 5*time.Second), "9*"); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitDigits(ctxT(t, 5*time.Second), "9*"); err != nil {
		t.Fatalf("caller got digits %q: %v", c.Digits(), err)
	}
	if err := c.Bye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
}
