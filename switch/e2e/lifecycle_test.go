package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/server"
	"github.com/patchbay/patchbay/switch/sipua/sipuatest"
	"github.com/patchbay/patchbay/switch/store"
)

func TestHealth(t *testing.T) {
	sw := startSwitch(t)
	res, err := http.Get(sw.HTTP + "/health")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("/health = %d", res.StatusCode)
	}
}

// Shutdown (what SIGTERM triggers) hangs up live calls with BYE and then
// refuses new ones.
func TestShutdownHangsUpLiveCalls(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	app.rcml("/app", `<Response><Play loop="0">`+app.URL("/long.wav")+`</Play></Response>`)
	sw.provision("500", app.URL("/app"), nil)
	peer := sipuatest.NewPeer(t)
	c1, sid1 := liveCall(t, sw, app, peer, "500")
	c2, sid2 := liveCall(t, sw, app, peer, "500")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := sw.srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	for _, c := range []*sipuatest.Call{c1, c2} {
		if err := c.WaitBye(ctxT(t, 3*time.Second)); err != nil {
			t.Errorf("live call got no BYE at shutdown: %v", err)
		}
	}
	for _, sid := range []string{sid1, sid2} {
		rec, err := sw.srv.Store().Call(context.Background(), sid)
		if err == nil {
			t.Errorf("store still open after shutdown (read %s)", rec.Status)
		}
	}
}

// A process that died with live calls leaves them in the store; the next
// start ends them with an end time and a final status.
func TestRestartEndsCallsLeftLive(t *testing.T) {
	dir := t.TempDir()
	start := func() *server.Server {
		cfg := server.DefaultConfig()
		cfg.HTTPAddr = "127.0.0.1:0"
		cfg.SIPAddr = fmt.Sprintf("127.0.0.1:%d", freeSIPPort(t))
		cfg.DataDir = dir
		cfg.AccountSid, cfg.AuthToken = testAccount, testToken
		cfg.RTPPortMin, cfg.RTPPortMax = 39500, 39599
		srv, err := server.Start(context.Background(), cfg, slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelError})))
		if err != nil {
			t.Fatal(err)
		}
		return srv
	}
	srv := start()
	now := time.Now()
	answered := store.Call{Sid: "CA" + fmt.Sprintf("%032x", 1), AccountSid: testAccount, Status: store.StatusInProgress, Direction: store.DirectionInbound,
		DateCreated: now.Add(-time.Minute), StartTime: now.Add(-time.Minute), AnswerTime: now.Add(-50 * time.Second),
		DateUpdated: now.Add(-20 * time.Second), Duration: -1}
	ringing := store.Call{Sid: "CA" + fmt.Sprintf("%032x", 2), AccountSid: testAccount, Status: store.StatusRinging, Direction: store.DirectionOutboundAPI,
		DateCreated: now, StartTime: now, Duration: -1}
	for _, c := range []store.Call{answered, ringing} {
		if err := srv.Store().PutCall(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	srv = start()
	defer srv.Shutdown(ctx)
	for sid, want := range map[string]string{answered.Sid: store.StatusCompleted, ringing.Sid: store.StatusCanceled} {
		c, err := srv.Store().Call(context.Background(), sid)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != want || c.EndTime.IsZero() {
			t.Errorf("call %s after restart: status %s end %v, want %s with an end time", sid, c.Status, c.EndTime, want)
		}
	}
	// The end is the last recorded state change, never the restart: the
	// downtime is not billed.
	if c, _ := srv.Store().Call(context.Background(), answered.Sid); c.Duration != 30 || !c.EndTime.Equal(answered.DateUpdated) {
		t.Errorf("reconciled answered call: duration %d end %v, want 30 s ending at %v", c.Duration, c.EndTime, answered.DateUpdated)
	}
}

// Garbage and malformed SIP get an error or are dropped; the switch and its
// other calls go on.
func TestMalformedSIPLosesNothing(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	app.rcml("/app", `<Response><Play loop="0">`+app.URL("/long.wav")+`</Play></Response>`)
	sw.provision("600", app.URL("/app"), nil)
	peer := sipuatest.NewPeer(t)
	c, sid := liveCall(t, sw, app, peer, "600")

	conn, err := net.Dial("udp", sw.SIPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	garbage := []string{
		"\x00\x01\x02 not sip at all",
		"INVITE sip:600@127.0.0.1 SIP/2.0\r\n\r\n",
		"INVITE sip:600@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
		"BYE sip:nobody@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKy\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: nope\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
		"INVITE sip:600@127.0.0.1 SIP/2.0\r\nContent-Length: 99999999\r\n\r\nx",
	}
	for _, g := range garbage {
		if _, err := conn.Write([]byte(g)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	n := c.RTP().PT(0).Packets
	time.Sleep(200 * time.Millisecond)
	if c.ByeReceived() || c.RTP().PT(0).Packets <= n {
		t.Fatal("the live call was disturbed by malformed SIP")
	}
	// New calls still work.
	c2 := dial(t, sw, peer, "600")
	sw.do("POST", "/Calls/"+sid+".json", map[string][]string{"Status": {"completed"}})
	sw.do("POST", "/Calls/"+c2.Header("X-RestComm-CallSid")+".json", map[string][]string{"Status": {"completed"}})
	for _, cc := range []*sipuatest.Call{c, c2} {
		if err := cc.WaitBye(ctxT(t, 3*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
}
