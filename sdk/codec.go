package sdk

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The codec is hand-written rather than encoding/json: inside a wasm guest
// encoding/json's reflection made a trivial decision cost ~250 µs, this
// codec a few µs. It reads standard JSON (any field order, unknown fields
// skipped, escapes and surrogate pairs decoded) and writes compact JSON
// that encoding/json decodes to the same values (a test and a fuzz target
// hold it to that).

// ErrSyntax is wrapped by the Decode functions for malformed JSON.
var ErrSyntax = errors.New("sdk: malformed JSON")

// AppendRedirectInput appends the JSON encoding of in to dst.
func AppendRedirectInput(dst []byte, in RedirectInput) []byte {
	dst = append(dst, `{"call":`...)
	dst = appendCall(dst, &in.Call)
	dst = append(dst, `,"request":{"url":`...)
	dst = appendString(dst, in.Request.URL)
	dst = append(dst, `,"method":`...)
	dst = appendString(dst, in.Request.Method)
	dst = append(dst, `,"fallback_url":`...)
	dst = appendString(dst, in.Request.FallbackURL)
	dst = append(dst, `,"move_connected_call_leg":`...)
	dst = strconv.AppendBool(dst, in.Request.MoveConnectedCallLeg)
	dst = append(dst, `,"requester_sid":`...)
	dst = appendString(dst, in.Request.RequesterSid)
	dst = append(dst, `},"config":`...)
	dst = appendString(dst, in.Config)
	dst = append(dst, `,"now":`...)
	dst = appendString(dst, in.Now)
	return append(dst, '}')
}

// AppendHangupInput appends the JSON encoding of in to dst.
func AppendHangupInput(dst []byte, in HangupInput) []byte {
	dst = append(dst, `{"call":`...)
	dst = appendCall(dst, &in.Call)
	dst = append(dst, `,"request":{"status":`...)
	dst = appendString(dst, in.Request.Status)
	dst = append(dst, `,"requester_sid":`...)
	dst = appendString(dst, in.Request.RequesterSid)
	dst = append(dst, `},"config":`...)
	dst = appendString(dst, in.Config)
	dst = append(dst, `,"now":`...)
	dst = appendString(dst, in.Now)
	return append(dst, '}')
}

func appendCall(dst []byte, c *Call) []byte {
	dst = append(dst, `{"sid":`...)
	dst = appendString(dst, c.Sid)
	dst = append(dst, `,"account_sid":`...)
	dst = appendString(dst, c.AccountSid)
	dst = append(dst, `,"from":`...)
	dst = appendString(dst, c.From)
	dst = append(dst, `,"to":`...)
	dst = appendString(dst, c.To)
	dst = append(dst, `,"direction":`...)
	dst = appendString(dst, c.Direction)
	dst = append(dst, `,"status":`...)
	dst = appendString(dst, c.Status)
	dst = append(dst, `,"url":`...)
	dst = appendString(dst, c.URL)
	dst = append(dst, `,"connected_call_sid":`...)
	dst = appendString(dst, c.ConnectedCallSid)
	return append(dst, '}')
}

