package wire

import (
	"errors"
	"fmt"
	"unicode/utf8"
	"unsafe"

	"github.com/patchbay/patchbay/plugins/rcml"
)

// This file is the host's side. The guest links it too but never calls it:
// a few KB of module and nothing at run time, less than a build-tagged API
// would cost in clarity.

// ErrBadOutput is returned by DecodeOutput for bytes that are neither a plan
// nor a failure.
var ErrBadOutput = errors.New("wire: bad rcml_handle output")

// Output is a decoded guest output: exactly one of Plan and Failure is set.
type Output struct {
	Plan    *rcml.Plan
	Failure *Failure
}

// DecodeOutput decodes a guest's output, which it keeps: the plan's strings
// share out's memory (a copy of a typical plan would be a third of what the
// host allocates per parse), so out must not be changed afterwards. Strings
// that are not UTF-8 get U+FFFD for each bad byte, so a plan's strings are
// always UTF-8, whatever the guest wrote. Lists that are empty decode as nil,
// except the plan's verbs, never nil.
func DecodeOutput(out []byte) (Output, error) {
	if len(out) < 2 {
		return Output{}, fmt.Errorf("%w: %d bytes, shorter than the header", ErrBadOutput, len(out))
	}
	if out[0] != OutputVersion {
		return Output{}, fmt.Errorf("%w: version %d, this host speaks version %d", ErrBadOutput, out[0], OutputVersion)
	}
	body := out[2:]
	r := reader{s: unsafe.String(unsafe.SliceData(body), len(body))}
	var o Output
	switch out[1] {
	case tagPlan:
		p := &rcml.Plan{Verbs: r.verbs()}
		if p.Verbs == nil {
			p.Verbs = []rcml.Verb{}
		}
		if n := r.count(); n > 0 {
			p.Warnings = make([]rcml.Warning, n)
			for i := range p.Warnings {
				p.Warnings[i] = rcml.Warning{Code: r.int(), Message: r.str()}
			}
		}
		o.Plan = p
	case tagFailure:
		f := &Failure{Kind: r.str(), Cause: r.str(), Line: r.int(), Offset: r.int64(), Message: r.str()}
		if r.err == nil && f.Kind == "" {
			r.fail("a failure without a kind")
		}
		o.Failure = f
	default:
		return Output{}, fmt.Errorf("%w: tag %q is neither a plan nor a failure", ErrBadOutput, out[1])
	}
	if r.err == nil && r.i != len(r.s) {
		r.fail(fmt.Sprintf("%d bytes after the end", len(r.s)-r.i))
	}
	if r.err != nil {
		return Output{}, r.err
	}
	return o, nil
}

// reader decodes the fields AppendPlanOutput and AppendFailureOutput write.
// Its first error sticks: later reads return zero values, so decoding goes
// on straight and the error is checked once at the end.
type reader struct {
	s   string
	i   int
	err error
}

func (r *reader) fail(why string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at byte %d", ErrBadOutput, why, r.i+2)
	}
	r.i = len(r.s) // every later read fails its length check
}

// take returns the next n bytes.
func (r *reader) take(n int) string {
	if n < 0 || n > len(r.s)-r.i {
		r.fail("a field past the end")
		return ""
	}
	v := r.s[r.i : r.i+n]
	r.i += n
	return v
}

func (r *reader) u32() uint32 {
	v := r.take(4)
	if len(v) < 4 {
		return 0
	}
	return le32(v)
}

func (r *reader) int64() int64 {
	v := r.take(8)
	if len(v) < 8 {
		return 0
	}
	return int64(uint64(le32(v[:4])) | uint64(le32(v[4:]))<<32)
}

// le32 is binary.LittleEndian.Uint32 for a string: the reader reads the
// output as a string, so that the plan's strings are slices of it rather
// than a copy each.
func le32(v string) uint32 {
	return uint32(v[0]) | uint32(v[1])<<8 | uint32(v[2])<<16 | uint32(v[3])<<24
}

// int reads an integer of the plan types (int), refusing one that does
// not fit.
func (r *reader) int() int {
	v := r.int64()
	if int64(int(v)) != v {
		r.fail("an integer out of range")
		return 0
	}
	return int(v)
}

func (r *reader) bool() bool {
	v := r.take(1)
	switch {
	case v == "":
		return false
	case v[0] > 1:
		r.fail("a boolean neither 0 nor 1")
		return false
	}
	return v[0] == 1
}

func (r *reader) str() string {
	return validUTF8(r.take(int(r.u32())))
}

