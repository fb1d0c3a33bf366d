package rcml

import (
	"math/bits"
	"strconv"
	"strings"
)

// Word-at-a-time searches. In a wasm guest every loop iteration costs a
// termination check (~35 ns, wazero's WithCloseOnContextDone) and
// strings.IndexByte's memchr walks four bytes per iteration after aligning
// byte by byte, so these look at 16 or 32 bytes per iteration and end with
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
// is a or b, or -1. Its loops are in functions of their own, so that a search
// that ends within sixteen bytes, and its caller, pay no termination check
// for them (see skip in tokenizer.go).
func indexEither(s string, i int, a, b byte) int {
	if i+16 <= len(s) {
		if m := either8(load64(s, i), a, b); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		if m := either8(load64(s, i+8), a, b); m != 0 {
			return i + 8 + bits.TrailingZeros64(m)>>3
		}
		return indexEitherLong(s, i+16, a, b)
	}
	return indexEitherShort(s, i, a, b)
}

// indexEitherLong is indexEither's loop, thirty-two bytes per iteration (a
// whole document is scanned with it once per parse; see appendEscaped).
//
//go:noinline
func indexEitherLong(s string, i int, a, b byte) int {
	for ; i+32 <= len(s); i += 32 {
		m0, m1 := either8(load64(s, i), a, b), either8(load64(s, i+8), a, b)
		m2, m3 := either8(load64(s, i+16), a, b), either8(load64(s, i+24), a, b)
		if m0|m1|m2|m3 == 0 {
			continue
		}
		switch {
		case m0 != 0:
			return i + bits.TrailingZeros64(m0)>>3
		case m1 != 0:
			return i + 8 + bits.TrailingZeros64(m1)>>3
		case m2 != 0:
			return i + 16 + bits.TrailingZeros64(m2)>>3
		}
		return i + 24 + bits.TrailingZeros64(m3)>>3
	}
	if i+16 <= len(s) {
		if m := either8(load64(s, i), a, b); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		if m := either8(load64(s, i+8), a, b); m != 0 {
			return i + 8 + bits.TrailingZeros64(m)>>3
		}
		i += 16
	}
	return indexEitherShort(s, i, a, b)
}

// indexEitherShort is indexEither where fewer than sixteen bytes are left.
func indexEitherShort(s string, i int, a, b byte) int {
	if i+8 <= len(s) {
		if m := either8(load64(s, i), a, b); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	if i >= len(s) {
		return -1
	}
	if len(s) < 8 {
		return indexEitherBytes(s, i, a, b)
	}
	// The last word, shifted right past its bytes before i: the bytes
	// shifted in are zero, which is neither a nor b (callers never look
	// for zero), so the lowest flag is still a true match.
	k := i - (len(s) - 8)
	if m := either8(load64(s, len(s)-8)>>(8*k), a, b); m != 0 {
		return i + bits.TrailingZeros64(m)>>3
	}
	return -1
}

// indexEitherBytes is indexEither for a string shorter than a word.
//
//go:noinline
func indexEitherBytes(s string, i int, a, b byte) int {
	for ; i < len(s); i++ {
		if s[i] == a || s[i] == b {
			return i
		}
	}
	return -1
}

// indexByte is strings.IndexByte(s[i:], c)+i (or -1) at 16 or 32 bytes per
// iteration; c must not be zero.
func indexByte(s string, i int, c byte) int { return indexEither(s, i, c, c) }

// hasPrefix is strings.HasPrefix without memequal's byte loop (see equalString).
func hasPrefix(s, prefix string) bool {
	return len(s) >= len(prefix) && equalString(s[:len(prefix)], prefix)
}

// indexString is strings.Index(s[i:], sep)+i (or -1) for a sep of two bytes or more
// that does not start with a zero byte, found with indexByte rather than memchr's
// byte loop.
func indexString(s string, i int, sep string) int {
	for {
		i = indexByte(s, i, sep[0])
		if i < 0 || len(s)-i < len(sep) {
			return -1
		}
		if equalString(s[i:i+len(sep)], sep) {
			return i
		}
		i++
	}
}

// cutByte is strings.Cut(s, string(sep)) for a non-zero byte sep, without
// memchr's byte loops.
func cutByte(s string, sep byte) (before, after string, found bool) {
	if i := indexByte(s, 0, sep); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

// equalString reports whether a == b. For two strings of the same length
// == calls runtime.memequal, in a wasm guest a byte loop with a termination
// check per byte; names and attribute names are short, so this compares
// them with at most four word loads and no loop.
func equalString(a, b string) bool {
	n := len(a)
	switch {
	case n != len(b):
		return false
	case n > 16:
		return a == b
	case n >= 8:
		return load64(a, 0) == load64(b, 0) && load64(a, n-8) == load64(b, n-8)
	case n >= 4:
		return load32(a, 0) == load32(b, 0) && load32(a, n-4) == load32(b, n-4)
	case n == 0:
		return true
	}
	// One to three bytes: the first, the middle and the last.
	return a[0] == b[0] && a[n/2] == b[n/2] && a[n-1] == b[n-1]
}

// equalFold is strings.EqualFold with a loop-free test for the usual case, a value
// written exactly as expected (EqualFold loops per byte, a termination check each in
// wasm).
func equalFold(v, want string) bool {
	return equalString(v, want) || equalFoldLoop(v, want)
}

// equalFoldLoop keeps EqualFold's loop out of equalFold's callers.
//
//go:noinline
func equalFoldLoop(v, want string) bool { return strings.EqualFold(v, want) }

// atoi is strconv.Atoi with a loop-free road for one to four ASCII digits,
// nearly every number in RCML (Atoi loops per digit).
func atoi(v string) (int, error) {
	if len(v) >= 1 && len(v) <= 4 {
		b := [4]byte{'0', '0', '0', '0'}
		copy(b[4-len(v):], v)
		// A byte below '0' wraps around, so one comparison per digit.
		d0, d1, d2, d3 := b[0]-'0', b[1]-'0', b[2]-'0', b[3]-'0'
		if d0 <= 9 && d1 <= 9 && d2 <= 9 && d3 <= 9 {
			return int(d0)*1000 + int(d1)*100 + int(d2)*10 + int(d3), nil
		}
	}
	return strconv.Atoi(v)
}

// trimSpace is strings.TrimSpace with a loop-free test for the usual case: values
// and texts rarely need trimming, and TrimSpace loops over the bytes it trims.
func trimSpace(v string) string {
	if v == "" || (v[0] > ' ' && v[0] < 0x80 && v[len(v)-1] > ' ' && v[len(v)-1] < 0x80) {
		return v
	}
	return strings.TrimSpace(v)
}
