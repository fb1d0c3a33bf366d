package audiofetch

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/audio"
	"github.com/patchbay/patchbay/switch/media"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// server serves one WAV with the headers a test sets, answering
// conditional requests as a real server would, and records the requests.
type server struct {
	*httptest.Server
	mu       sync.Mutex
	body     []byte
	header   http.Header // added to every answer
	etag     string
	modified string
	status   int // answer this instead, when set
	requests []*http.Request
	gate     chan struct{}  // when set, answers wait for it to close
	mux      *http.ServeMux // "/" is serve; tests add other paths
}

func newServer(t *testing.T, body []byte) *server {
	s := &server{body: body, header: http.Header{}, mux: http.NewServeMux()}
	s.mux.HandleFunc("/", s.serve)
	s.Server = httptest.NewServer(s.mux)
	t.Cleanup(s.Close)
	return s
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r)
	gate, body, etag, modified, status := s.gate, s.body, s.etag, s.modified, s.status
	for k, v := range s.header {
		w.Header()[k] = v
	}
	s.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if status != 0 {
		w.WriteHeader(status)
		return
	}
	if etag != "" {
		w.Header().Set("ETag", etag)
	}
	if modified != "" {
		w.Header().Set("Last-Modified", modified)
	}
	if (etag != "" && r.Header.Get("If-None-Match") == etag) ||
		(etag == "" && modified != "" && r.Header.Get("If-Modified-Since") == modified) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	_, _ = w.Write(body)
}

func (s *server) set(f func(s *server)) {
	s.mu.Lock()
	f(s)
	s.mu.Unlock()
}

func (s *server) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

func (s *server) last() *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[len(s.requests)-1]
}

func newCache(clk *clock, o Options) *Cache {
	o.Now = clk.Now
	return New(o)
}

