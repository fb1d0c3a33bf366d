package wire

import (
	"encoding/binary"
	"errors"
	"slices"

	"github.com/patchbay/patchbay/plugins/rcml"
)

// OutputVersion is the first byte of every output. The host refuses any
// other, as the guest refuses an input of another version.
const OutputVersion = 1

// The second byte of an output says what follows.
const (
	tagPlan    = 'P'
	tagFailure = 'E'
)

// Error kinds of a failure. Each names how the host rebuilds
// the error rcml.Handle returned, so errors.Is and errors.As keep working on
// the host side of the sandbox.
const (
	KindParse                  = "parse"                    // *rcml.ParseError
	KindNoContentType          = "no_content_type"          // rcml.ErrNoContentType
	KindUnsupportedContentType = "unsupported_content_type" // wraps rcml.ErrUnsupportedContentType
	KindInvalidDocumentURL     = "invalid_document_url"     // wraps rcml.ErrInvalidDocumentURL
	KindBadInput               = "bad_input"                // the guest could not decode its input
	KindInternal               = "internal"                 // any other error
)

// Causes of a KindParse error, one per rcml.ParseError cause.
const (
	CauseTooLarge   = "too_large"   // rcml.ErrDocumentTooLarge
	CauseTooDeep    = "too_deep"    // rcml.ErrTooDeep
	CauseHintsLimit = "hints_limit" // rcml.ErrHintsLimit
	CauseMalformed  = "malformed"   // rcml.ErrMalformed
)

// Failure is what an output carries instead of a plan when rcml.Handle
// failed.
type Failure struct {
	Kind string
	// Cause, Line and Offset are set for KindParse only.
	Cause  string
	Line   int
	Offset int64
	// Message is rcml.ParseError.Msg for KindParse, the error's text otherwise.
	Message string
}

// FailureOf describes err, an error returned by rcml.Handle.
func FailureOf(err error) Failure {
	var pe *rcml.ParseError
	switch {
	case errors.As(err, &pe):
		f := Failure{Kind: KindParse, Line: pe.Line, Offset: pe.Offset, Message: pe.Msg}
		switch {
		case errors.Is(pe.Err, rcml.ErrDocumentTooLarge):
			f.Cause = CauseTooLarge
		case errors.Is(pe.Err, rcml.ErrTooDeep):
			f.Cause = CauseTooDeep
		case errors.Is(pe.Err, rcml.ErrHintsLimit):
			f.Cause = CauseHintsLimit
		default:
			f.Cause = CauseMalformed
		}
		return f
	case errors.Is(err, rcml.ErrNoContentType):
		return Failure{Kind: KindNoContentType, Message: err.Error()}
	case errors.Is(err, rcml.ErrUnsupportedContentType):
		return Failure{Kind: KindUnsupportedContentType, Message: err.Error()}
	case errors.Is(err, rcml.ErrInvalidDocumentURL):
		return Failure{Kind: KindInvalidDocumentURL, Message: err.Error()}
	case errors.Is(err, ErrBadInput):
		return Failure{Kind: KindBadInput, Message: err.Error()}
	}
	return Failure{Kind: KindInternal, Message: err.Error()}
}

// The output encoding (plugins/rcml/README.md has the table). Every field
// has a fixed-size header: strings and lists a u32le length, integers eight
// bytes, booleans and optional parts one. The writer has no loop but the
// lists' and the reader no branch per byte: in wasm each loop iteration is a
// termination check (an exit from the compiled code), and escaping JSON cost
// the guest about a sixth of a parse and the host 20-40 µs to decode.

// AppendPlanOutput appends the output for a plan. A nil plan is written as
// an empty one.
func AppendPlanOutput(dst []byte, p *rcml.Plan) []byte {
	dst = append(dst, OutputVersion, tagPlan)
	if p == nil {
		p = &rcml.Plan{}
	}
	dst = appendVerbs(dst, p.Verbs)
	dst = appendCount(dst, len(p.Warnings))
	for _, w := range p.Warnings {
		dst = appendInt(dst, int64(w.Code))
		dst = appendStr(dst, w.Message)
	}
	return dst
}

// AppendFailureOutput appends the output for a failure.
func AppendFailureOutput(dst []byte, f Failure) []byte {
	dst = append(dst, OutputVersion, tagFailure)
	dst = appendStr(dst, f.Kind)
	dst = appendStr(dst, f.Cause)
	dst = appendInt(dst, int64(f.Line))
	dst = appendInt(dst, f.Offset)
	return appendStr(dst, f.Message)
}

// Which of a Verb's parts follow its kind: one bit each, in this order.
const (
	partPlay = 1 << iota
	partSay
	partPause
	partRedirect
	partReject
	partDial
	partGather
	partRecord
	partSms
	partFax
	partEmail
	partAll = 1<<iota - 1
	// partPrompt is what a Gather's prompt may be.
	partPrompt = partPlay | partSay | partPause
)

func appendVerbs(b []byte, vs []rcml.Verb) []byte {
	b = appendCount(b, len(vs))
	for i := range vs {
		b = appendVerb(b, &vs[i])
	}
	return b
}

