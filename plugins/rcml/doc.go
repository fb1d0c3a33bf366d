// Package rcml turns an RCML document (Restcomm's call script language) into a validated
// [Plan]: the verbs to execute, in order, with every attribute parsed, defaulted and
// resolved, plus the warnings (Restcomm notification codes) an application developer
// should see.
//
// The package is the body of the RCML handler that runs in the wasm sandbox, so it uses
// the standard library only, starts no goroutine, does no I/O and gives the same output
// for the same input. It is also compiled natively for tests and fuzzing.
//
// # Walk semantics
//
// Parsing follows Restcomm's model (spec restcomm-calls.md §5.1):
//
//   - Every element is visited depth-first; an element whose name is a verb (Dial, Gather,
//     Hangup, Pause, Play, Record, Redirect, Reject, Say, Sms, Fax, Email, and the
//     unimplemented Enqueue and Leave) is taken in document order, wherever it sits.
//     The root element's name is not checked and unknown elements are ignored.
//   - A verb that is a direct child of the verb taken last is owned by that verb instead
//     of being taken: that is how a Gather owns its Say, Play and Pause prompts. Other
//     owned verbs are ignored. As upstream, "the verb taken last" is literal, so in
//     <Gather><X><Play/></X><Say/></Gather> the Play is taken and then the Say too.
//   - Text is the trimmed concatenation of an element's own character data.
//   - A bare '&' that does not start a character or entity reference is escaped before
//     parsing, as upstream does (custom SIP headers are written "?X-A=1&X-B=2").
//
// A verb whose essential content is missing (Say or Play without text, Redirect without
// a URL, Dial without any target) is left out of the plan, which is what upstream's
// interpreter does at run time. Unparseable URLs give warning 11100 and are dropped.
package rcml
