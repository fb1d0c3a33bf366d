package wasmhost_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/wasmhost"
)

// prefixModule is a hand-written module, distinct for each k, whose hook
// "prefix" returns the first k bytes of its input: its answer says which
// module gave it.
func prefixModule(k int) []byte {
	hook := wasmFunc{
		export: "patchbay_hook_prefix", params: []byte{i32, i32}, results: []byte{i64},
		body: append([]byte{
			0x20, 0x00, 0xad, // local.get 0; i64.extend_i32_u
			0x42, 0x20, 0x86, // i64.const 32; i64.shl
			0x42}, append(sleb(int64(k)), 0x84)...), // i64.const k; i64.or
	}
	return assemble(nil, append(abiFuncs(1), hook), 1)
}

// TestCompiledModulesEvictedAndRecompiled loads more distinct modules than
// the compiled-module budget, invokes them round-robin from several
// goroutines, and checks that evictions and recompilations happened, that
// every answer came from the right module, and that the budget holds once
// nothing runs. Without and with CacheDir (bytes in memory, on disk).
func TestCompiledModulesEvictedAndRecompiled(t *testing.T) {
	for _, onDisk := range []bool{false, true} {
		t.Run(fmt.Sprintf("cacheDir=%v", onDisk), func(t *testing.T) {
			const modules, budget, workers, rounds = 10, 3, 4, 6
			cfg := wasmhost.Config{MaxCompiledModules: budget, LoadTimeout: 10 * time.Second, DefaultTimeout: 5 * time.Second}
			if onDisk {
				cfg.CacheDir = t.TempDir()
			}
			h, err := wasmhost.New(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close(context.Background())
			mods := make([]*wasmhost.Module, modules)
			for k := range mods {
				mods[k] = load(t, h, prefixModule(k+1), wasmhost.ModuleOptions{Name: fmt.Sprint("p", k+1), Hooks: []string{"prefix"}})
			}
			input := []byte("abcdefghijklmnopqrstuvwxyz")
			var wg sync.WaitGroup
			errs := make(chan error, workers*rounds*modules)
			for w := range workers {
				wg.Go(func() {
					for r := range rounds * modules {
						k := (r + w*3) % modules
						out, err := mods[k].Invoke(context.Background(), "prefix", input, wasmhost.CallInfo{})
						if err != nil {
							errs <- fmt.Errorf("module %d: %w", k+1, err)
						} else if !bytes.Equal(out, input[:k+1]) {
							errs <- fmt.Errorf("module %d answered %q", k+1, out)
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			s := h.Stats()
			if s.CompiledEvictions == 0 || s.Recompilations == 0 {
				t.Errorf("evictions %d, recompilations %d; want both > 0", s.CompiledEvictions, s.Recompilations)
			}
			if s.CompiledModules != modules || s.ResidentCompiled > budget {
				t.Errorf("%d compiled, %d resident; want %d and at most %d", s.CompiledModules, s.ResidentCompiled, modules, budget)
			}
			resident := 0
			for _, ms := range s.Modules {
				if ms.CodeResident {
					resident++
				} else if ms.InstancesIdle != 0 {
					t.Errorf("%s: evicted code but %d idle instances kept", ms.Name, ms.InstancesIdle)
				}
			}
			if resident != s.ResidentCompiled {
				t.Errorf("%d modules say resident, host says %d", resident, s.ResidentCompiled)
			}
		})
	}
}

// TestCompiledModuleInUseIsNotEvicted keeps one module busy (a guest in a
// loop) while others are loaded and invoked under a budget of one: the
// busy one stays resident until its invocation ends, and is evictable
// after.
func TestCompiledModuleInUseIsNotEvicted(t *testing.T) {
	h := newHost(t, wasmhost.Config{MaxCompiledModules: 1, MaxTimeout: 10 * time.Second})
	busy := load(t, h, guest(t, hostileDir), wasmhost.ModuleOptions{Name: "busy", Timeout: 2 * time.Second})
	looped := make(chan error, 1)
	go func() {
		_, err := busy.Invoke(context.Background(), "loop", []byte("x"), wasmhost.CallInfo{})
		looped <- err
	}()
	waitFor(t, func() bool { return busy.Stats().InstancesInUse == 1 })
	for k := range 3 {
		m := load(t, h, prefixModule(k+1), wasmhost.ModuleOptions{Hooks: []string{"prefix"}})
		if out, err := m.Invoke(context.Background(), "prefix", []byte("xyz"), wasmhost.CallInfo{}); err != nil || len(out) != k+1 {
			t.Fatalf("prefix %d: %q, %v", k+1, out, err)
		}
		if !busy.Stats().CodeResident {
			t.Fatal("the busy module's code was evicted while it ran")
		}
	}
	if err := <-looped; !errors.Is(err, wasmhost.ErrTimeout) {
		t.Fatalf("loop: %v, want ErrTimeout", err)
	}
	m := load(t, h, prefixModule(9), wasmhost.ModuleOptions{Hooks: []string{"prefix"}})
	if _, err := m.Invoke(context.Background(), "prefix", []byte("x"), wasmhost.CallInfo{}); err != nil {
		t.Fatal(err)
	}
	if busy.Stats().CodeResident {
		t.Error("the idle module's code was kept over the budget")
	}
	// And it comes back on its next use.
	if _, err := busy.Invoke(context.Background(), "echo", []byte("x"), wasmhost.CallInfo{}); err != nil {
		t.Fatalf("echo after eviction: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}
