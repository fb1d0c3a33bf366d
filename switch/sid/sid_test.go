package sid

import "testing"

func TestNewIsValid(t *testing.T) {
	s := New(Call)
	if !Valid(s, Call) || !ValidCall(s) {
		t.Fatalf("New(Call) = %q is not valid", s)
	}
	if New(Call) == s {
		t.Fatal("two sids are equal")
	}
}

func TestValidCall(t *testing.T) {
	cases := map[string]bool{
		"CAfa51b104853f4a7a9b5a0ab8e5b6a0a0":                                     true,
		"CAfa51b104853f4a7a9b5a0ab8e5b6a0a":                                      false,
		"ACfa51b104853f4a7a9b5a0ab8e5b6a0a0":                                     false,
		"IDaaaaaaaaaaabbbbbbbbbbbcccccccddd-CAaaaaaaabbbbbcccccdddddeeeeeffffgg": true,
		"IDaaaaaaaaaaabbbbbbbbbbbcccccccddd_CAaaaaaaabbbbbcccccdddddeeeeeffffgg": false,
		"CAfa51b104853f4a7a9b5a0ab8e5b6a0-0":                                     false,
		"":                                                                       false,
	}
	for in, want := range cases {
		if got := ValidCall(in); got != want {
			t.Errorf("ValidCall(%q) = %v, want %v", in, got, want)
		}
	}
	if got := CanonicalCall("IDaaaaaaaaaaabbbbbbbbbbbcccccccddd-CAaaaaaaabbbbbcccccdddddeeeeeffffgg"); got != "CAaaaaaaabbbbbcccccdddddeeeeeffffgg" {
		t.Errorf("CanonicalCall = %q", got)
	}
}
