// Command patchbay-load measures a Patchbay switch under load on this
// machine, with real peers on 127.0.0.1:
//
//  1. Call rate: sipp places inbound calls at a fixed rate against an RCML
//     app that plays 1 s of audio and hangs up; reported: achieved calls per
//     second and failed calls.
//  2. Live Call Modification latency: with N live calls (Go SIP peers
//     listening to an endless Play), each call is redirected (POST Url) and
//     the time until the app server receives the new RCML request is taken;
//     then each is hung up (POST Status=completed) and the time until its
//     peer receives the BYE is taken. Reported: p50, p99, max.
//  3. Bridged media (-bridged N): packet loss through the switch's relay.
//  4. Played audio pacing (-plays N): N Go peers listen to an endless
//     <Play>; reported: how far each packet's arrival gap strays from
//     20 ms (p50, p99, max), loss, CPU and heap.
//  5. Concurrent recordings (-recordings N): N Go peers send a tone into
//     <Record>, after a baseline of the same calls into a short <Play>
//     then <Pause> (the switch drops the audio); reported:
//     CPU per recorded call-second, heap, and the recordings checked.
//
// Only the call-rate phase needs sipp; -skip-cps runs without it.
//
// Run it from the repository root (it reads the sipp scenario from
// switch/e2e/testdata): go run ./cmd/patchbay-load -rate 300 -duration 10s -live 200
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/patchbay/patchbay/switch/media"
	"github.com/patchbay/patchbay/switch/server"
	"github.com/patchbay/patchbay/switch/sipua/sipuatest"
)

// options are the command's flags.
type options struct {
	rate       int
	duration   time.Duration
	live       int
	scenario   string
	skipCPS    bool
	bridged    int
	talk       time.Duration
	plays      int
	recordings int
	playFor    time.Duration
}

