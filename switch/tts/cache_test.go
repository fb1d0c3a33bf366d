package tts

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/media"
)

// fakeProvider answers every request with a tone, one second unless
// seconds says otherwise, and counts the calls.
type fakeProvider struct {
	engine  string
	seconds float64
	calls   atomic.Int64
	// gate, when set, holds every synthesis until it is closed.
	gate chan struct{}
	// fail makes the next synthesis fail.
	fail atomic.Bool
	mu   sync.Mutex
	seen []Request
}

func (f *fakeProvider) Engine() string { return f.engine }

func (f *fakeProvider) Synthesize(ctx context.Context, req Request) ([]byte, error) {
	f.calls.Add(1)
	f.mu.Lock()
	f.seen = append(f.seen, req)
	f.mu.Unlock()
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f.fail.CompareAndSwap(true, false) {
		return nil, errors.New("engine hiccup")
	}
	d := time.Second
	if f.seconds > 0 {
		d = time.Duration(f.seconds * float64(time.Second))
	}
	return media.ToneWAV(d, 440, 8000), nil
}

func newCache(t *testing.T, p Provider, opts ...CacheOption) *Cache {
	t.Helper()
	c, err := NewCache(p, decode8k, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func say(t *testing.T, c *Cache, req Request) Speech {
	t.Helper()
	sp, err := c.Say(context.Background(), req)
	if err != nil {
		t.Fatalf("Say(%+v): %v", req, err)
	}
	if sp.Clip == nil || sp.Clip.Duration() <= 0 {
		t.Fatalf("Say(%+v): no audio", req)
	}
	return sp
}

func TestCacheHitDoesNotSynthesize(t *testing.T) {
	p := &fakeProvider{engine: "fake"}
	c := newCache(t, p)
	first := say(t, c, Request{Text: "hello", Voice: "man", Language: "en"})
	second := say(t, c, Request{Text: " hello ", Voice: "MAN", Language: "EN-us"})
	if n := p.calls.Load(); n != 1 {
		t.Fatalf("%d syntheses, want 1", n)
	}
	if first.Cached || !second.Cached || first.Clip != second.Clip {
		t.Fatalf("cached %v then %v, same clip %v: want a miss then a hit of the same clip",
			first.Cached, second.Cached, first.Clip == second.Clip)
	}
	if first.Engine != "fake" || first.Voice != VoiceMan || first.Language != "en" || first.LanguageFellBack {
		t.Fatalf("speech %+v", first)
	}
	if s := c.Stats(); s.Hits != 1 || s.Misses != 1 || s.Syntheses != 1 || s.Entries != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestCacheKeyHasAllFourParts(t *testing.T) {
	base := Request{Text: "hello", Voice: VoiceMan, Language: "en"}
	keys := map[string]key{
		"base":     cacheKey("espeak-ng", base),
		"engine":   cacheKey("http", base),
		"voice":    cacheKey("espeak-ng", Request{Text: base.Text, Voice: VoiceWoman, Language: base.Language}),
		"language": cacheKey("espeak-ng", Request{Text: base.Text, Voice: base.Voice, Language: "en-gb"}),
		"text":     cacheKey("espeak-ng", Request{Text: "hello!", Voice: base.Voice, Language: base.Language}),
	}
	seen, flights := map[key]string{}, map[string]string{}
	for part, k := range keys {
		if other, dup := seen[k]; dup {
			t.Errorf("changing %s gives the key of %s", part, other)
		}
		if other, dup := flights[k.flight()]; dup {
			t.Errorf("changing %s gives the flight of %s", part, other)
		}
		seen[k], flights[k.flight()] = part, part
	}

	p := &fakeProvider{engine: "fake"}
	c := newCache(t, p)
	for _, req := range []Request{
		base,
		{Text: base.Text, Voice: VoiceWoman, Language: base.Language},
		{Text: base.Text, Voice: base.Voice, Language: "de"},
		{Text: "goodbye", Voice: base.Voice, Language: base.Language},
	} {
		if sp := say(t, c, req); sp.Cached {
			t.Errorf("%+v: hit, want a miss", req)
		}
	}
	if n := p.calls.Load(); n != 4 {
		t.Fatalf("%d syntheses, want 4", n)
	}
}

func TestCacheConcurrentMissesSynthesizeOnce(t *testing.T) {
	p := &fakeProvider{engine: "fake", gate: make(chan struct{})}
	c := newCache(t, p)
	const callers = 16
	var wg sync.WaitGroup
	clips := make([]*media.Clip, callers)
	for i := range callers {
		wg.Go(func() {
			sp, err := c.Say(context.Background(), Request{Text: "hold on"})
			if err != nil {
				t.Error(err)
				return
			}
			clips[i] = sp.Clip
		})
	}
	// Every caller has looked and missed before the synthesis may end.
	for c.Stats().Misses < callers {
		time.Sleep(time.Millisecond)
	}
	close(p.gate)
	wg.Wait()
	if n := p.calls.Load(); n != 1 {
		t.Fatalf("%d syntheses for %d concurrent Says, want 1", n, callers)
	}
	for i, clip := range clips {
		if clip != clips[0] {
			t.Fatalf("caller %d got another clip", i)
		}
	}
}

func TestCacheEvictsLeastRecentlyUsedByBytes(t *testing.T) {
	p := &fakeProvider{engine: "fake"}
	// One second is 16,000 counted bytes plus key and overhead: room for two.
	c := newCache(t, p, WithCacheBytes(40000))
	say(t, c, Request{Text: "a"})
	say(t, c, Request{Text: "b"})
	say(t, c, Request{Text: "a"}) // a is now the most recent
	say(t, c, Request{Text: "c"}) // evicts b
	if s := c.Stats(); s.Entries != 2 || s.Evictions != 1 || s.Bytes > s.LimitBytes {
		t.Fatalf("stats %+v: want 2 entries within the limit after 1 eviction", s)
	}
	if !say(t, c, Request{Text: "a"}).Cached || !say(t, c, Request{Text: "c"}).Cached {
		t.Fatal("a or c was evicted, want b")
	}
	before := p.calls.Load()
	if say(t, c, Request{Text: "b"}).Cached || p.calls.Load() != before+1 {
		t.Fatal("b was still cached")
	}

	// A clip bigger than the whole budget is spoken but not kept.
	big := &fakeProvider{engine: "fake", seconds: 3}
	c = newCache(t, big, WithCacheBytes(40000))
	say(t, c, Request{Text: "long"})
	if sp := say(t, c, Request{Text: "long"}); sp.Cached || c.Stats().Entries != 0 {
		t.Fatalf("oversized clip was cached: %+v", c.Stats())
	}
}

func TestCacheDoesNotKeepFailures(t *testing.T) {
	p := &fakeProvider{engine: "fake"}
	p.fail.Store(true)
	c := newCache(t, p)
	if _, err := c.Say(context.Background(), Request{Text: "hello"}); err == nil {
		t.Fatal("failed synthesis: no error")
	}
	if sp := say(t, c, Request{Text: "hello"}); sp.Cached {
		t.Fatal("second Say after a failure was a hit")
	}
	if s := c.Stats(); s.Syntheses != 2 || s.Failures != 1 {
		t.Fatalf("stats %+v, want 2 syntheses, 1 failure", s)
	}

	bad, err := NewCache(p, func([]byte) (*media.Clip, error) { return nil, errors.New("unsupported") })
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := bad.Say(context.Background(), Request{Text: "hello"}); err == nil {
			t.Fatal("decode failure: no error")
		}
	}
	if s := bad.Stats(); s.Syntheses != 2 || s.Failures != 2 || s.Entries != 0 {
		t.Fatalf("stats %+v, want 2 failed syntheses and nothing kept", s)
	}
}

func TestCacheLanguageFallback(t *testing.T) {
	p := &fakeProvider{engine: "fake"}
	c := newCache(t, p)
	en := say(t, c, Request{Text: "hello", Language: "en"})
	xx := say(t, c, Request{Text: "hello", Language: "xx-klingon"})
	if !xx.LanguageFellBack || xx.Language != "en" || en.LanguageFellBack {
		t.Fatalf("fallback: en %+v, xx %+v", en, xx)
	}
	if !xx.Cached {
		t.Fatal("the fallback to en did not share the en clip")
	}
	if blank := say(t, c, Request{Text: "hello"}); blank.LanguageFellBack || blank.Language != "en" {
		t.Fatalf("no language: %+v, want en without a fallback", blank)
	}
}

func TestCacheWithoutEngine(t *testing.T) {
	c := newCache(t, nil)
	if _, err := c.Say(context.Background(), Request{Text: "hello"}); !errors.Is(err, ErrNoEngine) {
		t.Fatalf("Say without engine: %v, want ErrNoEngine", err)
	}
}

func TestCacheRejectsEmptyText(t *testing.T) {
	p := &fakeProvider{engine: "fake"}
	c := newCache(t, p)
	if _, err := c.Say(context.Background(), Request{Text: " \n"}); !errors.Is(err, ErrEmptyText) {
		t.Fatalf("blank text: %v, want ErrEmptyText", err)
	}
	if p.calls.Load() != 0 {
		t.Fatal("blank text reached the provider")
	}
}

// A caller that hangs up stops waiting; the synthesis goes on and the next
// caller gets the clip from memory.
func TestCacheCallerLeavesSynthesisContinues(t *testing.T) {
	p := &fakeProvider{engine: "fake", gate: make(chan struct{})}
	c := newCache(t, p)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Say(ctx, Request{Text: "hello"})
		done <- err
	}()
	for p.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("caller left: %v, want context.Canceled", err)
	}
	close(p.gate)
	for c.Stats().Entries == 0 {
		time.Sleep(time.Millisecond)
	}
	if !say(t, c, Request{Text: "hello"}).Cached {
		t.Fatal("the abandoned synthesis was not kept")
	}
	if n := p.calls.Load(); n != 1 {
		t.Fatalf("%d syntheses, want 1", n)
	}
}

