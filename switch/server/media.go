package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/patchbay/patchbay/switch/audiofetch"
	"github.com/patchbay/patchbay/switch/call"
	"github.com/patchbay/patchbay/switch/media"
	"github.com/patchbay/patchbay/switch/sdp"
)

// mediaFactory implements call.MediaFactory over the port pool. <Play>
// audio comes from one cache for the whole switch: an IVR plays the same
// prompts and hold music to every caller, and fetching them per call would
// put the application server on the call path.
type mediaFactory struct {
	pool  *media.PortPool
	log   *slog.Logger
	audio *audiofetch.Cache
	beep  *media.Clip
}

// newAudioCache is the <Play> cache of cfg: AudioCacheMB of decoded audio
// (0 keeps nothing, though concurrent plays of one URL still share one
// download), each download bounded by FetchTimeout like an RCML fetch.
func newAudioCache(cfg Config, client *http.Client, log *slog.Logger) *audiofetch.Cache {
	maxBytes := int64(cfg.AudioCacheMB) << 20
	if maxBytes == 0 {
		maxBytes = -1
	}
	return audiofetch.New(audiofetch.Options{
		Client:   client,
		MaxBytes: maxBytes,
		Timeout:  cfg.FetchTimeout,
		Logger:   log,
	})
}

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

// LoadAudio fetches (or takes from the cache) and decodes the WAV or MP3
// at url. Errors match audiofetch's and audio's sentinels.
func (f *mediaFactory) LoadAudio(ctx context.Context, rawURL string) (call.Audio, error) {
	clip, err := f.audio.Get(ctx, rawURL)
	if err != nil {
		return nil, err
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
