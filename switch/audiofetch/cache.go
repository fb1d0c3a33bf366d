// Package audiofetch downloads the audio <Play> names, decodes it with
// package audio, and keeps the clips in memory as an HTTP cache would: an
// IVR plays the same prompts and hold-music loops to every caller, and
// fetching them per call would put the application server on the call
// path.
//
// A clip is reused without a request while the response is fresh
// (Cache-Control max-age, else Expires, else Options.DefaultTTL); after
// that it is revalidated with If-None-Match / If-Modified-Since and a 304
// keeps the decoded clip. no-cache revalidates on every use, no-store keeps
// nothing. The cache acts for the switch like a browser's (a private
// cache): s-maxage and private are not looked at. Memory is bounded by the
// bytes of decoded audio, least recently used first out; concurrent Gets
// of one URL share one download.
package audiofetch

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/patchbay/patchbay/switch/audio"
	"github.com/patchbay/patchbay/switch/media"
)

// Defaults of Options' zero values.
const (
	DefaultMaxBytes         = 64 << 20
	DefaultMaxDownloadBytes = 16 << 20 // about 15 minutes of 8 kHz PCM16 WAV
	DefaultTimeout          = 30 * time.Second
	DefaultTTL              = time.Minute
)

// Errors of Get besides audio's decoding errors (audio.ErrNotAudio,
// audio.ErrUnsupported, audio.ErrCorrupt, audio.ErrTooLarge), which come
// wrapped; match them with errors.Is.
var (
	// ErrBadURL: not an http or https URL.
	ErrBadURL = errors.New("audiofetch: not an http(s) URL")
	// ErrUnreachable: the request or the download failed (DNS, connection,
	// TLS, timeout, a body cut short). errors.Is also matches the cause,
	// context.DeadlineExceeded for a timeout.
	ErrUnreachable = errors.New("audiofetch: audio URL unreachable")
	// ErrHTTPStatus: the server answered neither 200 nor 304; the error is
	// a *StatusError.
	ErrHTTPStatus = errors.New("audiofetch: HTTP error status")
	// ErrTooLarge: the file is larger than Options.MaxDownloadBytes.
	ErrTooLarge = errors.New("audiofetch: audio file too large")
)

// StatusError is an answer other than 200 (or 304 to a conditional
// request). It matches ErrHTTPStatus with errors.Is.
type StatusError struct {
	StatusCode int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("audiofetch: HTTP %d %s", e.StatusCode, http.StatusText(e.StatusCode))
}

// Is makes errors.Is(err, ErrHTTPStatus) true.
func (e *StatusError) Is(target error) bool { return target == ErrHTTPStatus }

// Options configure a Cache; zero values take the defaults.
type Options struct {
	// Client makes the requests; nil uses a client of its own. Its own
	// timeout, if any, applies on top of Timeout.
	Client *http.Client
	// MaxBytes bounds the decoded audio kept (Clip.Size summed); 0 means
	// DefaultMaxBytes, negative keeps nothing (every Get downloads, but
	// concurrent Gets still share one download).
	MaxBytes int64
	// MaxDownloadBytes bounds one file; 0 means DefaultMaxDownloadBytes.
	MaxDownloadBytes int64
	// Timeout bounds one download and its decoding; 0 means DefaultTimeout.
	Timeout time.Duration
	// DefaultTTL is how long a response without max-age or Expires is
	// used without asking the server again; 0 means DefaultTTL, negative
	// revalidates on every use.
	DefaultTTL time.Duration
	// Decoder decodes the files (limits on the decoded length).
	Decoder audio.Decoder
	// Logger gets one line per download; nil discards.
	Logger *slog.Logger
	// Now is the clock for freshness; nil means time.Now.
	Now func() time.Time
}

// Stats counts what Get did, for tests and logs.
type Stats struct {
	Hits        int64 // clips served without a request
	Revalidated int64 // 304 answers: the cached clip was kept
	Downloads   int64 // files downloaded and decoded
	Evictions   int64 // clips dropped to stay within MaxBytes
	Entries     int   // clips held
	Bytes       int64 // decoded audio held
}

