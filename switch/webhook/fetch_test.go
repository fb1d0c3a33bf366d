package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// newServer starts an httptest server on 127.0.0.1 and closes it with the test.
func newServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func newTestFetcher(t *testing.T, opts ...FetcherOption) *Fetcher {
	t.Helper()
	client := NewHTTPClient("test")
	t.Cleanup(client.CloseIdleConnections)
	f, err := NewFetcher(client, opts...)
	if err != nil {
		t.Fatalf("NewFetcher: %v", err)
	}
	return f
}

// refusedURL returns a URL on 127.0.0.1 where nothing listens.
func refusedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/app"
}

func rcml(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/xml")
	io.WriteString(w, body)
}

func TestFetchParamPlacement(t *testing.T) {
	type seen struct {
		method, query, body, contentType, agent string
	}
	got := make(chan seen, 1)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.RawQuery, string(b), r.Header.Get("Content-Type"), r.Header.Get("User-Agent")}
		rcml(w, "<Response/>")
	})
	f := newTestFetcher(t)
	params := url.Values{"CallSid": {"CA1"}, "From": {"+1 555"}}

	for _, tc := range []struct {
		name, method, path      string
		wantMethod, wantQuery   string
		wantBody, wantFormCType string
	}{
		{"post default", "", "/app", "POST", "", "CallSid=CA1&From=%2B1+555", "application/x-www-form-urlencoded"},
		{"post lower case", "post", "/app?x=1", "POST", "x=1", "CallSid=CA1&From=%2B1+555", "application/x-www-form-urlencoded"},
		{"get", "GET", "/app", "GET", "CallSid=CA1&From=%2B1+555", "", ""},
		{"get merges query", "get", "/app?token=a%2Fb&x=1", "GET", "token=a%2Fb&x=1&CallSid=CA1&From=%2B1+555", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := f.Fetch(context.Background(), FetchRequest{URL: srv.URL + tc.path, Method: tc.method, Params: params})
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			s := <-got
			if s.method != tc.wantMethod || s.query != tc.wantQuery || s.body != tc.wantBody || s.contentType != tc.wantFormCType {
				t.Errorf("server saw %+v; want method %s query %q body %q content type %q",
					s, tc.wantMethod, tc.wantQuery, tc.wantBody, tc.wantFormCType)
			}
			if s.agent != "Patchbay/test" {
				t.Errorf("User-Agent %q, want Patchbay/test", s.agent)
			}
			if doc.ContentType != "application/xml" || string(doc.Body) != "<Response/>" || doc.UsedFallback {
				t.Errorf("document %+v", doc)
			}
			if doc.URL != srv.URL+tc.path {
				t.Errorf("document URL %q, want %q", doc.URL, srv.URL+tc.path)
			}
		})
	}
}

func TestFetchBasicAuthFromUserInfoNeverLogsPassword(t *testing.T) {
	const user, pass = "ACae6e420f425248d6a26948c17a9e2acf", "s3cr3t-token"
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != pass {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/open" {
			rcml(w, "<Response><Say>hi</Say></Response>")
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
	})
	var logs bytes.Buffer
	f := newTestFetcher(t, WithFetchLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	withCreds := strings.Replace(srv.URL, "http://", "http://"+user+":"+pass+"@", 1)

	doc, err := f.Fetch(context.Background(), FetchRequest{URL: withCreds + "/open"})
	if err != nil {
		t.Fatalf("Fetch with credentials: %v", err)
	}
	// The answered URL keeps the credentials so relative URLs resolve with them.
	if doc.URL != withCreds+"/open" {
		t.Errorf("document URL %q, want %q", doc.URL, withCreds+"/open")
	}

	_, err = f.Fetch(context.Background(), FetchRequest{URL: withCreds + "/broken", FallbackURL: "http://" + user + ":" + pass + "@127.0.0.1:1/x y%zz"})
	if err == nil {
		t.Fatal("Fetch of a failing URL succeeded")
	}
	if strings.Contains(err.Error(), pass) {
		t.Errorf("error leaks the password: %v", err)
	}
	if strings.Contains(logs.String(), pass) {
		t.Errorf("log leaks the password: %s", logs.String())
	}
	if !strings.Contains(logs.String(), "/broken") {
		t.Errorf("failure was not logged: %q", logs.String())
	}
}

