package e2e

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/sipua/sipuatest"
)

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// dial places a call from a Go peer to number on the switch and expects it answered.
func dial(t *testing.T, sw *testSwitch, peer *sipuatest.Peer, number string) *sipuatest.Call {
	t.Helper()
	c, err := peer.Invite(ctxT(t, 10*time.Second), "sip:"+number+"@"+sw.SIPAddr, sipuatest.InviteOptions{})
	if err != nil {
		t.Fatalf("INVITE %s: %v", number, err)
	}
	if c.FinalCode() != 200 {
		t.Fatalf("INVITE %s: final %d, want 200", number, c.FinalCode())
	}
	return c
}

func TestInboundCallPlaysAndHangsUp(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	app.rcml("/app", fmt.Sprintf(`<Response><Play>%s</Play><Hangup/></Response>`, app.URL("/tone.wav")))
	sw.provision("+15551230001", app.URL("/app"), nil)
	peer := sipuatest.NewPeer(t, sipuatest.WithUser("alice"))

	c := dial(t, sw, peer, "+15551230001")
	sidHdr := c.Header("X-RestComm-CallSid")
	if !strings.HasPrefix(sidHdr, "CA") || len(sidHdr) != 34 {
		t.Fatalf("X-RestComm-CallSid on the 200 = %q", sidHdr)
	}
	r := app.next(5 * time.Second)
	p := r.Params
	want := map[string]string{
		"CallSid": sidHdr, "AccountSid": testAccount, "From": "alice", "To": "+15551230001",
		"CallStatus": "ringing", "ApiVersion": "2012-04-24", "Direction": "inbound", "ForwardedFrom": "null",
	}
	for k, v := range want {
		if p.Get(k) != v {
			t.Errorf("RCML request %s = %q, want %q (all: %v)", k, p.Get(k), v, p)
		}
	}
	if r.Method != "POST" {
		t.Errorf("RCML fetched with %s, want POST", r.Method)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000-07:00", p.Get("CallTimestamp")); err != nil {
		t.Errorf("CallTimestamp %q: %v", p.Get("CallTimestamp"), err)
	}
	// The peer hears the WAV: 2 s of 20 ms PCMU frames, then the switch hangs up.
	if err := c.WaitBye(ctxT(t, 10*time.Second)); err != nil {
		t.Fatalf("no BYE after the document ended: %v", err)
	}
	st := c.RTP()
	if got := st.PT(0).Packets; got < 95 || got > 105 {
		t.Errorf("PCMU packets received = %d, want about 100 (2 s)", got)
	}
	if st.SeqGaps != 0 {
		t.Errorf("sequence gaps = %d", st.SeqGaps)
	}
	rec := sw.waitStatus(sidHdr, "completed")
	if rec["direction"] != "inbound" || rec["end_time"] == nil {
		t.Errorf("call record = %v", rec)
	}
	if d, _ := rec["duration"].(float64); d < 1 || d > 4 {
		t.Errorf("duration = %v", rec["duration"])
	}
}

func TestInboundCallOverTCP(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	app.rcml("/app", `<Response><Pause length="1"/><Play>`+app.URL("/tone.wav")+`</Play></Response>`)
	sw.provision("7000", app.URL("/app"), nil)
	peer := sipuatest.NewPeer(t, sipuatest.WithTCP())
	c, err := peer.Invite(ctxT(t, 10*time.Second), "sip:7000@"+sw.SIPAddr+";transport=tcp", sipuatest.InviteOptions{Transport: "tcp"})
	if err != nil || c.FinalCode() != 200 {
		t.Fatalf("TCP INVITE: %v, final %d", err, c.FinalCode())
	}
	if err := c.WaitRTP(ctxT(t, 5*time.Second), 0, 20); err != nil {
		t.Fatalf("no RTP over a TCP-signalled call: %v", err)
	}
	if err := c.WaitBye(ctxT(t, 10*time.Second)); err != nil {
		t.Fatalf("no BYE over TCP: %v", err)
	}
}

