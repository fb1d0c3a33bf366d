package rcmlwasm

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/patchbay/patchbay/plugins/rcml"
	"github.com/patchbay/patchbay/plugins/rcml/guest/embedded"
	"github.com/patchbay/patchbay/plugins/rcml/guest/wire"
	"github.com/patchbay/patchbay/sdk"
	"github.com/patchbay/patchbay/switch/call"
	"github.com/patchbay/patchbay/wasmhost"
)

// Hook is the RCML handler's hook (plugin ABI names are [a-z0-9_]+).
const Hook = "rcml_handle"

// maxPooledInput is the largest input buffer kept for reuse.
const maxPooledInput = 16 << 10

// ModuleName names the RCML handler in wasmhost's errors, logs and stats.
const ModuleName = "rcml"

// MaxSandboxInput is the largest encoded document (wire.InputSize) the
// sandbox accepts: the plugin ABI's input limit.
const MaxSandboxInput = sdk.MaxInputBytes

// ErrSandbox is matched (errors.Is) by every error of a parse that the guest
// did not answer: it trapped, ran out of time or memory, answered garbage,
// or the module was closed. The wasmhost kind (wasmhost.ErrTimeout, ...)
// matches too.
var ErrSandbox = errors.New("rcmlwasm: the RCML handler failed in the sandbox")

// Interface guard: the call actor runs RCML through an Interpreter.
var _ call.Interpreter = (*Interpreter)(nil)

// Interpreter parses RCML documents in the sandbox, with a plan cache. Its
// methods are safe for concurrent use.
type Interpreter struct {
	mod   *wasmhost.Module
	log   *slog.Logger
	cache *planCache
	// inputs are buffers for encoding documents, reused: each parse would
	// otherwise allocate its document's size again.
	inputs sync.Pool

	sandboxFailures atomic.Uint64
}

// New loads the RCML handler module into host and returns an Interpreter
// using it. Loading compiles the module, which the host's on-disk
// compilation cache makes cheap after the first start.
func New(ctx context.Context, host *wasmhost.Host, opts ...Option) (*Interpreter, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	wasm := cfg.module
	if wasm == nil {
		wasm = embedded.Module()
	}
	mod, err := host.Load(ctx, wasm, wasmhost.ModuleOptions{
		Name: ModuleName, MemoryMB: cfg.memoryMB, Timeout: cfg.timeout, Hooks: []string{Hook},
	})
	if err != nil {
		return nil, fmt.Errorf("rcmlwasm: loading the RCML handler: %w", err)
	}
	in := &Interpreter{mod: mod, log: cfg.log, cache: newPlanCache(cfg.cacheEntries, cfg.cacheBytes)}
	in.inputs.New = func() any { return new([]byte) }
	return in, nil
}

// Handle parses d in the sandbox, or answers from the cache. A returned plan
// may be shared with other callers: it must not be modified. Errors are
// those of rcml.Handle, or match ErrSandbox.
func (in *Interpreter) Handle(ctx context.Context, d rcml.Document) (*rcml.Plan, error) {
	if isAudio(d.ContentType) {
		// The guest never reads an audio body (the plan plays the URL), and
		// a recording is often bigger than the sandbox's input limit.
		d.Body = nil
	}
	if n := wire.InputSize(d); n > MaxSandboxInput {
		return nil, &rcml.ParseError{
			Msg: fmt.Sprintf("document is %d bytes, the limit of the sandbox is %d", len(d.Body), MaxSandboxInput-(n-len(d.Body))),
			Err: rcml.ErrDocumentTooLarge,
		}
	}
	key := in.key(d)
	for {
		ans, f, lead := in.cache.lookup(key)
		switch {
		case ans != nil:
			return ans.result()
		case lead:
			ans, err := in.run(ctx, d)
			in.cache.finish(key, f, ans, err)
			if err != nil {
				return nil, err
			}
			return ans.result()
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("rcmlwasm: waiting for a parse of the same document: %w", ctx.Err())
		}
		if f.ans != nil {
			return f.ans.result()
		}
		if !errors.Is(f.err, wasmhost.ErrCanceled) {
			return nil, f.err
		}
		// The caller that ran the guest went away; run it for this one.
	}
}

