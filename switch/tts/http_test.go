package tts

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/media"
)

// ttsServer is an HTTP text-to-speech service on 127.0.0.1 that answers
// with handle and records the requests it got.
type ttsServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	method, contentType, user, pass string
	form                            map[string]string
}

func newTTSServer(t *testing.T, handle http.HandlerFunc) *ttsServer {
	t.Helper()
	s := &ttsServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("parse form: %v", err)
		}
		rec := recorded{method: r.Method, contentType: r.Header.Get("Content-Type"), form: map[string]string{}}
		rec.user, rec.pass, _ = r.BasicAuth()
		for k := range r.PostForm {
			rec.form[k] = r.PostForm.Get(k)
		}
		s.mu.Lock()
		s.reqs = append(s.reqs, rec)
		s.mu.Unlock()
		handle(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *ttsServer) requests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.reqs...)
}

func serveWAV(wav []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "audio/wav")
		_, _ = w.Write(wav)
	}
}

func TestHTTPSendsTheForm(t *testing.T) {
	tone := media.ToneWAV(time.Second, 440, 8000)
	srv := newTTSServer(t, serveWAV(tone))
	u := strings.Replace(srv.URL, "http://", "http://ops:s3cret@", 1) + "/speak"
	h, err := NewHTTP(u)
	if err != nil {
		t.Fatal(err)
	}
	got, err := h.Synthesize(context.Background(), Request{Text: "  Bonjour à tous  ", Voice: "Woman", Language: "FR-CA"})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(tone) {
		t.Fatalf("got %d bytes, want the service's %d", len(got), len(tone))
	}
	reqs := srv.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.method != http.MethodPost || r.contentType != "application/x-www-form-urlencoded" {
		t.Errorf("%s with %q, want a POSTed form", r.method, r.contentType)
	}
	want := map[string]string{"Text": "Bonjour à tous", "Voice": "woman", "Language": "cf"}
	if len(r.form) != len(want) {
		t.Errorf("form %v, want %v", r.form, want)
	}
	for k, v := range want {
		if r.form[k] != v {
			t.Errorf("%s = %q, want %q", k, r.form[k], v)
		}
	}
	if r.user != "ops" || r.pass != "s3cret" {
		t.Errorf("basic auth %q:%q, want the URL's user info", r.user, r.pass)
	}
}

func TestHTTPFailures(t *testing.T) {
	tests := []struct {
		name   string
		handle http.HandlerFunc
		check  func(error) bool
	}{
		{"500", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "engine on fire", http.StatusInternalServerError)
		}, func(err error) bool {
			var se *StatusError
			return errors.As(err, &se) && se.StatusCode == 500 && se.Body == "engine on fire" &&
				strings.Contains(err.Error(), "HTTP 500")
		}},
		{"404", func(w http.ResponseWriter, _ *http.Request) { http.NotFound(w, nil) }, func(err error) bool {
			var se *StatusError
			return errors.As(err, &se) && se.StatusCode == 404
		}},
		{"html", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html>login</html>"))
		}, func(err error) bool { return strings.Contains(err.Error(), `content type "text/html"`) }},
		{"garbage WAV", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "audio/wav")
			_, _ = w.Write([]byte("this is not audio"))
		}, func(err error) bool { return errors.Is(err, ErrNoAudio) }},
		{"header-only WAV", serveWAV(media.ToneWAV(0, 440, 8000)), func(err error) bool { return errors.Is(err, ErrNoAudio) }},
		{"empty MP3", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "audio/mpeg")
		}, func(err error) bool { return errors.Is(err, ErrNoAudio) }},
		{"too large", serveWAV(media.ToneWAV(2*time.Second, 440, 8000)), func(err error) bool { return errors.Is(err, ErrAudioTooLarge) }},
		{"timeout", func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, func(err error) bool {
			return errors.Is(err, context.DeadlineExceeded)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTTSServer(t, tt.handle)
			h, err := NewHTTP(srv.URL, WithTimeout(300*time.Millisecond), WithMaxAudioBytes(16000))
			if err != nil {
				t.Fatal(err)
			}
			_, err = h.Synthesize(context.Background(), Request{Text: "hello"})
			if err == nil || !tt.check(err) {
				t.Fatalf("got %v", err)
			}
			t.Log(err)
		})
	}
}

func TestHTTPAcceptsMPEG(t *testing.T) {
	srv := newTTSServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "audio/mpeg")
		_, _ = w.Write([]byte{0xff, 0xfb, 0x90, 0x00})
	})
	h, err := NewHTTP(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := h.Synthesize(context.Background(), Request{Text: "hello"}); err != nil || len(b) != 4 {
		t.Fatalf("got %d bytes, %v: want the MP3 for the decoder", len(b), err)
	}
}

func TestHTTPRefusesBlankTextWithoutAsking(t *testing.T) {
	srv := newTTSServer(t, serveWAV(media.ToneWAV(time.Second, 440, 8000)))
	h, err := NewHTTP(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Synthesize(context.Background(), Request{Text: " "}); !errors.Is(err, ErrEmptyText) {
		t.Fatalf("blank text: %v, want ErrEmptyText", err)
	}
	if n := len(srv.requests()); n != 0 {
		t.Fatalf("%d requests for blank text, want none", n)
	}
}

func TestNewHTTPBadURLs(t *testing.T) {
	for _, u := range []string{"ftp://tts.example/speak", "http://", "/speak", "http://user:hunter2@[::1"} {
		_, err := NewHTTP(u)
		if err == nil {
			t.Errorf("NewHTTP(%q) accepted", u)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("NewHTTP(%q): error shows the password: %v", u, err)
		}
	}
}

func TestHTTPErrorsHideThePassword(t *testing.T) {
	srv := newTTSServer(t, func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "no", http.StatusForbidden) })
	h, err := NewHTTP(strings.Replace(srv.URL, "http://", "http://ops:hunter2@", 1))
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.Synthesize(context.Background(), Request{Text: "hello"})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %v: want a failure without the password", err)
	}
}
