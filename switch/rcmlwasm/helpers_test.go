package rcmlwasm_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/patchbay/patchbay/switch/rcmlwasm"
	"github.com/patchbay/patchbay/wasmhost"
	"github.com/patchbay/patchbay/wasmhost/wasmtest"
)

// testEnv holds what the tests of this binary share: the compilation cache
// (so each test's host loads the module from disk rather than compiling it)
// and the guests, each built once.
var testEnv struct {
	cacheDir string
	guests   wasmtest.Builder
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rcmlwasm-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testEnv.cacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// newHost starts a host that is closed when the test ends.
func newHost(tb testing.TB, cfg wasmhost.Config) *wasmhost.Host {
	tb.Helper()
	cfg.CacheDir = testEnv.cacheDir
	ctx := context.Background()
	h, err := wasmhost.New(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close(ctx) })
	return h
}

// newInterpreter loads the embedded RCML handler into a fresh host.
func newInterpreter(tb testing.TB, opts ...rcmlwasm.Option) *rcmlwasm.Interpreter {
	tb.Helper()
	in, err := rcmlwasm.New(context.Background(), newHost(tb, wasmhost.Config{}), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(in.Close)
	return in
}

// hostileGuest builds testdata/hostileguest as a wasip1 reactor, once.
func hostileGuest(tb testing.TB) []byte {
	tb.Helper()
	return testEnv.guests.Go(tb, "./testdata/hostileguest")
}

// typicalDoc is a realistic ~1 KiB IVR document (the one plugins/rcml
// benchmarks natively): a greeting, a menu, a transfer with headers and a
// fallback to voicemail.
const typicalDoc = `<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Say voice="woman" language="en-gb">Thank you for calling Example Corporation.</Say>
  <Pause length="1"/>
  <Gather action="/ivr/menu" method="POST" numDigits="1" timeout="8" finishOnKey="#">
    <Say voice="woman" language="en-gb">For sales, press 1. For support, press 2.</Say>
    <Play loop="2">https://cdn.example.com/prompts/menu-music.wav</Play>
  </Gather>
  <Say voice="woman">We did not receive any input. Connecting you to an operator.</Say>
  <Dial action="/ivr/dial-done" timeout="25" timeLimit="3600" callerId="+15550001111" record="true">
    <Client statusCallback="/ivr/status" statusCallbackEvent="initiated,ringing,answered,completed">operator?X-Queue=sales&X-Priority=high</Client>
    <Sip username="ivr" password="secret">sip:desk@pbx.example.com;transport=tcp</Sip>
    <Number url="/ivr/whisper" method="GET">+15552223333</Number>
  </Dial>
  <Record action="/ivr/voicemail" maxLength="120" finishOnKey="#" playBeep="true"/>
  <Redirect method="GET">/ivr/goodbye</Redirect>
</Response>`

const docURL = "http://app.example.com/ivr/start.xml"
