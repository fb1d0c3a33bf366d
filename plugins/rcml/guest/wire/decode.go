package wire

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/patchbay/patchbay/plugins/rcml"
)

// This file is the host's side. The guest links it too but never calls it:
// measured, that costs 17 KB of module and nothing at run time, less than
// a build-tagged API would cost in clarity.

// ErrBadOutput is returned by DecodeOutput for bytes that are neither a plan
// nor a failure.
var ErrBadOutput = errors.New("wire: bad rcml_handle output")

// Output is a decoded guest output: exactly one of Plan and Failure is set.
type Output struct {
	Plan    *rcml.Plan `json:"plan"`
	Failure *Failure   `json:"error"`
}

// DecodeOutput decodes a guest's output.
func DecodeOutput(out []byte) (Output, error) {
	var o Output
	if err := json.Unmarshal(out, &o); err != nil {
		return Output{}, fmt.Errorf("%w: %w", ErrBadOutput, err)
	}
	if (o.Plan == nil) == (o.Failure == nil) {
		return Output{}, fmt.Errorf("%w: want exactly one of plan and error", ErrBadOutput)
	}
	if o.Failure != nil && o.Failure.Kind == "" {
		return Output{}, fmt.Errorf("%w: error without a kind", ErrBadOutput)
	}
	return o, nil
}

// Err rebuilds the error rcml.Handle returned in the guest: a *rcml.ParseError
// with the same fields and cause for KindParse, otherwise an error with the
// same text that matches the same rcml sentinel under errors.Is. Each call
// returns a new error, so a caller may keep or change it.
func (f Failure) Err() error {
	switch f.Kind {
	case KindParse:
		return &rcml.ParseError{Line: f.Line, Offset: f.Offset, Msg: f.Message, Err: causeErr(f.Cause)}
	case KindNoContentType:
		return rcml.ErrNoContentType
	case KindUnsupportedContentType:
		return &guestError{msg: f.Message, is: rcml.ErrUnsupportedContentType}
	case KindInvalidDocumentURL:
		return &guestError{msg: f.Message, is: rcml.ErrInvalidDocumentURL}
	case KindBadInput:
		return &guestError{msg: f.Message, is: ErrBadInput}
	}
	return &guestError{msg: f.Message}
}

func causeErr(cause string) error {
	switch cause {
	case CauseTooLarge:
		return rcml.ErrDocumentTooLarge
	case CauseTooDeep:
		return rcml.ErrTooDeep
	case CauseHintsLimit:
		return rcml.ErrHintsLimit
	}
	return rcml.ErrMalformed
}

// guestError carries the text of an error made in the guest and the sentinel
// it wrapped there.
type guestError struct {
	msg string
	is  error
}

func (e *guestError) Error() string { return e.msg }

func (e *guestError) Unwrap() error { return e.is }
