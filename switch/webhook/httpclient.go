package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// MaxRedirects is how many redirects one request follows before it fails.
const MaxRedirects = 5

// errTooManyRedirects ends a redirect chain longer than MaxRedirects.
var errTooManyRedirects = errors.New("webhook: too many redirects")

// NewHTTPClient returns the client a Fetcher and an Outbox share: one pooled
// transport (so connections to an application server are reused), at most
// MaxRedirects redirects, and "User-Agent: Patchbay/<version>" on every
// request that does not set its own. It has no overall timeout: each request
// is bounded by its context.
func NewHTTPClient(version string) *http.Client {
	if version == "" {
		version = "dev"
	}
	// Cloning keeps the standard dialer, proxy and HTTP/2 settings; only the
	// pool sizes change. The default of 2 idle connections per host is too
	// few for a switch that sends bursts of callbacks to one application.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 256
	tr.MaxIdleConnsPerHost = 32
	tr.IdleConnTimeout = 90 * time.Second
	tr.TLSHandshakeTimeout = 10 * time.Second
	tr.ExpectContinueTimeout = time.Second
	return &http.Client{
		Transport: userAgentTransport{next: tr, agent: "Patchbay/" + version},
		CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if len(via) > MaxRedirects {
				return fmt.Errorf("%w (%d)", errTooManyRedirects, MaxRedirects)
			}
			return nil
		},
	}
}

// userAgentTransport sets the User-Agent header; redirected requests pass
// through it too, so they carry it as well.
type userAgentTransport struct {
	next  http.RoundTripper
	agent string
}

func (t userAgentTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("User-Agent") != "" {
		return t.next.RoundTrip(r)
	}
	// A RoundTripper must not modify the caller's request.
	r2 := r.Clone(r.Context())
	r2.Header.Set("User-Agent", t.agent)
	return t.next.RoundTrip(r2)
}

// CloseIdleConnections lets the owner of the client drop pooled connections
// (at shutdown, or in tests).
func (t userAgentTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// errBadURL and errBadMethod mark requests that were never sent.
var (
	errBadURL    = errors.New("invalid URL")
	errBadMethod = errors.New("invalid method")
)

// normalizeMethod maps "" to POST and accepts GET and POST in any case.
func normalizeMethod(m string) (string, error) {
	switch strings.ToUpper(m) {
	case "", http.MethodPost:
		return http.MethodPost, nil
	case http.MethodGet:
		return http.MethodGet, nil
	}
	return "", fmt.Errorf("%w %q: want GET or POST", errBadMethod, m)
}

// parseURL accepts absolute http and https URLs only.
func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		// url.Error repeats the URL, which may hold a password: keep only the reason.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%w: %w", errBadURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w: scheme %q is not http or https", errBadURL, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%w: no host", errBadURL)
	}
	return u, nil
}

// redact returns raw with any password replaced, for logs and errors. A URL
// that does not parse is cut at its last '@', which is where user info ends.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err == nil {
		return u.Redacted()
	}
	if i := strings.LastIndex(raw, "@"); i >= 0 {
		if j := strings.Index(raw, "://"); j >= 0 && j < i {
			return raw[:j+3] + "xxxxx" + raw[i:]
		}
		return "xxxxx" + raw[i:]
	}
	return raw
}

// newRequest builds a GET with params in the query (after any query the URL
// already has) or a POST with params form-encoded, and turns user info into
// Basic credentials, taking it out of the URL so it cannot leak into errors.
func newRequest(ctx context.Context, method string, u *url.URL, params url.Values) (*http.Request, error) {
	target := *u
	target.User = nil
	var body *strings.Reader
	if method == http.MethodGet {
		if enc := params.Encode(); enc != "" {
			if target.RawQuery == "" {
				target.RawQuery = enc
			} else {
				target.RawQuery += "&" + enc
			}
		}
	} else {
		body = strings.NewReader(params.Encode())
	}
	var req *http.Request
	var err error
	if body != nil {
		req, err = http.NewRequestWithContext(ctx, method, target.String(), body)
	} else {
		req, err = http.NewRequestWithContext(ctx, method, target.String(), nil)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadURL, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if u.User != nil {
		pw, _ := u.User.Password()
		req.SetBasicAuth(u.User.Username(), pw)
	}
	return req, nil
}
