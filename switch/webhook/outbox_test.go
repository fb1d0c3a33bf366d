package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/store"
	"github.com/patchbay/patchbay/switch/store/badgerstore"
)

func openMemStore(t *testing.T) store.Store {
	t.Helper()
	st, err := badgerstore.Open(badgerstore.Options{InMemory: true})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// fastOptions make retries quick enough for tests.
func fastOptions(extra ...OutboxOption) []OutboxOption {
	return append([]OutboxOption{
		WithBackoff(5*time.Millisecond, 20*time.Millisecond),
		WithPollInterval(50 * time.Millisecond),
		WithDeliveryTimeout(2 * time.Second),
	}, extra...)
}

func newTestOutbox(t *testing.T, st store.Store, opts ...OutboxOption) *Outbox {
	t.Helper()
	client := NewHTTPClient("test")
	t.Cleanup(client.CloseIdleConnections)
	o, err := NewOutbox(st, client, opts...)
	if err != nil {
		t.Fatalf("NewOutbox: %v", err)
	}
	return o
}

// runOutbox runs o until the test ends and checks Run's result.
func runOutbox(t *testing.T, o *Outbox) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond; the deadline only guards against a hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func pending(t *testing.T, st store.Store) []store.OutboxItem {
	t.Helper()
	items, err := st.Due(context.Background(), time.Now().AddDate(1, 0, 0), 1000)
	if err != nil {
		t.Fatalf("Due: %v", err)
	}
	return items
}

// recorder is an application endpoint that records what it received.
type recorder struct {
	mu       sync.Mutex
	requests []recorded
	respond  func(r recorded, n int) int // status for the n-th request (0-based) with this key
	counts   map[string]int
	active   int
	maxActiv int
}

type recorded struct {
	method, path string
	params       url.Values
	user, pass   string
}

func (rec *recorder) key(r recorded) string {
	return r.params.Get("CallSid") + "/" + r.params.Get("SequenceNumber")
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	u, p, _ := r.BasicAuth()
	got := recorded{method: r.Method, path: r.URL.Path, params: r.Form, user: u, pass: p}
	rec.mu.Lock()
	rec.active++
	rec.maxActiv = max(rec.maxActiv, rec.active)
	if rec.counts == nil {
		rec.counts = map[string]int{}
	}
	n := rec.counts[rec.key(got)]
	rec.counts[rec.key(got)]++
	rec.requests = append(rec.requests, got)
	rec.mu.Unlock()

	status := http.StatusOK
	if rec.respond != nil {
		status = rec.respond(got, n)
	}
	time.Sleep(time.Millisecond) // let requests of different calls overlap
	rec.mu.Lock()
	rec.active--
	rec.mu.Unlock()
	w.WriteHeader(status)
}

func (rec *recorder) snapshot() []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]recorded(nil), rec.requests...)
}

func item(callSid, target, method string, seq int) store.OutboxItem {
	return store.OutboxItem{
		AccountSid: "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		CallSid:    callSid,
		URL:        target,
		Method:     method,
		Params: url.Values{
			"CallSid":        {callSid},
			"SequenceNumber": {strconv.Itoa(seq)},
		},
	}
}