func TestCacheWithEspeak(t *testing.T) {
	c := newCache(t, newEspeak(t))
	sp := say(t, c, Request{Text: sentence, Voice: VoiceWoman, Language: "en-gb"})
	if sp.Engine != EngineEspeak {
		t.Fatalf("engine %q", sp.Engine)
	}
	if share, frames := voicedShare(clipPCM(t, sp.Clip)); share < 0.5 {
		t.Fatalf("%.0f%% of %d frames voiced", 100*share, frames)
	}
	xx := say(t, c, Request{Text: sentence, Language: "tlh"})
	en := say(t, c, Request{Text: sentence, Language: "en"})
	if !xx.LanguageFellBack || xx.Language != "en" || !en.Cached || en.Clip != xx.Clip {
		t.Fatalf("unsupported language: %+v then en %+v: want a fallback to the en clip", xx, en)
	}
	if _, err := c.Say(context.Background(), Request{Text: ""}); !errors.Is(err, ErrEmptyText) {
		t.Fatalf("empty text: %v", err)
	}
}

func TestNewPicksTheEngine(t *testing.T) {
	ctx := context.Background()
	missing := WithEspeakPath(t.TempDir() + "/espeak-ng")
	tests := []struct {
		setting, url string
		opts         []Option
		engine       string // "" for an error
		noEngine     bool
	}{
		{setting: "auto", engine: EngineEspeak},
		{setting: "", engine: EngineEspeak},
		{setting: "auto", opts: []Option{missing}, noEngine: true},
		{setting: "espeak-ng", engine: EngineEspeak},
		{setting: "espeak-ng", opts: []Option{missing}},
		{setting: "http", url: "http://127.0.0.1:1/tts", engine: EngineHTTP},
		{setting: "http"},
		{setting: "http", url: "gopher://x"},
		{setting: "none", noEngine: true},
		{setting: "festival"},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s,%s,%d", tt.setting, tt.url, len(tt.opts))
		p, err := New(ctx, tt.setting, tt.url, tt.opts...)
		switch {
		case tt.engine != "":
			if err != nil || p.Engine() != tt.engine {
				t.Errorf("%s: %v, %v: want %s", name, p, err, tt.engine)
			}
		case tt.noEngine:
			if !errors.Is(err, ErrNoEngine) || p != nil {
				t.Errorf("%s: %v, %v: want ErrNoEngine", name, p, err)
			}
		default:
			if err == nil || errors.Is(err, ErrNoEngine) || p != nil {
				t.Errorf("%s: %v, %v: want a configuration error", name, p, err)
			}
		}
		t.Logf("%s: %v", name, err)
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		in       Request
		want     Request
		fellBack bool
	}{
		{Request{Text: " hi ", Voice: "", Language: ""}, Request{Text: "hi", Voice: "man", Language: "en"}, false},
		{Request{Text: "hi", Voice: "WOMAN", Language: "pt_BR"}, Request{Text: "hi", Voice: "woman", Language: "bp"}, false},
		{Request{Text: "hi", Voice: "child", Language: "da"}, Request{Text: "hi", Voice: "man", Language: "dan"}, false},
		{Request{Text: "hi", Language: "Fr-Be"}, Request{Text: "hi", Voice: "man", Language: "bf"}, false},
		{Request{Text: "hi", Language: "nb"}, Request{Text: "hi", Voice: "man", Language: "no"}, false},
		{Request{Text: "hi", Language: "ja"}, Request{Text: "hi", Voice: "man", Language: "en"}, true},
		{Request{Text: "a\xffb", Language: "en-GB"}, Request{Text: "ab", Voice: "man", Language: "en-gb"}, false},
	}
	for _, tt := range tests {
		got, fb := Resolve(tt.in)
		if got != tt.want || fb != tt.fellBack {
			t.Errorf("Resolve(%+v) = %+v, %v; want %+v, %v", tt.in, got, fb, tt.want, tt.fellBack)
		}
	}
	if n := len(Languages()); n != 22 {
		t.Errorf("%d languages, want Restcomm's 22: %v", n, Languages())
	}
	for _, l := range Languages() {
		if _, ok := espeakVoices[l]; !ok {
			t.Errorf("no espeak-ng voice for %s", l)
		}
	}
}
