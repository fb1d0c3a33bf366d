package wasmhost_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/patchbay/patchbay/sdk"
	"github.com/patchbay/patchbay/wasmhost"
)

const (
	hostileDir = "testdata/hostile"
	trivialDir = "testdata/trivial"
)

func redirectInput(sid, config string) []byte {
	return sdk.AppendRedirectInput(nil, sdk.RedirectInput{
		Call:    sdk.Call{Sid: sid, AccountSid: "AC1", From: "alice", To: "bob", Direction: "inbound", Status: "in-progress", URL: "http://app/a"},
		Request: sdk.RedirectRequest{URL: "http://app/b", Method: "POST", RequesterSid: "AC1"},
		Config:  config,
	})
}

func decide(t testing.TB, m *wasmhost.Module, sid, config string) sdk.Decision {
	t.Helper()
	out, err := m.Invoke(context.Background(), sdk.HookRedirect, redirectInput(sid, config), wasmhost.CallInfo{CallSid: sid})
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	var d sdk.Decision
	if err := sdk.DecodeDecision(out, &d); err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(sdk.HookRedirect); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestSDKGuestDecides(t *testing.T) {
	h := newHost(t, wasmhost.Config{})
	m := load(t, h, guest(t, trivialDir), wasmhost.ModuleOptions{Name: "trivial", Hooks: []string{sdk.HookRedirect}})
	if d := decide(t, m, "CA1", "deny"); d.Verdict != sdk.VerdictDeny || d.Reason != "CA1" {
		t.Fatalf("decision = %+v, want deny CA1", d)
	}
	if d := decide(t, m, "CA2", ""); d.Verdict != sdk.VerdictAllow {
		t.Fatalf("decision = %+v, want allow", d)
	}
	s := m.Stats()
	if s.Invocations != 2 || s.Instantiations != 1 || s.InstancesIdle != 1 || len(s.Hash) != 64 {
		t.Fatalf("stats = %+v: want 2 invocations on the one instance Load started", s)
	}
}

func TestSDKGuestWithoutAHookIsRefusedAtLoad(t *testing.T) {
	h := newHost(t, wasmhost.Config{})
	_, err := h.Load(context.Background(), guest(t, trivialDir), wasmhost.ModuleOptions{Name: "trivial", Hooks: []string{sdk.HookHangup}})
	if !errors.Is(err, wasmhost.ErrMissingExport) || !strings.Contains(err.Error(), "does not implement it") {
		t.Fatalf("Load binding an unregistered hook = %v, want ErrMissingExport", err)
	}
}

func TestHandWrittenGuest(t *testing.T) {
	h := newHost(t, wasmhost.Config{})
	m := load(t, h, assemble(nil, append(abiFuncs(1), echoHook), 1), wasmhost.ModuleOptions{Name: "wat", Hooks: []string{"echo"}})
	out, err := m.Invoke(context.Background(), "echo", []byte("language neutral"), wasmhost.CallInfo{})
	if err != nil || string(out) != "language neutral" {
		t.Fatalf("Invoke = %q, %v", out, err)
	}
}

func TestInfiniteLoopStopsAtTheDeadlineAndOthersGoOn(t *testing.T) {
	h := newHost(t, wasmhost.Config{})
	const budget = 200 * time.Millisecond
	bad := load(t, h, guest(t, hostileDir), wasmhost.ModuleOptions{Name: "loop", Timeout: budget, Hooks: []string{"loop"}})
	good := load(t, h, guest(t, trivialDir), wasmhost.ModuleOptions{Name: "good"})

	var (
		looping  atomic.Bool
		during   atomic.Int64 // good decisions completed while the loop ran
		wg       sync.WaitGroup
		loopDone = make(chan struct{})
	)
	looping.Store(true)
	wg.Go(func() {
		for {
			select {
			case <-loopDone:
				return
			default:
			}
			// Not decide: t.Fatal must not be called off the test goroutine.
			if _, err := good.Invoke(context.Background(), sdk.HookRedirect, redirectInput("CA1", ""), wasmhost.CallInfo{CallSid: "CA1"}); err != nil {
				t.Errorf("good decision while the loop ran: %v", err)
				return
			}
			if looping.Load() {
				during.Add(1)
			}
		}
	})
	start := time.Now()
	_, err := bad.Invoke(context.Background(), "loop", []byte("x"), wasmhost.CallInfo{CallSid: "CA9"})
	elapsed := time.Since(start)
	looping.Store(false)
	close(loopDone)
	wg.Wait()

	if !errors.Is(err, wasmhost.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("loop = %v, want ErrTimeout matching context.DeadlineExceeded", err)
	}
	if elapsed > budget+300*time.Millisecond {
		t.Fatalf("loop stopped after %v, budget %v", elapsed, budget)
	}
	if during.Load() == 0 {
		t.Fatal("another module made no progress while the loop ran")
	}
	// The timed-out instance was discarded; the next invocation gets a
	// fresh one.
	if _, err := bad.Invoke(context.Background(), "echo", []byte("x"), wasmhost.CallInfo{}); err != nil {
		t.Fatalf("echo after a timeout: %v", err)
	}
	s := bad.Stats()
	if s.Timeouts != 1 || s.Instantiations != 2 {
		t.Fatalf("stats = %+v, want 1 timeout and a replacement instance", s)
	}
}

func TestMemoryBombStopsAtTheCap(t *testing.T) {
	h := newHost(t, wasmhost.Config{MaxTimeout: 10 * time.Second})
	m := load(t, h, guest(t, hostileDir), wasmhost.ModuleOptions{Name: "bomb", MemoryMB: 16, Timeout: 10 * time.Second})
	_, err := m.Invoke(context.Background(), "bomb", []byte("x"), wasmhost.CallInfo{})
	if !errors.Is(err, wasmhost.ErrMemoryLimit) {
		t.Fatalf("bomb = %v, want ErrMemoryLimit", err)
	}
	if _, err := m.Invoke(context.Background(), "echo", []byte("x"), wasmhost.CallInfo{}); err != nil {
		t.Fatalf("echo after the bomb: %v", err)
	}
	if s := m.Stats(); s.MemoryLimitHits != 1 || s.Instantiations != 2 {
		t.Fatalf("stats = %+v, want 1 memory-cap hit and a replacement instance", s)
	}
}

func TestModuleNeedingMoreThanItsCapAtStartIsRefused(t *testing.T) {
	h := newHost(t, wasmhost.Config{})
	_, err := h.Load(context.Background(), assemble(nil, abiFuncs(1), 32), wasmhost.ModuleOptions{MemoryMB: 1})
	if !errors.Is(err, wasmhost.ErrMemoryLimit) {
		t.Fatalf("Load = %v, want ErrMemoryLimit", err)
	}
}

func TestPanicIsATrapAndItsOutputIsLogged(t *testing.T) {
	var logs syncBuffer
	h := newHost(t, wasmhost.Config{Logger: jsonLogger(&logs)})
	m := load(t, h, guest(t, hostileDir), wasmhost.ModuleOptions{Name: "panicky"})
	_, err := m.Invoke(context.Background(), "panic", []byte("x"), wasmhost.CallInfo{CallSid: "CA42"})
	if !errors.Is(err, wasmhost.ErrTrap) {
		t.Fatalf("panic = %v, want ErrTrap", err)
	}
	var e *wasmhost.Error
	if !errors.As(err, &e) || e.Plugin != "panicky" || e.Hook != "panic" {
		t.Fatalf("error %v does not name the plugin and hook", err)
	}
	found := false
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "hostile guest panics on purpose") {
			var rec map[string]any
			json.Unmarshal([]byte(line), &rec)
			found = rec["plugin"] == "panicky" && rec["call_sid"] == "CA42" && rec["stream"] == "stderr"
		}
	}
	if !found {
		t.Fatalf("panic message not logged with plugin and call sid:\n%s", logs.String())
	}
	if m.Stats().Traps != 1 {
		t.Fatalf("stats = %+v", m.Stats())
	}
}