func TestFetchFallback(t *testing.T) {
	var primaryHits, fallbackHits int
	fallback := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		fallbackHits++
		if err := r.ParseForm(); err != nil || r.PostForm.Get("CallSid") != "CA9" {
			t.Errorf("fallback did not get the same params: %v %v", r.PostForm, err)
		}
		rcml(w, "<Response><Hangup/></Response>")
	})
	primary := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		primaryHits++
		switch r.URL.Path {
		case "/500":
			w.WriteHeader(http.StatusInternalServerError)
		case "/404":
			http.NotFound(w, r)
		}
	})
	f := newTestFetcher(t)
	for _, tc := range []struct {
		name, url string
		wantCode  int
	}{
		{"500", primary.URL + "/500", CodeHTTPProtocol},
		{"404", primary.URL + "/404", CodeURLNotFound},
		{"connection refused", refusedURL(t), CodeHTTPIOFailure},
		{"bad URL", "ftp://example.invalid/app", CodeBadURI},
		{"unparseable URL", "http://[::1", CodeBadURI},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Without a fallback: the primary's typed error.
			_, err := f.Fetch(context.Background(), FetchRequest{URL: tc.url, Params: url.Values{"CallSid": {"CA9"}}})
			var fe *FetchError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FetchError", err)
			}
			if fe.Code != tc.wantCode || NotificationCode(err) != tc.wantCode {
				t.Errorf("code %d, want %d (%v)", fe.Code, tc.wantCode, err)
			}
			if fe.Primary != nil {
				t.Errorf("Primary set without a fallback")
			}
			if got, want := IsNotFound(err), tc.wantCode == CodeURLNotFound; got != want {
				t.Errorf("IsNotFound = %v, want %v", got, want)
			}

			// With a fallback: the fallback's document.
			before := fallbackHits
			doc, err := f.Fetch(context.Background(), FetchRequest{
				URL: tc.url, FallbackURL: fallback.URL + "/fb", Params: url.Values{"CallSid": {"CA9"}},
			})
			if err != nil {
				t.Fatalf("Fetch with fallback: %v", err)
			}
			if !doc.UsedFallback || doc.URL != fallback.URL+"/fb" || string(doc.Body) != "<Response><Hangup/></Response>" {
				t.Errorf("document %+v, want the fallback's", doc)
			}
			if fallbackHits != before+1 {
				t.Errorf("fallback hit %d times, want 1", fallbackHits-before)
			}
		})
	}
	if primaryHits != 4 {
		t.Errorf("primary hit %d times, want 4", primaryHits)
	}
}

func TestFetchBothFail(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/404":
			http.NotFound(w, r)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	f := newTestFetcher(t)

	_, err := f.Fetch(context.Background(), FetchRequest{URL: srv.URL + "/404", FallbackURL: srv.URL + "/404?fb"})
	if !IsNotFound(err) {
		t.Errorf("404 then 404: IsNotFound false (%v)", err)
	}

	_, err = f.Fetch(context.Background(), FetchRequest{URL: srv.URL + "/404", FallbackURL: srv.URL + "/503", FallbackMethod: "GET"})
	if IsNotFound(err) {
		t.Errorf("404 then 503: IsNotFound true")
	}
	var fe *FetchError
	if !errors.As(err, &fe) || fe.Primary == nil {
		t.Fatalf("error %v: want a *FetchError with Primary", err)
	}
	if fe.StatusCode != 503 || fe.Code != CodeHTTPProtocol || fe.Method != "GET" || fe.URL != srv.URL+"/503" {
		t.Errorf("fallback failure %+v", fe)
	}
	if fe.Primary.StatusCode != 404 || fe.Primary.Code != CodeURLNotFound || fe.Primary.Method != "POST" {
		t.Errorf("primary failure %+v", fe.Primary)
	}
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 503 {
		t.Errorf("StatusError not found in %v", err)
	}
	for _, want := range []string{"/503", "/404", "503", "404"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestFetchBodyCap(t *testing.T) {
	const limit = 1000
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		n := limit
		if r.URL.Path == "/big" {
			n = limit + 1
		}
		w.Header().Set("Content-Type", "text/xml")
		if r.URL.Query().Has("chunked") {
			// No Content-Length: the cap must hold while reading.
			w.(http.Flusher).Flush()
		}
		io.WriteString(w, strings.Repeat("x", n))
	})
	f := newTestFetcher(t, WithMaxDocumentSize(limit))
	for _, q := range []string{"", "?chunked"} {
		doc, err := f.Fetch(context.Background(), FetchRequest{URL: srv.URL + "/fits" + q})
		if err != nil || len(doc.Body) != limit {
			t.Errorf("document at the cap%s: %d bytes, %v", q, len(doc.Body), err)
		}
		_, err = f.Fetch(context.Background(), FetchRequest{URL: srv.URL + "/big" + q})
		if !errors.Is(err, ErrBodyTooLarge) || NotificationCode(err) != CodeHTTPProtocol {
			t.Errorf("document over the cap%s: error %v, want ErrBodyTooLarge with code 11206", q, err)
		}
	}
}

