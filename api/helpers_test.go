package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/calls"
	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
	"github.com/patchbay/patchbay/switch/store/badgerstore"
)

// fakeCalls is a calls.Controller that records requests and answers with
// what the test set.
type fakeCalls struct {
	mu        sync.Mutex
	creates   []calls.CreateRequest
	modifies  []calls.ModifyRequest
	createFn  func(calls.CreateRequest) ([]store.Call, error)
	modifyErr error
	// rewrite is the Url and Method a policy rewrite sends Modify's call to.
	rewrite [2]string
	st      store.Store
}

func (f *fakeCalls) Create(ctx context.Context, r calls.CreateRequest) ([]store.Call, error) {
	f.mu.Lock()
	f.creates = append(f.creates, r)
	fn := f.createFn
	f.mu.Unlock()
	if fn != nil {
		return fn(r)
	}
	c := testCall(r.AccountSid, r.From, r.To)
	c.Status = store.StatusQueued
	if err := f.st.PutCall(ctx, c); err != nil {
		return nil, err
	}
	return []store.Call{c}, nil
}

func (f *fakeCalls) Modify(ctx context.Context, r calls.ModifyRequest) (calls.Modified, error) {
	f.mu.Lock()
	f.modifies = append(f.modifies, r)
	err, rewrite := f.modifyErr, f.rewrite
	f.mu.Unlock()
	if err != nil {
		return calls.Modified{}, err
	}
	c, err := f.st.Call(ctx, r.CallSid)
	if err != nil {
		return calls.Modified{}, calls.ErrUnknownCall
	}
	if r.Status != "" {
		c.Status = r.Status
	}
	return calls.Modified{Call: c, RewriteURL: rewrite[0], RewriteMethod: rewrite[1]}, nil
}

func (f *fakeCalls) lastCreate(t *testing.T) calls.CreateRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.creates) == 0 {
		t.Fatal("no Create request reached the switch")
	}
	return f.creates[len(f.creates)-1]
}

func (f *fakeCalls) lastModify(t *testing.T) calls.ModifyRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.modifies) == 0 {
		t.Fatal("no Modify request reached the switch")
	}
	return f.modifies[len(f.modifies)-1]
}

func (f *fakeCalls) modifyCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.modifies)
}

// testZone and testNow fix a point in time in a fixed zone, so rendered dates are known.
var testZone = time.FixedZone("test", 3*3600)

func testNow() time.Time { return time.Date(2018, 6, 28, 16, 56, 33, 0, testZone) }

func testCall(account, from, to string) store.Call {
	now := testNow()
	return store.Call{
		Sid: sid.New(sid.Call), AccountSid: account, From: from, To: to,
		Status: store.StatusCompleted, Direction: store.DirectionOutboundAPI,
		APIVersion: "2012-04-24", DateCreated: now, DateUpdated: now,
		StartTime: now, Duration: -1, RingDuration: -1, Price: "0.00", PriceUnit: "USD",
	}
}

// env is one API under test with a real (in-memory) store.
type env struct {
	t     *testing.T
	srv   *Server
	st    store.Store
	calls *fakeCalls
	root  store.Account // the bootstrap account
	logs  *strings.Builder
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := badgerstore.Open(badgerstore.Options{InMemory: true})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	root, created, err := EnsureBootstrapAccount(context.Background(), st, "", "")
	if err != nil || !created {
		t.Fatalf("bootstrap: created=%v err=%v", created, err)
	}
	fc := &fakeCalls{st: st}
	logs := &strings.Builder{}
	var logMu sync.Mutex
	srv, err := New(Config{
		Store: st, Calls: fc,
		Logger:   slog.New(slog.NewTextHandler(lockedWriter{&logMu, logs}, nil)),
		Now:      testNow,
		Location: testZone,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv.passwordIterations = 1000
	return &env{t: t, srv: srv, st: st, calls: fc, root: root, logs: logs}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// subAccount creates an account below parent directly in the store.
func (e *env) subAccount(parent store.Account, role string) store.Account {
	e.t.Helper()
	a := store.Account{
		Sid: sid.New(sid.Account), ParentSid: parent.Sid, FriendlyName: "sub",
		Status: store.AccountActive, Role: role, Type: "Full", AuthToken: sid.Token(),
		DateCreated: testNow(), DateUpdated: testNow(),
	}
	if err := e.st.CreateAccount(context.Background(), a); err != nil {
		e.t.Fatalf("create sub-account: %v", err)
	}
	return a
}

func (e *env) putCall(c store.Call) store.Call {
	e.t.Helper()
	if err := e.st.PutCall(context.Background(), c); err != nil {
		e.t.Fatalf("put call: %v", err)
	}
	return c
}

// response is what a request returned.
type response struct {
	status int
	header http.Header
	body   string
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// req sends one request as account a (nil: no credentials).
func (e *env) req(method, path string, a *store.Account, form url.Values, headers ...string) response {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, path, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if a != nil {
		r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(a.Sid+":"+a.AuthToken)))
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.srv.App().Test(r, -1)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read body: %v", err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// wantError checks a decision-4 error body in the format of the response.
func wantError(t *testing.T, r response, status, code int, message string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if r.header.Get(headerErrorID) == "" {
		t.Errorf("no %s header", headerErrorID)
	}
	if strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		m := r.json(t)
		if len(m) != 4 || m["code"] != float64(code) || m["status"] != float64(status) || m["more_info"] != "" {
			t.Fatalf("error body %s, want code %d status %d and exactly the four keys", r.body, code, status)
		}
		if message != "" && m["message"] != message {
			t.Fatalf("message %q, want %q", m["message"], message)
		}
		return
	}
	want := "<RestcommResponse><RestException><Code>" + itoa(code) + "</Code><Message>"
	if !strings.Contains(r.body, want) || !strings.Contains(r.body, "<Status>"+itoa(status)+"</Status></RestException></RestcommResponse>") {
		t.Fatalf("XML error body %s, want code %d status %d", r.body, code, status)
	}
	if message != "" && !strings.Contains(r.body, "<Message>"+xmlEscape(message)+"</Message>") {
		t.Fatalf("XML error body %s, want message %q", r.body, message)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
