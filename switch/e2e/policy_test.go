package e2e

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/sipua/sipuatest"
	"github.com/patchbay/patchbay/wasmhost/wasmtest"
)

// guests builds the policy guest once per test binary.
var guests wasmtest.Builder

// buildPolicyGuest compiles testdata/policyguest as a wasip1 reactor, once
// per test binary.
func buildPolicyGuest(t *testing.T) []byte {
	t.Helper()
	return guests.Go(t, "./testdata/policyguest")
}

// upload PUTs a plugin module for account with the given query parameters.
func (s *testSwitch) upload(account, token, name string, wasm []byte, q url.Values) (int, []byte) {
	s.t.Helper()
	base := s.HTTP + "/restcomm/2012-04-24/Accounts/" + account
	req, err := http.NewRequest("PUT", base+"/Plugins/"+name+".json?"+q.Encode(), bytes.NewReader(wasm))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/wasm")
	req.SetBasicAuth(account, token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(res.Body)
	return res.StatusCode, b.Bytes()
}

func TestPolicyPluginsGovernLCM(t *testing.T) {
	wasm := buildPolicyGuest(t)
	sw := startSwitch(t)
	app := newAppServer(t)
	app.rcml("/app", `<Response><Play loop="0">`+app.URL("/long.wav")+`</Play></Response>`)
	app.rcml("/rewritten", `<Response><Play loop="0">`+app.URL("/long.wav")+`</Play></Response>`)
	app.rcml("/allowed", `<Response><Play loop="0">`+app.URL("/long.wav")+`</Play></Response>`)
	sw.provision("950", app.URL("/app"), nil)
	peer := sipuatest.NewPeer(t)

	code, body := sw.upload(testAccount, testToken, "frozen", wasm, url.Values{"Hooks": {"redirect,hangup"}, "Config": {"deny"}})
	if code != 200 {
		t.Fatalf("upload: %d %s", code, body)
	}
	c, sid := liveCall(t, sw, app, peer, "950")
	app.next(time.Second)

	// Deny: 403 with the plugin's reason; the call carries on untouched.
	code, body = sw.do("POST", "/Calls/"+sid+".json", url.Values{"Url": {app.URL("/elsewhere")}})
	if code != 403 || !strings.Contains(string(body), "frozen by policy") {
		t.Fatalf("denied redirect: %d %s", code, body)
	}
	code, body = sw.do("POST", "/Calls/"+sid+".json", url.Values{"Status": {"completed"}})
	if code != 403 || !strings.Contains(string(body), "may not be hung up") {
		t.Fatalf("denied hangup: %d %s", code, body)
	}
	n := c.RTP().PT(0).Packets
	time.Sleep(300 * time.Millisecond)
	if c.ByeReceived() || c.RTP().PT(0).Packets <= n {
		t.Fatal("the call was disturbed by denied modifications")
	}
	app.expectNone(200 * time.Millisecond)

	// Replace the plugin while the call runs: now it rewrites redirects.
	code, body = sw.upload(testAccount, testToken, "frozen", wasm, url.Values{"Config": {"rewrite=" + app.URL("/rewritten")}})
	if code != 200 {
		t.Fatalf("replace: %d %s", code, body)
	}
	code, hdr, body := sw.modify(sid, url.Values{"Url": {app.URL("/original")}})
	if code != 200 || hdr.Get("X-Patchbay-Rewrite-Url") != app.URL("/rewritten") || hdr.Get("X-Patchbay-Rewrite-Method") != "GET" {
		t.Fatalf("rewritten redirect: %d %v %s", code, hdr, body)
	}
	if r := app.next(3 * time.Second); r.Path != "/rewritten" || r.Method != "GET" {
		t.Fatalf("the app got %s %s, want GET /rewritten", r.Method, r.Path)
	}

	// Replace it with one that allows: the redirect goes where it asked.
	code, body = sw.upload(testAccount, testToken, "frozen", wasm, url.Values{"Config": {"allow"}})
	if code != 200 {
		t.Fatalf("replace: %d %s", code, body)
	}
	code, hdr, body = sw.modify(sid, url.Values{"Url": {app.URL("/allowed")}})
	if code != 200 || hdr.Get("X-Patchbay-Rewrite-Url") != "" {
		t.Fatalf("allowed redirect: %d %v %s", code, hdr, body)
	}
	if r := app.next(3 * time.Second); r.Path != "/allowed" || r.Method != "POST" {
		t.Fatalf("the app got %s %s, want POST /allowed", r.Method, r.Path)
	}

	// Every decision is audited per call.
	code, body = sw.do("GET", "/Calls/"+sid+"/Decisions.json", nil)
	if code != 200 {
		t.Fatalf("decisions: %d %s", code, body)
	}
	for _, want := range []string{`"deny"`, `"rewrite"`, `"allow"`, "frozen", app.URL("/rewritten")} {
		if !strings.Contains(string(body), want) {
			t.Errorf("decisions lack %s: %s", want, body)
		}
	}

	// A sub-account's plugin never runs for its parent's calls.
	code, body = sw.do("POST", sw.HTTP+"/restcomm/2012-04-24/Accounts.json", url.Values{"EmailAddress": {"tenant@example.com"}, "Password": {"Sup3r-secret"}})
	if code != 200 {
		t.Fatalf("sub-account: %d %s", code, body)
	}
	sub := decode(t, body)
	if code, body := sw.upload(sub["sid"].(string), sub["auth_token"].(string), "tenant-deny", wasm, url.Values{"Hooks": {"hangup"}, "Config": {"deny"}}); code != 200 {
		t.Fatalf("sub-account upload: %d %s", code, body)
	}

	// Delete the parent's plugin: the hangup is no longer governed.
	if code, body := sw.do("DELETE", "/Plugins/frozen.json", nil); code != 200 && code != 204 {
		t.Fatalf("delete: %d %s", code, body)
	}
	if code, body := sw.do("POST", "/Calls/"+sid+".json", url.Values{"Status": {"completed"}}); code != 200 {
		t.Fatalf("hangup after delete: %d %s", code, body)
	}
	if err := c.WaitBye(ctxT(t, 3*time.Second)); err != nil {
		t.Fatal(err)
	}
}

func TestPluginUploadRefusesBadModules(t *testing.T) {
	sw := startSwitch(t)
	cases := map[string][]byte{
		"garbage":   []byte("definitely not wasm"),
		"truncated": {0x00, 0x61, 0x73, 0x6d, 0x01},
	}
	for name, mod := range cases {
		code, body := sw.upload(testAccount, testToken, "bad", mod, url.Values{"Hooks": {"redirect"}})
		if code != 400 || !strings.Contains(string(body), `"message"`) {
			t.Errorf("%s: %d %s", name, code, body)
		}
	}
	// One byte over the operator's module limit (8 MiB by default): refused
	// with the limit, whatever the bytes.
	code, body := sw.upload(testAccount, testToken, "huge", make([]byte, 8<<20+1), url.Values{"Hooks": {"redirect"}})
	if code != 413 || !strings.Contains(string(body), `"code":20413`) || !strings.Contains(string(body), "limit") {
		t.Errorf("module over the limit: %d %s", code, body)
	}
	// A body far over the REST API's request limit is cut off before it is
	// read: a 413, or a reset connection while the client still sends.
	req, err := http.NewRequest("PUT", sw.Base+"/Plugins/huger.json?Hooks=redirect", bytes.NewReader(make([]byte, 32<<20)))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(testAccount, testToken)
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		if res.StatusCode != 413 {
			t.Errorf("body over the request limit: %d", res.StatusCode)
		}
	}
	// The switch is still healthy.
	if code, _ := sw.do("GET", "/Plugins.json", nil); code != 200 {
		t.Errorf("plugins list after bad uploads: %d", code)
	}
}

