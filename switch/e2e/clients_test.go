package e2e

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/patchbay/patchbay/switch/sipua/sipuatest"
)

// A registered client calls another client: the INVITE is challenged with
// 407, the authenticated one rings every contact of the callee through the
// switch (an implicit <Dial><Client>), and the caller is connected.
func TestClientCallsClientWithDigest(t *testing.T) {
	sw := startSwitch(t)
	bob := sipuatest.NewPeer(t, sipuatest.WithUser("bob"))
	for _, c := range []struct{ login, pw string }{{"alice", "Alice-pass-1234"}, {"bob", "Bob-pass-1234"}} {
		if code, body := sw.do("POST", "/Clients.json", url.Values{"Login": {c.login}, "Password": {c.pw}}); code != 200 {
			t.Fatalf("client %s: %d %s", c.login, code, body)
		}
	}
	register(t, sw, "bob", "Bob-pass-1234", "sip:bob@"+bob.Addr())

	// Without credentials: 407, nobody rings.
	stranger := sipuatest.NewPeer(t, sipuatest.WithUser("alice"))
	c, err := stranger.Invite(ctxT(t, 5*time.Second), "sip:bob@"+sw.SIPAddr, sipuatest.InviteOptions{})
	if err != nil || c.FinalCode() != 407 {
		t.Fatalf("unauthenticated client INVITE: %v final %d, want 407", err, c.FinalCode())
	}
	if len(bob.Incoming()) != 0 {
		t.Fatal("an unauthenticated INVITE reached the callee")
	}

	// With digest credentials (sipgo answers the 407).
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("alice"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	cli, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	host, _, _ := strings.Cut(sw.SIPAddr, ":")
	dua := sipgo.DialogUA{Client: cli, ContactHDR: sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "alice", Host: "127.0.0.1", Port: 5999}}}
	var target sip.Uri
	if err := sip.ParseUri("sip:bob@"+sw.SIPAddr, &target); err != nil {
		t.Fatal(err)
	}
	req := sip.NewRequest(sip.INVITE, target)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "alice", Host: host}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5998 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dlg, err := dua.WriteInvite(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := dlg.WaitAnswer(ctx, sipgo.AnswerOptions{Username: "alice", Password: "Alice-pass-1234"}); err != nil {
		t.Fatalf("authenticated INVITE: %v", err)
	}
	if err := dlg.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	in := answered(t, bob)
	parent := dlg.InviteResponse.GetHeader("X-RestComm-CallSid")
	if parent == nil {
		t.Fatal("no X-RestComm-CallSid on the 200")
	}
	rec := sw.waitStatus(in.Header("X-RestComm-CallSid"), "in-progress")
	if rec["parent_call_sid"] != parent.Value() {
		t.Errorf("callee leg parent = %v, want %s", rec["parent_call_sid"], parent.Value())
	}
	if err := in.Bye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	// The document (the implicit Dial) ends: the switch hangs the caller up.
	deadline := time.Now().Add(5 * time.Second)
	for sw.callJSON(parent.Value())["status"] != "completed" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if st := sw.callJSON(parent.Value())["status"]; st != "completed" {
		t.Errorf("caller leg status %v", st)
	}
	_ = dlg.Close()
}