// AppendDecision appends the JSON encoding of d to dst; empty optional
// fields are left out.
func AppendDecision(dst []byte, d Decision) []byte {
	dst = append(dst, `{"verdict":`...)
	dst = appendString(dst, string(d.Verdict))
	for _, f := range [...]struct{ key, val string }{{"reason", d.Reason}, {"url", d.URL}, {"method", d.Method}} {
		if f.val != "" {
			dst = append(dst, ',', '"')
			dst = append(dst, f.key...)
			dst = append(dst, '"', ':')
			dst = appendString(dst, f.val)
		}
	}
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string; invalid UTF-8 becomes U+FFFD, as
// encoding/json does.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight plain bytes at a time: in a guest each iteration costs
		// ~40 ns (see fastpath.go).
		if i+8 <= len(s) && plain8(load64(s, i)) {
			i += 8
			continue
		}
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// plain8 reports whether the eight bytes of the little-endian word w are
// all printable ASCII other than '"' and '\\', which a JSON string holds
// as they are.
func plain8(w uint64) bool {
	q, bs := w^(swarOnes*'"'), w^(swarOnes*'\\')
	special := (w-swarOnes*0x20)&^w | (q-swarOnes)&^q | (bs-swarOnes)&^bs | w
	return special&swarHighs == 0
}

// DecodeRedirectInput decodes a redirect hook input into in.
func DecodeRedirectInput(b []byte, in *RedirectInput) error {
	return decodeRedirectInput(string(b), in)
}

// decodeRedirectInput decodes from a string, so that a guest can decode
// from a buffer it never reuses without copying it.
func decodeRedirectInput(s string, in *RedirectInput) error {
	var fast RedirectInput
	if fastRedirectInput(s, &fast) {
		*in = fast
		return nil
	}
	d := decoder{s: s}
	if err := d.redirectInput(in); err != nil {
		return fmt.Errorf("sdk: decoding redirect input: %w", err)
	}
	return nil
}

// DecodeHangupInput decodes a hangup hook input into in.
func DecodeHangupInput(b []byte, in *HangupInput) error {
	return decodeHangupInput(string(b), in)
}

func decodeHangupInput(s string, in *HangupInput) error {
	var fast HangupInput
	if fastHangupInput(s, &fast) {
		*in = fast
		return nil
	}
	d := decoder{s: s}
	if err := d.hangupInput(in); err != nil {
		return fmt.Errorf("sdk: decoding hangup input: %w", err)
	}
	return nil
}

// DecodeDecision decodes a hook's output into out. It checks syntax only;
// Decision.Validate checks meaning.
func DecodeDecision(b []byte, out *Decision) error {
	d := decoder{s: string(b)}
	if err := d.decision(out); err != nil {
		return fmt.Errorf("sdk: decoding decision: %w", err)
	}
	return nil
}

// decoder reads one JSON document. It works on a string so that decoded
// strings without escapes are substrings of it, not new allocations: in a
// wasm guest, calls and allocations are what cost, so the loops below are
// written flat, without callbacks.
type decoder struct {
	s     string
	i     int
	depth int
}

// maxDepth bounds nesting in skipped values, so hostile input cannot
// exhaust the stack.
const maxDepth = 64

func (d *decoder) fail(what string) error {
	return fmt.Errorf("%w: %s at offset %d", ErrSyntax, what, d.i)
}

func (d *decoder) ws() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// end checks nothing but white space follows the document.
func (d *decoder) end() error {
	d.ws()
	if d.i != len(d.s) {
		return d.fail("data after the object")
	}
	return nil
}

// enter reads the '{' of an object.
func (d *decoder) enter() error {
	d.ws()
	if d.i >= len(d.s) || d.s[d.i] != '{' {
		return d.fail("want an object")
	}
	d.i++
	return nil
}

// next reads the separator before a member and the member's key, leaving
// the decoder at its value; more is false at the closing '}'. first tells
// whether a member was read before.
func (d *decoder) next(first bool) (key string, more bool, err error) {
	d.ws()
	if d.i >= len(d.s) {
		return "", false, d.fail("unterminated object")
	}
	if d.s[d.i] == '}' {
		d.i++
		return "", false, nil
	}
	if !first {
		if d.s[d.i] != ',' {
			return "", false, d.fail("want ',' or '}'")
		}
		d.i++
		d.ws()
	}
	if err := d.str(&key); err != nil {
		return "", false, err
	}
	d.ws()
	if d.i >= len(d.s) || d.s[d.i] != ':' {
		return "", false, d.fail("want ':'")
	}
	d.i++
	return key, true, nil
}

// object decodes one JSON object, handing each key to field, which reads
// the value (or skips it). A top-level object must be the whole input.
func (d *decoder) object(top bool, field func(key string) error) error {
	if err := d.enter(); err != nil {
		return err
	}
	for first := true; ; first = false {
		key, more, err := d.next(first)
		if err != nil || !more {
			if err == nil && top {
				err = d.end()
			}
			return err
		}
		if err := field(key); err != nil {
			return err
		}
	}
}

func (d *decoder) redirectInput(in *RedirectInput) error {
	return d.object(true, func(key string) error {
		switch key {
		case "call":
			return d.call(&in.Call)
		case "request":
			return d.redirectRequest(&in.Request)
		case "config":
			return d.str(&in.Config)
		case "now":
			return d.str(&in.Now)
		}
		return d.skip()
	})
}

func (d *decoder) redirectRequest(r *RedirectRequest) error {
	return d.object(false, func(key string) error {
		switch key {
		case "url":
			return d.str(&r.URL)
		case "method":
			return d.str(&r.Method)
		case "fallback_url":
			return d.str(&r.FallbackURL)
		case "move_connected_call_leg":
			return d.boolean(&r.MoveConnectedCallLeg)
		case "requester_sid":
			return d.str(&r.RequesterSid)
		}
		return d.skip()
	})
}

func (d *decoder) hangupInput(in *HangupInput) error {
	return d.object(true, func(key string) error {
		switch key {
		case "call":
			return d.call(&in.Call)
		case "request":
			return d.hangupRequest(&in.Request)
		case "config":
			return d.str(&in.Config)
		case "now":
			return d.str(&in.Now)
		}
		return d.skip()
	})
}

func (d *decoder) hangupRequest(r *HangupRequest) error {
	return d.object(false, func(key string) error {
		switch key {
		case "status":
			return d.str(&r.Status)
		case "requester_sid":
			return d.str(&r.RequesterSid)
		}
		return d.skip()
	})
}

func (d *decoder) call(c *Call) error {
	return d.object(false, func(key string) error {
		switch key {
		case "sid":
			return d.str(&c.Sid)
		case "account_sid":
			return d.str(&c.AccountSid)
		case "from":
			return d.str(&c.From)
		case "to":
			return d.str(&c.To)
		case "direction":
			return d.str(&c.Direction)
		case "status":
			return d.str(&c.Status)
		case "url":
			return d.str(&c.URL)
		case "connected_call_sid":
			return d.str(&c.ConnectedCallSid)
		}
		return d.skip()
	})
}

func (d *decoder) decision(out *Decision) error {
	return d.object(true, func(key string) error {
		switch key {
		case "verdict":
			var v string
			err := d.str(&v)
			out.Verdict = Verdict(v)
			return err
		case "reason":
			return d.str(&out.Reason)
		case "url":
			return d.str(&out.URL)
		case "method":
			return d.str(&out.Method)
		}
		return d.skip()
	})
}

// str reads a string, or null (leaving *s unchanged, as encoding/json).
func (d *decoder) str(s *string) error {
	d.ws()
	if d.literal("null") {
		return nil
	}
	if d.i >= len(d.s) || d.s[d.i] != '"' {
		return d.fail("want a string")
	}
	d.i++
	start := d.i
	// Fast path: no escape before the closing quote. IndexByte is
	// assembly even in a wasm guest, where a byte loop in Go costs ~50 ns
	// a byte. Raw control characters and invalid UTF-8 are let through
	// here, as many decoders do.
	if q := strings.IndexByte(d.s[start:], '"'); q >= 0 && strings.IndexByte(d.s[start:start+q], '\\') < 0 {
		*s = d.s[start : start+q]
		d.i = start + q + 1
		return nil
	}
	d.i = start
	var out []byte
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			*s = string(out)
			return nil
		case c < 0x20:
			return d.fail("control character in string")
		case c == '\\':
			if d.i+1 >= len(d.s) {
				return d.fail("unterminated escape")
			}
			e := d.s[d.i+1]
			d.i += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := d.hex4()
				if !ok {
					return d.fail("bad \\u escape")
				}
				if utf16.IsSurrogate(r) {
					r2 := utf8.RuneError
					if d.i+1 < len(d.s) && d.s[d.i] == '\\' && d.s[d.i+1] == 'u' {
						save := d.i
						d.i += 2
						lo, ok := d.hex4()
						if r2 = utf16.DecodeRune(r, lo); !ok || r2 == utf8.RuneError {
							d.i, r2 = save, utf8.RuneError
						}
					}
					r = r2
				}
				out = utf8.AppendRune(out, r)
			default:
				return d.fail("bad escape")
			}
		case c < utf8.RuneSelf:
			out = append(out, c)
			d.i++
		default:
			r, size := utf8.DecodeRuneInString(d.s[d.i:])
			out = utf8.AppendRune(out, r) // invalid bytes become U+FFFD
			d.i += size
		}
	}
	return d.fail("unterminated string")
}