func mustGet(t *testing.T, c *Cache, url string) *media.Clip {
	t.Helper()
	clip, err := c.Get(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	return clip
}

var tone = media.ToneWAV(500*time.Millisecond, 1000, 8000)

func TestMaxAgeThenETagRevalidation(t *testing.T) {
	srv := newServer(t, tone)
	srv.set(func(s *server) {
		s.etag = `"v1"`
		s.header.Set("Cache-Control", "public, max-age=60")
	})
	clk := newClock()
	c := newCache(clk, Options{})
	url := srv.URL + "/hold.wav"

	first := mustGet(t, c, url)
	if first.Duration() != 500*time.Millisecond {
		t.Errorf("clip of %v", first.Duration())
	}
	clk.Advance(59 * time.Second)
	if mustGet(t, c, url) != first || srv.count() != 1 {
		t.Fatalf("within max-age: %d requests, want 1 and the same clip", srv.count())
	}

	clk.Advance(2 * time.Second)
	if mustGet(t, c, url) != first {
		t.Error("a 304 did not keep the decoded clip")
	}
	if srv.count() != 2 || srv.last().Header.Get("If-None-Match") != `"v1"` {
		t.Fatalf("after max-age: %d requests, If-None-Match %q", srv.count(), srv.last().Header.Get("If-None-Match"))
	}
	// The 304 renewed the freshness.
	clk.Advance(30 * time.Second)
	mustGet(t, c, url)
	if srv.count() != 2 {
		t.Errorf("after a 304: %d requests, want 2", srv.count())
	}

	// A changed file is downloaded again and replaces the clip.
	srv.set(func(s *server) { s.etag, s.body = `"v2"`, media.ToneWAV(time.Second, 700, 8000) })
	clk.Advance(time.Minute)
	second := mustGet(t, c, url)
	if second == first || second.Duration() != time.Second {
		t.Errorf("changed file: got the old clip (%v)", second.Duration())
	}
	st := c.Stats()
	if st.Hits != 2 || st.Revalidated != 1 || st.Downloads != 2 || st.Entries != 1 || st.Bytes != int64(second.Size()) {
		t.Errorf("stats %+v", st)
	}
}

func TestLastModifiedRevalidation(t *testing.T) {
	srv := newServer(t, tone)
	const modified = "Sun, 01 Mar 2026 10:00:00 GMT"
	srv.set(func(s *server) {
		s.modified = modified
		s.header.Set("Cache-Control", "no-cache") // revalidate on every use
	})
	c := newCache(newClock(), Options{})
	first := mustGet(t, c, srv.URL)
	for range 3 {
		if mustGet(t, c, srv.URL) != first {
			t.Fatal("a 304 did not keep the decoded clip")
		}
		if got := srv.last().Header.Get("If-Modified-Since"); got != modified {
			t.Fatalf("If-Modified-Since %q, want %q", got, modified)
		}
	}
	if st := c.Stats(); srv.count() != 4 || st.Downloads != 1 || st.Revalidated != 3 || st.Hits != 0 {
		t.Errorf("%d requests, stats %+v", srv.count(), st)
	}
}

func TestNoStore(t *testing.T) {
	srv := newServer(t, tone)
	srv.set(func(s *server) {
		s.etag = `"x"`
		s.header.Set("Cache-Control", "no-store, max-age=600")
	})
	c := newCache(newClock(), Options{})
	mustGet(t, c, srv.URL)
	mustGet(t, c, srv.URL)
	if srv.count() != 2 || srv.last().Header.Get("If-None-Match") != "" {
		t.Errorf("no-store: %d requests (want 2), If-None-Match %q", srv.count(), srv.last().Header.Get("If-None-Match"))
	}
	if st := c.Stats(); st.Entries != 0 || st.Bytes != 0 || st.Downloads != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestExpiresAndDefaultTTL(t *testing.T) {
	clk := newClock()
	srv := newServer(t, tone)
	// Expires 5 minutes after the server's Date: the lifetime counts, not
	// the server's clock.
	date := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	srv.set(func(s *server) {
		s.header.Set("Date", date.Format(http.TimeFormat))
		s.header.Set("Expires", date.Add(5*time.Minute).Format(http.TimeFormat))
	})
	c := newCache(clk, Options{DefaultTTL: 10 * time.Second})
	mustGet(t, c, srv.URL+"/a")
	clk.Advance(4 * time.Minute)
	mustGet(t, c, srv.URL+"/a")
	if srv.count() != 1 {
		t.Fatalf("within Expires: %d requests", srv.count())
	}
	clk.Advance(2 * time.Minute)
	mustGet(t, c, srv.URL+"/a")
	if srv.count() != 2 {
		t.Fatalf("after Expires: %d requests", srv.count())
	}

	// No freshness information at all: DefaultTTL.
	srv.set(func(s *server) { s.header = http.Header{} })
	mustGet(t, c, srv.URL+"/b")
	clk.Advance(9 * time.Second)
	mustGet(t, c, srv.URL+"/b")
	if srv.count() != 3 {
		t.Fatalf("within DefaultTTL: %d requests", srv.count())
	}
	clk.Advance(2 * time.Second)
	mustGet(t, c, srv.URL+"/b")
	if srv.count() != 4 {
		t.Fatalf("after DefaultTTL: %d requests", srv.count())
	}
}

func TestConcurrentGetsShareOneDownload(t *testing.T) {
	srv := newServer(t, tone)
	gate := make(chan struct{})
	srv.set(func(s *server) {
		s.gate = gate
		s.header.Set("Cache-Control", "max-age=300")
	})
	c := newCache(newClock(), Options{})
	const n = 50
	clips := make([]*media.Clip, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	var started atomic.Int32
	for i := range n {
		wg.Go(func() {
			started.Add(1)
			clips[i], errs[i] = c.Get(context.Background(), srv.URL+"/moh.wav")
		})
	}
	// Whoever comes after the download ends is served from the cache, so
	// the count holds however the goroutines are scheduled.
	for srv.count() == 0 {
		time.Sleep(time.Millisecond)
	}
	close(gate)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || clips[i] != clips[0] {
			t.Fatalf("Get %d: %v (same clip: %v)", i, errs[i], clips[i] == clips[0])
		}
	}
	if srv.count() != 1 || c.Stats().Downloads != 1 {
		t.Errorf("%d requests, %d downloads for %d concurrent Gets; want 1", srv.count(), c.Stats().Downloads, n)
	}
}

func TestCallerCancelDoesNotFailOthers(t *testing.T) {
	srv := newServer(t, tone)
	gate := make(chan struct{})
	srv.set(func(s *server) { s.gate = gate })
	c := newCache(newClock(), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { _, err := c.Get(ctx, srv.URL); first <- err }()
	for srv.count() == 0 {
		time.Sleep(time.Millisecond)
	}
	second := make(chan error, 1)
	go func() { _, err := c.Get(context.Background(), srv.URL); second <- err }()
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("canceled caller: %v", err)
	}
	close(gate)
	if err := <-second; err != nil {
		t.Errorf("other caller: %v", err)
	}
}

func TestBasicAuthFromURL(t *testing.T) {
	srv := newServer(t, tone)
	c := newCache(newClock(), Options{})
	url := "http://ivr:s3cret@" + srv.Listener.Addr().String() + "/p.wav"
	mustGet(t, c, url)
	r := srv.last()
	if u, p, ok := r.BasicAuth(); !ok || u != "ivr" || p != "s3cret" {
		t.Errorf("basic auth %q %q %v", u, p, ok)
	}
}

// pcmWAV is a WAV of n bytes of 8 kHz PCM16 silence.
func pcmWAV(n int) []byte {
	return media.ToneWAV(time.Duration(n/2)*time.Second/media.ClockRate, 0, 0)
}

func TestLRUEvictionByBytes(t *testing.T) {
	srv := newServer(t, nil)
	mux := srv.mux
	for _, name := range []string{"a", "b", "c", "big"} {
		size := 4000
		if name == "big" {
			size = 20000
		}
		body := pcmWAV(size)
		mux.HandleFunc("/"+name, func(w http.ResponseWriter, r *http.Request) {
			srv.set(func(s *server) { s.requests = append(s.requests, r) })
			w.Header().Set("Cache-Control", "max-age=3600")
			_, _ = w.Write(body)
		})
	}
	c := newCache(newClock(), Options{MaxBytes: 10000}) // two 4000-byte clips fit, not three
	get := func(name string) { mustGet(t, c, srv.URL+"/"+name) }
	get("a")
	get("b")
	get("a") // a is now the most recent
	get("c") // evicts b
	if st := c.Stats(); st.Entries != 2 || st.Bytes != 8000 || st.Evictions != 1 {
		t.Fatalf("stats %+v", st)
	}
	n := srv.count()
	get("a")
	get("c")
	if srv.count() != n {
		t.Errorf("a and c were evicted")
	}
	get("b")
	if srv.count() != n+1 {
		t.Errorf("b was not evicted")
	}
	// A clip larger than the whole budget is served but not kept, and
	// evicts nothing.
	before := c.Stats()
	get("big")
	get("big")
	if st := c.Stats(); st.Entries != before.Entries || st.Bytes != before.Bytes || srv.count() != n+3 {
		t.Errorf("oversized clip: stats %+v, %d requests", st, srv.count())
	}
}

func TestNothingKeptWithNegativeBudget(t *testing.T) {
	srv := newServer(t, tone)
	srv.set(func(s *server) { s.header.Set("Cache-Control", "max-age=3600") })
	c := newCache(newClock(), Options{MaxBytes: -1})
	mustGet(t, c, srv.URL)
	mustGet(t, c, srv.URL)
	if srv.count() != 2 || c.Stats().Entries != 0 {
		t.Errorf("%d requests, %d entries", srv.count(), c.Stats().Entries)
	}
}

func TestErrors(t *testing.T) {
	adpcm := append([]byte(nil), tone...)
	binary.LittleEndian.PutUint16(adpcm[20:], 2) // MS ADPCM
	srv := newServer(t, tone)
	mux := srv.mux
	mux.HandleFunc("/404", http.NotFound)
	mux.HandleFunc("/500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) })
	mux.HandleFunc("/html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body>Welcome to nginx!</body></html>")
	})
	mux.HandleFunc("/adpcm", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(adpcm) })
	big := pcmWAV(10000)
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(big) })
	mux.HandleFunc("/big-chunked", func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < len(big); i += 1000 {
			_, _ = w.Write(big[i:min(i+1000, len(big))])
			w.(http.Flusher).Flush() // no Content-Length
		}
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })

	// A port with nothing listening.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/x.wav"
	l.Close()

	c := newCache(newClock(), Options{MaxDownloadBytes: 9000, Timeout: 200 * time.Millisecond})
	for _, tc := range []struct {
		path string
		want error
	}{
		{"ftp://example.com/a.wav", ErrBadURL},
		{"file:///etc/passwd", ErrBadURL},
		{"http://%zz", ErrBadURL},
		{closed, ErrUnreachable},
		{srv.URL + "/404", ErrHTTPStatus},
		{srv.URL + "/500", ErrHTTPStatus},
		{srv.URL + "/html", audio.ErrNotAudio},
		{srv.URL + "/adpcm", audio.ErrUnsupported},
		{srv.URL + "/big", ErrTooLarge},
		{srv.URL + "/big-chunked", ErrTooLarge},
		{srv.URL + "/slow", context.DeadlineExceeded},
	} {
		_, err := c.Get(context.Background(), tc.path)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.path, err, tc.want)
			continue
		}
		t.Logf("%s: %v", tc.path, err)
	}
	_, err = c.Get(context.Background(), srv.URL+"/404")
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 404 {
		t.Errorf("404: %v, want a *StatusError", err)
	}
	_, err = c.Get(context.Background(), srv.URL+"/slow")
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("timeout: %v, want ErrUnreachable too", err)
	}
	if _, err := c.Get(context.Background(), srv.URL+"/ok"); err != nil {
		t.Errorf("after the errors: %v", err)
	}
	if st := c.Stats(); st.Entries != 1 || st.Downloads != 1 {
		t.Errorf("errors cached or counted: %+v", st)
	}
}

func BenchmarkGetHit(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		_, _ = w.Write(tone)
	}))
	defer srv.Close()
	c := New(Options{})
	ctx := context.Background()
	for b.Loop() {
		if _, err := c.Get(ctx, srv.URL); err != nil {
			b.Fatal(err)
		}
	}
}
