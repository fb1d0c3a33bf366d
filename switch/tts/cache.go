package tts

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/patchbay/patchbay/switch/media"
)

// DecodeFunc turns a provider's audio file into an 8 kHz clip, resampling
// as needed (the switch passes audio.Decode).
type DecodeFunc func(audio []byte) (*media.Clip, error)

// Speech is the result of Say.
type Speech struct {
	// Clip is the speech at 8 kHz, shared with other calls: never modified.
	Clip *media.Clip
	// Engine names the provider that synthesized it.
	Engine string
	// Voice and Language are what was spoken: man or woman, and a canonical
	// language code.
	Voice, Language string
	// LanguageFellBack reports that the requested language is not supported
	// and en was spoken instead; the call records a warning notification.
	LanguageFellBack bool
	// Cached reports a clip that was in memory; false means this Say waited
	// for a synthesis (its own or one another call started).
	Cached bool
}

// Stats counts what a Cache did since it was made.
type Stats struct {
	Hits       uint64 // Says served from memory
	Misses     uint64 // Says that waited for a synthesis
	Syntheses  uint64 // provider calls; below Misses when concurrent Says shared one
	Failures   uint64 // syntheses or decodes that failed (not cached)
	Evictions  uint64 // clips dropped to stay within the byte budget
	Entries    int    // clips in memory
	Bytes      int64  // their counted size
	LimitBytes int64  // the byte budget
}

// entryOverhead is what an entry costs beyond its key and samples: list
// element, map slot, Clip header.
const entryOverhead = 160

// Cache speaks <Say> requests through a provider and keeps the decoded
// clips in memory. Its methods are safe for concurrent use.
type Cache struct {
	provider Provider
	engine   string
	decode   DecodeFunc
	maxBytes int64
	timeout  time.Duration
	flights  singleflight.Group

	mu      sync.Mutex
	lru     list.List // of *cacheEntry, most recently used at the front
	entries map[key]*list.Element
	bytes   int64

	hits, misses, syntheses, failures, evictions uint64
}

type cacheEntry struct {
	key  key
	clip *media.Clip
	size int64
}