func TestFetchContextCancelSkipsFallback(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	slow := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	fallbackHit := make(chan struct{}, 1)
	fallback := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		fallbackHit <- struct{}{}
		rcml(w, "<Response/>")
	})
	f := newTestFetcher(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, err := f.Fetch(ctx, FetchRequest{URL: slow.URL, FallbackURL: fallback.URL})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	select {
	case <-fallbackHit:
		t.Error("fallback fetched after the context was cancelled")
	default:
	}
}

func TestFetchTimeoutUsesFallback(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	slow := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	fallback := newServer(t, func(w http.ResponseWriter, r *http.Request) { rcml(w, "<Response/>") })
	f := newTestFetcher(t, WithFetchTimeout(50*time.Millisecond))

	_, err := f.Fetch(context.Background(), FetchRequest{URL: slow.URL})
	if !errors.Is(err, context.DeadlineExceeded) || NotificationCode(err) != CodeHTTPIOFailure {
		t.Errorf("timeout: error %v, want DeadlineExceeded with code 11205", err)
	}
	doc, err := f.Fetch(context.Background(), FetchRequest{URL: slow.URL, FallbackURL: fallback.URL})
	if err != nil || !doc.UsedFallback {
		t.Errorf("timeout with fallback: %+v, %v", doc, err)
	}
}

func TestFetchRedirects(t *testing.T) {
	var srv *httptest.Server
	srv = newServer(t, func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(r.URL.Path, "/hop/%d", &n)
		if n > 0 {
			http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusFound)
			return
		}
		if u, p, _ := r.BasicAuth(); u != "user" || p != "pw" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		rcml(w, "<Response/>")
	})
	f := newTestFetcher(t)
	base := strings.Replace(srv.URL, "http://", "http://user:pw@", 1)

	doc, err := f.Fetch(context.Background(), FetchRequest{URL: base + "/hop/5", Method: "GET"})
	if err != nil {
		t.Fatalf("5 redirects: %v", err)
	}
	if doc.URL != base+"/hop/0" {
		t.Errorf("document URL %q, want the redirect target %q", doc.URL, base+"/hop/0")
	}
	_, err = f.Fetch(context.Background(), FetchRequest{URL: base + "/hop/6", Method: "GET"})
	if !errors.Is(err, errTooManyRedirects) || NotificationCode(err) != CodeHTTPIOFailure {
		t.Errorf("6 redirects: error %v, want too many redirects", err)
	}
}

func TestFetchBadMethod(t *testing.T) {
	f := newTestFetcher(t)
	_, err := f.Fetch(context.Background(), FetchRequest{URL: "http://127.0.0.1:1/", Method: "PUT"})
	if NotificationCode(err) != CodeBadURI || !strings.Contains(err.Error(), "PUT") {
		t.Errorf("PUT: error %v, want code 11100", err)
	}
}

func TestFetcherOptionsValidate(t *testing.T) {
	for name, opt := range map[string]FetcherOption{
		"timeout": WithFetchTimeout(0),
		"size":    WithMaxDocumentSize(-1),
		"logger":  WithFetchLogger(nil),
	} {
		if _, err := NewFetcher(nil, opt); err == nil {
			t.Errorf("%s: bad option accepted", name)
		}
	}
}
