package tts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// EngineHTTP is the engine name of the HTTP provider.
const EngineHTTP = "http"

// bodySnippet bounds how much of an error response goes into StatusError.
const bodySnippet = 200

// HTTP fetches speech from an operator's text-to-speech service; the
// package documentation gives the contract.
type HTTP struct {
	target   string // the URL without user info
	redacted string // the URL for logs and errors
	user     *url.Userinfo
	client   *http.Client
	maxText  int
	maxAudio int64
	timeout  time.Duration
	log      *slog.Logger
}

var _ Provider = (*HTTP)(nil)

// StatusError is a text-to-speech service that answered something other
// than 200.
type StatusError struct {
	URL        string // redacted: any password is replaced
	StatusCode int
	Body       string // the start of the body, for the operator
}

// Error names the service, the status and the start of the body.
func (e *StatusError) Error() string {
	msg := fmt.Sprintf("tts: POST %s: HTTP %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// NewHTTP returns a provider that POSTs to rawURL, an absolute http or https
// URL. It does not contact the service: a service that is down at start-up
// may be up by the first call.
func NewHTTP(rawURL string, opts ...Option) (*HTTP, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		// url.Error repeats the URL, which may hold a password: keep the reason.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("tts: text-to-speech URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("tts: text-to-speech URL %s: scheme %q is not http or https", u.Redacted(), u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("tts: text-to-speech URL %s: no host", u.Redacted())
	}
	h := &HTTP{
		redacted: u.Redacted(),
		user:     u.User,
		client:   c.client,
		maxText:  c.maxText,
		maxAudio: c.maxAudio,
		timeout:  c.timeout,
		log:      c.log,
	}
	u.User = nil
	h.target = u.String()
	return h, nil
}

// Engine returns "http".
func (h *HTTP) Engine() string { return EngineHTTP }

// Synthesize POSTs the request's Text, Voice and Language as a form and
// returns the body of a 200 audio/wav or audio/mpeg answer.
func (h *HTTP) Synthesize(ctx context.Context, req Request) ([]byte, error) {
	req, _ = Resolve(req)
	if err := checkText(req.Text, h.maxText); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	form := url.Values{"Text": {req.Text}, "Voice": {req.Voice}, "Language": {req.Language}}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, h.target, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("tts: POST %s: %w", h.redacted, err)
	}
	hreq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hreq.Header.Set("Accept", "audio/wav, audio/mpeg;q=0.5")
	if h.user != nil {
		pass, _ := h.user.Password()
		hreq.SetBasicAuth(h.user.Username(), pass)
	}
	start := time.Now()
	resp, err := h.client.Do(hreq)
	if err != nil {
		// *url.Error names the target, which has no user info.
		return nil, fmt.Errorf("tts: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, h.maxAudio+1))
	if resp.StatusCode != http.StatusOK {
		return nil, &StatusError{URL: h.redacted, StatusCode: resp.StatusCode, Body: snippet(body)}
	}
	if err != nil {
		return nil, fmt.Errorf("tts: POST %s: read body: %w", h.redacted, err)
	}
	if int64(len(body)) > h.maxAudio {
		return nil, fmt.Errorf("%w: POST %s answered more than %d bytes", ErrAudioTooLarge, h.redacted, h.maxAudio)
	}
	ct := resp.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	switch strings.ToLower(mt) {
	case "audio/wav", "audio/wave", "audio/x-wav", "audio/vnd.wave":
		if err := checkWAV(body); err != nil {
			return nil, fmt.Errorf("%w (POST %s)", err, h.redacted)
		}
	case "audio/mpeg", "audio/mp3":
		if len(body) == 0 {
			return nil, fmt.Errorf("%w: empty body (POST %s)", ErrNoAudio, h.redacted)
		}
	default:
		return nil, fmt.Errorf("tts: POST %s: content type %q is not audio/wav or audio/mpeg", h.redacted, ct)
	}
	h.log.Debug("tts: HTTP synthesized", "url", h.redacted, "language", req.Language, "voice", req.Voice,
		"text_bytes", len(req.Text), "audio_bytes", len(body), "took", time.Since(start))
	return body, nil
}

// snippet returns the start of an error body as printable text.
func snippet(b []byte) string {
	if len(b) > bodySnippet {
		b = b[:bodySnippet]
	}
	s := strings.ToValidUTF8(string(b), "")
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == utf8.RuneError || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}