// run invokes the guest on d and decodes its answer. An error is a sandbox
// failure, matching ErrSandbox.
func (in *Interpreter) run(ctx context.Context, d rcml.Document) (*answer, error) {
	buf := in.inputs.Get().(*[]byte)
	input := wire.AppendInput(slices.Grow((*buf)[:0], wire.InputSize(d)), d)
	out, err := in.mod.Invoke(ctx, Hook, input, wasmhost.CallInfo{})
	// Invoke copied the input into the guest; keep the capacity for the
	// next parse, unless a rare large document grew it (then the buffer
	// goes back as it was).
	if cap(input) <= maxPooledInput {
		*buf = input
	}
	in.inputs.Put(buf)
	if err != nil {
		return nil, in.failed(d, err)
	}
	// Invoke's output is a copy the interpreter owns, as DecodeOutput wants.
	o, err := wire.DecodeOutput(out)
	if err != nil {
		return nil, in.failed(d, err)
	}
	return &answer{plan: o.Plan, failure: o.Failure, size: footprint(len(out))}, nil
}

// footprint estimates the memory of a decoded answer from its output's
// size: the plan keeps the output, which its strings share, and its Go
// values take ~2.3 times as much again for the typical plan (measured), so
// four times the output bounds it.
func footprint(outputBytes int) int64 { return 4 * int64(outputBytes) }

func (in *Interpreter) failed(d rcml.Document, err error) error {
	if !errors.Is(err, wasmhost.ErrCanceled) {
		in.sandboxFailures.Add(1)
		in.log.Warn("RCML handler failed in the sandbox", "url", redact(d.URL), "bytes", len(d.Body), "err", err)
	}
	return fmt.Errorf("%w: %w", ErrSandbox, err)
}

// key is the cache key of d: the module's hash and the three fields, each
// length-prefixed so that no two documents share a key.
func (in *Interpreter) key(d rcml.Document) cacheKey {
	h := sha256.New()
	var n [4]byte
	field := func(s string) {
		binary.LittleEndian.PutUint32(n[:], uint32(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	field(in.mod.Hash())
	field(d.URL)
	field(d.ContentType)
	h.Write(d.Body)
	var k cacheKey
	h.Sum(k[:0])
	return k
}

// isAudio reports whether a Content-Type is audio/*.
func isAudio(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return strings.HasPrefix(mt, "audio/")
}

// redact drops credentials and the query from a URL for the log.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// Stats is a snapshot of an Interpreter's counters.
type Stats struct {
	// Hits counts documents answered from the cache, Misses those that ran
	// the guest, Coalesced those that waited for a run of the same document.
	Hits, Misses, Coalesced uint64
	// Evictions counts plans dropped to stay within the cache's bounds.
	Evictions uint64
	// Entries and Bytes are the cache's content (Bytes its estimated
	// memory; see WithCacheBytes).
	Entries int
	Bytes   int64
	// SandboxFailures counts guest runs that ended in a sandbox failure
	// (cancellations excluded).
	SandboxFailures uint64
	// Module is wasmhost's view: invocations, latency, traps, timeouts.
	Module wasmhost.ModuleStats
}

// Stats returns the interpreter's counters.
func (in *Interpreter) Stats() Stats {
	s := in.cache.stats()
	s.SandboxFailures = in.sandboxFailures.Load()
	s.Module = in.mod.Stats()
	return s
}

// ModuleHash is the hex sha256 of the RCML handler module in use.
func (in *Interpreter) ModuleHash() string { return in.mod.Hash() }

// Close unloads the module; parses in flight finish, later ones fail with
// ErrSandbox (wasmhost.ErrClosed). The Host stays open.
func (in *Interpreter) Close() { in.mod.Close() }