func TestGarbageOutput(t *testing.T) {
	h := newHost(t, wasmhost.Config{})
	m := load(t, h, guest(t, hostileDir), wasmhost.ModuleOptions{Name: "garbage"})
	_, err := m.Invoke(context.Background(), "garbage", []byte("x"), wasmhost.CallInfo{})
	if !errors.Is(err, wasmhost.ErrBadOutput) || !strings.Contains(err.Error(), "outside the guest's memory") {
		t.Fatalf("garbage = %v, want ErrBadOutput", err)
	}
	if m.Stats().BadOutputs != 1 {
		t.Fatalf("stats = %+v", m.Stats())
	}
}

func TestOversizedOutput(t *testing.T) {
	h := newHost(t, wasmhost.Config{})
	m := load(t, h, guest(t, hostileDir), wasmhost.ModuleOptions{Name: "big"})
	_, err := m.Invoke(context.Background(), "oversized", []byte("x"), wasmhost.CallInfo{})
	if !errors.Is(err, wasmhost.ErrBadOutput) || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("oversized = %v, want ErrBadOutput", err)
	}
}

func TestOversizedInput(t *testing.T) {
	h := newHost(t, wasmhost.Config{})
	m := load(t, h, guest(t, hostileDir), wasmhost.ModuleOptions{Name: "in"})
	_, err := m.Invoke(context.Background(), "echo", make([]byte, sdk.MaxInputBytes+1), wasmhost.CallInfo{})
	if !errors.Is(err, wasmhost.ErrInputTooLarge) {
		t.Fatalf("Invoke = %v, want ErrInputTooLarge", err)
	}
}

