package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestNewRequiresDependencies(t *testing.T) {
	e := newEnv(t)
	log := slog.New(slog.DiscardHandler)
	for _, cfg := range []Config{{Calls: e.calls, Logger: log}, {Store: e.st, Logger: log}, {Store: e.st, Calls: e.calls}} {
		if _, err := New(cfg); !errors.Is(err, ErrMissingDependency) {
			t.Errorf("New(%+v): %v", cfg, err)
		}
	}
}

func TestHealth(t *testing.T) {
	e := newEnv(t)
	var ready atomic.Bool
	srv, err := New(Config{Store: e.st, Calls: e.calls, Logger: slog.New(slog.DiscardHandler), Ready: ready.Load})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	if r := e.req("GET", "/health", nil, nil); r.status != http.StatusServiceUnavailable {
		t.Fatalf("not ready: %d", r.status)
	}
	ready.Store(true)
	if r := e.req("GET", "/health", nil, nil); r.status != http.StatusOK {
		t.Fatalf("ready: %d", r.status)
	}
}

func TestUnknownRouteIsAnErrorBody(t *testing.T) {
	e := newEnv(t)
	wantError(t, e.req("GET", "/2012-04-24/Accounts/"+e.root.Sid+"/Nope.json", &e.root, nil), 404, codeNotFound, "")
	wantError(t, e.req("GET", "/nowhere", nil, nil), 404, codeNotFound, "")
	wantError(t, e.req("PATCH", "/2012-04-24/Accounts/"+e.root.Sid+"/Calls", &e.root, nil), 405, codeMethodNotAllowed, "")
}

// TestListenAndShutdown serves on a real loopback listener.
func TestListenAndShutdown(t *testing.T) {
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.srv.Listen(ln) }()

	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/restcomm/2012-04-24/Accounts/"+e.root.Sid+"/Calls.json", nil)
	req.SetBasicAuth(e.root.Sid, e.root.AuthToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"calls":[]`) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	http.DefaultClient.CloseIdleConnections()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("listen returned %v", err)
	}
}

func TestNormalisePath(t *testing.T) {
	for in, want := range map[string]struct {
		out  string
		json bool
	}{
		"/restcomm/2012-04-24/Accounts/AC1/Calls.json":        {"/2012-04-24/Accounts/AC1/Calls", true},
		"/2012-04-24/Accounts/AC1/Calls.json/CA1":             {"/2012-04-24/Accounts/AC1/Calls/CA1", true},
		"/2012-04-24/Accounts.json/AC1/Calls/CA1.json":        {"/2012-04-24/Accounts/AC1/Calls/CA1", true},
		"/restcomm/2012-04-24/Accounts/AC1":                   {"/2012-04-24/Accounts/AC1", false},
		"/restcommx/2012-04-24":                               {"/restcommx/2012-04-24", false},
		"/2012-04-24/Accounts/AC1/IncomingPhoneNumbers/.json": {"/2012-04-24/Accounts/AC1/IncomingPhoneNumbers/.json", false},
	} {
		out, isJSON := normalisePath(in)
		if out != want.out || isJSON != want.json {
			t.Errorf("%s: %s %v, want %s %v", in, out, isJSON, want.out, want.json)
		}
	}
}

func TestLikeMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		ok         bool
	}{
		{"%1234", "+15551234", true}, {"%1234", "12345", false}, {"1512600%", "15126001", true},
		{"a_c", "abc", true}, {"a_c", "ac", false}, {"%", "", true}, {"", "", true}, {"", "x", false},
		{"%b%d%", "abcde", true}, {"%b%d%", "adcb", false}, {strings.Repeat("%a", 30) + "b", strings.Repeat("a", 60), false},
	} {
		if got := likeMatch(tc.pattern, tc.s); got != tc.ok {
			t.Errorf("likeMatch(%q, %q) = %v", tc.pattern, tc.s, got)
		}
	}
}

func TestParseDay(t *testing.T) {
	for in, want := range map[string]string{
		"2024-01-31": "2024-01-31", "2024-1-5": "2024-01-05", "2024-02-29T10:00": "2024-02-29",
	} {
		got, err := parseDay("StartTime", in, time.UTC)
		if err != nil || got.Format("2006-01-02") != want {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	for _, in := range []string{"", "2024", "2024-01", "2023-02-29", "2024-00-10", "x2024-01-01", "2024/01/01"} {
		if _, err := parseDay("StartTime", in, time.UTC); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

// TestConcurrentRequests drives creates, LCM and lists at once; with -race it
// proves handlers share no unsynchronised state.
func TestConcurrentRequests(t *testing.T) {
	e := newEnv(t)
	live := e.putCall(liveCall(e.root.Sid))
	base := "/2012-04-24/Accounts/" + e.root.Sid + "/Calls"
	var wg sync.WaitGroup
	errs := make(chan string, 30)
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var r response
			switch i % 3 {
			case 0:
				r = e.req("POST", base+".json", &e.root, url.Values{"From": {"a"}, "To": {"b" + itoa(i)}, "Url": {"http://127.0.0.1/x"}})
			case 1:
				r = e.req("POST", base+"/"+live.Sid+".json", &e.root, url.Values{"Mute": {"true"}})
			default:
				r = e.req("GET", base+".json?PageSize=5", &e.root, nil)
			}
			if r.status != http.StatusOK {
				errs <- r.body
			}
		}()
	}
	wg.Wait()
	close(errs)
	for b := range errs {
		t.Error(b)
	}
	if n := len(e.calls.creates); n != 10 {
		t.Fatalf("%d creates reached the switch, want 10", n)
	}
}
