package e2e

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/sipua/sipuatest"
)

// liveCall starts a call from a Go peer into an endless Play and returns it
// with its CallSid once audio flows.
func liveCall(t *testing.T, sw *testSwitch, app *appServer, peer *sipuatest.Peer, number string) (*sipuatest.Call, string) {
	t.Helper()
	c := dial(t, sw, peer, number)
	sid := c.Header("X-RestComm-CallSid")
	if err := c.WaitRTP(ctxT(t, 5*time.Second), 0, 10); err != nil {
		t.Fatalf("no audio on the live call: %v", err)
	}
	return c, sid
}

func decode(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("JSON: %v: %s", err, body)
	}
	return m
}

func TestLCMRedirectStopsPlaybackAndRunsNewRCML(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	app.rcml("/app", `<Response><Play loop="0">`+app.URL("/long.wav")+`</Play></Response>`)
	app.rcml("/second", `<Response><Pause length="30"/></Response>`)
	sw.provision("300", app.URL("/app"), nil)
	peer := sipuatest.NewPeer(t)
	c, sid := liveCall(t, sw, app, peer, "300")
	app.next(time.Second) // the initial fetch

	code, body := sw.do("POST", "/Calls/"+sid, url.Values{"Url": {app.URL("/second")}, "Method": {"GET"}})
	if code != 200 || !strings.Contains(string(body), "<Call>") || !strings.Contains(string(body), "<Status>in-progress</Status>") {
		t.Fatalf("redirect (XML): %d %s", code, body)
	}
	r := app.next(3 * time.Second)
	if r.Path != "/second" || r.Method != "GET" {
		t.Fatalf("after redirect the app got %s %s", r.Method, r.Path)
	}
	if r.Params.Get("CallSid") != sid || r.Params.Get("CallStatus") != "in-progress" || r.Params.Get("Direction") != "inbound" {
		t.Errorf("redirect fetch parameters: %v", r.Params)
	}
	// Playback stopped mid-file: no more audio after the new document (a Pause) took over.
	time.Sleep(100 * time.Millisecond)
	before := c.RTP().PT(0).Packets
	time.Sleep(300 * time.Millisecond)
	if after := c.RTP().PT(0).Packets; after != before {
		t.Errorf("audio still flowing after the redirect: %d then %d packets", before, after)
	}

	// Terminate in-progress: BYE to the peer; the response shows the call completed.
	code, body = sw.do("POST", "/Calls.json/"+sid, url.Values{"Status": {"completed"}})
	if code != 200 {
		t.Fatalf("Status=completed: %d %s", code, body)
	}
	if m := decode(t, body); m["status"] != "completed" {
		t.Errorf("response status = %v, want completed", m["status"])
	}
	if err := c.WaitBye(ctxT(t, 3*time.Second)); err != nil {
		t.Fatalf("peer got no BYE after Status=completed: %v", err)
	}
	// A second hangup of an ended call is 410 with upstream's message.
	code, body = sw.do("POST", "/Calls/"+sid+".json", url.Values{"Status": {"completed"}})
	if code != 410 || !strings.Contains(string(body), "Call is already completed.") {
		t.Errorf("second hangup: %d %s", code, body)
	}
}