func TestMissingExports(t *testing.T) {
	h := newHost(t, wasmhost.Config{})
	versionOnly := abiFuncs(1)[:1]
	wrongAlloc := []wasmFunc{abiFuncs(1)[0], {export: "patchbay_alloc", results: []byte{i32}, body: i32Const(0)}}
	for _, tc := range []struct {
		name  string
		wasm  []byte
		hooks []string
		want  string
	}{
		{"hook", guest(t, hostileDir), []string{"redirect"}, "patchbay_hook_redirect"},
		{"alloc", assemble(nil, versionOnly, 1), nil, "patchbay_alloc"},
		{"alloc type", assemble(nil, wrongAlloc, 1), nil, "has type () -> (i32), want (i32) -> (i32)"},
		{"memory", assemble(nil, abiFuncs(1), -1), nil, "memory"},
		{"version", assemble(nil, abiFuncs(1)[1:], 1), nil, "patchbay_abi_version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.Load(context.Background(), tc.wasm, wasmhost.ModuleOptions{Name: "x", Hooks: tc.hooks})
			if !errors.Is(err, wasmhost.ErrMissingExport) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load = %v, want ErrMissingExport naming %q", err, tc.want)
			}
		})
	}
	m := load(t, h, assemble(nil, append(abiFuncs(1), echoHook), 1), wasmhost.ModuleOptions{})
	if _, err := m.Invoke(context.Background(), "redirect", nil, wasmhost.CallInfo{}); !errors.Is(err, wasmhost.ErrMissingExport) {
		t.Fatalf("Invoke of an absent hook = %v, want ErrMissingExport", err)
	}
	if s := h.Stats(); len(s.Modules) != 1 || s.CompiledModules != 1 {
		t.Fatalf("failed loads left something behind: %+v", s)
	}
}

func TestWrongABIVersion(t *testing.T) {
	h := newHost(t, wasmhost.Config{})
	_, err := h.Load(context.Background(), assemble(nil, abiFuncs(7), 1), wasmhost.ModuleOptions{Name: "future"})
	if !errors.Is(err, wasmhost.ErrABIVersion) || !strings.Contains(err.Error(), "version 7") || !strings.Contains(err.Error(), "version 1") {
		t.Fatalf("Load = %v, want ErrABIVersion naming versions 7 and 1", err)
	}
}