func appendVerb(b []byte, v *rcml.Verb) []byte {
	b = appendStr(b, string(v.Kind))
	// Straight-line rather than a loop over the parts: see the top of the
	// file.
	parts := bit(v.Play != nil, partPlay) | bit(v.Say != nil, partSay) | bit(v.Pause != nil, partPause) |
		bit(v.Redirect != nil, partRedirect) | bit(v.Reject != nil, partReject) | bit(v.Dial != nil, partDial) |
		bit(v.Gather != nil, partGather) | bit(v.Record != nil, partRecord) | bit(v.Sms != nil, partSms) |
		bit(v.Fax != nil, partFax) | bit(v.Email != nil, partEmail)
	b = binary.LittleEndian.AppendUint16(b, parts)
	if p := v.Play; p != nil {
		b = appendStr(b, p.URL)
		b = appendInt(b, int64(p.Loop))
	}
	if s := v.Say; s != nil {
		b = appendStr(b, s.Text)
		b = appendStr(b, s.Voice)
		b = appendStr(b, s.Language)
		b = appendInt(b, int64(s.Loop))
	}
	if p := v.Pause; p != nil {
		b = appendInt(b, int64(p.Length))
	}
	if r := v.Redirect; r != nil {
		b = appendStr(b, r.URL)
		b = appendStr(b, r.Method)
	}
	if r := v.Reject; r != nil {
		b = appendStr(b, r.Reason)
	}
	if d := v.Dial; d != nil {
		b = appendDial(b, d)
	}
	if g := v.Gather; g != nil {
		b = appendGather(b, g)
	}
	if r := v.Record; r != nil {
		b = appendStr(b, r.Action)
		b = appendStr(b, r.Method)
		b = appendInt(b, int64(r.Timeout))
		b = appendStr(b, r.FinishOnKey)
		b = appendInt(b, int64(r.MaxLength))
		b = appendBool(b, r.PlayBeep)
		b = appendBool(b, r.Transcribe)
		b = appendStr(b, r.TranscribeCallback)
		b = appendStr(b, r.Media)
	}
	if s := v.Sms; s != nil {
		b = appendStr(b, s.Body)
		b = appendStr(b, s.To)
		b = appendStr(b, s.From)
		b = appendStr(b, s.Action)
		b = appendStr(b, s.Method)
		b = appendStr(b, s.StatusCallback)
	}
	if f := v.Fax; f != nil {
		b = appendStr(b, f.Document)
		b = appendStr(b, f.To)
		b = appendStr(b, f.From)
		b = appendStr(b, f.Action)
		b = appendStr(b, f.Method)
		b = appendStr(b, f.StatusCallback)
	}
	if e := v.Email; e != nil {
		b = appendStr(b, e.Body)
		b = appendStr(b, e.To)
		b = appendStr(b, e.From)
		b = appendStr(b, e.CC)
		b = appendStr(b, e.BCC)
		b = appendStr(b, e.Subject)
	}
	return b
}

func appendGather(b []byte, g *rcml.Gather) []byte {
	b = appendStr(b, g.Action)
	b = appendStr(b, g.Method)
	b = appendInt(b, int64(g.Timeout))
	b = appendStr(b, g.FinishOnKey)
	b = appendInt(b, int64(g.NumDigits))
	b = appendStr(b, g.StartInputKey)
	b = appendStr(b, g.Input)
	b = appendStr(b, g.Language)
	b = appendStrs(b, g.Hints)
	b = appendStr(b, g.PartialResultCallback)
	b = appendStr(b, g.PartialResultCallbackMethod)
	return appendVerbs(b, g.Prompts)
}

func appendDial(b []byte, d *rcml.Dial) []byte {
	b = appendStr(b, d.Mode)
	b = appendStr(b, d.Action)
	b = appendStr(b, d.Method)
	b = appendInt(b, int64(d.Timeout))
	b = appendInt(b, int64(d.TimeLimit))
	b = appendStr(b, d.CallerID)
	b = appendBool(b, d.Record)
	b = appendBool(b, d.FromText)
	b = appendCount(b, len(d.Targets))
	for i := range d.Targets {
		b = appendTarget(b, &d.Targets[i])
	}
	c := d.Conference
	b = appendBool(b, c != nil)
	if c == nil {
		return b
	}
	b = appendStr(b, c.Name)
	b = appendBool(b, c.Muted)
	b = appendBool(b, c.Beep)
	b = appendBool(b, c.StartConferenceOnEnter)
	b = appendBool(b, c.EndConferenceOnExit)
	b = appendStr(b, c.WaitURL)
	b = appendStr(b, c.WaitMethod)
	return appendInt(b, int64(c.MaxParticipants))
}

func appendTarget(b []byte, t *rcml.Target) []byte {
	b = appendStr(b, t.Kind)
	b = appendStr(b, t.To)
	b = appendHeaders(b, t.Headers)
	b = appendStr(b, t.URL)
	b = appendStr(b, t.Method)
	b = appendStr(b, t.StatusCallback)
	b = appendStr(b, t.StatusCallbackMethod)
	b = appendStrs(b, t.StatusCallbackEvents)
	b = appendStr(b, t.Username)
	return appendStr(b, t.Password)
}

// appendHeaders writes m's pairs with the keys sorted, so that an output
// depends on the plan only.
func appendHeaders(b []byte, m map[string]string) []byte {
	b = appendCount(b, len(m))
	if len(m) == 0 {
		return b
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = appendStr(b, k)
		b = appendStr(b, m[k])
	}
	return b
}

func appendStrs(b []byte, vs []string) []byte {
	b = appendCount(b, len(vs))
	for _, v := range vs {
		b = appendStr(b, v)
	}
	return b
}

func appendCount(b []byte, n int) []byte { return binary.LittleEndian.AppendUint32(b, uint32(n)) }

func appendStr(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func appendInt(b []byte, v int64) []byte { return binary.LittleEndian.AppendUint64(b, uint64(v)) }

func bit(set bool, part uint16) uint16 {
	if set {
		return part
	}
	return 0
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}
