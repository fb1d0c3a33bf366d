package wasmtest

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

const stamped = "./testdata/stamped"

// versionLen runs wasm as a reactor (start function _initialize, not main)
// and returns what its version_len export reports.
func versionLen(t *testing.T, wasm []byte) uint64 {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	mod, err := rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
	if err != nil {
		t.Fatalf("instantiating as a reactor: %v", err)
	}
	res, err := mod.ExportedFunction("version_len").Call(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return res[0]
}

// TestGoBuildsReactorsWithLdflags proves the flags reach the build: the
// guest runs as a reactor and sees the version stamped into it.
func TestGoBuildsReactorsWithLdflags(t *testing.T) {
	var b Builder
	short := b.Go(t, stamped, "-X main.version=v1")
	long := b.Go(t, stamped, "-s", "-X main.version=v12345")
	if got := versionLen(t, short); got != 2 {
		t.Errorf("version_len of the v1 build = %d, want 2", got)
	}
	if got := versionLen(t, long); got != 6 {
		t.Errorf("version_len of the v12345 build = %d, want 6", got)
	}
}

// TestGoCachesPerPackageAndFlags checks concurrent callers of one build
// share a single result, and other flags make another build.
func TestGoCachesPerPackageAndFlags(t *testing.T) {
	var b Builder
	const callers = 4
	results := make([][]byte, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { results[i], errs[i] = b.build(stamped, "-X main.version=a") })
	}
	wg.Wait()
	for i := range callers {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if &results[i][0] != &results[0][0] {
			t.Errorf("caller %d got its own build, want the shared one", i)
		}
	}
	if again := b.Go(t, stamped, "-X main.version=a"); &again[0] != &results[0][0] {
		t.Error("a later call rebuilt the guest")
	}
	if other := b.Go(t, stamped, "-X main.version=b"); &other[0] == &results[0][0] {
		t.Error("other ldflags returned the cached build")
	}
	if n := len(b.builds); n != 2 {
		t.Errorf("%d builds cached, want 2", n)
	}
}

// TestGoReportsBuildFailures checks a failed build carries the compiler's
// output and is not retried.
func TestGoReportsBuildFailures(t *testing.T) {
	var b Builder
	_, err := b.build("./testdata/broken", "")
	if err == nil || !strings.Contains(err.Error(), "undefined") {
		t.Fatalf("building a broken package: %v, want the compiler's complaint", err)
	}
	if _, again := b.build("./testdata/broken", ""); again != err {
		t.Errorf("second build error %v, want the cached %v", again, err)
	}
}
