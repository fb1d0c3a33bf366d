package rcmlwasm_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/patchbay/patchbay/plugins/rcml/rcmltest"
	"github.com/patchbay/patchbay/switch/rcmlwasm"
	"github.com/patchbay/patchbay/wasmhost"
	"github.com/patchbay/patchbay/wasmhost/wasmtest"
)

// testEnv holds what the tests of this binary share: the compilation cache
// (so each test's host loads the module from disk rather than compiling it)
// and the guests, each built once.
var testEnv struct {
	cacheDir string
	guests   wasmtest.Builder
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rcmlwasm-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testEnv.cacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// newHost starts a host that is closed when the test ends.
func newHost(tb testing.TB, cfg wasmhost.Config) *wasmhost.Host {
	tb.Helper()
	cfg.CacheDir = testEnv.cacheDir
	ctx := context.Background()
	h, err := wasmhost.New(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close(ctx) })
	return h
}

// newInterpreter loads the embedded RCML handler into a fresh host.
func newInterpreter(tb testing.TB, opts ...rcmlwasm.Option) *rcmlwasm.Interpreter {
	tb.Helper()
	in, err := rcmlwasm.New(context.Background(), newHost(tb, wasmhost.Config{}), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(in.Close)
	return in
}

// hostileGuest builds testdata/hostileguest as a wasip1 reactor, once.
func hostileGuest(tb testing.TB) []byte {
	tb.Helper()
	return testEnv.guests.Go(tb, "./testdata/hostileguest")
}

// typicalDoc is the typical ~1 KiB IVR document every RCML benchmark and
// differential test parses.
var typicalDoc = rcmltest.Typical()

const docURL = "http://app.example.com/ivr/start.xml"
