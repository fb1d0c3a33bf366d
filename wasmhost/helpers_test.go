package wasmhost_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/wasmhost"
	"github.com/patchbay/patchbay/wasmhost/wasmtest"
)

// guests builds the Go guests of this test binary, each once: a build
// takes seconds, and every test of a guest uses the same bytes.
var guests wasmtest.Builder

// cacheDir is the compilation cache the hosts of this test binary share,
// made by TestMain.
var cacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wasmhost-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// guest builds the Go guest in pkgDir (relative to this package) as a
// wasip1 reactor, once per test binary.
func guest(tb testing.TB, pkgDir string) []byte {
	tb.Helper()
	return guests.Go(tb, "./"+pkgDir)
}

// newHost starts a host closed at the end of the test.
// Unless the test names its own, the hosts of a test binary share one
// compilation cache, so each Go guest is compiled once per run.
func newHost(tb testing.TB, cfg wasmhost.Config) *wasmhost.Host {
	tb.Helper()
	if cfg.CacheDir == "" {
		cfg.CacheDir = cacheDir
	}
	// Tests check what decisions do, not how fast: the production budget
	// (50 ms) is blown under -race on a loaded 2-vCPU CI box by a decision
	// that grows guest memory. Tests of the deadline set their own budgets.
	if cfg.DefaultTimeout == 0 {
		cfg.DefaultTimeout = 5 * time.Second
	}
	if cfg.MaxTimeout == 0 {
		cfg.MaxTimeout = 10 * time.Second
	}
	h, err := wasmhost.New(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close(context.Background()) })
	return h
}

func load(tb testing.TB, h *wasmhost.Host, wasm []byte, opts wasmhost.ModuleOptions) *wasmhost.Module {
	tb.Helper()
	m, err := h.Load(context.Background(), wasm, opts)
	if err != nil {
		tb.Fatalf("Load: %v", err)
	}
	tb.Cleanup(m.Close)
	return m
}

// syncBuffer is a log sink safe for the goroutines of a test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func jsonLogger(w *syncBuffer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }

// A minimal WebAssembly encoder for hand-written modules: tiny guests that
// prove the ABI is not Go-specific, and malformed ones Go cannot produce.

const (
	i32 = 0x7f
	i64 = 0x7e
)

type wasmFunc struct {
	export          string
	params, results []byte
	body            []byte // instructions, without the final end
}

type wasmImport struct {
	module, name    string
	params, results []byte
}

func uleb(v uint64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

func sleb(v int64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func name(s string) []byte { return append(uleb(uint64(len(s))), s...) }

func vec(items ...[]byte) []byte {
	b := uleb(uint64(len(items)))
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

func section(id byte, body []byte) []byte {
	return append(append([]byte{id}, uleb(uint64(len(body)))...), body...)
}

func funcType(params, results []byte) []byte {
	return append(append([]byte{0x60}, vec(bytesOf(params)...)...), vec(bytesOf(results)...)...)
}

func bytesOf(b []byte) [][]byte {
	out := make([][]byte, len(b))
	for i := range b {
		out[i] = b[i : i+1]
	}
	return out
}

// assemble encodes a module with the given imports and functions, one
// memory of memPages pages exported as "memory" (none when memPages < 0).
func assemble(imports []wasmImport, funcs []wasmFunc, memPages int) []byte {
	var types, imps, fidx, exps, codes [][]byte
	for i, im := range imports {
		types = append(types, funcType(im.params, im.results))
		imps = append(imps, append(append(name(im.module), name(im.name)...), append([]byte{0x00}, uleb(uint64(i))...)...))
	}
	for i, f := range funcs {
		t := len(types)
		types = append(types, funcType(f.params, f.results))
		fidx = append(fidx, uleb(uint64(t)))
		if f.export != "" {
			exps = append(exps, append(name(f.export), append([]byte{0x00}, uleb(uint64(len(imports)+i))...)...))
		}
		body := append(vec(), f.body...) // no locals
		body = append(body, 0x0b)
		codes = append(codes, append(uleb(uint64(len(body))), body...))
	}
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, section(1, vec(types...))...)
	if len(imps) > 0 {
		m = append(m, section(2, vec(imps...))...)
	}
	m = append(m, section(3, vec(fidx...))...)
	if memPages >= 0 {
		m = append(m, section(5, vec(append([]byte{0x00}, uleb(uint64(memPages))...)))...)
		exps = append(exps, append(name("memory"), 0x02, 0x00))
	}
	m = append(m, section(7, vec(exps...))...)
	m = append(m, section(10, vec(codes...))...)
	return m
}

func i32Const(v int32) []byte { return append([]byte{0x41}, sleb(int64(v))...) }

// abiFuncs returns a version export answering version and an alloc that
// always hands out offset 1024.
func abiFuncs(version int32) []wasmFunc {
	return []wasmFunc{
		{export: "patchbay_abi_version", results: []byte{i32}, body: i32Const(version)},
		{export: "patchbay_alloc", params: []byte{i32}, results: []byte{i32}, body: i32Const(1024)},
	}
}

// echoHook returns its input: (ptr<<32 | len), written without Go.
var echoHook = wasmFunc{
	export: "patchbay_hook_echo", params: []byte{i32, i32}, results: []byte{i64},
	body: []byte{
		0x20, 0x00, 0xad, // local.get 0; i64.extend_i32_u
		0x42, 0x20, 0x86, // i64.const 32; i64.shl
		0x20, 0x01, 0xad, // local.get 1; i64.extend_i32_u
		0x84, // i64.or
	},
}