// count reads a list's length, refusing one longer than the bytes left
// (every element takes at least one), so garbage cannot make the host
// allocate more than the output's size.
func (r *reader) count() int {
	n := r.u32()
	if uint64(n) > uint64(len(r.s)-r.i) {
		r.fail("a list longer than the output")
		return 0
	}
	return int(n)
}

func (r *reader) strs() []string {
	n := r.count()
	if n == 0 {
		return nil
	}
	vs := make([]string, n)
	for i := range vs {
		vs[i] = r.str()
	}
	return vs
}

func (r *reader) verbs() []rcml.Verb {
	n := r.count()
	if n == 0 {
		return nil
	}
	vs := make([]rcml.Verb, n)
	for i := range vs {
		r.verb(&vs[i])
	}
	return vs
}

func (r *reader) verb(v *rcml.Verb) {
	v.Kind = rcml.Kind(r.str())
	p := r.take(2)
	if len(p) < 2 {
		return
	}
	parts := uint16(p[0]) | uint16(p[1])<<8
	if parts&^partAll != 0 {
		r.fail("unknown verb parts")
		return
	}
	if parts&partPlay != 0 {
		v.Play = &rcml.Play{URL: r.str(), Loop: r.int()}
	}
	if parts&partSay != 0 {
		v.Say = &rcml.Say{Text: r.str(), Voice: r.str(), Language: r.str(), Loop: r.int()}
	}
	if parts&partPause != 0 {
		v.Pause = &rcml.Pause{Length: r.int()}
	}
	if parts&partRedirect != 0 {
		v.Redirect = &rcml.Redirect{URL: r.str(), Method: r.str()}
	}
	if parts&partReject != 0 {
		v.Reject = &rcml.Reject{Reason: r.str()}
	}
	if parts&partDial != 0 {
		v.Dial = r.dial()
	}
	if parts&partGather != 0 {
		v.Gather = r.gather()
	}
	if parts&partRecord != 0 {
		v.Record = &rcml.Record{Action: r.str(), Method: r.str(), Timeout: r.int(), FinishOnKey: r.str(), MaxLength: r.int(),
			PlayBeep: r.bool(), Transcribe: r.bool(), TranscribeCallback: r.str(), Media: r.str()}
	}
	if parts&partSms != 0 {
		v.Sms = &rcml.Sms{Body: r.str(), To: r.str(), From: r.str(), Action: r.str(), Method: r.str(), StatusCallback: r.str()}
	}
	if parts&partFax != 0 {
		v.Fax = &rcml.Fax{Document: r.str(), To: r.str(), From: r.str(), Action: r.str(), Method: r.str(), StatusCallback: r.str()}
	}
	if parts&partEmail != 0 {
		v.Email = &rcml.Email{Body: r.str(), To: r.str(), From: r.str(), CC: r.str(), BCC: r.str(), Subject: r.str()}
	}
}

func (r *reader) gather() *rcml.Gather {
	return &rcml.Gather{Action: r.str(), Method: r.str(), Timeout: r.int(), FinishOnKey: r.str(), NumDigits: r.int(),
		StartInputKey: r.str(), Input: r.str(), Language: r.str(), Hints: r.strs(), PartialResultCallback: r.str(),
		PartialResultCallbackMethod: r.str(), Prompts: r.verbs()}
}

func (r *reader) dial() *rcml.Dial {
	d := &rcml.Dial{Mode: r.str(), Action: r.str(), Method: r.str(), Timeout: r.int(), TimeLimit: r.int(),
		CallerID: r.str(), Record: r.bool(), FromText: r.bool()}
	if n := r.count(); n > 0 {
		d.Targets = make([]rcml.Target, n)
		for i := range d.Targets {
			d.Targets[i] = r.target()
		}
	}
	if r.bool() {
		d.Conference = &rcml.Conference{Name: r.str(), Muted: r.bool(), Beep: r.bool(), StartConferenceOnEnter: r.bool(),
			EndConferenceOnExit: r.bool(), WaitURL: r.str(), WaitMethod: r.str(), MaxParticipants: r.int()}
	}
	return d
}

func (r *reader) target() rcml.Target {
	t := rcml.Target{Kind: r.str(), To: r.str()}
	if n := r.count(); n > 0 {
		t.Headers = make(map[string]string, min(n, 64))
		for range n {
			k := r.str()
			t.Headers[k] = r.str()
		}
	}
	t.URL, t.Method, t.StatusCallback, t.StatusCallbackMethod = r.str(), r.str(), r.str(), r.str()
	t.StatusCallbackEvents = r.strs()
	t.Username, t.Password = r.str(), r.str()
	return t
}

// validUTF8 returns s with each byte of invalid UTF-8 replaced by U+FFFD, as
// encoding/json does.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return string(b)
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