// NewCache returns a cache in front of p that decodes with decode. p may be
// nil (no engine configured): every Say then fails with ErrNoEngine.
func NewCache(p Provider, decode DecodeFunc, opts ...CacheOption) (*Cache, error) {
	if decode == nil {
		return nil, errors.New("tts: nil decode function")
	}
	c := &Cache{
		provider: p,
		decode:   decode,
		maxBytes: 32 << 20,
		timeout:  30 * time.Second,
		entries:  map[key]*list.Element{},
	}
	if p != nil {
		c.engine = p.Engine()
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Engine names the provider's engine, or is "" without one.
func (c *Cache) Engine() string { return c.engine }

// Say returns req spoken as an 8 kHz clip: from memory, or synthesized and
// decoded once for all the calls that ask for it at the same time. A
// synthesis does not belong to the call that started it: it runs on
// (bounded by the cache's synthesis timeout) when that call goes away, so
// that the others waiting for it, and later calls, still get the clip;
// Say itself returns as soon as ctx ends. Failures are not cached. The
// Speech's Voice, Language and LanguageFellBack are set on failure too, for
// the notification.
func (c *Cache) Say(ctx context.Context, req Request) (Speech, error) {
	req, fellBack := Resolve(req)
	sp := Speech{Engine: c.engine, Voice: req.Voice, Language: req.Language, LanguageFellBack: fellBack}
	if c.provider == nil {
		return sp, ErrNoEngine
	}
	if req.Text == "" {
		return sp, ErrEmptyText
	}
	k := cacheKey(c.engine, req)
	if clip := c.lookup(k, true); clip != nil {
		sp.Clip, sp.Cached = clip, true
		return sp, nil
	}
	ch := c.flights.DoChan(k.flight(), func() (any, error) {
		return c.synthesize(context.WithoutCancel(ctx), k, req)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return sp, res.Err
		}
		sp.Clip = res.Val.(*media.Clip)
		return sp, nil
	case <-ctx.Done():
		return sp, fmt.Errorf("tts: waiting for speech: %w", ctx.Err())
	}
}

// key identifies a clip: a struct, so a hit builds no string.
type key struct{ engine, voice, language, text string }

func cacheKey(engine string, req Request) key {
	return key{engine: engine, voice: req.Voice, language: req.Language, text: req.Text}
}

// flight names the single flight of k. Engine, voice and language come
// from fixed sets without NULs and the text is last, so two keys share a
// name only if they are equal.
func (k key) flight() string {
	var b strings.Builder
	b.Grow(len(k.engine) + len(k.voice) + len(k.language) + len(k.text) + 3)
	for _, part := range []string{k.engine, k.voice, k.language} {
		b.WriteString(part)
		b.WriteByte(0)
	}
	b.WriteString(k.text)
	return b.String()
}

// size is what the key is counted as in the cache's memory.
func (k key) size() int64 {
	return int64(len(k.engine) + len(k.voice) + len(k.language) + len(k.text))
}

// synthesize runs in the single flight of key: the provider, then decode,
// then the clip goes into memory.
func (c *Cache) synthesize(ctx context.Context, k key, req Request) (*media.Clip, error) {
	// A flight that ended just before this one started may have stored it.
	if clip := c.lookup(k, false); clip != nil {
		return clip, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	c.count(&c.syntheses)
	audio, err := c.provider.Synthesize(ctx, req)
	if err != nil {
		c.count(&c.failures)
		return nil, err
	}
	clip, err := c.decode(audio)
	if err != nil {
		c.count(&c.failures)
		return nil, fmt.Errorf("tts: decode %s speech (%d bytes): %w", c.engine, len(audio), err)
	}
	if clip.Duration() <= 0 {
		c.count(&c.failures)
		return nil, fmt.Errorf("tts: decode %s speech (%d bytes): %w", c.engine, len(audio), ErrNoAudio)
	}
	c.store(k, clip)
	return clip, nil
}

// lookup returns the clip of k, or nil; countMiss counts a Say that found
// nothing.
func (c *Cache) lookup(k key, countMiss bool) *media.Clip {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[k]; ok {
		c.lru.MoveToFront(e)
		if countMiss {
			c.hits++
		}
		return e.Value.(*cacheEntry).clip
	}
	if countMiss {
		c.misses++
	}
	return nil
}

func (c *Cache) store(k key, clip *media.Clip) {
	size := int64(clip.Size()) + k.size() + entryOverhead
	c.mu.Lock()
	defer c.mu.Unlock()
	if size > c.maxBytes {
		return // would evict everything and still not fit
	}
	if _, ok := c.entries[k]; ok {
		return
	}
	c.entries[k] = c.lru.PushFront(&cacheEntry{key: k, clip: clip, size: size})
	c.bytes += size
	for c.bytes > c.maxBytes {
		e := c.lru.Back()
		ce := c.lru.Remove(e).(*cacheEntry)
		delete(c.entries, ce.key)
		c.bytes -= ce.size
		c.evictions++
	}
}

func (c *Cache) count(n *uint64) {
	c.mu.Lock()
	*n++
	c.mu.Unlock()
}

// Stats returns the counters and the memory in use.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{
		Hits: c.hits, Misses: c.misses, Syntheses: c.syntheses, Failures: c.failures,
		Evictions: c.evictions, Entries: c.lru.Len(), Bytes: c.bytes, LimitBytes: c.maxBytes,
	}
}

// CacheOption configures a Cache in NewCache.
type CacheOption func(*Cache) error

// WithCacheBytes bounds the memory of the cached clips, counted as their
// audio (media.Clip.Size: two bytes a sample once resampled) plus their key;
// 0 keeps nothing (every Say synthesizes, concurrent
// ones still share). Default 32 MiB, about 35 minutes of speech.
func WithCacheBytes(n int64) CacheOption {
	return func(c *Cache) error {
		if n < 0 {
			return fmt.Errorf("tts: cache bytes %d < 0", n)
		}
		c.maxBytes = n
		return nil
	}
}

// WithSynthesisTimeout bounds a synthesis and its decode, whichever call
// started it and whether or not anyone still waits. Default 30 s; the
// providers' own timeouts (WithTimeout) are usually shorter.
func WithSynthesisTimeout(d time.Duration) CacheOption {
	return func(c *Cache) error {
		if d <= 0 {
			return errors.New("tts: synthesis timeout must be positive")
		}
		c.timeout = d
		return nil
	}
}
