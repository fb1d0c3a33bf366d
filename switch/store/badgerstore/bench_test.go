package badgerstore

import (
	"testing"

	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

// benchStores runs fn on an in-memory and an on-disk (unsynced) store.
func benchStores(b *testing.B, fn func(b *testing.B, s *Store)) {
	for _, name := range []string{"memory", "disk"} {
		b.Run(name, func(b *testing.B) {
			opts := Options{InMemory: name == "memory"}
			if !opts.InMemory {
				opts.Dir = b.TempDir()
			}
			s, err := Open(opts)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = s.Close() })
			fn(b, s)
		})
	}
}

// BenchmarkPutCall measures a state transition of an existing call, the
// switch's commonest write.
func BenchmarkPutCall(b *testing.B) {
	benchStores(b, func(b *testing.B, s *Store) {
		ctx := b.Context()
		c := newCall(sid.New(sid.Account), at(0), store.StatusRinging)
		statuses := []string{store.StatusRinging, store.StatusInProgress, store.StatusCompleted}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			c.Status = statuses[i%len(statuses)]
			i++
			if err := s.PutCall(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkCall(b *testing.B) {
	benchStores(b, func(b *testing.B, s *Store) {
		ctx := b.Context()
		c := newCall(sid.New(sid.Account), at(0), store.StatusInProgress)
		if err := s.PutCall(ctx, c); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Call(ctx, c.Sid); err != nil {
				b.Fatal(err)
			}
		}
	})
}