func TestModuleTooLarge(t *testing.T) {
	h := newHost(t, wasmhost.Config{MaxModuleBytes: 1 << 20})
	_, err := h.Load(context.Background(), guest(t, trivialDir), wasmhost.ModuleOptions{})
	if !errors.Is(err, wasmhost.ErrModuleTooLarge) {
		t.Fatalf("Load = %v, want ErrModuleTooLarge", err)
	}
}

func TestNotWebAssemblyAndForeignImports(t *testing.T) {
	h := newHost(t, wasmhost.Config{})
	env := []wasmImport{{module: "env", name: "steal", results: []byte{i32}}}
	for name, wasm := range map[string][]byte{
		"garbage":        []byte("this is not a module"),
		"foreign import": assemble(env, abiFuncs(1), 1),
	} {
		_, err := h.Load(context.Background(), wasm, wasmhost.ModuleOptions{})
		if !errors.Is(err, wasmhost.ErrCompile) {
			t.Errorf("%s: Load = %v, want ErrCompile", name, err)
		}
	}
}

func TestSandboxGivesNoFilesEnvironmentNetworkOrClock(t *testing.T) {
	t.Setenv("PATCHBAY_SECRET", "hunter2")
	h := newHost(t, wasmhost.Config{})
	m := load(t, h, guest(t, hostileDir), wasmhost.ModuleOptions{Name: "nosy", Timeout: time.Second})
	start := time.Now()
	out, err := m.Invoke(context.Background(), "sandbox", []byte("x"), wasmhost.CallInfo{})
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		ReadFileErr  string   `json:"read_file_err"`
		OpenDotErr   string   `json:"open_dot_err"`
		ReaddirErr   string   `json:"readdir_err"`
		WriteFileErr string   `json:"write_file_err"`
		Environ      []string `json:"environ"`
		Args         []string `json:"args"`
		NowUnix      int64    `json:"now_unix"`
		SleptNs      int64    `json:"slept_ns"`
		AcceptErrnos []int32  `json:"accept_errnos"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if r.ReadFileErr == "" || r.OpenDotErr == "" || r.ReaddirErr == "" || r.WriteFileErr == "" {
		t.Errorf("guest reached the filesystem: %+v", r)
	}
	if _, err := os.Stat("/tmp/patchbay-guest-was-here"); err == nil {
		t.Error("guest wrote a file on the host")
	}
	const ebadf = 8 // WASI's errno: no such descriptor
	if len(r.AcceptErrnos) != 13 || slices.ContainsFunc(r.AcceptErrnos, func(e int32) bool { return e != ebadf }) {
		t.Errorf("guest has a descriptor past stdio (sock_accept errnos %v, want EBADF for each)", r.AcceptErrnos)
	}
	if len(r.Environ) != 0 || len(r.Args) != 0 {
		t.Errorf("guest saw environment %q and args %q", r.Environ, r.Args)
	}
	fake := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	if r.NowUnix < fake || r.NowUnix > fake+3600 {
		t.Errorf("guest clock reads %v, want the fixed 2022-01-01 fake", time.Unix(r.NowUnix, 0).UTC())
	}
	if r.SleptNs < int64(200*time.Millisecond) {
		t.Errorf("guest's sleep reported %v, want at least the 200ms asked", time.Duration(r.SleptNs))
	}
	// A guest's sleep never blocks the host: the fake clock runs ahead.
	if real := time.Since(start); real >= 200*time.Millisecond {
		t.Errorf("a guest sleeping 200ms held the host %v", real)
	}
}

func TestGuestOutputIsCapturedAndBounded(t *testing.T) {
	var logs syncBuffer
	h := newHost(t, wasmhost.Config{Logger: jsonLogger(&logs), GuestLogBytes: 1000})
	m := load(t, h, guest(t, hostileDir), wasmhost.ModuleOptions{Name: "chatty"})
	if _, err := m.Invoke(context.Background(), "chatty", []byte("x"), wasmhost.CallInfo{CallSid: "CA7"}); err != nil {
		t.Fatal(err)
	}
	var hello, spam, dropped int
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("%v: %q", err, line)
		}
		if rec["plugin"] != "chatty" || rec["call_sid"] != "CA7" {
			t.Fatalf("record not tagged with plugin and call: %v", rec)
		}
		switch {
		case rec["msg"] == "hello from the guest" && rec["stream"] == "stdout":
			hello++
		case strings.HasPrefix(rec["msg"].(string), "spam"):
			spam++
		case strings.Contains(rec["msg"].(string), "dropped"):
			dropped++
		}
	}
	if hello != 1 || spam == 0 || spam > 1000/40+1 || dropped != 1 {
		t.Fatalf("hello %d, spam %d, dropped notices %d; logs:\n%s", hello, spam, dropped, logs.String())
	}
}

func TestSameBytesShareCodeButNotState(t *testing.T) {
	h := newHost(t, wasmhost.Config{})
	wasm := guest(t, hostileDir)
	a := load(t, h, wasm, wasmhost.ModuleOptions{Name: "tenant-a"})
	b := load(t, h, wasm, wasmhost.ModuleOptions{Name: "tenant-b"})
	if a.Hash() != b.Hash() || h.Stats().CompiledModules != 1 {
		t.Fatalf("same bytes compiled twice: %+v", h.Stats())
	}
	for range 3 {
		if _, err := a.Invoke(context.Background(), "count", []byte("x"), wasmhost.CallInfo{}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := b.Invoke(context.Background(), "count", []byte("x"), wasmhost.CallInfo{})
	if err != nil || string(out) != "1" {
		t.Fatalf("tenant b's first count = %q, %v; want 1 (no state shared with tenant a)", out, err)
	}
	a.Close()
	if _, err := a.Invoke(context.Background(), "count", []byte("x"), wasmhost.CallInfo{}); !errors.Is(err, wasmhost.ErrClosed) {
		t.Fatalf("Invoke after Close = %v", err)
	}
	if _, err := b.Invoke(context.Background(), "count", []byte("x"), wasmhost.CallInfo{}); err != nil {
		t.Fatalf("closing a broke b: %v", err)
	}
}

func TestIdleInstancesOverBudgetAreEvicted(t *testing.T) {
	h := newHost(t, wasmhost.Config{IdleMemoryBytes: 1})
	m := load(t, h, assemble(nil, append(abiFuncs(1), echoHook), 1), wasmhost.ModuleOptions{})
	for range 3 {
		if _, err := m.Invoke(context.Background(), "echo", []byte("x"), wasmhost.CallInfo{}); err != nil {
			t.Fatal(err)
		}
	}
	s := m.Stats()
	if s.InstancesIdle != 0 || s.Instantiations != 4 || h.Stats().IdleBytes != 0 {
		t.Fatalf("stats = %+v, host %+v: want every idle instance evicted", s, h.Stats())
	}
}

// TestCompilationCacheOnDisk starts a host twice on one cache directory:
// the first compiles and writes the module's code there, the second finds
// it and writes nothing (a recompilation would store the code again).
func TestCompilationCacheOnDisk(t *testing.T) {
	dir := t.TempDir()
	wasm := assemble(nil, append(abiFuncs(1), echoHook), 1)
	var first map[string]fs.FileInfo
	for i := range 2 {
		h := newHost(t, wasmhost.Config{CacheDir: dir})
		m := load(t, h, wasm, wasmhost.ModuleOptions{})
		if out, err := m.Invoke(context.Background(), "echo", []byte("x"), wasmhost.CallInfo{}); err != nil || string(out) != "x" {
			t.Fatalf("run %d: echo = %q, %v", i, out, err)
		}
		h.Close(context.Background())
		files := stampFiles(t, dir)
		switch {
		case len(files) == 0:
			t.Fatalf("run %d: the cache directory holds no file", i)
		case i == 0:
			first = files
		case !maps.EqualFunc(files, first, unwritten):
			t.Fatalf("the second start wrote to the cache, so it compiled again:\nbefore %v\nafter  %v", describe(first), describe(files))
		}
	}
}

func describe(files map[string]fs.FileInfo) []string {
	var out []string
	for path, info := range files {
		out = append(out, fmt.Sprintf("%s %d bytes %s", filepath.Base(path), info.Size(), info.ModTime().Format(time.RFC3339Nano)))
	}
	return out
}

// unwritten reports whether b is still the file a: a write changes its
// size or time, a replacement by rename its inode.
func unwritten(a, b fs.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

func stampFiles(t *testing.T, dir string) map[string]fs.FileInfo {
	t.Helper()
	files := map[string]fs.FileInfo{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files[path] = info
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestCallerCancellation(t *testing.T) {
	h := newHost(t, wasmhost.Config{})
	m := load(t, h, guest(t, hostileDir), wasmhost.ModuleOptions{Timeout: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := m.Invoke(ctx, "loop", []byte("x"), wasmhost.CallInfo{})
	if !errors.Is(err, wasmhost.ErrCanceled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Invoke = %v, want ErrCanceled", err)
	}
}

// TestHammer runs many concurrent decisions through one module with a
// small pool and checks every caller gets the answer to its own question.
func TestHammer(t *testing.T) {
	h := newHost(t, wasmhost.Config{PoolSize: 3, DefaultTimeout: 5 * time.Second})
	m := load(t, h, guest(t, trivialDir), wasmhost.ModuleOptions{Name: "hammer"})
	const workers, each = 24, 40
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				sid := "CA" + strings.Repeat("0", 10) + string(rune('a'+w)) + string(rune('a'+i%26))
				out, err := m.Invoke(context.Background(), sdk.HookRedirect, redirectInput(sid, "deny"), wasmhost.CallInfo{CallSid: sid})
				if err != nil {
					t.Error(err)
					return
				}
				var d sdk.Decision
				if err := sdk.DecodeDecision(out, &d); err != nil || d.Reason != sid {
					t.Errorf("asked for %s, got %+v (%v)", sid, d, err)
					return
				}
			}
		})
	}
	wg.Wait()
	s := m.Stats()
	if s.Invocations != workers*each || s.Instantiations > 3 || s.InstancesInUse != 0 {
		t.Fatalf("stats = %+v: want %d invocations on at most 3 instances", s, workers*each)
	}
}

// inputBuffer is a patchbay_input_buffer export answering ptr<<32 | size.
func inputBuffer(ptr, size uint32) wasmFunc {
	return wasmFunc{export: "patchbay_input_buffer", results: []byte{i64},
		body: append([]byte{0x42}, sleb(int64(uint64(ptr)<<32|uint64(size)))...)}
}

// A guest with an input buffer is invoked with one call: its
// patchbay_alloc traps, so an invocation only succeeds if the host wrote
// the input into the buffer. An input larger than the buffer goes through
// patchbay_alloc (and here meets its trap).
func TestInputBufferSavesTheAllocCall(t *testing.T) {
	h := newHost(t, wasmhost.Config{})
	trappingAlloc := wasmFunc{export: "patchbay_alloc", params: []byte{i32}, results: []byte{i32}, body: []byte{0x00}}
	funcs := []wasmFunc{abiFuncs(1)[0], trappingAlloc, inputBuffer(2048, 64), echoHook}
	m := load(t, h, assemble(nil, funcs, 1), wasmhost.ModuleOptions{Name: "buffered", Hooks: []string{"echo"}})
	for _, in := range []string{"language neutral", strings.Repeat("x", 64), "again, same buffer"} {
		out, err := m.Invoke(context.Background(), "echo", []byte(in), wasmhost.CallInfo{})
		if err != nil || string(out) != in {
			t.Fatalf("Invoke(%q) = %q, %v", in, out, err)
		}
	}
	_, err := m.Invoke(context.Background(), "echo", []byte(strings.Repeat("x", 65)), wasmhost.CallInfo{})
	if !errors.Is(err, wasmhost.ErrTrap) || !strings.Contains(err.Error(), "patchbay_alloc") {
		t.Fatalf("an input over the buffer = %v, want the trap of patchbay_alloc", err)
	}
}

func TestBadInputBufferIsRefusedAtLoad(t *testing.T) {
	h := newHost(t, wasmhost.Config{})
	outside := append(abiFuncs(1), inputBuffer(65536-16, 64), echoHook)
	_, err := h.Load(context.Background(), assemble(nil, outside, 1), wasmhost.ModuleOptions{Name: "outside", Hooks: []string{"echo"}})
	if !errors.Is(err, wasmhost.ErrBadOutput) || !strings.Contains(err.Error(), "patchbay_input_buffer: 64 bytes at 0xfff0 are outside") {
		t.Fatalf("Load with an input buffer past the memory = %v, want ErrBadOutput naming it", err)
	}
	wrongType := append(abiFuncs(1), wasmFunc{export: "patchbay_input_buffer", results: []byte{i32}, body: i32Const(0)}, echoHook)
	_, err = h.Load(context.Background(), assemble(nil, wrongType, 1), wasmhost.ModuleOptions{Name: "typed", Hooks: []string{"echo"}})
	if !errors.Is(err, wasmhost.ErrMissingExport) || !strings.Contains(err.Error(), "export patchbay_input_buffer has type () -> (i32), want () -> (i64)") {
		t.Fatalf("Load with a mistyped input buffer = %v, want ErrMissingExport", err)
	}
}

// An SDK guest exports the input buffer, so the host takes the one-call
// road, and the strings it decodes never change afterwards: a handler that
// keeps one from each decision still reads it right one decision later,
// across several of the arenas inputs are carved from.
func TestSDKInputsStayIntactAcrossDecisions(t *testing.T) {
	wasm := guest(t, trivialDir)
	ctx := context.Background()
	// The interpreter only decodes and validates: enough to list exports.
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	cm, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cm.ExportedFunctions()[sdk.ExportInputBuffer]; !ok {
		t.Fatalf("the SDK guest does not export %s", sdk.ExportInputBuffer)
	}
	// A budget far above the default: what is checked is what the handler
	// reads, and under -race the decisions that grow the guest's memory
	// or collect its heap can take longer than the default 50 ms.
	h := newHost(t, wasmhost.Config{PoolSize: 1, MaxTimeout: time.Minute})
	m := load(t, h, wasm, wasmhost.ModuleOptions{Name: "remember", Timeout: time.Minute})
	prev := ""
	for i := range 2000 { // ~600 inputs of this size fill an arena
		sid := fmt.Sprintf("CA%032d", i)
		in := sdk.RedirectInput{Call: sdk.Call{Sid: sid, URL: "https://app.example.com/" + strings.Repeat("x", 200)}, Config: "remember"}
		out, err := m.Invoke(ctx, sdk.HookRedirect, sdk.AppendRedirectInput(nil, in), wasmhost.CallInfo{CallSid: sid})
		if err != nil {
			t.Fatal(err)
		}
		var d sdk.Decision
		if err := sdk.DecodeDecision(out, &d); err != nil || d.Reason != "previous "+prev {
			t.Fatalf("decision %d: %+v, %v; want the reason %q", i, d, err, "previous "+prev)
		}
		prev = sid
	}
	if s := m.Stats(); s.Instantiations != 1 {
		t.Fatalf("stats %+v: the decisions did not all run on one instance", s)
	}
}