// Cache fetches and caches decoded audio. It is safe for concurrent use.
type Cache struct {
	client      *http.Client
	maxBytes    int64
	maxDownload int64
	timeout     time.Duration
	ttl         time.Duration
	decoder     audio.Decoder
	log         *slog.Logger
	now         func() time.Time

	group singleflight.Group

	mu      sync.Mutex
	entries map[string]*entry
	lru     list.List // of *entry, most recently used first
	stats   Stats
}

type entry struct {
	key          string
	clip         *media.Clip
	size         int64
	etag         string
	lastModified string
	expires      time.Time // fresh before this instant
	elem         *list.Element
}

// New returns a Cache.
func New(o Options) *Cache {
	c := &Cache{
		client:      o.Client,
		maxBytes:    o.MaxBytes,
		maxDownload: o.MaxDownloadBytes,
		timeout:     o.Timeout,
		ttl:         o.DefaultTTL,
		decoder:     o.Decoder,
		log:         o.Logger,
		now:         o.Now,
		entries:     make(map[string]*entry),
	}
	if c.client == nil {
		c.client = &http.Client{}
	}
	if c.maxBytes == 0 {
		c.maxBytes = DefaultMaxBytes
	}
	if c.maxDownload <= 0 {
		c.maxDownload = DefaultMaxDownloadBytes
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	switch {
	case c.ttl == 0:
		c.ttl = DefaultTTL
	case c.ttl < 0:
		c.ttl = 0
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// Get returns the decoded audio at rawURL, from memory when the cached
// response is fresh, after a conditional request when it is stale. Basic
// auth credentials in the URL's userinfo are sent as an Authorization
// header. When ctx ends first, Get returns at once; the download goes on
// (within Options.Timeout) for the other callers and the cache.
func (c *Cache) Get(ctx context.Context, rawURL string) (*media.Clip, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: unparsable URL", ErrBadURL)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w: scheme %q", ErrBadURL, u.Scheme)
	}
	if clip := c.fresh(rawURL); clip != nil {
		return clip, nil
	}
	// The download is not bound to the first caller's cancellation: the
	// others wait on it too.
	dctx := context.WithoutCancel(ctx)
	ch := c.group.DoChan(rawURL, func() (any, error) { return c.fetch(dctx, u, rawURL) })
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*media.Clip), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("audiofetch: waiting for the download: %w", ctx.Err())
	}
}

// Stats returns the counters so far.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Entries = len(c.entries)
	return s
}

// fresh returns the cached clip if it may be used without a request.
func (c *Cache) fresh(key string) *media.Clip {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil || !now.Before(e.expires) {
		return nil
	}
	c.lru.MoveToFront(e.elem)
	c.stats.Hits++
	return e.clip
}

func (c *Cache) fetch(ctx context.Context, u *url.URL, key string) (*media.Clip, error) {
	// A flight that ended just before this one began may have stored it.
	if clip := c.fresh(key); clip != nil {
		return clip, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	var cached entry
	c.mu.Lock()
	if e := c.entries[key]; e != nil {
		cached = *e
	}
	c.mu.Unlock()

	target := *u
	target.User = nil // sent as a header, kept out of logs and errors
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadURL, err)
	}
	if u.User != nil {
		pw, _ := u.User.Password()
		req.SetBasicAuth(u.User.Username(), pw)
	}
	if cached.clip != nil {
		if cached.etag != "" {
			req.Header.Set("If-None-Match", cached.etag)
		}
		if cached.lastModified != "" {
			req.Header.Set("If-Modified-Since", cached.lastModified)
		}
	}
	start := c.now()
	res, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	defer res.Body.Close()
	log := c.log.With("url", target.Redacted())

	switch {
	case res.StatusCode == http.StatusNotModified && cached.clip != nil:
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4096))
		expires, store := c.freshness(res.Header, c.now())
		cached.expires = expires
		if v := res.Header.Get("ETag"); v != "" {
			cached.etag = v
		}
		if v := res.Header.Get("Last-Modified"); v != "" {
			cached.lastModified = v
		}
		c.mu.Lock()
		c.stats.Revalidated++
		c.store(&cached, store)
		c.mu.Unlock()
		log.Debug("cached audio revalidated", "fresh_for", expires.Sub(c.now()))
		return cached.clip, nil
	case res.StatusCode != http.StatusOK:
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4096))
		return nil, &StatusError{StatusCode: res.StatusCode}
	}

	data, err := c.readBody(res)
	if err != nil {
		return nil, err
	}
	clip, err := c.decoder.Decode(data, res.Header.Get("Content-Type"))
	if err != nil {
		return nil, fmt.Errorf("audiofetch: decoding audio: %w", err)
	}
	expires, store := c.freshness(res.Header, c.now())
	e := &entry{
		key:          key,
		clip:         clip,
		etag:         res.Header.Get("ETag"),
		lastModified: res.Header.Get("Last-Modified"),
		expires:      expires,
	}
	c.mu.Lock()
	c.stats.Downloads++
	c.store(e, store)
	c.mu.Unlock()
	log.Info("audio downloaded", "bytes", len(data), "audio", clip.Duration(),
		"took", c.now().Sub(start), "cached", store && e.elem != nil)
	return clip, nil
}

