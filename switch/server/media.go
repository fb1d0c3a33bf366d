package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/patchbay/patchbay/switch/call"
	"github.com/patchbay/patchbay/switch/media"
	"github.com/patchbay/patchbay/switch/sdp"
)

// maxWAVBytes bounds one WAV download (about 15 minutes of 8 kHz PCM16).
const maxWAVBytes = 16 << 20

// mediaFactory implements call.MediaFactory over the port pool, with a
// small cache of decoded WAVs: an IVR plays the same prompt to every caller,
// and fetching it for each call would put the app server on the call path.
type mediaFactory struct {
	pool    *media.PortPool
	client  *http.Client
	log     *slog.Logger
	ttl     time.Duration
	timeout time.Duration // bounds one WAV download

	mu    sync.Mutex
	cache map[string]cachedClip
}

type cachedClip struct {
	clip    *media.Clip
	fetched time.Time
}

const maxCachedClips = 256

var _ call.MediaFactory = (*mediaFactory)(nil)

func (f *mediaFactory) NewMedia() (call.Media, error) {
	port, err := f.pool.Allocate()
	if err != nil {
		return nil, fmt.Errorf("allocating RTP port: %w", err)
	}
	s, err := media.NewSession(port, media.WithLogger(f.log))
	if err != nil {
		port.Release()
		return nil, fmt.Errorf("starting RTP session: %w", err)
	}
	return &legMedia{s: s, log: f.log}, nil
}

func (f *mediaFactory) LoadAudio(ctx context.Context, rawURL string) (call.Audio, error) {
	f.mu.Lock()
	if c, ok := f.cache[rawURL]; ok && time.Since(c.fetched) < f.ttl {
		f.mu.Unlock()
		return c.clip, nil
	}
	f.mu.Unlock()
	fctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	clip, err := f.fetchWAV(fctx, rawURL)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	if len(f.cache) >= maxCachedClips {
		for k := range f.cache { // evict an arbitrary entry: a cheap bound, not an LRU
			delete(f.cache, k)
			break
		}
	}
	f.cache[rawURL] = cachedClip{clip: clip, fetched: time.Now()}
	f.mu.Unlock()
	return clip, nil
}

func (f *mediaFactory) fetchWAV(ctx context.Context, rawURL string) (*media.Clip, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("audio URL %q is not an http(s) URL", rawURL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("audio request: %w", err)
	}
	if u.User != nil {
		pw, _ := u.User.Password()
		req.SetBasicAuth(u.User.Username(), pw)
	}
	res, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching audio: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4096))
		return nil, fmt.Errorf("fetching audio: HTTP %d", res.StatusCode)
	}
	clip, err := media.ReadWAV(res.Body, maxWAVBytes)
	if err != nil {
		return nil, fmt.Errorf("decoding audio: %w", err)
	}
	return clip, nil
}

// legMedia adapts a media.Session to call.Media.
type legMedia struct {
	s     *media.Session
	log   *slog.Logger
	mu    sync.Mutex
	codec media.Codec
}

func (m *legMedia) LocalPort() int { return int(m.s.LocalAddr().Port()) }

func (m *legMedia) SetRemote(n sdp.Negotiated) {
	codec := media.CodecByName(n.Codec.Name)
	m.mu.Lock()
	m.codec = codec
	m.mu.Unlock()
	err := m.s.Configure(media.Params{
		Remote:           n.Remote,
		Codec:            codec,
		PayloadType:      n.Codec.PayloadType,
		Events:           n.HasEvents,
		EventPayloadType: n.EventPayloadType,
		NoSend:           !n.Direction.Sends(),
	})
	if err != nil {
		// Configure only fails on values Negotiate never produces.
		m.log.Error("configuring RTP session", "err", err)
	}
}

func (m *legMedia) Play(ctx context.Context, a call.Audio, loop int) error {
	clip, ok := a.(*media.Clip)
	if !ok {
		return errors.New("audio of an unknown kind")
	}
	m.mu.Lock()
	codec := m.codec
	m.mu.Unlock()
	src, err := clip.Source(codec)
	if err != nil {
		return err
	}
	err = m.s.Play(ctx, media.Loop(src, loop))
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func (m *legMedia) SetMuted(muted bool) { m.s.SetMuted(muted) }

// Session and Codec let the conference hub put this leg into a room.
func (m *legMedia) Session() *media.Session { return m.s }

func (m *legMedia) Codec() media.Codec {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.codec
}

func (m *legMedia) Bridge(other call.Media) (call.Bridge, error) {
	o, ok := other.(*legMedia)
	if !ok {
		return nil, errors.New("bridging media of an unknown kind")
	}
	return media.Bridge(m.s, o.s)
}

func (m *legMedia) Close() error { return m.s.Close() }
