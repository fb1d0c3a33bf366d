package sdk

import "math/bits"

// The fast path of the input decoders. Inside a wasm guest run by a host
// with WithCloseOnContextDone (every Patchbay host), the engine checks for
// termination at the head of every wasm loop, and a Go function entry is a
// loop head too: each Go call and each loop iteration costs ~40 ns, so the
// general decoder's per-byte and per-token calls made a decision cost
// ~28 µs. A host that encodes with AppendRedirectInput or
// AppendHangupInput writes every member in one order with no white space,
// so the fast path checks the keys as literals (no key scan or switch) and
// finds each string's end eight bytes per iteration. Anything else (other
// order, white space, escapes, null, unknown members) makes it give up, and
// the general decoder reads the input from the start: the result is the
// same either way, only slower.

// fastReader reads the canonical layout; ok turns false at the first
// deviation and stays false.
type fastReader struct {
	s  string
	i  int
	ok bool
}

// lit consumes lit (at most 32 bytes) at the current position.
func (f *fastReader) lit(lit string) {
	if f.ok && len(f.s)-f.i >= len(lit) && equalAt(f.s, f.i, lit) {
		f.i += len(lit)
		return
	}
	f.ok = false
}

// equalAt reports whether s[i:] starts with lit, which has at most 32
// bytes and fits in s[i:]. It compares words, possibly overlapping, without
// a loop: in a guest, runtime.memequal walks byte by byte and a 15-byte
// comparison costs ~400 ns.
func equalAt(s string, i int, lit string) bool {
	n := len(lit)
	switch {
	case n >= 8:
		ok := load64(s, i) == load64(lit, 0) && load64(s, i+n-8) == load64(lit, n-8)
		if n > 16 {
			ok = ok && load64(s, i+8) == load64(lit, 8)
		}
		if n > 24 {
			ok = ok && load64(s, i+16) == load64(lit, 16)
		}
		return ok
	case n >= 4:
		return load32(s, i) == load32(lit, 0) && load32(s, i+n-4) == load32(lit, n-4)
	}
	for k := 0; k < n; k++ {
		if s[i+k] != lit[k] {
			return false
		}
	}
	return true
}

// str consumes a string without escapes and stores it, aliasing f.s. It
// looks for the closing quote sixteen bytes per iteration (a zero byte of
// w^pattern is a match; the lowest byte the classic zero-byte test flags is
// always a true one), since in a guest iterations, not bytes, are what
// cost; the scan is written inline for the same reason.
func (f *fastReader) str(dst *string) {
	s, i := f.s, f.i+1
	if !f.ok || f.i >= len(s) || s[f.i] != '"' {
		f.ok = false
		return
	}
	start := i
	for ; i+16 <= len(s); i += 16 {
		if m := quoteOrBackslash8(load64(s, i)); m != 0 {
			i += bits.TrailingZeros64(m) >> 3
			goto found
		}
		if m := quoteOrBackslash8(load64(s, i+8)); m != 0 {
			i += 8 + bits.TrailingZeros64(m)>>3
			goto found
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			goto found
		}
	}
	f.ok = false
	return
found:
	if s[i] != '"' {
		f.ok = false
		return
	}
	*dst = s[start:i]
	f.i = i + 1
}

func (f *fastReader) boolean(dst *bool) {
	switch {
	case !f.ok:
	case len(f.s)-f.i >= 4 && equalAt(f.s, f.i, "true"):
		*dst = true
		f.i += 4
	case len(f.s)-f.i >= 5 && equalAt(f.s, f.i, "false"):
		*dst = false
		f.i += 5
	default:
		f.ok = false
	}
}

// done reports whether the whole input was read without a deviation.
func (f *fastReader) done() bool { return f.ok && f.i == len(f.s) }

const (
	swarOnes  = 0x0101010101010101
	swarHighs = 0x8080808080808080
)

// quoteOrBackslash8 flags (bit 7 of the byte) the bytes of the
// little-endian word w that are '"' or '\\'.
func quoteOrBackslash8(w uint64) uint64 {
	q, bs := w^(swarOnes*'"'), w^(swarOnes*'\\')
	return ((q - swarOnes) &^ q & swarHighs) | ((bs - swarOnes) &^ bs & swarHighs)
}

func (f *fastReader) call(c *Call) {
	f.lit(`{"sid":`)
	f.str(&c.Sid)
	f.lit(`,"account_sid":`)
	f.str(&c.AccountSid)
	f.lit(`,"from":`)
	f.str(&c.From)
	f.lit(`,"to":`)
	f.str(&c.To)
	f.lit(`,"direction":`)
	f.str(&c.Direction)
	f.lit(`,"status":`)
	f.str(&c.Status)
	f.lit(`,"url":`)
	f.str(&c.URL)
	f.lit(`,"connected_call_sid":`)
	f.str(&c.ConnectedCallSid)
	f.lit(`}`)
}

// fastRedirectInput decodes the layout AppendRedirectInput writes; false
// means "use the general decoder" (in is then partly written).
func fastRedirectInput(s string, in *RedirectInput) bool {
	f := fastReader{s: s, ok: true}
	f.lit(`{"call":`)
	f.call(&in.Call)
	f.lit(`,"request":{"url":`)
	f.str(&in.Request.URL)
	f.lit(`,"method":`)
	f.str(&in.Request.Method)
	f.lit(`,"fallback_url":`)
	f.str(&in.Request.FallbackURL)
	f.lit(`,"move_connected_call_leg":`)
	f.boolean(&in.Request.MoveConnectedCallLeg)
	f.lit(`,"requester_sid":`)
	f.str(&in.Request.RequesterSid)
	f.lit(`},"config":`)
	f.str(&in.Config)
	f.lit(`,"now":`)
	f.str(&in.Now)
	f.lit(`}`)
	return f.done()
}

// fastHangupInput is fastRedirectInput for AppendHangupInput's layout.
func fastHangupInput(s string, in *HangupInput) bool {
	f := fastReader{s: s, ok: true}
	f.lit(`{"call":`)
	f.call(&in.Call)
	f.lit(`,"request":{"status":`)
	f.str(&in.Request.Status)
	f.lit(`,"requester_sid":`)
	f.str(&in.Request.RequesterSid)
	f.lit(`},"config":`)
	f.str(&in.Config)
	f.lit(`,"now":`)
	f.str(&in.Now)
	f.lit(`}`)
	return f.done()
}
