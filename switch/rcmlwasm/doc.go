// Package rcmlwasm is the switch's RCML interpreter: it parses every fetched
// RCML document with the RCML handler guest (plugins/rcml/guest) running in
// the wasm sandbox (wasmhost), and keeps the plans it gets in a cache.
//
// # Why a cache
//
// Parsing in wasm costs about ten times what it costs natively, and an IVR
// serves the same few documents thousands of times. Plans are cached by
// sha256 of the module's hash, the document URL (relative URLs resolve
// against it), the content type and the body, in an LRU bounded by entries
// and by encoded size. Answers of the guest are deterministic, so parse and
// content-type errors are cached too; failures of the sandbox (timeout,
// trap, memory cap) are not. Concurrent misses of one document run the
// guest once and share its answer.
//
// # Failures
//
// The guest's errors come back as the errors rcml.Handle returns natively:
// *rcml.ParseError (with its cause), rcml.ErrNoContentType,
// rcml.ErrUnsupportedContentType. A document larger than the sandbox's
// input limit (64 KiB encoded, under rcml.MaxDocumentSize) is a
// *rcml.ParseError of cause rcml.ErrDocumentTooLarge without running the
// guest. A guest that traps, stalls past its budget or hits its memory cap
// gives an error matching ErrSandbox and the wasmhost kind (ErrTimeout,
// ErrTrap, ErrMemoryLimit, ...): the call actor ends that call with a
// notification, and the instance is discarded. Other calls go on, on other
// instances of the pool.
package rcmlwasm
