package e2e

import (
	"net/url"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/sipua/sipuatest"
)

// bridged dials number from a new caller peer, waits until callee answers
// the <Dial> and returns both ends with their CallSids.
func bridged(t *testing.T, sw *testSwitch, callee *sipuatest.Peer, number string) (c *sipuatest.Call, sid string, in *sipuatest.Call, inSid string) {
	t.Helper()
	c = dial(t, sw, sipuatest.NewPeer(t, sipuatest.WithUser("carol")), number)
	sid = c.Header("X-RestComm-CallSid")
	in, err := callee.WaitIncoming(ctxT(t, 5*time.Second))
	if err != nil {
		t.Fatalf("callee not rung: %v", err)
	}
	inSid = in.Header("X-RestComm-CallSid")
	if inSid == "" || inSid == sid {
		t.Fatalf("callee leg CallSid %q (parent %s)", inSid, sid)
	}
	if err := in.WaitAck(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	sw.waitStatus(inSid, "in-progress")
	hears(t, c, in, "caller → callee before the modification")
	return c, sid, in, inSid
}

// ringingBranches dials number, whose RCML forks a <Dial> to both peers,
// and returns the caller and the two ringing branches.
func ringingBranches(t *testing.T, sw *testSwitch, p1, p2 *sipuatest.Peer, number string) (c *sipuatest.Call, sid string, b1, b2 *sipuatest.Call) {
	t.Helper()
	c = dial(t, sw, sipuatest.NewPeer(t, sipuatest.WithUser("carol")), number)
	sid = c.Header("X-RestComm-CallSid")
	var err error
	if b1, err = p1.WaitIncoming(ctxT(t, 5*time.Second)); err != nil {
		t.Fatalf("first branch not rung: %v", err)
	}
	if b2, err = p2.WaitIncoming(ctxT(t, 5*time.Second)); err != nil {
		t.Fatalf("second branch not rung: %v", err)
	}
	for _, b := range []*sipuatest.Call{b1, b2} {
		sw.waitStatus(b.Header("X-RestComm-CallSid"), "ringing")
	}
	return c, sid, b1, b2
}

func countRequests(app *appServer, path string) (n int, last appRequest) {
	for _, r := range app.requests() {
		if r.Path == path {
			n++
			last = r
		}
	}
	return n, last
}

// §2.8: redirecting the child leg without MoveConnectedCallLeg drops the
// parent (the flag is symmetric); the child runs the new document itself.
func TestLegsRedirectChildDropsParent(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	bob := sipuatest.NewPeer(t, sipuatest.WithUser("bob"))
	bob.Answer(sipuatest.AnswerAfter(100 * time.Millisecond))
	app.rcml("/app", `<Response><Dial><Sip>sip:bob@`+bob.Addr()+`</Sip></Dial></Response>`)
	app.set("/t700.wav", appRoute{status: 200, contentType: "audio/wav", body: toneWAV(10*time.Second, 700)})
	app.rcml("/child.xml", `<Response><Play loop="0">`+app.URL("/t700.wav")+`</Play></Response>`)
	sw.provision("980", app.URL("/app"), nil)
	c, sid, bobIn, bobSid := bridged(t, sw, bob, "980")

	if code, body := sw.do("POST", "/Calls/"+bobSid+".json", url.Values{"Url": {app.URL("/child.xml")}}); code != 200 {
		t.Fatalf("redirect child: %d %s", code, body)
	}
	if err := c.WaitBye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatalf("the parent (caller) got no BYE when its child was redirected: %v", err)
	}
	r := app.nextAt("/child.xml", 5*time.Second)
	if r.Params.Get("CallSid") != bobSid || r.Params.Get("Direction") != "outbound-dial" || r.Params.Get("CallStatus") != "in-progress" {
		t.Errorf("child's fetch parameters: %v (child %s, parent %s)", r.Params, bobSid, sid)
	}
	// The child keeps its call and hears its new document.
	bobIn.Listen(700)
	time.Sleep(800 * time.Millisecond)
	if bobIn.ByeReceived() {
		t.Fatal("the redirected child leg was hung up")
	}
	if lv, voiced := bobIn.Heard(); voiced < 5 || lv[0] < 0.3 {
		t.Errorf("the child does not hear its new document's Play: level %v, voiced %d", lv, voiced)
	}
	if n, _ := countRequests(app, "/child.xml"); n != 1 {
		t.Errorf("/child.xml fetched %d times, want 1 (only the child)", n)
	}
	sw.waitStatus(sid, "completed")
	if m := sw.callJSON(bobSid); m["status"] != "in-progress" {
		t.Errorf("child status %v, want in-progress", m["status"])
	}
	sw.do("POST", "/Calls/"+bobSid+".json", url.Values{"Status": {"completed"}})
	if err := bobIn.WaitBye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
}

