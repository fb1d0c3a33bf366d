package badgerstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"reflect"
	"sync"
	"testing"

	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func newPlugin(acct, name string, module []byte, minute int) store.Plugin {
	return store.Plugin{
		Sid:         sid.New(sid.Plugin),
		AccountSid:  acct,
		Name:        name,
		Hash:        hashOf(module),
		Size:        int64(len(module)),
		Hooks:       []string{"redirect", "hangup"},
		FailModes:   map[string]string{"redirect": store.FailClosed, "hangup": store.FailOpen},
		TimeoutMs:   50,
		MemoryMB:    64,
		Config:      `{"voicemail":"https://vm.example/"}`,
		DateCreated: at(minute),
		DateUpdated: at(minute),
	}
}

func TestPluginsCRUD(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		acct, other := sid.New(sid.Account), sid.New(sid.Account)
		modA := []byte("\x00asm module A")
		modB := bytes.Repeat([]byte("B"), 3<<20) // over the value threshold and the batch size
		zeta := newPlugin(acct, "zeta", modA, 0)
		alpha := newPlugin(acct, "alpha", modB, 10)
		foreign := newPlugin(other, "zeta", modA, 5) // same name and bytes, other account
		for _, p := range []struct {
			p   store.Plugin
			mod []byte
		}{{zeta, modA}, {alpha, modB}, {foreign, modA}} {
			if err := s.PutPlugin(ctx, p.p, p.mod); err != nil {
				t.Fatalf("PutPlugin(%s): %v", p.p.Name, err)
			}
		}
		got, err := s.Plugin(ctx, acct, "zeta")
		if err != nil || !reflect.DeepEqual(got, zeta) {
			t.Fatalf("Plugin(zeta) = %+v, %v; want %+v", got, err, zeta)
		}
		if _, err := s.Plugin(ctx, acct, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Plugin(nope) error = %v, want ErrNotFound", err)
		}
		list, err := s.Plugins(ctx, acct)
		if err != nil || len(list) != 2 || list[0].Name != "alpha" || list[1].Name != "zeta" {
			t.Fatalf("Plugins = %+v, %v; want [alpha zeta] in name order", list, err)
		}
		all, err := s.AllPlugins(ctx)
		if err != nil || len(all) != 3 {
			t.Fatalf("AllPlugins = %d plugins, %v; want 3", len(all), err)
		}
		if m, err := s.PluginModule(ctx, alpha.Hash); err != nil || !bytes.Equal(m, modB) {
			t.Fatalf("PluginModule(B) = %d bytes, %v", len(m), err)
		}

		// A second plugin may not take a name in use in its account.
		dup := newPlugin(acct, "zeta", modA, 20)
		if err := s.PutPlugin(ctx, dup, modA); !errors.Is(err, store.ErrExists) {
			t.Errorf("PutPlugin(duplicate name) error = %v, want ErrExists", err)
		}
		// A wrong hash is refused rather than stored under a lie.
		liar := newPlugin(acct, "liar", modA, 20)
		liar.Hash = hashOf(modB)
		if err := s.PutPlugin(ctx, liar, modA); err == nil {
			t.Error("PutPlugin with a wrong hash succeeded")
		}

		// Replacing zeta with B: A stays, the other account still uses it.
		zeta2 := zeta
		zeta2.Hash, zeta2.Size, zeta2.DateUpdated, zeta2.Config = alpha.Hash, alpha.Size, at(30), "v2"
		if err := s.PutPlugin(ctx, zeta2, modB); err != nil {
			t.Fatalf("PutPlugin(replace): %v", err)
		}
		if got, _ := s.Plugin(ctx, acct, "zeta"); got.Hash != alpha.Hash || got.Config != "v2" {
			t.Fatalf("after replace = %+v", got)
		}
		if _, err := s.PluginModule(ctx, zeta.Hash); err != nil {
			t.Fatalf("module A dropped while the other account uses it: %v", err)
		}
		// Deleting the last user of A drops A; B is kept for alpha.
		if err := s.DeletePlugin(ctx, other, "zeta"); err != nil {
			t.Fatalf("DeletePlugin: %v", err)
		}
		if _, err := s.PluginModule(ctx, zeta.Hash); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("module A after its last user left: %v, want ErrNotFound", err)
		}
		if err := s.DeletePlugin(ctx, acct, "zeta"); err != nil {
			t.Fatalf("DeletePlugin: %v", err)
		}
		if _, err := s.PluginModule(ctx, alpha.Hash); err != nil {
			t.Fatalf("module B dropped while alpha uses it: %v", err)
		}
		if err := s.DeletePlugin(ctx, acct, "zeta"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeletePlugin twice: %v, want ErrNotFound", err)
		}
		// The name is free again.
		if err := s.PutPlugin(ctx, dup, modA); err != nil {
			t.Fatalf("PutPlugin(reused name): %v", err)
		}
		if err := s.DeletePlugin(ctx, acct, "alpha"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PluginModule(ctx, alpha.Hash); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("module B after alpha left: %v, want ErrNotFound", err)
		}
		if list, _ := s.Plugins(ctx, other); len(list) != 0 {
			t.Errorf("Plugins(other) = %+v after delete", list)
		}
	})
}

func TestPluginsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Dir: dir})
	mod := []byte("module bytes")
	p := newPlugin(sid.New(sid.Account), "keep", mod, 0)
	if err := s.PutPlugin(t.Context(), p, mod); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, Options{Dir: dir})
	all, err := s.AllPlugins(t.Context())
	if err != nil || len(all) != 1 || !reflect.DeepEqual(all[0], p) {
		t.Fatalf("AllPlugins after reopen = %+v, %v", all, err)
	}
	if m, err := s.PluginModule(t.Context(), p.Hash); err != nil || !bytes.Equal(m, mod) {
		t.Fatalf("PluginModule after reopen = %q, %v", m, err)
	}
}

func TestDecisionsInOrder(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		call, other := sid.New(sid.Call), sid.New(sid.Call)
		if got, err := s.Decisions(ctx, call); err != nil || len(got) != 0 {
			t.Fatalf("Decisions(no decisions) = %+v, %v", got, err)
		}
		// Same timestamp for all: order must come from insertion.
		var want []store.Decision
		for i, verdict := range []string{store.VerdictRewrite, store.VerdictError, store.VerdictAllow, store.VerdictDeny} {
			d := store.Decision{
				Sid: sid.New("DE"), CallSid: call, AccountSid: "AC1", Hook: "redirect",
				Plugin: "p" + string(rune('a'+i)), PluginAccountSid: "AC0", Hash: "h", Verdict: verdict,
				LatencyMicros: int64(40 + i), DateCreated: at(0),
			}
			if verdict == store.VerdictRewrite {
				d.RewriteURL, d.RewriteMethod = "https://app.example/vm", "GET"
			}
			if verdict == store.VerdictError {
				d.Error, d.FailMode = "plugin/pb: timeout", store.FailOpen
			}
			want = append(want, d)
			if err := s.AddDecision(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddDecision(ctx, store.Decision{Sid: sid.New("DE"), CallSid: other, Verdict: store.VerdictAllow}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Decisions(ctx, call)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Decisions = %+v, %v\nwant %+v", got, err, want)
		}
	})
}

func TestDecisionsConcurrent(t *testing.T) {
	s := openStore(t, Options{InMemory: true})
	call := sid.New(sid.Call)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				if err := s.AddDecision(t.Context(), store.Decision{Sid: sid.New("DE"), CallSid: call, Verdict: store.VerdictAllow}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	got, err := s.Decisions(t.Context(), call)
	if err != nil || len(got) != 80 {
		t.Fatalf("Decisions = %d, %v; want 80 (none overwritten)", len(got), err)
	}
}
