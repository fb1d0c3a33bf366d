package rcml

import (
	"strconv"
	"strings"
	"testing"
)

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