func main() {
	var o options
	flag.IntVar(&o.rate, "rate", 300, "calls per second placed by sipp")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long sipp places calls")
	flag.IntVar(&o.live, "live", 200, "live calls held during the LCM latency phase")
	flag.StringVar(&o.scenario, "scenario", "switch/e2e/testdata/uac_load.xml", "sipp UAC scenario that waits for the switch's BYE")
	flag.BoolVar(&o.skipCPS, "skip-cps", false, "skip the call-rate phase (the only one that needs sipp)")
	flag.IntVar(&o.bridged, "bridged", 0, "bridged calls (caller ↔ switch ↔ callee, audio both ways) in the media phase; 0 skips it")
	flag.DurationVar(&o.talk, "talk", 10*time.Second, "how long each bridged party sends audio")
	flag.IntVar(&o.plays, "plays", 0, "calls listening to an endless <Play> in the pacing phase; 0 skips it")
	flag.IntVar(&o.recordings, "recordings", 0, "calls sending a tone into <Record> in the recording phase; 0 skips it")
	flag.DurationVar(&o.playFor, "play-for", 20*time.Second, "how long the pacing and recording phases measure")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	if err := run(log, o); err != nil {
		fmt.Fprintln(os.Stderr, "patchbay-load:", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger, o options) error {
	dir, err := os.MkdirTemp("", "patchbay-load-")
	if err != nil {
		return fmt.Errorf("temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)
	app, err := newApp()
	if err != nil {
		return fmt.Errorf("RCML app server: %w", err)
	}
	defer app.srv.Close()

	cfg := server.DefaultConfig()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.SIPAddr = "127.0.0.1:25060"
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.RTPPortMin, cfg.RTPPortMax = 20000, 29999
	srv, err := server.Start(context.Background(), cfg, log)
	if err != nil {
		return fmt.Errorf("starting the switch: %w", err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	acct := srv.Account()
	api := &client{base: "http://" + srv.HTTPAddr() + "/restcomm/2012-04-24/Accounts/" + acct.Sid, user: acct.Sid, pass: acct.AuthToken}
	numbers := map[string]string{"1000": "/play1s", "2000": "/hold", "2100": "/loop5s", "4000": "/record", "4100": "/listen"}
	for number, path := range numbers {
		if code, body := api.post("/IncomingPhoneNumbers.json", url.Values{"PhoneNumber": {number}, "VoiceUrl": {app.url + path}}); code != 200 {
			return fmt.Errorf("provisioning %s: %d %s", number, code, body)
		}
	}
	fmt.Printf("machine: %d CPUs (GOMAXPROCS %d), %s/%s, %s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
	if !o.skipCPS {
		if err := callRate(dir, cfg.SIPAddr, o.scenario, o.rate, o.duration); err != nil {
			return err
		}
		waitIdle(srv, 30*time.Second)
	}
	if o.live > 0 {
		if err := lcmLatency(api, app, srv, cfg.SIPAddr, o.live); err != nil {
			return err
		}
	}
	if o.bridged > 0 {
		if err := bridgedMedia(api, app, srv, cfg.SIPAddr, o.bridged, o.talk); err != nil {
			return err
		}
	}
	if o.plays > 0 {
		if err := playPacing(srv, cfg.SIPAddr, o.plays, o.playFor); err != nil {
			return err
		}
	}
	if o.recordings > 0 {
		// The switch's default recordings directory (cfg.RecordingsDir unset).
		if err := concurrentRecordings(api, srv, cfg.SIPAddr, filepath.Join(cfg.DataDir, "recordings"), o.recordings, o.playFor); err != nil {
			return err
		}
	}
	return nil
}

// bridgedMedia holds n bridged calls, each party sending 20 ms G.711 for
// talk, and reports packet loss through the switch and its CPU and memory.
func bridgedMedia(api *client, app *app, srv *server.Server, sipAddr string, n int, talk time.Duration) error {
	callee, err := sipuatest.New()
	if err != nil {
		return err
	}
	defer callee.Close()
	callee.Answer(sipuatest.AnswerAfter(0))
	caller, err := sipuatest.New()
	if err != nil {
		return err
	}
	defer caller.Close()
	app.bridgeTo = "sip:callee@" + callee.Addr()
	if code, body := api.post("/IncomingPhoneNumbers.json", url.Values{"PhoneNumber": {"3000"}, "VoiceUrl": {app.url + "/bridge"}}); code != 200 {
		return fmt.Errorf("provisioning 3000: %d %s", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	type pair struct{ a, b *sipuatest.Call }
	pairs := make([]pair, 0, n)
	for i := 0; i < n; i++ {
		a, err := caller.Invite(ctx, "sip:3000@"+sipAddr, sipuatest.InviteOptions{})
		if err != nil || a.FinalCode() != 200 {
			return fmt.Errorf("bridged call %d: %v", i, err)
		}
		b, err := callee.WaitIncoming(ctx)
		if err != nil {
			return err
		}
		if err := b.WaitAck(ctx); err != nil {
			return err
		}
		pairs = append(pairs, pair{a, b})
	}
	time.Sleep(500 * time.Millisecond)
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	before := make([][2]int, len(pairs))
	for i, p := range pairs {
		before[i] = [2]int{p.a.RTP().Packets, p.b.RTP().Packets}
	}
	began := time.Now()
	var wg sync.WaitGroup
	for _, p := range pairs {
		for _, c := range []*sipuatest.Call{p.a, p.b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = c.SendTone(ctx, 1000, talk)
			}()
		}
	}
	wg.Wait()
	wall := time.Since(began)
	time.Sleep(300 * time.Millisecond)
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	runtime.ReadMemStats(&ms1)
	sent := 2 * len(pairs) * int(talk/(20*time.Millisecond))
	got := 0
	for i, p := range pairs {
		got += p.a.RTP().Packets - before[i][0] + p.b.RTP().Packets - before[i][1]
	}
	loss := 100 * float64(sent-got) / float64(sent)
	cpu := cpuSeconds(ru1) - cpuSeconds(ru0)
	fmt.Printf("\n## Bridged media: %d calls (caller -> switch -> callee), 20 ms PCMU both ways for %v\n", n, talk)
	fmt.Printf("packets sent by the parties: %d, received through the switch: %d, loss %.3f%%\n", sent, got, loss)
	fmt.Printf("process CPU (switch and all peers): %.1f s in %.1f s wall = %.0f%% of one core, %.1f ms CPU per call-second\n",
		cpu, wall.Seconds(), 100*cpu/wall.Seconds(), 1000*cpu/wall.Seconds()/float64(n))
	fmt.Printf("Go heap in use: %.1f MiB (%.1f KiB per bridged call incl. peers), RTP ports held by the switch: %d\n",
		float64(ms1.HeapInuse)/(1<<20), float64(ms1.HeapInuse)/1024/float64(n), srv.PortsInUse())
	for _, p := range pairs {
		_ = p.a.Bye(ctx)
	}
	waitIdle(srv, 20*time.Second)
	return nil
}

// callRate runs sipp at a fixed rate and reports what it achieved.
func callRate(dir, sipAddr, scenario string, rate int, duration time.Duration) error {
	calls := rate * int(duration/time.Second)
	scenario, err := filepath.Abs(scenario)
	if err != nil {
		return err
	}
	statFile := filepath.Join(dir, "stat.csv")
	args := []string{sipAddr, "-sf", scenario, "-s", "1000", "-i", "127.0.0.1", "-p", "25070",
		"-r", strconv.Itoa(rate), "-m", strconv.Itoa(calls), "-l", strconv.Itoa(rate * 4),
		"-nostdin", "-recv_timeout", "15000", "-timeout", strconv.Itoa(int(duration.Seconds())+60) + "s",
		"-trace_stat", "-stf", statFile, "-fd", "1"}
	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	began := time.Now()
	cmd := exec.Command("sipp", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	wall := time.Since(began)
	var ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return fmt.Errorf("sipp: %w: %s", err, out)
	}
	if cmd.ProcessState.ExitCode() > 1 {
		return fmt.Errorf("sipp exited %d: %s", cmd.ProcessState.ExitCode(), out)
	}
	ok, failed, peakRate := sippStats(statFile)
	cpu := cpuSeconds(ru1) - cpuSeconds(ru0)
	fmt.Printf("\n## Call rate (sipp %s, Play 1 s then Hangup)\n", filepath.Base(scenario))
	fmt.Printf("offered: %d calls at %d cps\nsuccessful: %d  failed: %d  (sipp exit %d)\n", calls, rate, ok, failed, cmd.ProcessState.ExitCode())
	fmt.Printf("achieved: %.1f cps over the placing period (peak periodic rate %.1f)\n", float64(ok)/duration.Seconds(), peakRate)
	fmt.Printf("switch CPU: %.1f s in %.1f s wall (%.0f%% of one core)\n", cpu, wall.Seconds(), 100*cpu/wall.Seconds())
	return nil
}

func sippStats(path string) (ok, failed int, peakRate float64) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, 0
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 2 {
		return 0, 0, 0
	}
	col := map[string]int{}
	for i, h := range strings.Split(lines[0], ";") {
		col[h] = i
	}
	for _, l := range lines[1:] {
		f := strings.Split(l, ";")
		if i, ok := col["CallRate(P)"]; ok && i < len(f) {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil && v > peakRate {
				peakRate = v
			}
		}
	}
	last := strings.Split(lines[len(lines)-1], ";")
	get := func(name string) int {
		if i, ok := col[name]; ok && i < len(last) {
			n, _ := strconv.Atoi(last[i])
			return n
		}
		return 0
	}
	return get("SuccessfulCall(C)"), get("FailedCall(C)"), peakRate
}

func cpuSeconds(r syscall.Rusage) float64 {
	return time.Duration(r.Utime.Nano() + r.Stime.Nano()).Seconds()
}

func waitIdle(srv *server.Server, d time.Duration) {
	deadline := time.Now().Add(d)
	for srv.LiveCalls() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
}

// lcmLatency holds live calls and measures redirect and hangup latency.
func lcmLatency(api *client, app *app, srv *server.Server, sipAddr string, live int) error {
	peer, err := sipuatest.New()
	if err != nil {
		return err
	}
	defer peer.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	type held struct {
		call *sipuatest.Call
		sid  string
	}
	calls := make([]held, 0, live)
	for i := 0; i < live; i++ {
		c, err := peer.Invite(ctx, "sip:2000@"+sipAddr, sipuatest.InviteOptions{})
		if err != nil || c.FinalCode() != 200 {
			return fmt.Errorf("live call %d: final %d: %v", i, c.FinalCode(), err)
		}
		calls = append(calls, held{c, c.Header("X-RestComm-CallSid")})
	}
	time.Sleep(time.Second) // every call is in its endless Play
	var rss runtime.MemStats
	runtime.ReadMemStats(&rss)
	redirects := make([]time.Duration, 0, live)
	for _, h := range calls {
		wait := app.expect(h.sid)
		began := time.Now()
		if code, body := api.post("/Calls/"+h.sid+".json", url.Values{"Url": {app.url + "/redirected"}}); code != 200 {
			return fmt.Errorf("redirect %s: %d %s", h.sid, code, body)
		}
		select {
		case at := <-wait:
			redirects = append(redirects, at.Sub(began))
		case <-time.After(5 * time.Second):
			return fmt.Errorf("redirect of %s: the app never got the new RCML request", h.sid)
		}
	}
	hangups := make([]time.Duration, 0, live)
	for _, h := range calls {
		began := time.Now()
		if code, body := api.post("/Calls/"+h.sid+".json", url.Values{"Status": {"completed"}}); code != 200 {
			return fmt.Errorf("hangup %s: %d %s", h.sid, code, body)
		}
		if err := h.call.WaitBye(ctx); err != nil {
			return fmt.Errorf("hangup %s: no BYE: %w", h.sid, err)
		}
		hangups = append(hangups, h.call.ByeReceivedAt().Sub(began))
	}
	fmt.Printf("\n## Live Call Modification with %d live calls\n", live)
	fmt.Printf("redirect POST -> new RCML request at the app: %s\n", summary(redirects))
	fmt.Printf("hangup POST -> BYE received by the peer:     %s\n", summary(hangups))
	fmt.Printf("Go heap in use with %d live calls: %.1f MiB (%.1f KiB per call, whole process incl. peers)\n",
		live, float64(rss.HeapInuse)/(1<<20), float64(rss.HeapInuse)/1024/float64(live))
	waitIdle(srv, 10*time.Second)
	return nil
}

func summary(d []time.Duration) string {
	if len(d) == 0 {
		return "no samples"
	}
	s := slices.Clone(d)
	slices.Sort(s)
	pct := func(p float64) time.Duration { return s[min(len(s)-1, int(math.Ceil(p*float64(len(s))))-1)] }
	return fmt.Sprintf("n=%d p50=%v p99=%v max=%v", len(s), pct(0.50).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond), s[len(s)-1].Round(10*time.Microsecond))
}

type client struct{ base, user, pass string }

// get fetches path under the account, or a full URL (a recording's
// file_uri), with the account's credentials.
func (c *client) get(pathOrURL string) (int, []byte, error) {
	u := pathOrURL
	if !strings.HasPrefix(u, "http") {
		u = c.base + pathOrURL
	}
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("GET %s: %w", u, err)
	}
	req.SetBasicAuth(c.user, c.pass)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("GET %s: %w", u, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, nil, fmt.Errorf("GET %s: reading the body: %w", u, err)
	}
	return res.StatusCode, b, nil
}

func (c *client) post(path string, form url.Values) (int, string) {
	req, _ := http.NewRequest("POST", c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.user, c.pass)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// app is the RCML application server of the load test.
type app struct {
	srv *http.Server
	url string

	mu      sync.Mutex
	waiters map[string]chan time.Time
	// bridgeTo is the callee of /bridge, set before it is used.
	bridgeTo string
}

func newApp() (*app, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := &app{url: "http://" + ln.Addr().String(), waiters: map[string]chan time.Time{}}
	wav1s, wavLong := media.ToneWAV(time.Second, 440, 6000), media.ToneWAV(30*time.Second, 440, 6000)
	wavShort, wav5s := media.ToneWAV(100*time.Millisecond, 440, 6000), media.ToneWAV(5*time.Second, 440, 6000)
	mux := http.NewServeMux()
	rcml := func(doc string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/xml")
			io.WriteString(w, doc)
		}
	}
	mux.HandleFunc("/play1s", rcml(`<Response><Play>`+a.url+`/1s.wav</Play><Hangup/></Response>`))
	mux.HandleFunc("/hold", rcml(`<Response><Play loop="0">`+a.url+`/long.wav</Play></Response>`))
	// The pacing phase: a short clip, so every call crosses the loop point
	// (the clip rewinding inside one Play) several times in the window.
	mux.HandleFunc("/loop5s", rcml(`<Response><Play loop="0">`+a.url+`/5s.wav</Play></Response>`))
	// timeout is seconds of silence before <Record> stops; the peers send
	// a tone all along, and the tool hangs up before either limit.
	mux.HandleFunc("/record", rcml(`<Response><Record maxLength="3600" timeout="3600" playBeep="false"/></Response>`))
	// The baseline of the recording phase: the switch receives the same
	// audio and drops it. <Pause> alone would not answer the call; the
	// short <Play> before it does.
	mux.HandleFunc("/listen", rcml(`<Response><Play>`+a.url+`/short.wav</Play><Pause length="3600"/></Response>`))
	mux.HandleFunc("/bridge", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, `<Response><Dial><Sip>`+a.bridgeTo+`</Sip></Dial></Response>`)
	})
	mux.HandleFunc("/redirected", func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		_ = r.ParseForm()
		a.mu.Lock()
		ch := a.waiters[r.Form.Get("CallSid")]
		delete(a.waiters, r.Form.Get("CallSid"))
		a.mu.Unlock()
		if ch != nil {
			ch <- at
		}
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, `<Response><Pause length="60"/></Response>`)
	})
	wav := func(b []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "audio/wav")
			w.Write(b)
		}
	}
	mux.HandleFunc("/1s.wav", wav(wav1s))
	mux.HandleFunc("/long.wav", wav(wavLong))
	mux.HandleFunc("/short.wav", wav(wavShort))
	mux.HandleFunc("/5s.wav", wav(wav5s))
	a.srv = &http.Server{Handler: mux}
	go a.srv.Serve(ln)
	return a, nil
}

// expect returns a channel that receives the arrival time of the next
// /redirected request for callSid.
func (a *app) expect(callSid string) <-chan time.Time {
	ch := make(chan time.Time, 1)
	a.mu.Lock()
	a.waiters[callSid] = ch
	a.mu.Unlock()
	return ch
}
