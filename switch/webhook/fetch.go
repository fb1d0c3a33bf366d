package webhook

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// FetchRequest says where to get an RCML document and with what parameters.
type FetchRequest struct {
	URL            string
	Method         string // GET or POST (any case); empty means POST
	FallbackURL    string // tried with the same Params when URL fails; may be empty
	FallbackMethod string // empty means POST
	Params         url.Values
}

// Document is an application's answer to a fetch.
type Document struct {
	// URL is the URL that answered: the primary or the fallback, after any
	// redirects. User info of the requested URL is kept when the answer came
	// from the same host, so relative URLs in the document resolve with the
	// same credentials. It may hold a password: never log it unredacted.
	URL          string
	ContentType  string
	Body         []byte
	UsedFallback bool
	// PrimaryError is why the primary failed when the fallback answered; the
	// caller records it as a notification (spec §4.2).
	PrimaryError *FetchError
}

// Fetcher fetches RCML documents. It is safe for concurrent use.
type Fetcher struct {
	client  *http.Client
	log     *slog.Logger
	timeout time.Duration
	maxBody int64
}

// NewFetcher returns a Fetcher that sends its requests through client (nil:
// NewHTTPClient("dev")).
func NewFetcher(client *http.Client, opts ...FetcherOption) (*Fetcher, error) {
	if client == nil {
		client = NewHTTPClient("")
	}
	f := &Fetcher{
		client:  client,
		log:     slog.New(slog.DiscardHandler),
		timeout: 10 * time.Second,
		maxBody: 1 << 20,
	}
	for _, opt := range opts {
		if err := opt(f); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Fetch gets the document at r.URL; only a 200 answer succeeds. When the
// primary fails in any way (bad URL, network error, other status, body too
// large) and r.FallbackURL is set, it fetches the fallback with the same
// parameters. Errors are *FetchError; use IsNotFound to tell "URL not found"
// from other failures. When ctx ends, Fetch gives up at once, without trying
// the fallback, and the error matches ctx.Err() under errors.Is.
func (f *Fetcher) Fetch(ctx context.Context, r FetchRequest) (Document, error) {
	doc, ferr := f.fetchOne(ctx, r.URL, r.Method, r.Params)
	if ferr == nil {
		return doc, nil
	}
	f.logFailure(r.Params, ferr, "primary")
	if r.FallbackURL == "" || ctx.Err() != nil {
		return Document{}, ferr
	}
	doc, fberr := f.fetchOne(ctx, r.FallbackURL, r.FallbackMethod, r.Params)
	if fberr != nil {
		fberr.Primary = ferr
		f.logFailure(r.Params, fberr, "fallback")
		return Document{}, fberr
	}
	doc.UsedFallback = true
	doc.PrimaryError = ferr
	return doc, nil
}

func (f *Fetcher) logFailure(params url.Values, e *FetchError, which string) {
	f.log.Debug("rcml fetch failed",
		slog.String("account_sid", params.Get("AccountSid")),
		slog.String("call_sid", params.Get("CallSid")),
		slog.String("which", which),
		slog.String("method", e.Method),
		slog.String("url", e.URL),
		slog.Int("status", e.StatusCode),
		slog.Int("code", e.Code),
		slog.String("error", e.Err.Error()))
}

// fetchOne makes one request and classifies its failure.
func (f *Fetcher) fetchOne(ctx context.Context, rawURL, rawMethod string, params url.Values) (Document, *FetchError) {
	fail := func(method string, status, code int, err error) (Document, *FetchError) {
		return Document{}, &FetchError{URL: redact(rawURL), Method: method, StatusCode: status, Code: code, Err: err}
	}
	method, err := normalizeMethod(rawMethod)
	if err != nil {
		return fail(rawMethod, 0, CodeBadURI, err)
	}
	u, err := parseURL(rawURL)
	if err != nil {
		return fail(method, 0, CodeBadURI, err)
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := newRequest(ctx, method, u, params)
	if err != nil {
		return fail(method, 0, CodeBadURI, err)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return fail(method, 0, CodeHTTPIOFailure, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		code := CodeHTTPProtocol
		if resp.StatusCode == http.StatusNotFound {
			code = CodeURLNotFound
		}
		// Drain a little so the connection can go back to the pool.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return fail(method, resp.StatusCode, code, &StatusError{StatusCode: resp.StatusCode})
	}
	if resp.ContentLength > f.maxBody {
		return fail(method, resp.StatusCode, CodeHTTPProtocol,
			fmt.Errorf("%w: Content-Length %d exceeds %d bytes", ErrBodyTooLarge, resp.ContentLength, f.maxBody))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.maxBody+1))
	if err != nil {
		return fail(method, resp.StatusCode, CodeHTTPIOFailure, fmt.Errorf("read body: %w", err))
	}
	if int64(len(body)) > f.maxBody {
		return fail(method, resp.StatusCode, CodeHTTPProtocol,
			fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, f.maxBody))
	}
	return Document{
		URL:         answeredURL(u, req.URL, resp),
		ContentType: resp.Header.Get("Content-Type"),
		Body:        body,
	}, nil
}

// answeredURL is the URL that answered, for resolving relative URLs in the
// document: the requested one (without the GET parameters added to it) when
// there was no redirect, else the last redirect target, with the requested
// user info put back when the redirect kept the host.
func answeredURL(requested, sent *url.URL, resp *http.Response) string {
	if resp.Request == nil || resp.Request.URL == nil || resp.Request.URL.String() == sent.String() {
		return requested.String()
	}
	final := *resp.Request.URL
	if final.User == nil && requested.User != nil && final.Host == requested.Host {
		final.User = requested.User
	}
	return final.String()
}
