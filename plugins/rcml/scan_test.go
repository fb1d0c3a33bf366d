package rcml

import (
	"strconv"
	"strings"
	"testing"
)

func TestIndexEither(t *testing.T) {
	// Every length up to 40, every start, a and b at every place: the same
	// answer as a byte loop.
	for n := 0; n <= 40; n++ {
		for _, at := range []int{-1, 0, 1, 6, 7, 8, 9, 15, 16, 17, 23, 31, 32, 39} {
			for _, c := range []byte{'&', '!'} {
				b := []byte(strings.Repeat("x", n))
				if at >= 0 && at < n {
					b[at] = c
				}
				s := string(b)
				for i := 0; i <= n; i++ {
					want := -1
					for k := i; k < n; k++ {
						if s[k] == '&' || s[k] == '!' {
							want = k
							break
						}
					}
					if got := indexEither(s, i, '&', '!'); got != want {
						t.Fatalf("indexEither(%q, %d) = %d, want %d", s, i, got, want)
					}
				}
			}
		}
	}
	// Bytes next to the ones sought (0x25, 0x27, 0xa6) and high bytes must
	// not be taken for them.
	s := "\x25\x27\xa6\xff\x00\x80" + strings.Repeat("\x26\x21"[1:], 0) + "\x25\x27\xa6\xff\x00\x80\x25\x27\xa6\xff&"
	if got := indexEither(s, 0, '&', '!'); got != len(s)-1 {
		t.Fatalf("indexEither(%q) = %d, want %d", s, got, len(s)-1)
	}
}

func FuzzIndexEither(f *testing.F) {
	f.Add("a&b!c", 0)
	f.Fuzz(func(t *testing.T, s string, i int) {
		if i < 0 || i > len(s) {
			return
		}
		want := -1
		for k := i; k < len(s); k++ {
			if s[k] == '&' || s[k] == '!' {
				want = k
				break
			}
		}
		if got := indexEither(s, i, '&', '!'); got != want {
			t.Fatalf("indexEither(%q, %d) = %d, want %d", s, i, got, want)
		}
	})
}

func TestIndexEitherIgnoresMatchesBeforeStart(t *testing.T) {
	// '&' then '\'' (0x26, 0x27): a borrow from the match before i must not
	// flag the byte at i.
	for _, s := range []string{"xxxxxx&'yy", "xxxxxxxxxxxxxxxxxx&'y", "!  xxxxxxxx"} {
		i := strings.IndexAny(s, "&!") + 1
		want := strings.IndexAny(s[i:], "&!")
		if want >= 0 {
			want += i
		}
		if got := indexEither(s, i, '&', '!'); got != want {
			t.Errorf("indexEither(%q, %d) = %d, want %d", s, i, got, want)
		}
	}
}

func TestEqualStringAndCutByte(t *testing.T) {
	// Every length up to 20, a difference at every place (or none): the
	// same answers as == and strings.Cut.
	for n := 0; n <= 20; n++ {
		a := strings.Repeat("ab", n)[:n]
		for at := -1; at < n; at++ {
			b := []byte(a)
			if at >= 0 {
				b[at] ^= 0x20
			}
			if got, want := equalString(a, string(b)), a == string(b); got != want {
				t.Fatalf("equalString(%q, %q) = %v", a, b, got)
			}
			if at >= 0 {
				b[at] = '&'
			}
			before, after, found := cutByte(string(b), '&')
			wb, wa, wf := strings.Cut(string(b), "&")
			if before != wb || after != wa || found != wf {
				t.Fatalf("cutByte(%q) = %q %q %v, want %q %q %v", b, before, after, found, wb, wa, wf)
			}
		}
		if equalString(a, a+"x") || equalString(a+"x", a) {
			t.Fatalf("strings of different lengths equal at %d", n)
		}
	}
}

func FuzzEqualString(f *testing.F) {
	f.Add("action", "method")
	f.Add("statusCallbackEvent", "statusCallbackEvenT")
	f.Fuzz(func(t *testing.T, a, b string) {
		if got := equalString(a, b); got != (a == b) {
			t.Fatalf("equalString(%q, %q) = %v", a, b, got)
		}
		if len(b) > 0 {
			sep := b[0] | 1 // any byte but zero
			before, after, found := cutByte(a, sep)
			wb, wa, wf := strings.Cut(a, string([]byte{sep}))
			if before != wb || after != wa || found != wf {
				t.Fatalf("cutByte(%q, %q) = %q %q %v", a, sep, before, after, found)
			}
		}
	})
}

func FuzzIndexString(f *testing.F) {
	f.Add(`<?xml version="1.0" encoding="UTF-8"?><a/>`, 5, "?>")
	f.Add("??>?>", 0, "?>")
	f.Fuzz(func(t *testing.T, s string, i int, sep string) {
		if i < 0 || i > len(s) || len(sep) < 2 || sep[0] == 0 {
			return
		}
		want := strings.Index(s[i:], sep)
		if want >= 0 {
			want += i
		}
		if got := indexString(s, i, sep); got != want {
			t.Fatalf("indexString(%q, %d, %q) = %d, want %d", s, i, sep, got, want)
		}
	})
}

// FuzzLoopFreeHelpers holds atoi, trimSpace and equalFold, which take a
// loop-free road for the usual values, to the standard library.
func FuzzLoopFreeHelpers(f *testing.F) {
	for _, s := range []string{"", "0", "7", "42", "3600", "0012", "10000", "+5", "-1", "1a", "a1", "١", " 5", "5 ",
		"\u00a0x\u0085", "POST", "post", "PoSt", "true", "TRUE", "\xff", "ſ", "K"} {
		f.Add(s, "post")
	}
	f.Fuzz(func(t *testing.T, s, want string) {
		gotN, gotErr := atoi(s)
		wantN, wantErr := strconv.Atoi(s)
		if gotN != wantN || (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("atoi(%q) = %d, %v; strconv.Atoi gives %d, %v", s, gotN, gotErr, wantN, wantErr)
		}
		if got, want := trimSpace(s), strings.TrimSpace(s); got != want {
			t.Fatalf("trimSpace(%q) = %q, want %q", s, got, want)
		}
		if got, wantFold := equalFold(s, want), strings.EqualFold(s, want); got != wantFold {
			t.Fatalf("equalFold(%q, %q) = %v, want %v", s, want, got, wantFold)
		}
	})
}
