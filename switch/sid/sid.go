// Package sid makes and checks Restcomm resource identifiers ("sids").
//
// A sid is a two-letter prefix naming the resource kind followed by 32
// lowercase hex digits. Call sids are also accepted in the upstream clustered
// form "ID<32>-CA<32>".
package sid

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// Prefixes of the resources Patchbay stores.
const (
	Account      = "AC"
	Call         = "CA"
	PhoneNumber  = "PN"
	Client       = "CL"
	Conference   = "CF"
	Recording    = "RE"
	Notification = "NO"
	Plugin       = "PL"
)

// New returns a fresh sid with the given two-letter prefix.
func New(prefix string) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand never fails on Linux; a failure means the process cannot
		// make secrets safely, so stopping is the only sane answer.
		panic("sid: crypto/rand failed: " + err.Error())
	}
	return prefix + hex.EncodeToString(b[:])
}

// Token returns 32 random lowercase hex digits, the shape of an AuthToken.
func Token() string { return New("")[0:32] }

// Valid reports whether s has the shape of a sid with the given prefix:
// the prefix followed by 32 alphanumerics. Upstream checks only the shape, so
// uppercase hex is accepted too.
func Valid(s, prefix string) bool {
	if len(s) != 34 || !strings.HasPrefix(s, prefix) {
		return false
	}
	return alnum(s[2:])
}

// ValidCall reports whether s is a well-formed call sid, either "CA<32>" or
// the upstream clustered form "ID<32>-CA<32>".
func ValidCall(s string) bool {
	if Valid(s, Call) {
		return true
	}
	// The real form is 69 characters; upstream's validator only checks the
	// shape loosely and its own tests use a longer tail as "well-formed", so
	// a tail of 32 to 34 characters after "-CA" is accepted.
	n := len(s)
	return n >= 69 && n <= 71 && strings.HasPrefix(s, "ID") && alnum(s[2:34]) && s[34:37] == "-CA" && alnum(s[37:])
}

// CanonicalCall maps an accepted call sid to the form Patchbay stores: the
// clustered "ID…-CA…" form is reduced to its "CA…" part.
func CanonicalCall(s string) string {
	if len(s) > 34 && s[34] == '-' {
		return s[35:]
	}
	return s
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
