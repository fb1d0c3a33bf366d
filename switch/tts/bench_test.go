package tts

import (
	"context"
	"testing"
)

// The <Say> latency a caller sees before the first frame: a hit is a map
// lookup; a miss runs espeak-ng on a ten-word sentence and decodes and
// resamples its 22,050 Hz output to 8 kHz (with the tests' decoder; the
// switch's audio.Decode may cost a little more or less).
//
//	go test -run '^$' -bench 'Say|Espeak' -benchmem ./switch/tts/

func benchCache(b *testing.B, opts ...CacheOption) *Cache {
	b.Helper()
	e, err := NewEspeak(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	c, err := NewCache(e, decode8k, opts...)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func BenchmarkSayHit(b *testing.B) {
	c := benchCache(b)
	ctx := context.Background()
	req := Request{Text: sentence, Voice: VoiceWoman, Language: "en"}
	if _, err := c.Say(ctx, req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if sp, err := c.Say(ctx, req); err != nil || !sp.Cached {
			b.Fatalf("%v, cached %v", err, sp.Cached)
		}
	}
}

func BenchmarkSayHitParallel(b *testing.B) {
	c := benchCache(b)
	ctx := context.Background()
	req := Request{Text: sentence, Voice: VoiceWoman, Language: "en"}
	if _, err := c.Say(ctx, req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Say(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkSayMiss keeps nothing, so every Say synthesizes and decodes.
func BenchmarkSayMiss(b *testing.B) {
	c := benchCache(b, WithCacheBytes(0))
	ctx := context.Background()
	req := Request{Text: sentence, Voice: VoiceWoman, Language: "en"}
	b.ReportAllocs()
	var audio float64
	for b.Loop() {
		sp, err := c.Say(ctx, req)
		if err != nil || sp.Cached {
			b.Fatalf("%v, cached %v", err, sp.Cached)
		}
		audio = sp.Clip.Duration().Seconds()
	}
	b.ReportMetric(audio, "audio-s/op")
}

// BenchmarkEspeakSynthesize is the espeak-ng part of a miss alone.
func BenchmarkEspeakSynthesize(b *testing.B) {
	e, err := NewEspeak(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	req := Request{Text: sentence, Voice: VoiceWoman, Language: "en"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Synthesize(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
