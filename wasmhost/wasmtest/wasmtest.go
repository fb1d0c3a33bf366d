// Package wasmtest builds Go packages into wasip1 reactor guests for tests.
//
// A build takes seconds, so a test package keeps one [Builder] for its whole
// test binary (a package-level variable; the zero value is ready) and every
// test asking for the same guest gets the same bytes.
package wasmtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Builder builds Go packages with the stock toolchain as
// GOOS=wasip1 GOARCH=wasm -buildmode=c-shared modules (reactors: they export
// _initialize instead of running main) and remembers each result, failures
// included, for the life of the Builder.
//
// The zero value is ready to use. A Builder is safe for concurrent use; it
// must not be copied after first use. It keeps nothing on disk between
// builds, so it needs no closing.
type Builder struct {
	mu     sync.Mutex
	builds map[buildKey]*build
}

type buildKey struct {
	pkg, ldflags string
}

// build is one cached result; once makes concurrent callers of the same
// guest wait for a single go build instead of starting their own.
type build struct {
	once sync.Once
	wasm []byte
	err  error
}

// Go returns pkg built as a wasip1 reactor, building it on the first call
// for this pkg and ldflags. pkg is a package as go build takes it, resolved
// from the test's working directory (the package under test's directory):
// "." or "./testdata/guest". ldflags, if any, are passed joined by spaces
// as -ldflags (e.g. "-X main.version=v2").
//
// The returned bytes are shared by every caller asking for the same build:
// they must not be modified. Go fails tb if go is not on PATH (go test puts
// its own toolchain first) or the build fails.
func (b *Builder) Go(tb testing.TB, pkg string, ldflags ...string) []byte {
	tb.Helper()
	wasm, err := b.build(pkg, strings.Join(ldflags, " "))
	if err != nil {
		tb.Fatal(err)
	}
	return wasm
}

func (b *Builder) build(pkg, ldflags string) ([]byte, error) {
	key := buildKey{pkg: pkg, ldflags: ldflags}
	b.mu.Lock()
	if b.builds == nil {
		b.builds = map[buildKey]*build{}
	}
	r, ok := b.builds[key]
	if !ok {
		r = &build{}
		b.builds[key] = r
	}
	b.mu.Unlock()
	r.once.Do(func() { r.wasm, r.err = goBuild(pkg, ldflags) })
	return r.wasm, r.err
}

// goBuild runs one go build into a directory of its own, removed once the
// module is read, so nothing outlives the call even if the test binary is
// killed later.
func goBuild(pkg, ldflags string) ([]byte, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("wasmtest: building %s: finding the go command: %w", pkg, err)
	}
	dir, err := os.MkdirTemp("", "wasmtest-")
	if err != nil {
		return nil, fmt.Errorf("wasmtest: building %s: %w", pkg, err)
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "guest.wasm")
	args := []string{"build", "-buildmode=c-shared", "-o", out}
	if ldflags != "" {
		args = append(args, "-ldflags", ldflags)
	}
	cmd := exec.Command(goBin, append(args, pkg)...)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("wasmtest: building %s (ldflags %q): %w\n%s", pkg, ldflags, err, msg)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("wasmtest: reading the build of %s: %w", pkg, err)
	}
	return wasm, nil
}