func TestInboundRejections(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	app.rcml("/app", `<Response><Hangup/></Response>`)
	app.rcml("/reject", `<Response><Reject reason="busy"/></Response>`)
	sw.provision("100", app.URL("/app"), nil)
	sw.provision("101", app.URL("/reject"), nil)
	peer := sipuatest.NewPeer(t)
	target := func(n string) string { return "sip:" + n + "@" + sw.SIPAddr }

	c, err := peer.Invite(ctxT(t, 5*time.Second), target("999"), sipuatest.InviteOptions{})
	if err != nil || c.FinalCode() != 404 {
		t.Errorf("unknown number: err %v, final %d, want 404", err, c.FinalCode())
	}
	g722 := []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n")
	c, err = peer.Invite(ctxT(t, 5*time.Second), target("100"), sipuatest.InviteOptions{RawSDP: g722})
	if err != nil || c.FinalCode() != 488 {
		t.Errorf("no common codec: err %v, final %d, want 488", err, c.FinalCode())
	}
	c, err = peer.Invite(ctxT(t, 5*time.Second), target("100"), sipuatest.InviteOptions{RawSDP: []byte("this is not SDP")})
	if err != nil || c.FinalCode() != 400 {
		t.Errorf("malformed SDP: err %v, final %d, want 400", err, c.FinalCode())
	}
	c, err = peer.Invite(ctxT(t, 5*time.Second), target("101"), sipuatest.InviteOptions{})
	if err != nil || c.FinalCode() != 486 {
		t.Errorf("<Reject reason=busy>: err %v, final %d, want 486", err, c.FinalCode())
	}
	sid := c.Header("X-RestComm-CallSid")
	if sid == "" {
		t.Fatal("no X-RestComm-CallSid on the 486")
	}
	sw.waitStatus(sid, "busy")
	// The switch still serves calls after all that.
	c = dial(t, sw, peer, "100")
	if err := c.WaitBye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatalf("healthy call after bad ones: %v", err)
	}
}

func TestRCMLFetchFailures(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	app.rcml("/garbage", `<Response><Play>oops</Response>`)
	app.rcml("/fallback", `<Response><Hangup/></Response>`)
	app.set("/broken", appRoute{status: 500, contentType: "text/plain", body: []byte("boom")})
	sw.provision("200", app.URL("/missing"), nil)
	sw.provision("201", app.URL("/garbage"), nil)
	sw.provision("202", app.URL("/broken"), url.Values{"VoiceFallbackUrl": {app.URL("/fallback")}, "VoiceFallbackMethod": {"GET"}})
	peer := sipuatest.NewPeer(t)
	target := func(n string) string { return "sip:" + n + "@" + sw.SIPAddr }

	c, _ := peer.Invite(ctxT(t, 5*time.Second), target("200"), sipuatest.InviteOptions{})
	if c.FinalCode() != 404 {
		t.Errorf("RCML URL answering 404: final %d, want 404", c.FinalCode())
	}
	c, _ = peer.Invite(ctxT(t, 5*time.Second), target("201"), sipuatest.InviteOptions{})
	if c.FinalCode() != 500 || !strings.Contains(c.Header("Reason"), "Problem_to_parse_downloaded_RCML") {
		t.Errorf("unparseable RCML: final %d Reason %q, want 500 with Problem_to_parse_downloaded_RCML", c.FinalCode(), c.Header("Reason"))
	}
	// A failing primary falls back, with the same parameters, by the fallback method.
	c = dial(t, sw, peer, "202")
	if err := c.WaitBye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatalf("fallback document not executed: %v", err)
	}
	var primary, fallback appRequest
	for _, r := range app.requests() {
		switch r.Path {
		case "/broken":
			primary = r
		case "/fallback":
			fallback = r
		}
	}
	if fallback.Method != "GET" || fallback.Params.Get("CallSid") == "" || fallback.Params.Get("CallSid") != primary.Params.Get("CallSid") {
		t.Errorf("fallback request %s %v; primary %v", fallback.Method, fallback.Params, primary.Params)
	}

	codes := notificationCodes(t, sw, "")
	for _, want := range []string{"21402", "12100", "11206"} {
		if _, ok := codes[want]; !ok {
			t.Errorf("no notification %s recorded; have %v", want, codes)
		}
	}
}
