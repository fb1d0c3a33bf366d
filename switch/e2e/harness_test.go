package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/media"
	"github.com/patchbay/patchbay/switch/server"
	"github.com/patchbay/patchbay/switch/sipua/sipuatest"
)

const (
	testAccount = "ACae6e420f425248d6a26948c17a9e2acf"
	testToken   = "77f8c12cc7b8f8423e5c38b035249166"
)

// testSwitch is a Patchbay started in-process for one test.
type testSwitch struct {
	t       *testing.T
	srv     *server.Server
	SIPAddr string // host:port, UDP and TCP
	HTTP    string // http://host:port
	Base    string // …/restcomm/2012-04-24/Accounts/{sid}
}

type serverConfig = server.Config

type switchOption func(*serverConfig)

// freeSIPPort finds a port free for both UDP and TCP on 127.0.0.1.
func freeSIPPort(t *testing.T) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		tl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := tl.Addr().(*net.TCPAddr).Port
		ul, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		tl.Close()
		if err == nil {
			ul.Close()
			return port
		}
	}
	t.Fatal("no free SIP port")
	return 0
}

// wasmCache is shared by every switch of the test binary: compiling the
// RCML handler takes seconds under -race, loading it from the cache does not.
var wasmCache = filepath.Join(os.TempDir(), "patchbay-e2e-wasm-cache")

var rtpBase = struct {
	sync.Mutex
	next int
}{next: 31000}