func (d *decoder) hex4() (rune, bool) {
	if d.i+4 > len(d.s) {
		return 0, false
	}
	var r rune
	for _, c := range d.s[d.i : d.i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	d.i += 4
	return r, true
}

func (d *decoder) literal(lit string) bool {
	if len(d.s)-d.i >= len(lit) && d.s[d.i:d.i+len(lit)] == lit {
		d.i += len(lit)
		return true
	}
	return false
}

// boolean reads true, false or null (leaving *v unchanged).
func (d *decoder) boolean(v *bool) error {
	d.ws()
	switch {
	case d.literal("true"):
		*v = true
	case d.literal("false"):
		*v = false
	case d.literal("null"):
	default:
		return d.fail("want a boolean")
	}
	return nil
}

// skip reads and drops any value.
func (d *decoder) skip() error {
	d.ws()
	if d.i >= len(d.s) {
		return d.fail("want a value")
	}
	switch c := d.s[d.i]; {
	case c == '{', c == '[':
		if d.depth++; d.depth > maxDepth {
			return d.fail("nested too deep")
		}
		var err error
		if c == '{' {
			err = d.skipObject()
		} else {
			err = d.skipArray()
		}
		d.depth--
		return err
	case c == '"':
		var s string
		return d.str(&s)
	case d.literal("true"), d.literal("false"), d.literal("null"):
		return nil
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	}
	return d.fail("want a value")
}

func (d *decoder) skipObject() error {
	if err := d.enter(); err != nil {
		return err
	}
	for first := true; ; first = false {
		_, more, err := d.next(first)
		if err != nil || !more {
			return err
		}
		if err := d.skip(); err != nil {
			return err
		}
	}
}

func (d *decoder) skipArray() error {
	d.i++ // '['
	d.ws()
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
		return nil
	}
	for {
		if err := d.skip(); err != nil {
			return err
		}
		d.ws()
		if d.i >= len(d.s) {
			return d.fail("unterminated array")
		}
		switch d.s[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			return nil
		default:
			return d.fail("want ',' or ']'")
		}
	}
}

// number reads a JSON number (RFC 8259 grammar) and drops it.
func (d *decoder) number() error {
	start := d.i
	if d.s[d.i] == '-' {
		d.i++
	}
	digits := func() int {
		n := 0
		for d.i < len(d.s) && d.s[d.i] >= '0' && d.s[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	if d.i < len(d.s) && d.s[d.i] == '0' {
		d.i++
	} else if digits() == 0 {
		return d.fail("bad number")
	}
	if d.i < len(d.s) && d.s[d.i] == '.' {
		d.i++
		if digits() == 0 {
			return d.fail("bad number")
		}
	}
	if d.i < len(d.s) && (d.s[d.i] == 'e' || d.s[d.i] == 'E') {
		d.i++
		if d.i < len(d.s) && (d.s[d.i] == '+' || d.s[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			return d.fail("bad number")
		}
	}
	if d.i == start {
		return d.fail("bad number")
	}
	return nil
}
