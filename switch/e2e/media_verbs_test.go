package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/media"
	"github.com/patchbay/patchbay/switch/sipua/sipuatest"
)

// notificationCodes maps the error codes recorded for a call (for every
// call when callSid is empty) to a message of each.
func notificationCodes(t *testing.T, sw *testSwitch, callSid string) map[string]string {
	t.Helper()
	code, body := sw.do("GET", "/Notifications.json?PageSize=200", nil)
	if code != 200 {
		t.Fatalf("Notifications: %d %s", code, body)
	}
	var list struct {
		Notifications []struct {
			ErrorCode any    `json:"error_code"`
			CallSid   string `json:"call_sid"`
			Message   string `json:"message_text"`
		} `json:"notifications"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatalf("Notifications JSON: %v: %s", err, body)
	}
	codes := map[string]string{}
	for _, n := range list.Notifications {
		if callSid == "" || n.CallSid == callSid {
			codes[fmt.Sprint(n.ErrorCode)] = n.Message
		}
	}
	return codes
}

// download fetches a recording's audio with the account's credentials.
func download(t *testing.T, recordingURL string) *media.Clip {
	t.Helper()
	req, err := http.NewRequest("GET", recordingURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(testAccount, testToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", recordingURL, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "audio/x-wav" {
		t.Fatalf("GET %s: %d %s (%d bytes)", recordingURL, res.StatusCode, res.Header.Get("Content-Type"), len(body))
	}
	clip, err := media.DecodeWAV(body)
	if err != nil {
		t.Fatalf("recording is not a WAV we can read: %v", err)
	}
	return clip
}

// tonesIn measures freqs in a clip: each one's share of the voiced audio,
// and how long the voiced audio lasts.
func tonesIn(t *testing.T, clip *media.Clip, freqs ...float64) ([]float64, time.Duration) {
	t.Helper()
	src, err := clip.Source(media.PCMU)
	if err != nil {
		t.Fatal(err)
	}
	det := media.NewToneDetector(freqs...)
	frame := make([]byte, media.FrameSamples)
	for src.ReadFrame(frame) == nil {
		det.WriteG711(media.PCMU, frame)
	}
	var levels []float64
	for i := range freqs {
		levels = append(levels, det.Level(i))
	}
	return levels, time.Duration(det.Voiced()) * 40 * time.Millisecond
}

// A <Gather> plays its prompt until the first key, then collects keys sent
// as RFC 4733 events until numDigits; the action gets them as Digits and
// its RCML replaces the document.
func TestGatherDigitsStopThePromptAndReachTheAction(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	app.rcml("/app", `<Response><Gather action="/digits" numDigits="3" timeout="5"><Play loop="0">`+app.URL("/long.wav")+`</Play></Gather><Redirect>/never</Redirect></Response>`)
	app.rcml("/digits", `<Response><Pause length="1"/><Hangup/></Response>`)
	sw.provision("400", app.URL("/app"), nil)
	peer := sipuatest.NewPeer(t)
	c, sid := liveCall(t, sw, app, peer, "400")
	app.next(time.Second)

	if err := c.SendDTMF(ctxT(t, 5*time.Second), "4"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	before := c.RTP().PT(0).Packets
	time.Sleep(300 * time.Millisecond)
	if after := c.RTP().PT(0).Packets; after != before {
		t.Errorf("the prompt still plays after the first key: %d then %d packets", before, after)
	}
	if err := c.SendDTMF(ctxT(t, 5*time.Second), "2*"); err != nil {
		t.Fatal(err)
	}
	r := app.nextAt("/digits", 5*time.Second)
	if r.Params.Get("Digits") != "42*" || r.Params.Get("CallSid") != sid || r.Method != "POST" {
		t.Errorf("action request %s %v, want Digits=42*", r.Method, r.Params)
	}
	if err := c.WaitBye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatalf("the action's <Hangup> did not reach the caller: %v", err)
	}
	if len(requestsTo(app, "/never")) != 0 {
		t.Errorf("the verb after <Gather> ran although the action replaced the document")
	}
}

// sipp presses keys as replayed RFC 4733 captures (the pcaps shipped with
// sip-tester) and in SIP INFO (application/dtmf-relay and application/dtmf);
// finishOnKey # ends the <Gather> and is not part of Digits.
func TestGatherKeysFromSippCapturesAndSIPInfo(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	app.rcml("/app", `<Response><Gather action="/digits" finishOnKey="#" timeout="10"><Pause length="20"/></Gather></Response>`)
	app.rcml("/digits", `<Response><Hangup/></Response>`)
	sw.provision("401", app.URL("/app"), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	proc, err := sipuatest.StartSipp(ctx, sipuatest.SippOptions{
		Scenario: filepath.Join("testdata", "uac_dtmf.xml"), Remote: sw.SIPAddr, Service: "401",
		Calls: 1, NoDefaultBehaviors: true, RecvTimeout: 20 * time.Second, Timeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := app.nextAt("/digits", 20*time.Second)
	if got := r.Params.Get("Digits"); got != "157" {
		t.Errorf("Digits = %q, want 157 (1 and # by RFC 4733, 5 and 7 by INFO)", got)
	}
	res, err := proc.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 || res.Successful != 1 {
		t.Fatalf("sipp: exit %d, %d successful (INFO not answered 200, or no BYE)\n%s", res.ExitCode, res.Successful, res.Errors)
	}
}

// No input: the document goes on with the next verb and the action is not
// requested; invalid attributes are warned about and replaced by defaults.
func TestGatherWithoutInputGoesOn(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	app.rcml("/app", `<Response><Gather action="/digits" timeout="1" finishOnKey="x" numDigits="abc"/><Redirect>/next</Redirect></Response>`)
	app.rcml("/next", `<Response><Pause length="1"/><Hangup/></Response>`)
	sw.provision("402", app.URL("/app"), nil)
	peer := sipuatest.NewPeer(t)
	c := dial(t, sw, peer, "402")
	sid := c.Header("X-RestComm-CallSid")
	// A key that only finishes the input counts as no input too.
	if err := c.SendDTMF(ctxT(t, 5*time.Second), "#"); err != nil {
		t.Fatal(err)
	}
	app.nextAt("/next", 5*time.Second)
	if err := c.WaitBye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := requestsTo(app, "/digits"); len(got) != 0 {
		t.Errorf("the action was requested without input: %v", got)
	}
	sw.waitStatus(sid, "completed")
	codes := notificationCodes(t, sw, sid)
	for _, want := range []string{"13310", "13314"} {
		if _, ok := codes[want]; !ok {
			t.Errorf("no warning %s for the invalid <Gather> attribute; have %v", want, codes)
		}
	}
}

// <Record>: a beep, then what the caller says until a finishOnKey key. The
// action gets RecordingUrl, RecordingDuration and Digits; the file holds
// the caller's tone for as long as it was sent; the Recordings API lists it
// for the account and the call, serves it, and deletes it.
func TestRecordUntilKey(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	app.rcml("/app", `<Response><Record action="/recorded" maxLength="20" timeout="10" finishOnKey="#"/></Response>`)
	app.rcml("/recorded", `<Response><Pause length="1"/><Hangup/></Response>`)
	sw.provision("403", app.URL("/app"), nil)
	peer := sipuatest.NewPeer(t)
	c := dial(t, sw, peer, "403")
	sid := c.Header("X-RestComm-CallSid")
	c.Listen(1000)
	if err := c.WaitRTP(ctxT(t, 5*time.Second), 0, 5); err != nil {
		t.Fatalf("no beep: %v", err)
	}
	time.Sleep(700 * time.Millisecond) // the 500 ms beep, then recording starts
	if levels, voiced := c.Heard(); voiced < 2 || levels[0] < 0.5 {
		t.Errorf("the beep is not a 1 kHz tone: levels %v over %d voiced blocks", levels, voiced)
	}
	if err := c.SendTone(ctxT(t, 5*time.Second), 700, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.SendDTMF(ctxT(t, 5*time.Second), "#"); err != nil {
		t.Fatal(err)
	}
	r := app.nextAt("/recorded", 5*time.Second)
	p := r.Params
	if p.Get("Digits") != "#" {
		t.Errorf("Digits = %q, want #", p.Get("Digits"))
	}
	dur, err := strconv.ParseFloat(p.Get("RecordingDuration"), 64)
	if err != nil || dur < 2 || dur > 3.5 {
		t.Errorf("RecordingDuration = %q, want 2 s of tone and a little", p.Get("RecordingDuration"))
	}
	recURL := p.Get("RecordingUrl")
	if !strings.HasPrefix(recURL, sw.HTTP+"/restcomm/2012-04-24/Accounts/"+testAccount+"/Recordings/RE") || !strings.HasSuffix(recURL, ".wav") {
		t.Fatalf("RecordingUrl = %q", recURL)
	}
	clip := download(t, recURL)
	levels, voiced := tonesIn(t, clip, 700, 1000)
	if levels[0] < 0.6 || levels[1] > 0.1 {
		t.Errorf("recording: 700 Hz share %.2f, 1 kHz (beep) share %.2f", levels[0], levels[1])
	}
	if voiced < 1800*time.Millisecond || voiced > 2300*time.Millisecond {
		t.Errorf("recording holds %v of tone, want about 2 s", voiced)
	}
	if err := c.WaitBye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}

	reSid := strings.TrimSuffix(recURL[strings.LastIndex(recURL, "/")+1:], ".wav")
	code, body := sw.do("GET", "/Calls/"+sid+"/Recordings.json", nil)
	if code != 200 || !strings.Contains(string(body), reSid) {
		t.Errorf("call's recordings: %d %s", code, body)
	}
	code, body = sw.do("GET", "/Recordings/"+reSid+".json", nil)
	m := decode(t, body)
	if code != 200 || m["call_sid"] != sid || m["duration"] != p.Get("RecordingDuration") {
		t.Errorf("recording metadata: %d %v (action said duration %s)", code, m, p.Get("RecordingDuration"))
	}
	if code, _ := sw.do("DELETE", "/Recordings/"+reSid+".json", nil); code != 200 {
		t.Errorf("DELETE recording: %d", code)
	}
	if code, _ := sw.doAs(testAccount, testToken, "GET", recURL, nil); code != 404 {
		t.Errorf("audio of a deleted recording: %d, want 404", code)
	}
}

// Silence ends a <Record> after timeout seconds; a caller who hangs up
// during one still gets the recording kept and the action requested with
// Digits=hangup.
func TestRecordEndsOnSilenceAndOnHangup(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	app.rcml("/app", `<Response><Record action="/first" timeout="1" playBeep="false"/><Record action="/second" timeout="30" playBeep="false"/></Response>`)
	app.rcml("/first", `<Response><Record action="/second" timeout="30" playBeep="false"/></Response>`)
	app.rcml("/second", `<Response><Hangup/></Response>`)
	sw.provision("404", app.URL("/app"), nil)
	peer := sipuatest.NewPeer(t)
	c := dial(t, sw, peer, "404")
	if err := c.SendTone(ctxT(t, 5*time.Second), 700, time.Second); err != nil {
		t.Fatal(err)
	}
	first := app.nextAt("/first", 5*time.Second)
	if d, _ := strconv.ParseFloat(first.Params.Get("RecordingDuration"), 64); d < 1 || d > 3 || first.Params.Get("Digits") != "" {
		t.Errorf("silence-ended recording: duration %q, digits %q", first.Params.Get("RecordingDuration"), first.Params.Get("Digits"))
	}
	if err := c.SendTone(ctxT(t, 5*time.Second), 700, 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := c.Bye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	second := app.nextAt("/second", 5*time.Second)
	p := second.Params
	if p.Get("Digits") != "hangup" || p.Get("CallStatus") != "completed" {
		t.Errorf("action after the caller hung up: %v", p)
	}
	if d, _ := strconv.ParseFloat(p.Get("RecordingDuration"), 64); d < 1.4 || d > 3 {
		t.Errorf("recording cut by the hangup lasts %q s, want about 1.5", p.Get("RecordingDuration"))
	}
	levels, _ := tonesIn(t, download(t, p.Get("RecordingUrl")), 700)
	if levels[0] < 0.6 {
		t.Errorf("recording cut by the hangup: 700 Hz share %.2f", levels[0])
	}
}

// A Live Call Modification during <Record> stops it at once; the recording
// is kept and listed with its real duration, and the new RCML runs.
func TestRecordCutShortByLCM(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	app.rcml("/app", `<Response><Record action="/recorded" timeout="30" playBeep="false"/></Response>`)
	app.rcml("/elsewhere", `<Response><Hangup/></Response>`)
	sw.provision("405", app.URL("/app"), nil)
	peer := sipuatest.NewPeer(t)
	c := dial(t, sw, peer, "405")
	sid := c.Header("X-RestComm-CallSid")
	if err := c.SendTone(ctxT(t, 5*time.Second), 700, 1200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if code, body := sw.do("POST", "/Calls/"+sid+".json", url.Values{"Url": {app.URL("/elsewhere")}}); code != 200 {
		t.Fatalf("redirect: %d %s", code, body)
	}
	app.nextAt("/elsewhere", 3*time.Second)
	if err := c.WaitBye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	waitFor(t, 3*time.Second, "the recording listed", func() bool {
		_, body := sw.do("GET", "/Calls/"+sid+"/Recordings.json", nil)
		_ = json.Unmarshal(body, &list)
		return len(list) == 1
	})
	d, _ := strconv.ParseFloat(fmt.Sprint(list[0]["duration"]), 64)
	if d < 1.1 || d > 2.5 {
		t.Errorf("recording cut by LCM lasts %v s, want about 1.2", list[0]["duration"])
	}
	if len(requestsTo(app, "/recorded")) != 0 {
		t.Errorf("the <Record> action ran although LCM replaced the document")
	}
}

// <Dial record="true"> records both parties of the bridged call into one
// file; the Dial action carries its RecordingUrl.
func TestDialRecordsBothParties(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	bob := sipuatest.NewPeer(t, sipuatest.WithUser("bob"))
	bob.Answer(sipuatest.AnswerAfter(100 * time.Millisecond))
	app.rcml("/app", `<Response><Dial record="true" action="/after"><Sip>sip:bob@`+bob.Addr()+`</Sip></Dial></Response>`)
	app.rcml("/after", `<Response><Hangup/></Response>`)
	sw.provision("406", app.URL("/app"), nil)
	caller := sipuatest.NewPeer(t)
	c := dial(t, sw, caller, "406")
	in := answered(t, bob)
	time.Sleep(200 * time.Millisecond)
	talk(t, map[float64]*sipuatest.Call{700: c, 1300: in})
	if err := in.Bye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	r := app.nextAt("/after", 5*time.Second)
	recURL := r.Params.Get("RecordingUrl")
	if recURL == "" {
		t.Fatalf("Dial action without RecordingUrl: %v", r.Params)
	}
	levels, voiced := tonesIn(t, download(t, recURL), 700, 1300)
	if levels[0] < 0.2 || levels[1] < 0.2 || voiced < time.Second {
		t.Errorf("the recording does not hold both parties: 700 Hz %.2f, 1300 Hz %.2f, %v voiced", levels[0], levels[1], voiced)
	}
	if err := c.WaitBye(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
}

// <Say> speaks through the switch's engine (espeak-ng, installed by make
// test-deps): the caller receives speech, not silence; a text/plain answer
// is spoken the same way; an empty <Say> is a warning and the call goes on.
func TestSaySpeaks(t *testing.T) {
	sw := startSwitch(t, func(c *serverConfig) { c.TTSEngine = "espeak-ng" })
	app := newAppServer(t)
	app.rcml("/app", `<Response><Say voice="woman" language="fr">Bonjour, vous êtes bien chez Patchbay.</Say><Say></Say><Say language="tlh">Hello</Say><Redirect>/plain</Redirect></Response>`)
	app.set("/plain", appRoute{status: 200, contentType: "text/plain", body: []byte("Thank you for calling. Goodbye.")})
	sw.provision("407", app.URL("/app"), nil)
	peer := sipuatest.NewPeer(t)
	c := dial(t, sw, peer, "407")
	sid := c.Header("X-RestComm-CallSid")
	c.Listen(1000)
	app.nextAt("/plain", 15*time.Second)
	_, voicedFirst := c.Heard()
	if voicedFirst < 10 {
		t.Errorf("the caller heard %d voiced 40 ms blocks of the French <Say>, want speech", voicedFirst)
	}
	c.Listen(1000)
	if err := c.WaitBye(ctxT(t, 15*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, voiced := c.Heard(); voiced < 10 {
		t.Errorf("the text/plain answer was not spoken: %d voiced blocks", voiced)
	}
	sw.waitStatus(sid, "completed")
	codes := notificationCodes(t, sw, sid)
	if _, ok := codes["13512"]; !ok {
		t.Errorf("no notification for the empty <Say>; have %v", codes)
	}
	if msg, ok := codes["13513"]; !ok || !strings.Contains(msg, `"tlh"`) {
		t.Errorf("no notification that Klingon was spoken in English; have %v", codes)
	}
}

// Without a text-to-speech engine the switch says so at start-up, and each
// <Say> records a notification instead of playing nothing: the call goes on.
func TestSayWithoutEngine(t *testing.T) {
	sw := startSwitch(t, func(c *serverConfig) { c.TTSEngine = "none" })
	app := newAppServer(t)
	app.rcml("/app", `<Response><Say>Hello</Say><Play>`+app.URL("/tone.wav")+`</Play></Response>`)
	sw.provision("408", app.URL("/app"), nil)
	peer := sipuatest.NewPeer(t)
	c := dial(t, sw, peer, "408")
	sid := c.Header("X-RestComm-CallSid")
	if err := c.WaitBye(ctxT(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := c.RTP().PT(0).Packets; got < 90 {
		t.Errorf("the <Play> after the <Say> did not run: %d packets", got)
	}
	sw.waitStatus(sid, "completed")
	if msg, ok := notificationCodes(t, sw, sid)["12300"]; !ok || !strings.Contains(msg, "text-to-speech") {
		t.Errorf("no notification 12300 about the missing engine: %q", msg)
	}
}

// A Live Call Modification during <Say> or <Gather> stops it at once.
func TestLCMStopsSayAndGather(t *testing.T) {
	sw := startSwitch(t, func(c *serverConfig) { c.TTSEngine = "espeak-ng" })
	app := newAppServer(t)
	long := strings.Repeat("This sentence is long so the call is still speaking when it is redirected. ", 4)
	app.rcml("/say", `<Response><Say loop="0">`+long+`</Say></Response>`)
	app.rcml("/gather", `<Response><Gather action="/digits" timeout="30"><Say loop="0">`+long+`</Say></Gather></Response>`)
	app.rcml("/quiet", `<Response><Pause length="30"/></Response>`)
	sw.provision("409", app.URL("/say"), nil)
	sw.provision("410", app.URL("/gather"), nil)
	for _, number := range []string{"409", "410"} {
		t.Run(number, func(t *testing.T) {
			peer := sipuatest.NewPeer(t)
			c, sid := liveCall(t, sw, app, peer, number)
			if code, body := sw.do("POST", "/Calls/"+sid, url.Values{"Url": {app.URL("/quiet")}}); code != 200 {
				t.Fatalf("redirect: %d %s", code, body)
			}
			app.nextAt("/quiet", 3*time.Second)
			time.Sleep(100 * time.Millisecond)
			before := c.RTP().PT(0).Packets
			time.Sleep(300 * time.Millisecond)
			if after := c.RTP().PT(0).Packets; after != before {
				t.Errorf("speech goes on after the redirect: %d then %d packets", before, after)
			}
			if code, body := sw.do("POST", "/Calls/"+sid, url.Values{"Status": {"completed"}}); code != 200 {
				t.Fatalf("hangup: %d %s", code, body)
			}
			if err := c.WaitBye(ctxT(t, 5*time.Second)); err != nil {
				t.Fatal(err)
			}
		})
	}
}
