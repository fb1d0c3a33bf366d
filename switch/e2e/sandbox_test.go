package e2e

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/rcmlwasm"
	"github.com/patchbay/patchbay/switch/sipua/sipuatest"
)

// A document that stalls, crashes, exhausts or garbles the sandboxed RCML
// handler ends only the call that fetched it: that caller gets a BYE, the
// call has a notification (12400) saying why, and another call's media
// goes on, as does the next call's parse. The switch runs the test's
// misbehaving handler (switch/rcmlwasm/testdata/hostileguest), which parses
// every other document as the real one does.
func TestMisbehavingRCMLEndsOnlyItsCall(t *testing.T) {
	hostile := guests.Go(t, "../rcmlwasm/testdata/hostileguest")
	sw := startSwitch(t, func(c *serverConfig) {
		c.RCMLOptions = []rcmlwasm.Option{rcmlwasm.WithModule(hostile), rcmlwasm.WithTimeout(300 * time.Millisecond), rcmlwasm.WithMemoryMB(32)}
	})
	app := newAppServer(t)
	app.rcml("/app", `<Response><Play loop="0">`+app.URL("/long.wav")+`</Play></Response>`)
	for _, word := range []string{"STALL", "CRASH", "BOMB", "GARBAGE"} {
		app.rcml("/"+strings.ToLower(word), `<Response><Say>`+word+`</Say></Response>`)
	}
	sw.provision("956", app.URL("/app"), nil)
	peer := sipuatest.NewPeer(t)
	other, _ := liveCall(t, sw, app, peer, "956")

	for _, word := range []string{"STALL", "CRASH", "BOMB", "GARBAGE"} {
		t.Run(word, func(t *testing.T) {
			c, sid := liveCall(t, sw, app, peer, "956") // the next parse works
			before := other.RTP().PT(0).Packets
			if code, body := sw.do("POST", "/Calls/"+sid+".json", url.Values{"Url": {app.URL("/" + strings.ToLower(word))}}); code != 200 {
				t.Fatalf("redirect: %d %s", code, body)
			}
			if err := c.WaitBye(ctxT(t, 5*time.Second)); err != nil {
				t.Fatalf("the call that fetched the %s document was not hung up: %v", word, err)
			}
			if msg, ok := notificationCodes(t, sw, sid)["12400"]; !ok || !strings.Contains(msg, "cannot run RCML") {
				t.Fatalf("no 12400 notification for the call: %v", notificationCodes(t, sw, sid))
			}
			if other.ByeReceived() || other.RTP().PT(0).Packets <= before {
				t.Fatalf("the other call stopped (bye %v, packets %d → %d)", other.ByeReceived(), before, other.RTP().PT(0).Packets)
			}
		})
	}
	if err := other.Bye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
}
