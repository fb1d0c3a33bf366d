package wasmhost

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/patchbay/patchbay/wasmhost/internal/abi"
	"github.com/patchbay/patchbay/wasmhost/internal/guestlog"
	"github.com/patchbay/patchbay/wasmhost/internal/memcap"
)

// instance is one live guest. It serves one invocation at a time: the pool
// hands it to a single caller between Get and Put.
type instance struct {
	plugin string
	mod    api.Module
	mem    *memcap.Memory
	alloc  api.Function
	// The guest's input buffer (abi.ExportInputBuffer), if it has one:
	// inputs that fit are written there, and the invocation is one call.
	inputPtr, inputSize uint32
	hooks               map[string]api.Function // looked up on first use
	stdout, stderr      *guestlog.Writer
	stack               [2]uint64
}

// newInstance starts an instance and runs its _initialize export (for a Go
// guest: runtime start and package variable initialisers) within ctx.
//
// The sandbox: no filesystem (no preopened directory, so every path_open
// fails), no arguments, no environment variables, stdin empty, no sockets.
// Clocks and randomness are wazero's deterministic fakes: the wall clock
// reads 2022-01-01T00:00:00Z and advances 1 ms per read, the monotonic
// clock starts at 0 and advances 1 ms per read, sleeps return at once, and
// random_get yields a fixed-seed sequence. A guest learns nothing about the
// host or the time, and the same input always gives the same output.
func (m *Module) newInstance(ctx context.Context) (*instance, error) {
	cfg := m.host.cfg
	inst := &instance{
		plugin: m.opts.Name,
		hooks:  map[string]api.Function{},
		stdout: guestlog.New(cfg.Logger, "stdout", cfg.GuestLogBytes),
		stderr: guestlog.New(cfg.Logger, "stderr", cfg.GuestLogBytes),
	}
	limit := uint64(m.opts.MemoryMB) << 20
	allocCtx := experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(
		func(_, _ uint64) experimental.LinearMemory {
			inst.mem = memcap.New(limit)
			return inst.mem
		}))
	mc := wazero.NewModuleConfig().
		WithName(""). // anonymous: many instances of one module may live at once
		WithStartFunctions().
		WithStdout(inst.stdout).
		WithStderr(inst.stderr)
	inst.stdout.Begin(inst.plugin, "")
	inst.stderr.Begin(inst.plugin, "")
	defer inst.endLogs()
	// The caller holds a use of m.c (Host.use), so its code is resident.
	mod, err := m.host.rt.InstantiateModule(allocCtx, m.host.residentCode(m.c), mc)
	if err != nil {
		return nil, inst.classify(err, "instantiating")
	}
	inst.mod = mod
	if init := mod.ExportedFunction(abi.ExportInitialize); init != nil {
		if _, err := init.Call(ctx); err != nil {
			mod.Close(context.Background())
			return nil, inst.classify(err, "running _initialize")
		}
	}
	inst.alloc = mod.ExportedFunction(abi.ExportAlloc)
	if err := inst.findInputBuffer(ctx); err != nil {
		mod.Close(context.Background())
		return nil, err
	}
	return inst, nil
}

// findInputBuffer asks a guest that exports abi.ExportInputBuffer where its
// input buffer is, once per instance.
func (in *instance) findInputBuffer(ctx context.Context) error {
	f := in.mod.ExportedFunction(abi.ExportInputBuffer)
	if f == nil {
		return nil
	}
	res, err := f.Call(ctx)
	if err != nil {
		return in.classify(err, "calling "+abi.ExportInputBuffer)
	}
	ptr, size := uint32(res[0]>>32), uint32(res[0])
	if ptr == 0 || size == 0 {
		return nil // no buffer: every input goes through patchbay_alloc
	}
	if _, ok := in.mod.Memory().Read(ptr, size); !ok {
		return &Error{Plugin: in.plugin, Kind: ErrBadOutput,
			Detail: fmt.Sprintf("%s: %d bytes at %#x are outside the guest's memory", abi.ExportInputBuffer, size, ptr)}
	}
	in.inputPtr, in.inputSize = ptr, size
	return nil
}

func (in *instance) endLogs() {
	in.stdout.End()
	in.stderr.End()
}

// Bytes is the memory the instance holds: its linear memory, which
// dominates (a Go guest's runtime structures live inside it).
func (in *instance) Bytes() int64 {
	if in.mem == nil {
		return 0
	}
	return in.mem.Bytes()
}

// Close ends the instance.
func (in *instance) Close() { in.mod.Close(context.Background()) }