// §2.8: MoveConnectedCallLeg=true on the child moves both legs to the same
// Url, each fetching with its own CallSid and Direction; nobody is hung up.
func TestLegsRedirectChildMovesBothLegs(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	bob := sipuatest.NewPeer(t, sipuatest.WithUser("bob"))
	bob.Answer(sipuatest.AnswerAfter(100 * time.Millisecond))
	app.rcml("/app", `<Response><Dial><Sip>sip:bob@`+bob.Addr()+`</Sip></Dial></Response>`)
	app.rcml("/room.xml", `<Response><Dial><Conference beep="false">moved</Conference></Dial></Response>`)
	sw.provision("981", app.URL("/app"), nil)
	c, sid, bobIn, bobSid := bridged(t, sw, bob, "981")

	if code, body := sw.do("POST", "/Calls/"+bobSid+".json", url.Values{"Url": {app.URL("/room.xml")}, "MoveConnectedCallLeg": {"TRUE"}}); code != 200 {
		t.Fatalf("redirect child with MoveConnectedCallLeg: %d %s", code, body)
	}
	seen := map[string]string{}
	for i := 0; i < 2; i++ {
		r := app.nextAt("/room.xml", 5*time.Second)
		seen[r.Params.Get("Direction")] = r.Params.Get("CallSid")
	}
	if len(seen) != 2 || seen["outbound-dial"] != bobSid || seen["inbound"] != sid {
		t.Errorf("fetches of the moved legs by Direction: %v (parent %s, child %s)", seen, sid, bobSid)
	}
	time.Sleep(400 * time.Millisecond)
	if c.ByeReceived() || bobIn.ByeReceived() {
		t.Fatalf("a leg was hung up by the move (caller %v, child %v)", c.ByeReceived(), bobIn.ByeReceived())
	}
	if n, _ := countRequests(app, "/room.xml"); n != 2 {
		t.Errorf("/room.xml fetched %d times, want 2", n)
	}
	// Both ran the same document: they meet in the room and talk.
	talk(t, map[float64]*sipuatest.Call{700: c, 1200: bobIn})
	for _, cc := range []*sipuatest.Call{c, bobIn} {
		if err := cc.Bye(ctxT(t, 5*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
}

// §2.8: redirecting the parent while its <Dial> still rings drops every
// branch with CANCEL and runs the new document on the parent.
func TestLegsRedirectParentWhileDialRings(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	p1 := sipuatest.NewPeer(t, sipuatest.WithUser("one"))
	p2 := sipuatest.NewPeer(t, sipuatest.WithUser("two"))
	p1.Answer(sipuatest.RingForever())
	p2.Answer(sipuatest.RingForever())
	app.rcml("/app", `<Response><Dial timeout="30"><Sip>sip:one@`+p1.Addr()+`</Sip><Sip>sip:two@`+p2.Addr()+`</Sip></Dial></Response>`)
	app.set("/t700.wav", appRoute{status: 200, contentType: "audio/wav", body: toneWAV(1500*time.Millisecond, 700)})
	app.rcml("/new.xml", `<Response><Play>`+app.URL("/t700.wav")+`</Play><Hangup/></Response>`)
	sw.provision("982", app.URL("/app"), nil)
	c, sid, b1, b2 := ringingBranches(t, sw, p1, p2, "982")

	c.Listen(700)
	if code, body := sw.do("POST", "/Calls/"+sid+".json", url.Values{"Url": {app.URL("/new.xml")}}); code != 200 {
		t.Fatalf("redirect parent: %d %s", code, body)
	}
	for i, b := range []*sipuatest.Call{b1, b2} {
		if err := b.WaitCanceled(ctxT(t, 5*time.Second)); err != nil {
			t.Errorf("branch %d got no CANCEL: %v", i+1, err)
		}
	}
	r := app.nextAt("/new.xml", 5*time.Second)
	if r.Params.Get("CallSid") != sid || r.Params.Get("Direction") != "inbound" {
		t.Errorf("parent's fetch parameters: %v", r.Params)
	}
	if err := c.WaitBye(ctxT(t, 8*time.Second)); err != nil {
		t.Fatalf("the new document's Hangup did not end the parent: %v", err)
	}
	if lv, voiced := c.Heard(); voiced < 10 || lv[0] < 0.3 {
		t.Errorf("the parent did not hear the new document's Play: level %v, voiced %d", lv, voiced)
	}
	for _, b := range []*sipuatest.Call{b1, b2} {
		if b.Acked() {
			t.Errorf("branch %s was answered", b.Header("X-RestComm-CallSid"))
		}
		sw.waitStatus(b.Header("X-RestComm-CallSid"), "canceled")
	}
}

// §2.7: Status=canceled on one ringing child of a forked <Dial> cancels
// only that branch; the other rings on, answers and is bridged.
func TestLegsCancelOneRingingBranch(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	p1 := sipuatest.NewPeer(t, sipuatest.WithUser("one"))
	p2 := sipuatest.NewPeer(t, sipuatest.WithUser("two"))
	p1.Answer(sipuatest.RingForever())
	p2.Answer(sipuatest.Always(sipuatest.Reply{Ringing: true, Delay: 3 * time.Second}))
	app.rcml("/app", `<Response><Dial timeout="30"><Sip>sip:one@`+p1.Addr()+`</Sip><Sip>sip:two@`+p2.Addr()+`</Sip></Dial></Response>`)
	sw.provision("983", app.URL("/app"), nil)
	c, sid, b1, b2 := ringingBranches(t, sw, p1, p2, "983")
	b1Sid := b1.Header("X-RestComm-CallSid")

	if code, body := sw.do("POST", "/Calls/"+b1Sid+".json", url.Values{"Status": {"canceled"}}); code != 200 {
		t.Fatalf("Status=canceled on branch 1: %d %s", code, body)
	}
	if err := b1.WaitCanceled(ctxT(t, 5*time.Second)); err != nil {
		t.Fatalf("the canceled branch got no CANCEL: %v", err)
	}
	sw.waitStatus(b1Sid, "canceled")
	time.Sleep(300 * time.Millisecond)
	if b2.Canceled() || b2.Ended() {
		t.Fatalf("the other branch was dropped too (canceled %v, ended %v: %s)", b2.Canceled(), b2.Ended(), b2.EndReason())
	}
	if c.ByeReceived() {
		t.Fatal("the caller was hung up")
	}
	if err := b2.WaitAck(ctxT(t, 6*time.Second)); err != nil {
		t.Fatalf("the remaining branch was not connected: %v", err)
	}
	if m := sw.waitStatus(b2.Header("X-RestComm-CallSid"), "in-progress"); m["parent_call_sid"] != sid {
		t.Errorf("remaining branch record: %v", m)
	}
	time.Sleep(100 * time.Millisecond)
	hears(t, c, b2, "caller → remaining branch")
	hears(t, b2, c, "remaining branch → caller")
	if err := c.Bye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := b2.WaitBye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatalf("bridged branch got no BYE when the caller hung up: %v", err)
	}
}

// §2.7: Status=completed on the parent while its <Dial> rings: BYE to the
// parent, CANCEL to every branch. (The Dial action part is in
// /work/review/legs_failing_test.go.txt: the switch does not request it.)
func TestLegsCompleteParentWhileDialRings(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	p1 := sipuatest.NewPeer(t, sipuatest.WithUser("one"))
	p2 := sipuatest.NewPeer(t, sipuatest.WithUser("two"))
	p1.Answer(sipuatest.RingForever())
	p2.Answer(sipuatest.RingForever())
	app.rcml("/app", `<Response><Dial timeout="30"><Sip>sip:one@`+p1.Addr()+`</Sip><Sip>sip:two@`+p2.Addr()+`</Sip></Dial><Play>`+app.URL("/tone.wav")+`</Play></Response>`)
	sw.provision("984", app.URL("/app"), nil)
	c, sid, b1, b2 := ringingBranches(t, sw, p1, p2, "984")

	if code, body := sw.do("POST", "/Calls/"+sid+".json", url.Values{"Status": {"completed"}}); code != 200 {
		t.Fatalf("Status=completed on the parent: %d %s", code, body)
	}
	if err := c.WaitBye(ctxT(t, 5*time.Second)); err != nil {
		t.Errorf("the parent got no BYE: %v", err)
	}
	for i, b := range []*sipuatest.Call{b1, b2} {
		if err := b.WaitCanceled(ctxT(t, 5*time.Second)); err != nil {
			t.Errorf("branch %d got no CANCEL: %v", i+1, err)
		}
		if b.Acked() {
			t.Errorf("branch %d was answered", i+1)
		}
		sw.waitStatus(b.Header("X-RestComm-CallSid"), "canceled")
	}
	sw.waitStatus(sid, "completed")
}

// A participant muted through the Calls API is not heard by the others and
// still hears them.
func TestLegsMutedConferenceParticipant(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	app.rcml("/room.xml", `<Response><Dial><Conference beep="false">room</Conference></Dial></Response>`)
	sw.provision("985", app.URL("/room.xml"), nil)
	freqs := []float64{600, 1000, 1500}
	parties := map[float64]*sipuatest.Call{}
	for _, f := range freqs {
		parties[f] = dial(t, sw, sipuatest.NewPeer(t), "985")
	}
	waitFor(t, 5*time.Second, "three participants", func() bool {
		code, body := sw.do("GET", "/Calls.json?Status=in-progress", nil)
		return code == 200 && decode(t, body)["total"].(float64) == 3
	})
	time.Sleep(200 * time.Millisecond)
	talk(t, parties) // everyone hears everyone before the mute

	const muted = 1000.0
	mutedSid := parties[muted].Header("X-RestComm-CallSid")
	if code, body := sw.do("POST", "/Calls/"+mutedSid+".json", url.Values{"Mute": {"true"}}); code != 200 {
		t.Fatalf("Mute=true: %d %s", code, body)
	}
	for _, c := range parties {
		c.Listen(freqs...)
	}
	ctx := ctxT(t, 10*time.Second)
	done := make(chan error, len(parties))
	for f, c := range parties {
		go func() { done <- c.SendTone(ctx, f, 1200*time.Millisecond) }()
	}
	for range parties {
		if err := <-done; err != nil {
			t.Fatalf("sending tones: %v", err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	for f, c := range parties {
		levels, voiced := c.Heard()
		if voiced < 5 {
			t.Errorf("party at %v Hz heard almost nothing (%d voiced blocks)", f, voiced)
			continue
		}
		for i, g := range freqs {
			switch {
			case g == f:
			case g == muted && levels[i] >= 0.05:
				t.Errorf("party at %v Hz hears the muted party (level %.2f; all %v)", f, levels[i], levels)
			case g != muted && levels[i] < 0.05:
				t.Errorf("party at %v Hz does not hear %v Hz (level %.2f; all %v)", f, g, levels[i], levels)
			}
		}
	}
	for _, c := range parties {
		if err := c.Bye(ctxT(t, 5*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
}

// The switch anchors media: a PCMA-only caller bridged to a PCMU callee
// gets each side's audio in its own codec.
func TestLegsTranscodingBridge(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	bob := sipuatest.NewPeer(t, sipuatest.WithUser("bob"))
	bob.Answer(sipuatest.Always(sipuatest.Reply{Ringing: true, Delay: 100 * time.Millisecond, Codecs: []sipuatest.Codec{sipuatest.PCMU}}))
	app.rcml("/app", `<Response><Dial><Sip>sip:bob@`+bob.Addr()+`</Sip></Dial></Response>`)
	sw.provision("986", app.URL("/app"), nil)
	caller := sipuatest.NewPeer(t, sipuatest.WithUser("carol"))
	c, err := caller.Invite(ctxT(t, 10*time.Second), "sip:986@"+sw.SIPAddr, sipuatest.InviteOptions{Codecs: []sipuatest.Codec{sipuatest.PCMA}})
	if err != nil || c.FinalCode() != 200 {
		t.Fatalf("PCMA-only INVITE: %v (final %d)", err, c.FinalCode())
	}
	bobIn, err := bob.WaitIncoming(ctxT(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := bobIn.WaitAck(ctxT(t, 5*time.Second)); err != nil {
		t.Fatalf("callee not connected: %v", err)
	}
	if c.Codec() != sipuatest.PCMA || bobIn.Codec() != sipuatest.PCMU {
		t.Fatalf("negotiated caller %v, callee %v; want PCMA and PCMU", c.Codec(), bobIn.Codec())
	}
	time.Sleep(100 * time.Millisecond)
	cross := func(from, to *sipuatest.Call, freq float64, wantPT, otherPT uint8, what string) {
		t.Helper()
		to.Listen(freq)
		before, otherBefore := to.RTP().PT(wantPT).Packets, to.RTP().PT(otherPT).Packets
		if err := from.SendTone(ctxT(t, 5*time.Second), freq, 800*time.Millisecond); err != nil {
			t.Fatalf("%s: sending: %v", what, err)
		}
		time.Sleep(150 * time.Millisecond)
		if got := to.RTP().PT(wantPT).Packets - before; got < 30 {
			t.Errorf("%s: %d packets of PT %d for an 800 ms tone", what, got, wantPT)
		}
		if got := to.RTP().PT(otherPT).Packets - otherBefore; got != 0 {
			t.Errorf("%s: %d packets of the unnegotiated PT %d", what, got, otherPT)
		}
		if lv, voiced := to.Heard(); voiced < 10 || lv[0] < 0.3 {
			t.Errorf("%s: tone level %v over %d voiced blocks", what, lv, voiced)
		}
	}
	cross(c, bobIn, 900, 0, 8, "PCMA caller → PCMU callee")
	cross(bobIn, c, 1300, 8, 0, "PCMU callee → PCMA caller")
	if err := c.Bye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := bobIn.WaitBye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
}
