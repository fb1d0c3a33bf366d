package sdk

import (
	"errors"
	"fmt"
	"strings"
)

// The functions a plugin registered. In a guest this is per-instance state:
// every instance of a module has its own copy, and the host runs one call at
// a time in an instance, so it needs no lock. It is the only package-level
// mutable state of the SDK, and it exists because go:wasmexport functions
// can only reach package-level values.
var registered handlers

type handlers struct {
	redirect func(RedirectInput) Decision
	hangup   func(HangupInput) Decision
}

// HandleRedirect registers the plugin's redirect policy. Call it from a
// package-level variable declaration of the plugin's main package:
//
//	var _ = sdk.HandleRedirect(policy)
//
// A module built with -buildmode=c-shared runs package variable
// initialisers from its _initialize export, but never main.main, so
// registering from main would not work. It returns true so it can be used
// that way; registering twice replaces the earlier function.
func HandleRedirect(f func(RedirectInput) Decision) bool {
	registered.redirect = f
	return true
}

// HandleHangup registers the plugin's hangup policy, as HandleRedirect does
// for redirects.
func HandleHangup(f func(HangupInput) Decision) bool {
	registered.hangup = f
	return true
}

// errNoHandler is returned by dispatch for a hook nobody registered.
var errNoHandler = errors.New("sdk: no handler registered for hook")

// hooks lists the registered hooks, space-separated, for patchbay_hooks.
func (h *handlers) hooks() string {
	var names []string
	if h.redirect != nil {
		names = append(names, HookRedirect)
	}
	if h.hangup != nil {
		names = append(names, HookHangup)
	}
	return strings.Join(names, " ")
}

// dispatch decodes input for hook, runs the registered handler and encodes
// its decision into dst[:0]. It is the whole guest side of a call except the
// memory plumbing, so it is tested natively. Decoded strings alias input,
// which must never change afterwards (handlers may keep them).
func (h *handlers) dispatch(dst []byte, hook string, input string) ([]byte, error) {
	var d Decision
	switch hook {
	case HookRedirect:
		if h.redirect == nil {
			return nil, fmt.Errorf("%w %s", errNoHandler, hook)
		}
		var in RedirectInput
		if err := decodeRedirectInput(input, &in); err != nil {
			return nil, err
		}
		d = h.redirect(in)
	case HookHangup:
		if h.hangup == nil {
			return nil, fmt.Errorf("%w %s", errNoHandler, hook)
		}
		var in HangupInput
		if err := decodeHangupInput(input, &in); err != nil {
			return nil, err
		}
		d = h.hangup(in)
	default:
		return nil, fmt.Errorf("%w %s", errNoHandler, hook)
	}
	return AppendDecision(dst[:0], d), nil
}
