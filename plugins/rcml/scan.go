package rcml

import "math/bits"

// Word-at-a-time searches. In a wasm guest every loop iteration costs a
// termination check (~35 ns, wazero's WithCloseOnContextDone) and
// strings.IndexByte's memchr walks four bytes per iteration after aligning
// byte by byte, so these look at sixteen bytes per iteration and end with
// one overlapping word instead of a byte loop.

const (
	swarOnes  = 0x0101010101010101
	swarHighs = 0x8080808080808080
)

// either8 flags (bit 7 of each byte) the bytes of the little-endian word w
// that are a or b; the lowest flagged byte is always a true match.
func either8(w uint64, a, b byte) uint64 {
	x, y := w^(swarOnes*uint64(a)), w^(swarOnes*uint64(b))
	return ((x - swarOnes) &^ x & swarHighs) | ((y - swarOnes) &^ y & swarHighs)
}

// indexEither returns the index of the first byte of s at or after i that
// is a or b, or -1.
func indexEither(s string, i int, a, b byte) int {
	for ; i+16 <= len(s); i += 16 {
		if m := either8(load64(s, i), a, b); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		if m := either8(load64(s, i+8), a, b); m != 0 {
			return i + 8 + bits.TrailingZeros64(m)>>3
		}
	}
	if i+8 <= len(s) {
		if m := either8(load64(s, i), a, b); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	if i >= len(s) {
		return -1
	}
	if len(s) >= 8 {
		// The last word, shifted right past its bytes before i: the bytes
		// shifted in are zero, which is neither a nor b (callers never look
		// for zero), so the lowest flag is still a true match.
		k := i - (len(s) - 8)
		if m := either8(load64(s, len(s)-8)>>(8*k), a, b); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		return -1
	}
	for ; i < len(s); i++ {
		if s[i] == a || s[i] == b {
			return i
		}
	}
	return -1
}