// describe reads the ABI version and, if the module exports it, the list
// of hooks it implements.
func (in *instance) describe(ctx context.Context, plugin string) (version int32, hooks *string, err error) {
	in.stdout.Begin(plugin, "")
	in.stderr.Begin(plugin, "")
	defer in.endLogs()
	res, err := in.mod.ExportedFunction(abi.ExportVersion).Call(ctx)
	if err != nil {
		return 0, nil, in.classify(err, "calling "+abi.ExportVersion)
	}
	version = int32(uint32(res[0]))
	f := in.mod.ExportedFunction(abi.ExportHooks)
	if f == nil {
		return version, nil, nil
	}
	res, err = f.Call(ctx)
	if err != nil {
		return 0, nil, in.classify(err, "calling "+abi.ExportHooks)
	}
	out, err := in.readOutput(res[0])
	if errors.Is(err, ErrBadOutput) && res[0] == 0 {
		empty := ""
		return version, &empty, nil
	}
	if err != nil {
		return 0, nil, err
	}
	list := string(out)
	return version, &list, nil
}

// call runs one hook: a copy of the input into guest memory (into its
// input buffer when it has one and the input fits, else into a buffer
// patchbay_alloc returns), the hook, and a copy of the output out of it.
func (in *instance) call(ctx context.Context, plugin, hook string, input []byte, callSid string) ([]byte, error) {
	fn, ok := in.hooks[hook]
	if !ok {
		fn = in.mod.ExportedFunction(abi.HookExport(hook))
		in.hooks[hook] = fn
	}
	in.stdout.Begin(plugin, callSid)
	in.stderr.Begin(plugin, callSid)
	defer in.endLogs()

	ptr, from := in.inputPtr, abi.ExportInputBuffer
	if in.inputSize == 0 || len(input) > int(in.inputSize) {
		// Each call costs a wazero context watcher (a goroutine), so the
		// input buffer saves one per invocation.
		in.stack[0] = uint64(len(input))
		if err := in.alloc.CallWithStack(ctx, in.stack[:]); err != nil {
			return nil, in.classify(err, "calling "+abi.ExportAlloc)
		}
		ptr, from = uint32(in.stack[0]), abi.ExportAlloc
		if ptr == 0 {
			return nil, &Error{Plugin: plugin, Kind: ErrBadOutput, Detail: fmt.Sprintf("%s(%d) returned 0", abi.ExportAlloc, len(input))}
		}
	}
	if !in.mod.Memory().Write(ptr, input) {
		return nil, &Error{Plugin: plugin, Kind: ErrBadOutput,
			Detail: fmt.Sprintf("%s gave %d bytes at %#x, outside the guest's memory", from, len(input), ptr)}
	}
	in.stack[0], in.stack[1] = uint64(ptr), uint64(len(input))
	if err := fn.CallWithStack(ctx, in.stack[:]); err != nil {
		return nil, in.classify(err, "calling "+abi.HookExport(hook))
	}
	out, err := in.readOutput(in.stack[0])
	if err != nil {
		return nil, err
	}
	return out, nil
}

// readOutput copies the output a guest described as ptr<<32|len.
func (in *instance) readOutput(packed uint64) ([]byte, error) {
	ptr, n := uint32(packed>>32), uint32(packed)
	switch {
	case n == 0:
		return nil, &Error{Plugin: in.plugin, Kind: ErrBadOutput, Detail: "empty output"}
	case n > abi.MaxOutputBytes:
		return nil, &Error{Plugin: in.plugin, Kind: ErrBadOutput,
			Detail: fmt.Sprintf("output is %d bytes, the limit is %d", n, abi.MaxOutputBytes)}
	}
	view, ok := in.mod.Memory().Read(ptr, n)
	if !ok {
		return nil, &Error{Plugin: in.plugin, Kind: ErrBadOutput,
			Detail: fmt.Sprintf("output of %d bytes at %#x is outside the guest's memory", n, ptr)}
	}
	// view aliases guest memory, which the next call may change or grow.
	return bytes.Clone(view), nil
}

// classify turns a failed call into an *Error of the right kind.
func (in *instance) classify(err error, doing string) error {
	e := &Error{Plugin: in.plugin}
	var exit *sys.ExitError
	switch {
	case in.mem != nil && in.mem.LimitHit():
		e.Kind = ErrMemoryLimit
		e.Detail = fmt.Sprintf("%s: the guest asked for more memory than its cap", doing)
	case errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeDeadlineExceeded:
		e.Kind = ErrTimeout
		e.Detail = doing + ": stopped at the deadline"
	case errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeContextCanceled:
		e.Kind = ErrCanceled
		e.Detail = doing + ": stopped by the caller"
	case errors.As(err, &exit):
		e.Kind = ErrTrap
		e.Detail = fmt.Sprintf("%s: the guest exited with code %d", doing, exit.ExitCode())
	default:
		e.Kind = ErrTrap
		e.Detail = fmt.Sprintf("%s: %s", doing, firstLine(err.Error()))
	}
	return e
}