// A tenant who binds rcml_redirect has its redirect policy run before RCML
// <Redirect> verbs too: a denied one is skipped (with a notification) and
// the document goes on; without the binding the verb is not governed.
func TestPolicyBoundToRCMLRedirect(t *testing.T) {
	wasm := buildPolicyGuest(t)
	sw := startSwitch(t)
	app := newAppServer(t)
	app.rcml("/app", `<Response><Redirect>`+app.URL("/next")+`</Redirect><Play>`+app.URL("/tone.wav")+`</Play><Hangup/></Response>`)
	app.rcml("/next", `<Response><Hangup/></Response>`)
	sw.provision("951", app.URL("/app"), nil)
	peer := sipuatest.NewPeer(t)

	if code, body := sw.upload(testAccount, testToken, "verbs", wasm, url.Values{"Hooks": {"redirect,rcml_redirect"}, "Config": {"deny"}}); code != 200 {
		t.Fatalf("upload: %d %s", code, body)
	}
	c := dial(t, sw, peer, "951")
	if err := c.WaitBye(ctxT(t, 8*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := c.RTP().PT(0).Packets; got < 80 {
		t.Errorf("the verb after the denied <Redirect> did not run: %d packets", got)
	}
	if len(requestsTo(app, "/next")) != 0 {
		t.Fatal("a denied <Redirect> was followed")
	}
	code, body := sw.do("GET", "/Notifications.json", nil)
	if code != 200 || !strings.Contains(string(body), "12410") || !strings.Contains(string(body), "frozen by policy") {
		t.Errorf("no notification of the denied <Redirect>: %d %s", code, body)
	}

	// Bound to LCM redirects only: the verb is not governed.
	if code, body := sw.upload(testAccount, testToken, "verbs", wasm, url.Values{"Hooks": {"redirect"}, "Config": {"deny"}}); code != 200 {
		t.Fatalf("re-upload: %d %s", code, body)
	}
	c = dial(t, sw, peer, "951")
	if err := c.WaitBye(ctxT(t, 8*time.Second)); err != nil {
		t.Fatal(err)
	}
	app.nextAt("/next", 3*time.Second)
}

// A plugin learns the leg a <Dial> connected to the call: a bridged child's
// parent when the child is to be hung up, the child when the parent is
// redirected. The rewrite carries it to the app server.
func TestPolicySeesTheConnectedLeg(t *testing.T) {
	wasm := buildPolicyGuest(t)
	sw := startSwitch(t)
	app := newAppServer(t)
	bob := sipuatest.NewPeer(t, sipuatest.WithUser("bob"))
	bob.Answer(sipuatest.AnswerAfter(100 * time.Millisecond))
	app.rcml("/app", `<Response><Dial timeout="10"><Sip>sip:bob@`+bob.Addr()+`</Sip></Dial></Response>`)
	app.rcml("/moved", `<Response><Play loop="0">`+app.URL("/long.wav")+`</Play></Response>`)
	sw.provision("953", app.URL("/app"), nil)
	if code, body := sw.upload(testAccount, testToken, "tagger", wasm, url.Values{"Hooks": {"redirect,hangup"}, "Config": {"connected=" + app.URL("/moved")}}); code != 200 {
		t.Fatalf("upload: %d %s", code, body)
	}
	caller := sipuatest.NewPeer(t, sipuatest.WithUser("carol"))
	c := dial(t, sw, caller, "953")
	sid := c.Header("X-RestComm-CallSid")
	bobIn, err := bob.WaitIncoming(ctxT(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	bobSid := bobIn.Header("X-RestComm-CallSid")
	if err := bobIn.WaitAck(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	sw.waitStatus(bobSid, "in-progress")
	hears(t, c, bobIn, "caller → Bob") // bridged

	code, body := sw.do("POST", "/Calls/"+bobSid+".json", url.Values{"Status": {"completed"}})
	if code != 403 || !strings.Contains(string(body), "connected to "+sid) {
		t.Fatalf("hangup of the child: %d %s (want a deny naming the parent %s)", code, body, sid)
	}
	code, hdr, body := sw.modify(sid, url.Values{"Url": {app.URL("/asked")}})
	want := app.URL("/moved") + "?Connected=" + bobSid
	if code != 200 || hdr.Get("X-Patchbay-Rewrite-Url") != want {
		t.Fatalf("redirect of the parent: %d %v %s (want the rewrite to %s)", code, hdr, body, want)
	}
	if r := app.nextAt("/moved", 3*time.Second); r.Params.Get("Connected") != bobSid {
		t.Fatalf("the app got Connected=%q, want %s", r.Params.Get("Connected"), bobSid)
	}
	if err := bobIn.WaitBye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatalf("Bob got no BYE when the parent left the dial: %v", err)
	}
	// Out of the dial, the call has no connected leg.
	code, hdr, body = sw.modify(sid, url.Values{"Url": {app.URL("/asked")}})
	if want := app.URL("/moved") + "?Connected="; code != 200 || hdr.Get("X-Patchbay-Rewrite-Url") != want {
		t.Fatalf("redirect after the dial: %d %v %s (want the rewrite to %s)", code, hdr, body, want)
	}
	// The caller's own BYE is no modification: no plugin decides it.
	if err := c.Bye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
}

// The sequence against a call placed by sipp: a denied redirect
// (403, the call goes on: still in progress, sipp has no BYE, the app gets
// nothing), a rewritten one (the app gets the rewritten URL), the plugin
// replaced while the call runs, an allowed one, a denied hangup, and, once
// the plugin is deleted, a hangup that goes through: sipp gets its BYE
// (exit 0; it would fail on an early BYE or none).
func TestPolicyGovernsASippCall(t *testing.T) {
	wasm := buildPolicyGuest(t)
	sw := startSwitch(t)
	app := newAppServer(t)
	for _, path := range []string{"/app", "/rewritten", "/allowed"} {
		app.rcml(path, `<Response><Play loop="0">`+app.URL("/long.wav")+`</Play></Response>`)
	}
	sw.provision("952", app.URL("/app"), nil)
	if code, body := sw.upload(testAccount, testToken, "keep-up", wasm, url.Values{"Hooks": {"redirect,hangup"}, "Config": {"deny"}}); code != 200 {
		t.Fatalf("upload: %d %s", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	proc, err := sipuatest.StartSipp(ctx, sipuatest.SippOptions{
		Scenario: filepath.Join("testdata", "uac_waitbye.xml"), Remote: sw.SIPAddr, Service: "952",
		Calls: 1, NoDefaultBehaviors: true, RecvTimeout: 30 * time.Second, Timeout: 35 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	sid := app.next(10 * time.Second).Params.Get("CallSid")
	sw.waitStatus(sid, "in-progress")
	undisturbed := func(what string) {
		t.Helper()
		time.Sleep(300 * time.Millisecond)
		if st := sw.callJSON(sid)["status"]; st != "in-progress" {
			t.Fatalf("%s changed the call: %v", what, st)
		}
		if proc.Exited() {
			t.Fatalf("sipp ended after %s", what)
		}
	}

	code, body := sw.do("POST", "/Calls/"+sid+".json", url.Values{"Url": {app.URL("/elsewhere")}})
	if code != 403 || !strings.Contains(string(body), "frozen by policy") {
		t.Fatalf("denied redirect: %d %s", code, body)
	}
	undisturbed("the denied redirect")
	app.expectNone(100 * time.Millisecond)

	if code, body := sw.upload(testAccount, testToken, "keep-up", wasm, url.Values{"Config": {"rewrite=" + app.URL("/rewritten")}}); code != 200 {
		t.Fatalf("replace: %d %s", code, body)
	}
	code, hdr, body := sw.modify(sid, url.Values{"Url": {app.URL("/original")}})
	if code != 200 || hdr.Get("X-Patchbay-Rewrite-Url") != app.URL("/rewritten") {
		t.Fatalf("rewritten redirect: %d %v %s", code, hdr, body)
	}
	if r := app.next(3 * time.Second); r.Path != "/rewritten" || r.Method != "GET" || r.Params.Get("CallSid") != sid {
		t.Fatalf("the app got %s %s for %s, want GET /rewritten for %s", r.Method, r.Path, r.Params.Get("CallSid"), sid)
	}

	if code, body := sw.upload(testAccount, testToken, "keep-up", wasm, url.Values{"Config": {"allow"}}); code != 200 {
		t.Fatalf("replace: %d %s", code, body)
	}
	if code, body := sw.do("POST", "/Calls/"+sid+".json", url.Values{"Url": {app.URL("/allowed")}}); code != 200 {
		t.Fatalf("allowed redirect: %d %s", code, body)
	}
	if r := app.next(3 * time.Second); r.Path != "/allowed" || r.Method != "POST" {
		t.Fatalf("the app got %s %s, want POST /allowed", r.Method, r.Path)
	}

	if code, body := sw.upload(testAccount, testToken, "keep-up", wasm, url.Values{"Config": {"deny"}}); code != 200 {
		t.Fatalf("replace: %d %s", code, body)
	}
	code, body = sw.do("POST", "/Calls/"+sid+".json", url.Values{"Status": {"completed"}})
	if code != 403 || !strings.Contains(string(body), "may not be hung up") {
		t.Fatalf("denied hangup: %d %s", code, body)
	}
	undisturbed("the denied hangup")

	if code, body := sw.do("DELETE", "/Plugins/keep-up.json", nil); code != 200 && code != 204 {
		t.Fatalf("delete: %d %s", code, body)
	}
	if code, body := sw.do("POST", "/Calls/"+sid+".json", url.Values{"Status": {"completed"}}); code != 200 {
		t.Fatalf("hangup: %d %s", code, body)
	}
	res, err := proc.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 || res.Successful != 1 {
		t.Fatalf("sipp: exit %d, %d successful (a BYE should have ended its call only after the plugin was gone)\n%s", res.ExitCode, res.Successful, res.Errors)
	}
}

// Status=canceled of a ringing call is a hangup decision too: denied, the
// caller goes on ringing; allowed, it gets its final error response.
func TestPolicyDeniesCancelOfARingingCall(t *testing.T) {
	wasm := buildPolicyGuest(t)
	sw := startSwitch(t)
	app := newAppServer(t)
	app.rcml("/app", `<Response><Pause length="30"/><Play>`+app.URL("/tone.wav")+`</Play></Response>`)
	sw.provision("954", app.URL("/app"), nil)
	if code, body := sw.upload(testAccount, testToken, "no-cancel", wasm, url.Values{"Hooks": {"hangup"}, "Config": {"deny"}}); code != 200 {
		t.Fatalf("upload: %d %s", code, body)
	}
	peer := sipuatest.NewPeer(t)
	c, err := peer.InviteAsync(ctxT(t, 5*time.Second), "sip:954@"+sw.SIPAddr, sipuatest.InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitProvisional(ctxT(t, 5*time.Second), 180); err != nil {
		t.Fatalf("no 180: %v", err)
	}
	sid := app.next(5 * time.Second).Params.Get("CallSid")
	code, body := sw.do("POST", "/Calls/"+sid+".json", url.Values{"Status": {"canceled"}})
	if code != 403 || !strings.Contains(string(body), "may not be hung up") {
		t.Fatalf("denied cancel: %d %s", code, body)
	}
	time.Sleep(300 * time.Millisecond)
	if st := sw.callJSON(sid)["status"]; st != "ringing" || c.FinalCode() != 0 {
		t.Fatalf("the denied cancel ended the call: status %v, final %d", st, c.FinalCode())
	}
	if code, body := sw.upload(testAccount, testToken, "no-cancel", wasm, url.Values{"Config": {"allow"}}); code != 200 {
		t.Fatalf("replace: %d %s", code, body)
	}
	if code, body := sw.do("POST", "/Calls/"+sid+".json", url.Values{"Status": {"canceled"}}); code != 200 {
		t.Fatalf("allowed cancel: %d %s", code, body)
	}
	if final, err := c.WaitFinal(ctxT(t, 3*time.Second)); err != nil || final < 400 {
		t.Fatalf("caller's final response: %d %v", final, err)
	}
	sw.waitStatus(sid, "canceled")
}

// Hostile plugins on a running switch, with the operator's budgets
// (--plugin-timeout, --plugin-max-timeout, --plugin-memory-mb) and a
// tenant's own: a plugin in a loop, one that allocates without end and one
// that traps each get their fail mode (redirect closed: 403 with the
// failure; hangup open: the call ends), while another call's media goes on
// and the API answers. The memory bomb is given a long budget, so that its
// cap, not its deadline, stops it (filling 16 MiB takes a Go guest 0.1-1.5 s
// here, under -race).
func TestHostilePluginsLeaveTheSwitchAndOtherCallsAlone(t *testing.T) {
	wasm := buildPolicyGuest(t)
	sw := startSwitch(t, func(c *serverConfig) {
		c.PluginTimeout = 300 * time.Millisecond
		c.PluginMaxTimeout = 10 * time.Second
		c.PluginMemoryMB = 16
	})
	app := newAppServer(t)
	app.rcml("/app", `<Response><Play loop="0">`+app.URL("/long.wav")+`</Play></Response>`)
	sw.provision("955", app.URL("/app"), nil)
	peer := sipuatest.NewPeer(t)
	other, _ := liveCall(t, sw, app, peer, "955")

	for _, tc := range []struct {
		config, kind, timeoutMs string
		counter                 string
	}{
		{"loop", "timeout", "", `"timeouts":2`},
		{"bomb", "memory limit", "8000", `"memory_limit_hits":2`},
		{"trap", "trap", "", `"traps":2`},
	} {
		t.Run(tc.config, func(t *testing.T) {
			q := url.Values{"Hooks": {"redirect,hangup"}, "Config": {tc.config}}
			if tc.timeoutMs != "" {
				q.Set("TimeoutMs", tc.timeoutMs)
			}
			code, body := sw.upload(testAccount, testToken, "hostile", wasm, q)
			wantBudget := `"timeout_ms":300,"memory_mb":16` // the operator's
			if tc.timeoutMs != "" {
				wantBudget = `"timeout_ms":` + tc.timeoutMs + `,"memory_mb":16` // the tenant's
			}
			if code != 200 || !strings.Contains(string(body), wantBudget) {
				t.Fatalf("upload: %d %s (want %s)", code, body, wantBudget)
			}
			defer sw.do("DELETE", "/Plugins/hostile.json", nil)
			c, sid := liveCall(t, sw, app, peer, "955")
			defer c.Bye(ctxT(t, time.Second)) // on failure; a no-op after the BYE
			before := other.RTP().PT(0).Packets

			code, body = sw.do("POST", "/Calls/"+sid+".json", url.Values{"Url": {app.URL("/elsewhere")}})
			if code != 403 || !strings.Contains(string(body), "unavailable ("+tc.kind+")") {
				t.Fatalf("redirect with a %s plugin: %d %s (want 403, fail closed)", tc.config, code, body)
			}
			if st := sw.callJSON(sid)["status"]; st != "in-progress" || c.ByeReceived() {
				t.Fatalf("the failed redirect disturbed the call: %v", st)
			}
			code, body = sw.do("POST", "/Calls/"+sid+".json", url.Values{"Status": {"completed"}})
			if code != 200 {
				t.Fatalf("hangup with a %s plugin: %d %s (want 200, fail open)", tc.config, code, body)
			}
			if err := c.WaitBye(ctxT(t, 3*time.Second)); err != nil {
				t.Fatalf("the call was not hung up: %v", err)
			}

			if other.ByeReceived() || other.RTP().PT(0).Packets <= before {
				t.Fatalf("the other call stopped (bye %v, packets %d → %d)", other.ByeReceived(), before, other.RTP().PT(0).Packets)
			}
			code, body = sw.do("GET", "/Plugins/hostile.json", nil)
			if code != 200 || !strings.Contains(string(body), `"failures":2`) || !strings.Contains(string(body), tc.counter) {
				t.Fatalf("plugin counters: %d %s", code, body)
			}
		})
	}
	if err := other.Bye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
}
