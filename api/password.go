package api

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// defaultPasswordIterations is the PBKDF2-SHA256 cost OWASP recommends.
const defaultPasswordIterations = 600_000

const passwordScheme = "pbkdf2-sha256"

// newPasswordHash checks a console password's strength and returns its
// salted slow hash, "pbkdf2-sha256$<iterations>$<salt>$<key>" (base64).
// Decision 11: the password is never the AuthToken and never rendered.
func (s *Server) newPasswordHash(pw string) (string, error) {
	if err := checkPasswordStrength(pw); err != nil {
		return "", err
	}
	salt := make([]byte, 16)
	_, _ = rand.Read(salt) // crypto/rand does not fail on supported platforms
	key, err := pbkdf2.Key(sha256.New, pw, salt, s.passwordIterations, 32)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	enc := base64.RawStdEncoding
	return strings.Join([]string{passwordScheme, strconv.Itoa(s.passwordIterations), enc.EncodeToString(salt), enc.EncodeToString(key)}, "$"), nil
}

// PasswordMatches reports whether pw is the password hashed into hash by the
// API (for a console login). A malformed hash never matches.
func PasswordMatches(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 4 || parts[0] != passwordScheme {
		return false
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter < 1 {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[2])
	want, err2 := enc.DecodeString(parts[3])
	if err1 != nil || err2 != nil {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, pw, salt, iter, len(want))
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}

// checkPasswordStrength stands in for upstream's JavaScript strength meter
// with a simple equivalent policy: at least 8 characters drawn from at least
// three of lower case, upper case, digits and symbols. It keeps upstream's
// test vectors: "1234" and "asdf123" fail, "asd123$#@" and "RestComm12" pass.
func checkPasswordStrength(pw string) error {
	var lower, upper, digit, other bool
	n := 0
	for _, r := range pw {
		n++
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	classes := 0
	for _, b := range []bool{lower, upper, digit, other} {
		if b {
			classes++
		}
	}
	if n < 8 || classes < 3 {
		return badParam("Password too weak")
	}
	return nil
}