func TestLCMFallbackAndStatusCallback(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	app.rcml("/app", `<Response><Play loop="0">`+app.URL("/long.wav")+`</Play></Response>`)
	app.set("/bad", appRoute{status: 503})
	app.rcml("/fallback", `<Response><Play>`+app.URL("/tone.wav")+`</Play><Hangup/></Response>`)
	app.set("/status", appRoute{status: 204})
	sw.provision("301", app.URL("/app"), nil)
	peer := sipuatest.NewPeer(t)
	c, sid := liveCall(t, sw, app, peer, "301")
	app.next(time.Second)

	code, body := sw.do("POST", "/Calls/"+sid+".json", url.Values{
		"Url": {app.URL("/bad")}, "FallbackUrl": {app.URL("/fallback")}, "FallbackMethod": {"POST"},
		"StatusCallback": {app.URL("/status")},
	})
	if code != 200 {
		t.Fatalf("redirect: %d %s", code, body)
	}
	if r := app.next(3 * time.Second); r.Path != "/bad" {
		t.Fatalf("first fetch went to %s", r.Path)
	}
	fb := app.next(3 * time.Second)
	if fb.Path != "/fallback" || fb.Method != "POST" || fb.Params.Get("CallSid") != sid {
		t.Fatalf("fallback fetch: %s %s %v", fb.Method, fb.Path, fb.Params)
	}
	if err := c.WaitBye(ctxT(t, 6*time.Second)); err != nil {
		t.Fatalf("fallback document did not run to its Hangup: %v", err)
	}
	// The application status callback given with the redirect reports the end.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var got *appRequest
		for _, r := range app.requests() {
			if r.Path == "/status" && r.Params.Get("CallStatus") == "completed" {
				got = &r
			}
		}
		if got != nil {
			if got.Params.Get("CallSid") != sid {
				t.Errorf("status callback CallSid = %q", got.Params.Get("CallSid"))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no completed status callback; got %v", app.requests())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestLCMCanceledLeavesAnsweredCallAlone(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	app.rcml("/app", `<Response><Play loop="0">`+app.URL("/long.wav")+`</Play></Response>`)
	sw.provision("302", app.URL("/app"), nil)
	peer := sipuatest.NewPeer(t)
	c, sid := liveCall(t, sw, app, peer, "302")

	code, body := sw.do("POST", "/Calls/"+sid+".json", url.Values{"Status": {"canceled"}})
	if code != 200 || decode(t, body)["status"] != "in-progress" {
		t.Fatalf("Status=canceled on an answered call: %d %s", code, body)
	}
	n := c.RTP().PT(0).Packets
	time.Sleep(300 * time.Millisecond)
	if c.ByeReceived() || c.RTP().PT(0).Packets <= n {
		t.Fatalf("answered call disturbed by Status=canceled (bye %v, packets %d→%d)", c.ByeReceived(), n, c.RTP().PT(0).Packets)
	}
	// Status and Url together: the hangup wins, the redirect is not performed.
	code, _ = sw.do("POST", "/Calls/"+sid+".json", url.Values{"Status": {"completed"}, "Url": {app.URL("/never")}})
	if code != 200 {
		t.Fatalf("Status+Url: %d", code)
	}
	if err := c.WaitBye(ctxT(t, 3*time.Second)); err != nil {
		t.Fatalf("no BYE: %v", err)
	}
	if len(requestsTo(app, "/never")) != 0 {
		t.Errorf("redirect performed although Status=completed was given")
	}
}

func TestLCMMute(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	app.rcml("/app", `<Response><Play loop="0">`+app.URL("/long.wav")+`</Play></Response>`)
	sw.provision("303", app.URL("/app"), nil)
	peer := sipuatest.NewPeer(t)
	c, sid := liveCall(t, sw, app, peer, "303")
	for _, v := range []string{"true", "false"} {
		code, body := sw.do("POST", "/Calls/"+sid+".json", url.Values{"Mute": {v}})
		if code != 200 {
			t.Fatalf("Mute=%s: %d %s", v, code, body)
		}
	}
	code, _ := sw.do("POST", "/Calls/"+sid+".json", url.Values{"Mute": {"perhaps"}})
	if code != 400 {
		t.Errorf("Mute=perhaps: %d, want 400", code)
	}
	sw.do("POST", "/Calls/"+sid+".json", url.Values{"Status": {"completed"}})
	if err := c.WaitBye(ctxT(t, 3*time.Second)); err != nil {
		t.Fatal(err)
	}
}

// A ringing inbound call (its RCML starts with Pause) can be ended with
// Status=canceled: the caller gets a final error response.
func TestLCMTerminateRingingInbound(t *testing.T) {
	for _, status := range []string{"canceled", "completed"} {
		t.Run(status, func(t *testing.T) {
			sw := startSwitch(t)
			app := newAppServer(t)
			app.rcml("/app", `<Response><Pause length="30"/><Play>`+app.URL("/tone.wav")+`</Play></Response>`)
			sw.provision("304", app.URL("/app"), nil)
			peer := sipuatest.NewPeer(t)
			c, err := peer.InviteAsync(ctxT(t, 5*time.Second), "sip:304@"+sw.SIPAddr, sipuatest.InviteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.WaitProvisional(ctxT(t, 5*time.Second), 180); err != nil {
				t.Fatalf("no 180: %v", err)
			}
			sid := app.next(5 * time.Second).Params.Get("CallSid")
			if m := sw.callJSON(sid); m["status"] != "ringing" {
				t.Fatalf("status before LCM = %v", m["status"])
			}
			code, body := sw.do("POST", "/Calls/"+sid+".json", url.Values{"Status": {status}})
			if code != 200 {
				t.Fatalf("Status=%s: %d %s", status, code, body)
			}
			final, err := c.WaitFinal(ctxT(t, 3*time.Second))
			if err != nil || final < 400 {
				t.Fatalf("caller's final response: %d %v", final, err)
			}
			sw.waitStatus(sid, "canceled")
		})
	}
}

func TestLCMErrors(t *testing.T) {
	sw := startSwitch(t)
	unknown := "CA" + strings.Repeat("0", 32)
	cases := []struct {
		name       string
		user, pass string
		path       string
		form       url.Values
		want       int
		msg        string
	}{
		{"unknown call", testAccount, testToken, "/Calls/" + unknown + ".json", url.Values{"Status": {"completed"}}, 406, ""},
		{"malformed sid", testAccount, testToken, "/Calls/CAxyz.json", url.Values{"Status": {"completed"}}, 400, ""},
		{"nothing to do", testAccount, testToken, "/Calls/" + unknown + ".json", url.Values{}, 400, ""},
		{"bad status", testAccount, testToken, "/Calls/" + unknown + ".json", url.Values{"Status": {"paused"}}, 400, ""},
		{"relative url", testAccount, testToken, "/Calls/" + unknown + ".json", url.Values{"Url": {"/relative"}}, 400, ""},
		{"bad method", testAccount, testToken, "/Calls/" + unknown + ".json", url.Values{"Url": {"http://127.0.0.1/x"}, "Method": {"PUT"}}, 400, ""},
		{"wrong token", testAccount, "nope", "/Calls/" + unknown + ".json", url.Values{"Status": {"completed"}}, 401, ""},
		{"no credentials", "", "", "/Calls/" + unknown + ".json", url.Values{"Status": {"completed"}}, 401, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := sw.doAs(c.user, c.pass, "POST", c.path, c.form)
			if code != c.want {
				t.Fatalf("%d %s, want %d", code, body, c.want)
			}
			m := decode(t, body)
			if int(m["status"].(float64)) != c.want || m["message"] == "" || m["code"] == nil {
				t.Errorf("error body %s", body)
			}
		})
	}
	// Another tenant: a sub-account cannot reach the parent's URL (403) nor probe its calls.
	code, body := sw.do("POST", sw.HTTP+"/restcomm/2012-04-24/Accounts.json", url.Values{"EmailAddress": {"sub@example.com"}, "Password": {"Sup3r-secret"}})
	if code != 200 {
		t.Fatalf("create sub-account: %d %s", code, body)
	}
	sub := decode(t, body)
	subSid, subToken := sub["sid"].(string), sub["auth_token"].(string)
	code, _ = sw.doAs(subSid, subToken, "POST", "/Calls/"+unknown+".json", url.Values{"Status": {"completed"}})
	if code != 403 {
		t.Errorf("sub-account on the parent's URL: %d, want 403", code)
	}
	// XML errors have the RestException shape.
	code, body = sw.do("POST", "/Calls/"+unknown, url.Values{"Status": {"completed"}})
	if code != 406 || !strings.Contains(string(body), "<RestException>") {
		t.Errorf("XML 406: %d %s", code, body)
	}
}
