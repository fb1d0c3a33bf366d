package badgerstore

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
)

// catchAll is the number that takes every call nothing else matched.
const catchAll = "*"

// isPattern reports whether a provisioned number is a pattern: upstream treats
// any number containing one of * # ^ | . $ \ [ ] as a regular expression. The
// catch-all "*" is not one; it is looked up last, literally.
func isPattern(number string) bool {
	return number != catchAll && strings.ContainsAny(number, `*#^|.$\[]`)
}

// patternDialable reports whether patterns may be tried for dialed: upstream
// tries them only for strings made of [0-9*#+,], so a SIP user name never
// falls into a numeric pattern.
func patternDialable(dialed string) bool {
	if dialed == "" {
		return false
	}
	for _, r := range dialed {
		if !strings.ContainsRune("0123456789*#+,", r) {
			return false
		}
	}
	return true
}

// candidateNumbers lists the strings an exact lookup tries, in order, without
// duplicates: dialed as received, its US E.164 form, and dialed with its
// leading '+' removed or added.
func candidateNumbers(dialed string) []string {
	out := make([]string, 0, 3)
	add := func(s string) {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	add(dialed)
	add(usE164(dialed))
	if rest, ok := strings.CutPrefix(dialed, "+"); ok {
		add(rest)
	} else if dialed != "" {
		add("+" + dialed)
	}
	return out
}

// usE164 returns the E.164 form of a US number written nationally ("5125551234"
// or "15125551234" becomes "+15125551234"; spaces, dots, dashes and
// parentheses are ignored), the string itself when it already is E.164, and ""
// otherwise. Upstream uses libphonenumber for this; a switch without carrier
// numbers only needs the NANP cases, so this is the small subset.
func usE164(dialed string) string {
	if strings.ContainsAny(dialed, "*#") {
		return ""
	}
	plus := strings.HasPrefix(dialed, "+")
	var digits strings.Builder
	for _, r := range strings.TrimPrefix(dialed, "+") {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case strings.ContainsRune(" .-()", r):
		default:
			return ""
		}
	}
	d := digits.String()
	switch {
	case plus && len(d) >= 8 && len(d) <= 15:
		return "+" + d
	case plus:
		return ""
	case len(d) == 10 && d[0] >= '2':
		return "+1" + d
	case len(d) == 11 && d[0] == '1' && d[1] >= '2':
		return "+" + d
	}
	return ""
}

// numberPattern is one pattern number found in the index.
type numberPattern struct {
	sid     string
	pattern string
}

// sortPatterns orders patterns longest first, as upstream does; equal lengths
// are ordered by pattern then sid so matching is deterministic.
func sortPatterns(ps []numberPattern) {
	slices.SortFunc(ps, func(a, b numberPattern) int {
		if c := cmp.Compare(len(b.pattern), len(a.pattern)); c != 0 {
			return c
		}
		if c := strings.Compare(a.pattern, b.pattern); c != 0 {
			return c
		}
		return strings.Compare(a.sid, b.sid)
	})
}

// compilePattern compiles a pattern number for an unanchored search. A leading
// '*' or '+' cannot be a quantifier, so it is the literal character (a star
// code such as "*97.*", an E.164 prefix such as "+1555.*"). Upstream rewrote
// them into "/*" and "/+", which match slashes, so "+..." patterns never
// matched; escaping is what those numbers meant.
func compilePattern(pattern string) (*regexp.Regexp, error) {
	if pattern != "" && (pattern[0] == '*' || pattern[0] == '+') {
		pattern = `\` + pattern
	}
	return regexp.Compile(pattern)
}
