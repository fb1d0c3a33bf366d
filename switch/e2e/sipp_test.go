package e2e

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/sipua/sipuatest"
)

// sipp places a call that streams PCMU and waits for the switch's BYE; the
// app learns its CallSid, and Status=completed must reach sipp as a BYE
// (sipp exits 0 only if the BYE came).
func TestSippCallerHungUpByLCM(t *testing.T) {
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			sw := startSwitch(t)
			app := newAppServer(t)
			app.rcml("/app", `<Response><Play loop="0">`+app.URL("/long.wav")+`</Play></Response>`)
			sw.provision("800", app.URL("/app"), nil)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			proc, err := sipuatest.StartSipp(ctx, sipuatest.SippOptions{
				Scenario: filepath.Join("testdata", "uac_waitbye.xml"), Remote: sw.SIPAddr, Service: "800",
				Calls: 1, Transport: transport, NoDefaultBehaviors: true, RecvTimeout: 15 * time.Second, Timeout: 25 * time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			r := app.next(10 * time.Second)
			sid := r.Params.Get("CallSid")
			sw.waitStatus(sid, "in-progress")
			time.Sleep(300 * time.Millisecond) // let sipp stream some audio
			if code, body := sw.do("POST", "/Calls/"+sid+".json", url.Values{"Status": {"completed"}}); code != 200 {
				t.Fatalf("hangup: %d %s", code, body)
			}
			res, err := proc.Wait(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != 0 || res.Successful != 1 {
				t.Fatalf("sipp exit %d, %d successful: it did not get the BYE\n%s", res.ExitCode, res.Successful, res.Errors)
			}
			if len(res.CallSids) != 1 || res.CallSids[0] != sid {
				t.Errorf("sipp saw X-RestComm-CallSid %v, app saw %s", res.CallSids, sid)
			}
		})
	}
}

// sipp is the callee of a call placed through the API: it answers, the
// RCML runs, and the switch hangs up when the document ends.
func TestSippCalleeOfOutboundCall(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	app.rcml("/answered", `<Response><Play>`+app.URL("/tone.wav")+`</Play></Response>`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	proc, err := sipuatest.StartSipp(ctx, sipuatest.SippOptions{
		Scenario: filepath.Join("testdata", "uas_answer.xml"), Calls: 1, RecvTimeout: 15 * time.Second, Timeout: 25 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	sid := createCall(t, sw, url.Values{"From": {"+15550001"}, "To": {"sip:sipp@" + proc.Addr()}, "Url": {app.URL("/answered")}})
	if r := app.nextAt("/answered", 10*time.Second); r.Params.Get("CallSid") != sid {
		t.Errorf("RCML fetched for %s, want %s", r.Params.Get("CallSid"), sid)
	}
	res, err := proc.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 || res.Successful != 1 {
		t.Fatalf("sipp callee: exit %d, %d successful\n%s", res.ExitCode, res.Successful, res.Errors)
	}
	rec := sw.waitStatus(sid, "completed")
	if rec["direction"] != "outbound-api" {
		t.Errorf("record: %v", rec)
	}
}

// sipp rings a number whose RCML pauses before answering; Status=canceled
// gives sipp a final error response.
func TestSippRingingCallerCanceledByLCM(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	app.rcml("/app", `<Response><Pause length="20"/></Response>`)
	sw.provision("801", app.URL("/app"), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	proc, err := sipuatest.StartSipp(ctx, sipuatest.SippOptions{
		Scenario: filepath.Join("testdata", "uac_ringing_cancel.xml"), Remote: sw.SIPAddr, Service: "801",
		Calls: 1, RecvTimeout: 15 * time.Second, Timeout: 25 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	sid := app.next(10 * time.Second).Params.Get("CallSid")
	sw.waitStatus(sid, "ringing")
	if code, body := sw.do("POST", "/Calls/"+sid+".json", url.Values{"Status": {"canceled"}}); code != 200 {
		t.Fatalf("cancel: %d %s", code, body)
	}
	res, err := proc.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("sipp exit %d\n%s", res.ExitCode, res.Errors)
	}
	final := ""
	for _, l := range res.LogLines {
		if strings.HasPrefix(l, "FINAL ") {
			final = l
		}
	}
	if final != "FINAL 500" {
		t.Errorf("sipp's final response: %q, want FINAL 500 (upstream's answer to a canceled ringing call)", final)
	}
	sw.waitStatus(sid, "canceled")
}
