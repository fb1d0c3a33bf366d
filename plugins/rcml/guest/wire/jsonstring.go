package wire

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// plainJSON[c] is 1 when byte c goes into a JSON string as it is: ASCII from
// space up, other than '"', '\\', '<', '>' and '&'.
var plainJSON = func() (t [256]byte) {
	for c := 0x20; c < 0x80; c++ {
		switch c {
		case '"', '\\', '<', '>', '&':
		default:
			t[c] = 1
		}
	}
	return t
}()

// skipPlain returns the index of the first byte at or after i that is not
// plainJSON, or len(s). In wasm every loop iteration leaves the compiled code
// for a termination check (wazero's WithCloseOnContextDone), so it tests eight
// bytes per iteration with straight-line code.
func skipPlain(s string, i int) int {
	for i+8 <= len(s) && plainJSON[s[i]]&plainJSON[s[i+1]]&plainJSON[s[i+2]]&plainJSON[s[i+3]]&
		plainJSON[s[i+4]]&plainJSON[s[i+5]]&plainJSON[s[i+6]]&plainJSON[s[i+7]] != 0 {
		i += 8
	}
	if i+4 <= len(s) && plainJSON[s[i]]&plainJSON[s[i+1]]&plainJSON[s[i+2]]&plainJSON[s[i+3]] != 0 {
		i += 4
	}
	if i+2 <= len(s) && plainJSON[s[i]]&plainJSON[s[i+1]] != 0 {
		i += 2
	}
	if i < len(s) && plainJSON[s[i]] != 0 {
		i++
	}
	return i
}

// appendString appends s as a JSON string escaped exactly as encoding/json
// escapes it by default: quotes, backslashes and control characters; '<', '>'
// and '&' as \u003c, \u003e, \u0026; U+2028 and U+2029; and each byte of
// invalid UTF-8 as \ufffd. Matching it byte for byte keeps the guest's
// output identical to what the plan types marshal to.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0 // s[start:i] is pending, needing no escape
	for i := 0; i < len(s); {
		i = skipPlain(s, i)
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
