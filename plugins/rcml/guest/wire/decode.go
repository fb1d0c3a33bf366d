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
		p := &rcml.Plan{Verbs: r.verbs(partAll)}
		if p.Verbs == nil {
			p.Verbs = []rcml.Verb{}
		}
		if n := r.count(minWarningSize); n > 0 {
			p.Warnings = make([]rcml.Warning, n)
			for i := range p.Warnings {
				p.Warnings[i] = rcml.Warning{Code: r.readInt(), Message: r.readString()}
			}
		}
		o.Plan = p
	case tagFailure:
		f := &Failure{Kind: r.readString(), Cause: r.readString(), Line: r.readInt(), Offset: r.readInt64(), Message: r.readString()}
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

func (r *reader) readInt64() int64 {
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
func (r *reader) readInt() int {
	v := r.readInt64()
	if int64(int(v)) != v {
		r.fail("an integer out of range")
		return 0
	}
	return int(v)
}

func (r *reader) readBool() bool {
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

func (r *reader) readString() string {
	return validUTF8(r.take(int(r.u32())))
}

// The fewest bytes an element of each kind of list takes in an output.
const (
	minStringSize  = 4     // its length
	minWarningSize = 8 + 4 // code, message
	minHeaderSize  = 4 + 4 // name, value
	minVerbSize    = 4 + 2 // kind, parts
	minTargetSize  = 10 * 4
)

// count reads a list's length, refusing one whose elements, at size bytes
// each at least, would not fit in the bytes left. A list is allocated at its
// length before its elements are read, so this bounds what garbage can make
// the host allocate: a few dozen times the output's size at most (a Verb
// takes 104 bytes and at least 6 in an output, and lists of verbs nest one
// level, a Gather's prompts).
func (r *reader) count(size int) int {
	n := r.u32()
	if uint64(n)*uint64(size) > uint64(len(r.s)-r.i) {
		r.fail("a list longer than the output")
		return 0
	}
	return int(n)
}

func (r *reader) readStrings() []string {
	n := r.count(minStringSize)
	if n == 0 {
		return nil
	}
	vs := make([]string, n)
	for i := range vs {
		vs[i] = r.readString()
	}
	return vs
}

// verbs reads a list of verbs with no parts but allowed.
func (r *reader) verbs(allowed uint16) []rcml.Verb {
	n := r.count(minVerbSize)
	if n == 0 {
		return nil
	}
	vs := make([]rcml.Verb, n)
	for i := range vs {
		r.verb(&vs[i], allowed)
	}
	return vs
}

func (r *reader) verb(v *rcml.Verb, allowed uint16) {
	v.Kind = rcml.Kind(r.readString())
	p := r.take(2)
	if len(p) < 2 {
		return
	}
	parts := uint16(p[0]) | uint16(p[1])<<8
	if parts&^allowed != 0 {
		r.fail("unknown verb parts, or parts a prompt cannot have")
		return
	}
	if parts&partPlay != 0 {
		v.Play = &rcml.Play{URL: r.readString(), Loop: r.readInt()}
	}
	if parts&partSay != 0 {
		v.Say = &rcml.Say{Text: r.readString(), Voice: r.readString(), Language: r.readString(), Loop: r.readInt()}
	}
	if parts&partPause != 0 {
		v.Pause = &rcml.Pause{Length: r.readInt()}
	}
	if parts&partRedirect != 0 {
		v.Redirect = &rcml.Redirect{URL: r.readString(), Method: r.readString()}
	}
	if parts&partReject != 0 {
		v.Reject = &rcml.Reject{Reason: r.readString()}
	}
	if parts&partDial != 0 {
		v.Dial = r.dial()
	}
	if parts&partGather != 0 {
		v.Gather = r.gather()
	}
	if parts&partRecord != 0 {
		v.Record = &rcml.Record{Action: r.readString(), Method: r.readString(), Timeout: r.readInt(), FinishOnKey: r.readString(), MaxLength: r.readInt(),
			PlayBeep: r.readBool(), Transcribe: r.readBool(), TranscribeCallback: r.readString(), Media: r.readString()}
	}
	if parts&partSms != 0 {
		v.Sms = &rcml.Sms{Body: r.readString(), To: r.readString(), From: r.readString(), Action: r.readString(), Method: r.readString(), StatusCallback: r.readString()}
	}
	if parts&partFax != 0 {
		v.Fax = &rcml.Fax{Document: r.readString(), To: r.readString(), From: r.readString(), Action: r.readString(), Method: r.readString(), StatusCallback: r.readString()}
	}
	if parts&partEmail != 0 {
		v.Email = &rcml.Email{Body: r.readString(), To: r.readString(), From: r.readString(), CC: r.readString(), BCC: r.readString(), Subject: r.readString()}
	}
}

func (r *reader) gather() *rcml.Gather {
	return &rcml.Gather{Action: r.readString(), Method: r.readString(), Timeout: r.readInt(), FinishOnKey: r.readString(), NumDigits: r.readInt(),
		StartInputKey: r.readString(), Input: r.readString(), Language: r.readString(), Hints: r.readStrings(), PartialResultCallback: r.readString(),
		PartialResultCallbackMethod: r.readString(), Prompts: r.verbs(partPrompt)}
}

func (r *reader) dial() *rcml.Dial {
	d := &rcml.Dial{Mode: r.readString(), Action: r.readString(), Method: r.readString(), Timeout: r.readInt(), TimeLimit: r.readInt(),
		CallerID: r.readString(), Record: r.readBool(), FromText: r.readBool()}
	if n := r.count(minTargetSize); n > 0 {
		d.Targets = make([]rcml.Target, n)
		for i := range d.Targets {
			d.Targets[i] = r.target()
		}
	}
	if r.readBool() {
		d.Conference = &rcml.Conference{Name: r.readString(), Muted: r.readBool(), Beep: r.readBool(), StartConferenceOnEnter: r.readBool(),
			EndConferenceOnExit: r.readBool(), WaitURL: r.readString(), WaitMethod: r.readString(), MaxParticipants: r.readInt()}
	}
	return d
}

func (r *reader) target() rcml.Target {
	t := rcml.Target{Kind: r.readString(), To: r.readString()}
	if n := r.count(minHeaderSize); n > 0 {
		t.Headers = make(map[string]string, min(n, 64))
		for range n {
			k := r.readString()
			t.Headers[k] = r.readString()
		}
	}
	t.URL, t.Method, t.StatusCallback, t.StatusCallbackMethod = r.readString(), r.readString(), r.readString(), r.readString()
	t.StatusCallbackEvents = r.readStrings()
	t.Username, t.Password = r.readString(), r.readString()
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
