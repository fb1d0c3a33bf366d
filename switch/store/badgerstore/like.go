package badgerstore

// likePattern is a compiled SQL LIKE pattern: '%' matches any run of
// characters (possibly empty), '_' exactly one, everything else itself. There
// is no escape character, as in upstream's queries. Matching is
// case-sensitive, like SIP user parts.
type likePattern []rune

func compileLike(pattern string) likePattern { return likePattern(pattern) }

// match reports whether the whole of s matches the pattern. It backtracks only
// to the most recent '%', so it runs in O(len(p)·len(s)) at worst.
func (p likePattern) match(s string) bool {
	str := []rune(s)
	pi, si := 0, 0
	star, resume := -1, 0
	for si < len(str) {
		switch {
		case pi < len(p) && p[pi] == '%':
			star, resume = pi, si
			pi++
		case pi < len(p) && (p[pi] == '_' || p[pi] == str[si]):
			pi++
			si++
		case star >= 0:
			// Let the last '%' swallow one more character and retry.
			resume++
			pi, si = star+1, resume
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '%' {
		pi++
	}
	return pi == len(p)
}
