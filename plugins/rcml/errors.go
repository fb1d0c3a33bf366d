package rcml

import (
	"errors"
	"fmt"
)

// HangupReason is the SIP Reason text a call is hung up with when its RCML document
// cannot be parsed (any *ParseError).
const HangupReason = "Problem_to_parse_downloaded_RCML"

// Limits that protect the sandbox from hostile documents.
const (
	// MaxDocumentSize is the largest document accepted, in bytes.
	MaxDocumentSize = 1 << 20
	// MaxDepth is the deepest element nesting accepted (the root is depth 1).
	MaxDepth = 64
	// MaxHints is the most comma-separated phrases a Gather's hints may hold.
	MaxHints = 50
	// MaxHintLength is the longest a single Gather hint phrase may be, in characters.
	MaxHintLength = 100
)

// Causes carried by a *ParseError; test for them with errors.Is.
var (
	// ErrDocumentTooLarge is the cause when a document exceeds MaxDocumentSize.
	ErrDocumentTooLarge = errors.New("rcml: document too large")
	// ErrTooDeep is the cause when elements nest deeper than MaxDepth.
	ErrTooDeep = errors.New("rcml: elements nested too deep")
	// ErrHintsLimit is the cause when a taken Gather's hints break MaxHints or MaxHintLength.
	ErrHintsLimit = errors.New("rcml: gather hints over limit")
	// ErrMalformed is the cause when the document is not well-formed XML.
	ErrMalformed = errors.New("rcml: malformed XML")
)

// Errors returned by Handle for responses that are not RCML at all. They are not
// *ParseError: the host decides how to end the call (upstream hangs up).
var (
	// ErrNoContentType is returned when the response carries no Content-Type.
	ErrNoContentType = errors.New("rcml: response has no content type")
	// ErrUnsupportedContentType is returned for a Content-Type that is neither XML,
	// WAV audio nor plain text.
	ErrUnsupportedContentType = errors.New("rcml: unsupported content type")
)

// ErrInvalidDocumentURL is returned when the document URL given by the host cannot be
// parsed, so relative URLs could not be resolved. It signals a host bug, not a bad document.
var ErrInvalidDocumentURL = errors.New("rcml: invalid document URL")

// ParseError reports a document that is not acceptable RCML. The call is then hung up
// with HangupReason; no fallback URL is tried.
type ParseError struct {
	// Line is the 1-based line of the problem, 0 when it concerns the whole document.
	Line int
	// Offset is the byte offset in the document where the problem was seen.
	Offset int64
	// Msg describes the problem.
	Msg string
	// Err is the cause: one of ErrDocumentTooLarge, ErrTooDeep, ErrHintsLimit or ErrMalformed.
	Err error
}

// Error implements error.
func (e *ParseError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("rcml: %s", e.Msg)
	}
	return fmt.Sprintf("rcml: line %d (offset %d): %s", e.Line, e.Offset, e.Msg)
}

// Unwrap returns the cause, so errors.Is(err, ErrTooDeep) works.
func (e *ParseError) Unwrap() error { return e.Err }