func startSwitch(t *testing.T, opts ...switchOption) *testSwitch {
	t.Helper()
	goroutines, _ := liveGoroutines()
	rtpBase.Lock()
	lo := rtpBase.next
	rtpBase.next += 200
	if rtpBase.next > 39000 {
		rtpBase.next = 31000
	}
	rtpBase.Unlock()
	cfg := server.DefaultConfig()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.SIPAddr = fmt.Sprintf("127.0.0.1:%d", freeSIPPort(t))
	cfg.RTPPortMin, cfg.RTPPortMax = lo, lo+199
	cfg.InMemory = true
	cfg.AccountSid, cfg.AuthToken = testAccount, testToken
	cfg.FetchTimeout = 3 * time.Second
	// The tests' plugins decide in microseconds; the production default of
	// 50 ms has too little headroom for a -race build on a loaded 2-vCPU
	// box, where a descheduled thread once blew it. No test here relies on
	// the default to stop a plugin (the budget tests live in switch/policy
	// and wasmhost, with budgets of their own).
	cfg.PluginTimeout = time.Second
	cfg.PluginMaxTimeout = max(cfg.PluginMaxTimeout, cfg.PluginTimeout)
	cfg.WasmCacheDir = wasmCache
	for _, o := range opts {
		o(&cfg)
	}
	level := slog.LevelWarn
	if os.Getenv("PATCHBAY_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level}))
	srv, err := server.Start(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("starting switch: %v", err)
	}
	s := &testSwitch{t: t, srv: srv, SIPAddr: cfg.SIPAddr, HTTP: "http://" + srv.HTTPAddr()}
	s.Base = s.HTTP + "/restcomm/2012-04-24/Accounts/" + testAccount
	t.Cleanup(func() {
		// Every scenario must leave no call, no RTP port and no goroutine behind.
		waitFor(t, 5*time.Second, "no live calls", func() bool { return srv.LiveCalls() == 0 })
		waitFor(t, 2*time.Second, "no RTP ports held", func() bool { return srv.PortsInUse() == 0 })
		waitFor(t, 2*time.Second, "no conference rooms", func() bool { return srv.Rooms() == 0 })
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		began := time.Now()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		t.Logf("shutdown took %v", time.Since(began))
		began = time.Now()
		checkGoroutines(t, goroutines)
		t.Logf("goroutines settled in %v", time.Since(began))
	})
	return s
}

// processWide marks goroutines that are not leaks of a scenario: fasthttp
// starts its date updater once per process and never stops it, and its
// worker-pool cleaner notices a shutdown only at its next 10 s tick.
var processWide = []string{"fasthttp.updateServerDate", "fasthttp.(*workerPool).Start"}

// liveGoroutines counts goroutines, not counting process-wide ones.
func liveGoroutines() (int, string) {
	buf := make([]byte, 4<<20)
	dump := string(buf[:runtime.Stack(buf, true)])
	n := 0
	var kept []string
	for _, g := range strings.Split(dump, "\n\n") {
		skip := false
		for _, m := range processWide {
			if strings.Contains(g, m) {
				skip = true
			}
		}
		if !skip && strings.TrimSpace(g) != "" {
			n++
			kept = append(kept, g)
		}
	}
	return n, strings.Join(kept, "\n\n")
}

func checkGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		now, dump := liveGoroutines()
		if now <= before {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("goroutine leak: %d before, %d after shutdown\n%s", before, now, dump)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Errorf("timed out waiting for %s", what)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// do sends a REST request with the bootstrap credentials.
func (s *testSwitch) do(method, path string, form url.Values) (int, []byte) {
	s.t.Helper()
	return s.doAs(testAccount, testToken, method, path, form)
}

func (s *testSwitch) doAs(user, pass, method, path string, form url.Values) (int, []byte) {
	s.t.Helper()
	code, _, body := s.doFull(user, pass, method, path, form)
	return code, body
}

// modify POSTs an LCM request for callSid and returns the answer's status,
// headers and body.
func (s *testSwitch) modify(callSid string, form url.Values) (int, http.Header, []byte) {
	s.t.Helper()
	return s.doFull(testAccount, testToken, "POST", "/Calls/"+callSid+".json", form)
}

func (s *testSwitch) doFull(user, pass, method, path string, form url.Values) (int, http.Header, []byte) {
	s.t.Helper()
	target := path
	if !strings.HasPrefix(path, "http") {
		target = s.Base + path
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		s.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

// provision creates an IncomingPhoneNumber routed to voiceURL.
func (s *testSwitch) provision(number, voiceURL string, extra url.Values) {
	s.t.Helper()
	f := url.Values{"PhoneNumber": {number}, "VoiceUrl": {voiceURL}}
	for k, v := range extra {
		f[k] = v
	}
	code, body := s.do("POST", "/IncomingPhoneNumbers.json", f)
	if code != 200 {
		s.t.Fatalf("provisioning %s: %d %s", number, code, body)
	}
}

// callJSON fetches one call as a map.
func (s *testSwitch) callJSON(sid string) map[string]any {
	s.t.Helper()
	code, body := s.do("GET", "/Calls/"+sid+".json", nil)
	if code != 200 {
		s.t.Fatalf("GET call %s: %d %s", sid, code, body)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		s.t.Fatalf("call JSON: %v: %s", err, body)
	}
	return m
}

// waitStatus polls a call until it has the wanted status.
func (s *testSwitch) waitStatus(sid, want string) map[string]any {
	s.t.Helper()
	var last map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		last = s.callJSON(sid)
		if last["status"] == want {
			return last
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("call %s: status %v, want %s", sid, last["status"], want)
	return nil
}

// appRequest is one request the application server received.
type appRequest struct {
	Method string
	Path   string
	Params url.Values
	At     time.Time
}

// appServer is the RCML application server of a test: it answers each path
// with the RCML set for it and records every request.
type appServer struct {
	t   *testing.T
	srv *httptest.Server

	mu     sync.Mutex
	routes map[string]appRoute
	reqs   []appRequest
	notify chan appRequest
}

type appRoute struct {
	status      int
	contentType string
	body        []byte
	delay       time.Duration
}

func newAppServer(t *testing.T) *appServer {
	a := &appServer{t: t, routes: make(map[string]appRoute), notify: make(chan appRequest, 256)}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	a.routes["/tone.wav"] = appRoute{status: 200, contentType: "audio/wav", body: toneWAV(2*time.Second, 440)}
	a.routes["/long.wav"] = appRoute{status: 200, contentType: "audio/wav", body: toneWAV(10*time.Second, 440)}
	return a
}

func (a *appServer) URL(path string) string { return a.srv.URL + path }

// rcml sets the RCML document served at path.
func (a *appServer) rcml(path, doc string) {
	a.set(path, appRoute{status: 200, contentType: "text/xml", body: []byte(doc)})
}

func (a *appServer) set(path string, r appRoute) {
	a.mu.Lock()
	a.routes[path] = r
	a.mu.Unlock()
}

func (a *appServer) serve(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	req := appRequest{Method: r.Method, Path: r.URL.Path, Params: r.Form, At: time.Now()}
	a.mu.Lock()
	route, ok := a.routes[r.URL.Path]
	if r.URL.Path != "/tone.wav" && r.URL.Path != "/long.wav" {
		a.reqs = append(a.reqs, req)
	}
	a.mu.Unlock()
	if r.URL.Path != "/tone.wav" && r.URL.Path != "/long.wav" {
		select {
		case a.notify <- req:
		default:
		}
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	if route.delay > 0 {
		time.Sleep(route.delay)
	}
	if route.contentType != "" {
		w.Header().Set("Content-Type", route.contentType)
	}
	w.WriteHeader(route.status)
	_, _ = w.Write(route.body)
}

// next waits for the next request the app server records (WAVs excluded).
func (a *appServer) next(timeout time.Duration) appRequest {
	a.t.Helper()
	select {
	case r := <-a.notify:
		return r
	case <-time.After(timeout):
		a.t.Fatalf("app server: no request within %v", timeout)
		return appRequest{}
	}
}

// nextAt waits for the next request to path, skipping requests to other paths.
func (a *appServer) nextAt(path string, timeout time.Duration) appRequest {
	a.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			a.t.Fatalf("app server: no request to %s within %v", path, timeout)
		}
		select {
		case r := <-a.notify:
			if r.Path == path {
				return r
			}
		case <-time.After(left):
		}
	}
}

// expectNone asserts that no request arrives within d.
func (a *appServer) expectNone(d time.Duration) {
	a.t.Helper()
	select {
	case r := <-a.notify:
		a.t.Fatalf("unexpected app request %s %s %v", r.Method, r.Path, r.Params)
	case <-time.After(d):
	}
}

func (a *appServer) requests() []appRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]appRequest(nil), a.reqs...)
}

// toneWAV makes an 8 kHz mono PCM16 WAV of a sine tone.
func toneWAV(d time.Duration, hz float64) []byte { return media.ToneWAV(d, hz, 8000) }

// answered waits for the switch to ring peer, which answers by its own
// Answer policy, and for the switch's ACK: the leg is then up.
func answered(t *testing.T, peer *sipuatest.Peer) *sipuatest.Call {
	t.Helper()
	in, err := peer.WaitIncoming(ctxT(t, 5*time.Second))
	if err != nil {
		t.Fatalf("the switch did not ring %s: %v", peer.Addr(), err)
	}
	if err := in.WaitAck(ctxT(t, 5*time.Second)); err != nil {
		t.Fatalf("no ACK for the answer of %s: %v", peer.Addr(), err)
	}
	return in
}
