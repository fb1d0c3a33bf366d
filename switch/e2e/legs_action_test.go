package e2e

import (
	"net/url"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/sipua/sipuatest"
)

// §2.7: Status=completed on the parent while its <Dial> rings: BYE to the
// parent, CANCEL to every branch, the Dial action requested once.
func TestLegsCompleteParentWhileDialRingsFiresAction(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	p1 := sipuatest.NewPeer(t, sipuatest.WithUser("one"))
	p2 := sipuatest.NewPeer(t, sipuatest.WithUser("two"))
	p1.Answer(sipuatest.RingForever())
	p2.Answer(sipuatest.RingForever())
	app.rcml("/app", `<Response><Dial timeout="30" action="`+app.URL("/action")+`"><Sip>sip:one@`+p1.Addr()+`</Sip><Sip>sip:two@`+p2.Addr()+`</Sip></Dial></Response>`)
	app.rcml("/action", `<Response><Play>`+app.URL("/tone.wav")+`</Play></Response>`)
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
	}
	r := app.nextAt("/action", 5*time.Second)
	if r.Params.Get("CallSid") != sid || r.Params.Get("DialCallStatus") != "completed" || r.Params.Get("CallStatus") != "completed" {
		t.Errorf("Dial action parameters: %v", r.Params)
	}
	t.Logf("Dial action: DialCallStatus=%s DialCallDuration=%s CallStatus=%s",
		r.Params.Get("DialCallStatus"), r.Params.Get("DialCallDuration"), r.Params.Get("CallStatus"))
	sw.waitStatus(sid, "completed")
	time.Sleep(500 * time.Millisecond)
	if n, _ := countRequests(app, "/action"); n != 1 {
		t.Errorf("Dial action requested %d times, want 1", n)
	}
}
