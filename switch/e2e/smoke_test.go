package e2e

import (
	"fmt"
	"os/exec"
	"testing"
	"time"
)

func TestSmokeInboundPlayHangup(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	app.rcml("/app", fmt.Sprintf(`<Response><Play>%s</Play><Hangup/></Response>`, app.URL("/tone.wav")))
	sw.provision("1234", app.URL("/app"), nil)
	cmd := exec.Command("sipp", sw.SIPAddr, "-sn", "uac", "-s", "1234", "-i", "127.0.0.1", "-p", fmt.Sprint(freeSIPPort(t)), "-m", "1", "-nostdin", "-d", "5000", "-timeout", "15s")
	cmd.Dir = t.TempDir()
	out, _ := cmd.CombinedOutput()
	_ = out
	r := app.next(5 * time.Second)
	if r.Params.Get("CallStatus") != "ringing" {
		t.Fatalf("first fetch CallStatus = %q", r.Params.Get("CallStatus"))
	}
	sw.waitStatus(r.Params.Get("CallSid"), "completed")
}