func TestOutboxDeliversGetAndPost(t *testing.T) {
	rec := &recorder{}
	srv := newServer(t, rec.ServeHTTP)
	st := openMemStore(t)
	o := newTestOutbox(t, st, fastOptions()...)
	runOutbox(t, o)

	withCreds := strings.Replace(srv.URL, "http://", "http://ACuser:tok@", 1)
	ctx := context.Background()
	if err := o.Enqueue(ctx, item("CA1", withCreds+"/post", "", 0)); err != nil {
		t.Fatal(err)
	}
	if err := o.Enqueue(ctx, item("CA2", srv.URL+"/get?k=v", "get", 0)); err != nil {
		t.Fatal(err)
	}
	noCall := item("", srv.URL+"/nocall", "POST", 0)
	if err := o.Enqueue(ctx, noCall); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three deliveries", func() bool { return o.Stats().Delivered == 3 })

	byPath := map[string]recorded{}
	for _, r := range rec.snapshot() {
		byPath[r.path] = r
	}
	if r := byPath["/post"]; r.method != "POST" || r.params.Get("CallSid") != "CA1" || r.user != "ACuser" || r.pass != "tok" {
		t.Errorf("POST callback arrived as %+v", r)
	}
	if r := byPath["/get"]; r.method != "GET" || r.params.Get("CallSid") != "CA2" || r.params.Get("k") != "v" {
		t.Errorf("GET callback arrived as %+v", r)
	}
	if _, ok := byPath["/nocall"]; !ok {
		t.Error("callback without a call sid was not delivered")
	}
	waitFor(t, "store emptied", func() bool { return len(pending(t, st)) == 0 })
	if s := o.Stats(); s.Retried != 0 || s.Abandoned != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestOutboxRetriesAfterFailure(t *testing.T) {
	rec := &recorder{respond: func(_ recorded, n int) int {
		if n == 0 {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent // any 2xx counts
	}}
	srv := newServer(t, rec.ServeHTTP)
	st := openMemStore(t)
	o := newTestOutbox(t, st, fastOptions()...)
	runOutbox(t, o)

	if err := o.Enqueue(context.Background(), item("CA1", srv.URL, "POST", 3)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delivery", func() bool { return o.Stats().Delivered == 1 })
	if s := o.Stats(); s.Retried != 1 || s.Abandoned != 0 {
		t.Errorf("stats %+v, want one retry", s)
	}
	if n := len(rec.snapshot()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
	waitFor(t, "store emptied", func() bool { return len(pending(t, st)) == 0 })
}

func TestOutboxKeepsOrderPerCall(t *testing.T) {
	const calls, events, workers = 12, 4, 4
	rec := &recorder{respond: func(r recorded, n int) int {
		// Every other call fails the first two attempts of its ringing
		// event: its answered and completed events must wait.
		if r.params.Get("SequenceNumber") == "1" && n < 2 {
			if i, _ := strconv.Atoi(strings.TrimPrefix(r.params.Get("CallSid"), "CA")); i%2 == 0 {
				return http.StatusServiceUnavailable
			}
		}
		return http.StatusOK
	}}
	srv := newServer(t, rec.ServeHTTP)
	st := openMemStore(t)
	o := newTestOutbox(t, st, fastOptions(WithWorkers(workers))...)
	runOutbox(t, o)

	var wg sync.WaitGroup
	for c := range calls {
		wg.Add(1)
		go func() { // one goroutine per call, as its owner would
			defer wg.Done()
			for seq := range events {
				if err := o.Enqueue(context.Background(), item(fmt.Sprintf("CA%d", c), srv.URL, "POST", seq)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	waitFor(t, "all deliveries", func() bool { return o.Stats().Delivered == calls*events })

	perCall := map[string][]string{}
	for _, r := range rec.snapshot() {
		c := r.params.Get("CallSid")
		perCall[c] = append(perCall[c], r.params.Get("SequenceNumber"))
	}
	for c := range calls {
		sid := fmt.Sprintf("CA%d", c)
		want := "0 1 2 3"
		if c%2 == 0 {
			want = "0 1 1 1 2 3" // two failed attempts, then success, before 2 is tried
		}
		if got := strings.Join(perCall[sid], " "); got != want {
			t.Errorf("%s received %q, want %q", sid, got, want)
		}
	}
	rec.mu.Lock()
	if rec.maxActiv > workers {
		t.Errorf("%d requests in flight at once, want at most %d", rec.maxActiv, workers)
	}
	rec.mu.Unlock()
	if s := o.Stats(); s.Retried != calls {
		t.Errorf("stats %+v, want %d retries", s, calls)
	}
}

func TestOutboxGivesUp(t *testing.T) {
	rec := &recorder{respond: func(r recorded, _ int) int {
		if r.path == "/down" {
			return http.StatusBadGateway
		}
		return http.StatusOK
	}}
	srv := newServer(t, rec.ServeHTTP)
	var logs syncBuffer
	st := openMemStore(t)
	o := newTestOutbox(t, st, fastOptions(
		WithMaxAttempts(3),
		WithOutboxLogger(slog.New(slog.NewTextHandler(&logs, nil))),
	)...)
	runOutbox(t, o)

	ctx := context.Background()
	if err := o.Enqueue(ctx, item("CAdead", strings.Replace(srv.URL, "http://", "http://u:hunter2@", 1)+"/down", "POST", 0)); err != nil {
		t.Fatal(err)
	}
	if err := o.Enqueue(ctx, item("CAdead", srv.URL+"/up", "POST", 1)); err != nil {
		t.Fatal(err)
	}
	// The call's next callback goes out once the first one is abandoned.
	waitFor(t, "the next callback of the call", func() bool { return o.Stats().Delivered == 1 })
	if s := o.Stats(); s.Abandoned != 1 || s.Retried != 2 {
		t.Errorf("stats %+v, want 2 retries and 1 abandoned", s)
	}
	var paths []string
	for _, r := range rec.snapshot() {
		paths = append(paths, r.path)
	}
	if got := strings.Join(paths, " "); got != "/down /down /down /up" {
		t.Errorf("requests %q", got)
	}
	waitFor(t, "store emptied", func() bool { return len(pending(t, st)) == 0 })

	out := logs.String()
	var warn string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "level=WARN") {
			warn = line
		}
	}
	for _, want := range []string{"callback abandoned", "call_sid=CAdead", "account_sid=ACaaaa", "attempts=3", "502"} {
		if !strings.Contains(warn, want) {
			t.Errorf("WARN line %q lacks %q", warn, want)
		}
	}
	if !strings.Contains(out, "level=INFO") || !strings.Contains(out, "will retry") {
		t.Errorf("retries not logged: %s", out)
	}
	if strings.Contains(out, "hunter2") {
		t.Errorf("log leaks the password: %s", out)
	}
}

func TestOutboxGivesUpByAge(t *testing.T) {
	rec := &recorder{respond: func(recorded, int) int { return http.StatusInternalServerError }}
	srv := newServer(t, rec.ServeHTTP)
	st := openMemStore(t)
	o := newTestOutbox(t, st, fastOptions(WithMaxAge(time.Millisecond), WithBackoff(time.Second, time.Second))...)
	runOutbox(t, o)
	if err := o.Enqueue(context.Background(), item("CA1", srv.URL, "POST", 0)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "abandon", func() bool { return o.Stats().Abandoned == 1 })
	if s := o.Stats(); s.Retried != 0 {
		t.Errorf("stats %+v: a retry past the max age was scheduled", s)
	}
}

func TestOutboxDeliversAfterReopen(t *testing.T) {
	dir := t.TempDir()
	rec := &recorder{}
	srv := newServer(t, rec.ServeHTTP)

	st, err := badgerstore.Open(badgerstore.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	o := newTestOutbox(t, st, fastOptions()...)
	for seq := range 4 { // enqueued, never run: the process "dies" here
		if err := o.Enqueue(context.Background(), item("CA1", srv.URL, "POST", seq)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st2, err := badgerstore.Open(badgerstore.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st2.Close() })
	o2 := newTestOutbox(t, st2, fastOptions()...)
	stop := runOutbox(t, o2)
	waitFor(t, "deliveries after reopen", func() bool { return o2.Stats().Delivered == 4 })
	stop()
	var seqs []string
	for _, r := range rec.snapshot() {
		seqs = append(seqs, r.params.Get("SequenceNumber"))
	}
	if got := strings.Join(seqs, " "); got != "0 1 2 3" {
		t.Errorf("delivered %q, want 0 1 2 3", got)
	}
}

// After a restart, an earlier callback waiting for its retry must still go
// before a later one of the same call that is already due.
func TestOutboxRestartKeepsOrder(t *testing.T) {
	rec := &recorder{}
	srv := newServer(t, rec.ServeHTTP)
	st := openMemStore(t)
	first := newTestOutbox(t, st)
	ctx := context.Background()
	for seq := range 2 {
		if err := first.Enqueue(ctx, item("CA1", srv.URL, "POST", seq)); err != nil {
			t.Fatal(err)
		}
	}
	items := pending(t, st)
	if len(items) != 2 {
		t.Fatalf("%d items stored, want 2", len(items))
	}
	// As if the previous process had failed item 0 once and crashed.
	early := items[0]
	early.Attempts, early.NextAttempt, early.LastError = 1, time.Now().Add(300*time.Millisecond), "HTTP 500"
	if err := st.Reschedule(ctx, early); err != nil {
		t.Fatal(err)
	}

	o := newTestOutbox(t, st, fastOptions()...)
	runOutbox(t, o)
	waitFor(t, "both deliveries", func() bool { return o.Stats().Delivered == 2 })
	var seqs []string
	for _, r := range rec.snapshot() {
		seqs = append(seqs, r.params.Get("SequenceNumber"))
	}
	if got := strings.Join(seqs, " "); got != "0 1" {
		t.Errorf("delivered %q, want 0 1", got)
	}
}

func TestOutboxRunStopsWithoutLeaks(t *testing.T) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	st := openMemStore(t)
	o := newTestOutbox(t, st, fastOptions()...)
	stop := runOutbox(t, o)
	if err := o.Enqueue(context.Background(), item("CA1", srv.URL, "POST", 0)); err != nil {
		t.Fatal(err)
	}
	<-arrived
	stop() // fails the test if Run does not return

	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	for _, fn := range []string{"webhook.(*Outbox)", "webhook.(*deliveryLoop)"} {
		if strings.Contains(stacks, fn) {
			t.Errorf("goroutine running %s after Run returned:\n%s", fn, stacks)
		}
	}
	// The interrupted request is not an attempt: the item waits, untouched.
	items := pending(t, st)
	if len(items) != 1 || items[0].Attempts != 0 {
		t.Errorf("pending after stop: %+v, want the item with 0 attempts", items)
	}
	if s := o.Stats(); s != (OutboxStats{}) {
		t.Errorf("stats %+v, want zero", s)
	}
}

func TestOutboxRunTwice(t *testing.T) {
	o := newTestOutbox(t, openMemStore(t), fastOptions()...)
	stop := runOutbox(t, o)
	waitFor(t, "Run to start", func() bool { return o.running.Load() })
	if err := o.Run(context.Background()); !errors.Is(err, ErrAlreadyRunning) {
		t.Errorf("second Run: %v, want ErrAlreadyRunning", err)
	}
	stop()
	// And again after it returned.
	runOutbox(t, o)
}

func TestOutboxEnqueueValidates(t *testing.T) {
	st := openMemStore(t)
	o := newTestOutbox(t, st)
	for _, it := range []store.OutboxItem{
		item("CA1", "mailto:x@example.com", "POST", 0),
		item("CA1", "http://127.0.0.1/", "PUT", 0),
		item("CA1", "/relative", "GET", 0),
	} {
		if err := o.Enqueue(context.Background(), it); !errors.Is(err, ErrInvalidCallback) {
			t.Errorf("Enqueue(%s %s): %v, want ErrInvalidCallback", it.Method, it.URL, err)
		}
	}
	if n := len(pending(t, st)); n != 0 {
		t.Errorf("%d invalid items stored", n)
	}
}

func TestOutboxEnqueueFillsItem(t *testing.T) {
	st := openMemStore(t)
	o := newTestOutbox(t, st)
	params := url.Values{"CallStatus": {"initiated"}}
	stale := item("CA1", "http://127.0.0.1/cb", "get", 0)
	stale.Params = params
	stale.Attempts, stale.NextAttempt = 7, time.Now().Add(time.Hour)
	if err := o.Enqueue(context.Background(), stale); err != nil {
		t.Fatal(err)
	}
	params.Set("CallStatus", "changed after enqueue")
	if err := o.Enqueue(context.Background(), item("CA1", "http://127.0.0.1/cb", "", 1)); err != nil {
		t.Fatal(err)
	}
	items := pending(t, st)
	if len(items) != 2 {
		t.Fatalf("%d items, want 2", len(items))
	}
	a, b := items[0], items[1]
	if a.ID == "" || a.ID >= b.ID {
		t.Errorf("IDs %q, %q: want non-empty and increasing", a.ID, b.ID)
	}
	if a.Method != "GET" || b.Method != "POST" {
		t.Errorf("methods %q, %q", a.Method, b.Method)
	}
	if a.Attempts != 0 || a.NextAttempt.After(time.Now()) || a.CreatedAt.IsZero() {
		t.Errorf("first item not reset for a first attempt: %+v", a)
	}
	if a.Params.Get("CallStatus") != "initiated" {
		t.Errorf("stored params follow the caller's map: %v", a.Params)
	}
}

func TestBackoff(t *testing.T) {
	o, err := NewOutbox(openMemStore(t), nil, WithBackoff(time.Second, 5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for attempts, full := range map[int]time.Duration{
		1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 9: 256 * time.Second, 10: 5 * time.Minute, 60: 5 * time.Minute,
	} {
		for range 50 {
			if d := o.backoff(attempts); d < full/2 || d > full {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", attempts, d, full/2, full)
			}
		}
	}
}

func TestIDsIncreaseWhenClockStalls(t *testing.T) {
	var s idSource
	now := time.Now()
	prev := s.next(now)
	for range 100 {
		id := s.next(now.Add(-time.Second))
		if len(id) != 24 || id <= prev {
			t.Fatalf("id %q after %q", id, prev)
		}
		prev = id
	}
}

func TestOutboxOptionsValidate(t *testing.T) {
	st := openMemStore(t)
	for name, opt := range map[string]OutboxOption{
		"workers":  WithWorkers(0),
		"backoff":  WithBackoff(time.Second, time.Millisecond),
		"attempts": WithMaxAttempts(0),
		"age":      WithMaxAge(0),
		"timeout":  WithDeliveryTimeout(-1),
		"poll":     WithPollInterval(0),
		"logger":   WithOutboxLogger(nil),
	} {
		if _, err := NewOutbox(st, nil, opt); err == nil {
			t.Errorf("%s: bad option accepted", name)
		}
	}
	if _, err := NewOutbox(nil, nil); err == nil {
		t.Error("nil store accepted")
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A later callback of a call whose first one waits for a retry is moved back
// in the store too, so it is never due before the earlier one (not even
// after a crash that loses the in-memory queue).
func TestOutboxHoldsLaterItemsInStore(t *testing.T) {
	rec := &recorder{respond: func(recorded, int) int { return http.StatusInternalServerError }}
	srv := newServer(t, rec.ServeHTTP)
	st := openMemStore(t)
	o := newTestOutbox(t, st, WithBackoff(time.Hour, time.Hour), WithPollInterval(10*time.Millisecond))
	runOutbox(t, o)
	ctx := context.Background()
	if err := o.Enqueue(ctx, item("CA1", srv.URL, "POST", 0)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "first failure", func() bool { return o.Stats().Retried == 1 })
	if err := o.Enqueue(ctx, item("CA1", srv.URL, "POST", 1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the later item held", func() bool {
		items := pending(t, st)
		return len(items) == 2 && !items[1].NextAttempt.Before(items[0].NextAttempt)
	})
	if n := len(rec.snapshot()); n != 1 {
		t.Errorf("%d requests, want only the first attempt", n)
	}
}
