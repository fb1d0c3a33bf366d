package wasmhost

import (
	"context"
	"fmt"
)

// kind is the class of an invocation or load failure. The Err* values are
// the kinds; match them with errors.Is on any error this package returns.
type kind string

func (k kind) Error() string { return "wasmhost: " + string(k) }

// Is lets ErrTimeout match context.DeadlineExceeded and ErrCanceled match
// context.Canceled, so callers that only know the context errors still
// recognise a guest stopped by its deadline.
func (k kind) Is(target error) bool {
	switch k {
	case ErrTimeout:
		return target == context.DeadlineExceeded
	case ErrCanceled:
		return target == context.Canceled
	}
	return false
}

// Failure kinds.
const (
	// ErrTimeout: the invocation ran past its deadline (the guest was
	// stopped, or no instance became free in time).
	ErrTimeout kind = "timeout"
	// ErrCanceled: the caller's context was canceled during the invocation.
	ErrCanceled kind = "canceled"
	// ErrTrap: the guest trapped, panicked or exited.
	ErrTrap kind = "guest trapped"
	// ErrMemoryLimit: the guest asked for memory over its cap.
	ErrMemoryLimit kind = "memory limit exceeded"
	// ErrBadOutput: the guest's output is out of its memory, empty, over
	// the size limit, or (for callers that check it) not a valid answer.
	ErrBadOutput kind = "bad output"
	// ErrMissingExport: a required export is absent or has the wrong type.
	ErrMissingExport kind = "missing export"
	// ErrABIVersion: the module speaks an ABI version the host does not.
	ErrABIVersion kind = "unknown ABI version"
	// ErrModuleTooLarge: the module is over Config.MaxModuleBytes.
	ErrModuleTooLarge kind = "module too large"
	// ErrCompile: the module is not valid WebAssembly, or imports what the
	// host does not provide.
	ErrCompile kind = "compile failed"
	// ErrInputTooLarge: the input is over the ABI's input limit.
	ErrInputTooLarge kind = "input too large"
	// ErrClosed: the module or host was closed.
	ErrClosed kind = "closed"
)

// Error is the error of a failed Load or Invoke. errors.Is(err, ErrXxx)
// tells its kind.
type Error struct {
	Plugin string // ModuleOptions.Name
	Hook   string // empty for Load
	Kind   error  // one of the Err* kinds
	Detail string // what happened, for logs and the tenant
}

func (e *Error) Error() string {
	where := "plugin/" + e.Plugin
	if e.Hook != "" {
		where += ": " + e.Hook
	}
	what := e.Kind.Error()
	if k, ok := e.Kind.(kind); ok {
		what = string(k)
	}
	if e.Detail == "" {
		return fmt.Sprintf("%s: %s", where, what)
	}
	return fmt.Sprintf("%s: %s: %s", where, what, e.Detail)
}

// Unwrap returns the kind, so errors.Is matches it (and, through the kind,
// the context errors).
func (e *Error) Unwrap() error { return e.Kind }