// readBody reads the whole file within the download limit. With a known
// length the buffer is allocated exactly, since a clip that plays the
// file's bytes keeps the buffer alive.
func (c *Cache) readBody(res *http.Response) ([]byte, error) {
	if res.ContentLength > c.maxDownload {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrTooLarge, res.ContentLength, c.maxDownload)
	}
	if res.ContentLength > 0 {
		data := make([]byte, res.ContentLength)
		if _, err := io.ReadFull(res.Body, data); err != nil {
			return nil, fmt.Errorf("%w: reading the body: %w", ErrUnreachable, err)
		}
		return data, nil
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, c.maxDownload+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the body: %w", ErrUnreachable, err)
	}
	if int64(len(data)) > c.maxDownload {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, c.maxDownload)
	}
	return data, nil
}

// store puts e in the cache in place of any entry of its key, or only
// removes that entry when the response may not be stored. c.mu is held.
func (c *Cache) store(e *entry, allowed bool) {
	if old := c.entries[e.key]; old != nil {
		c.remove(old)
	}
	e.elem = nil
	e.size = int64(e.clip.Size())
	if !allowed || e.size > c.maxBytes {
		return
	}
	for c.stats.Bytes+e.size > c.maxBytes {
		c.remove(c.lru.Back().Value.(*entry))
		c.stats.Evictions++
	}
	e.elem = c.lru.PushFront(e)
	c.entries[e.key] = e
	c.stats.Bytes += e.size
}

func (c *Cache) remove(e *entry) {
	c.lru.Remove(e.elem)
	delete(c.entries, e.key)
	c.stats.Bytes -= e.size
}

// freshness tells until when a response may be used without asking again,
// and whether it may be stored at all.
func (c *Cache) freshness(h http.Header, now time.Time) (expires time.Time, store bool) {
	cc := parseCacheControl(h.Values("Cache-Control"))
	switch {
	case cc.noStore:
		return now, false
	case cc.noCache || (len(h.Values("Cache-Control")) == 0 && strings.EqualFold(h.Get("Pragma"), "no-cache")):
		return now, true
	case cc.maxAge >= 0:
		age, _ := strconv.Atoi(h.Get("Age"))
		return now.Add(time.Duration(cc.maxAge-max(age, 0)) * time.Second), true
	case h.Get("Expires") != "":
		exp, err := http.ParseTime(h.Get("Expires"))
		if err != nil { // "0" and other invalid dates mean already expired
			return now, true
		}
		base := now
		if d, err := http.ParseTime(h.Get("Date")); err == nil {
			base = d // the server's clock: only the lifetime is used
		}
		return now.Add(exp.Sub(base)), true
	default:
		return now.Add(c.ttl), true
	}
}

type cacheControl struct {
	noStore, noCache bool
	maxAge           int // seconds; -1 when absent
}

func parseCacheControl(values []string) cacheControl {
	cc := cacheControl{maxAge: -1}
	for _, v := range values {
		for d := range strings.SplitSeq(v, ",") {
			name, arg, _ := strings.Cut(strings.TrimSpace(d), "=")
			arg = strings.Trim(strings.TrimSpace(arg), `"`)
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-store":
				cc.noStore = true
			case "no-cache":
				// no-cache="field" only restricts those header fields.
				if arg == "" {
					cc.noCache = true
				}
			case "max-age":
				if n, err := strconv.Atoi(arg); err == nil && n >= 0 {
					cc.maxAge = n
				} else {
					cc.maxAge = 0 // invalid: treat as stale (RFC 9111 4.2.1)
				}
			}
		}
	}
	return cc
}
