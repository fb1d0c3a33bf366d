package rcml

import (
	"net/url"
	"strings"
)

// The walk resolves a handful of URLs per verb. net/url parses each into a URL
// value, and in wasm every loop iteration and call of that leaves the compiled
// code for a termination check, so plain URLs take a shorter road: an absolute
// http(s) URL made of plain characters is valid as written, and a plain
// relative path against a plain base resolves by string joining. Anything else
// goes through net/url, and FuzzResolveFast holds the two roads to the same
// result.

// urlClass classes: which bytes a plain URL may contain where.
const (
	urlHost  = 1 << iota // host name: letters, digits, '.', '-'
	urlPath              // path of a plain URL: letters, digits, "-._~/"
	urlQuery             // query: printable ASCII except '#' and '%'
	urlRest              // path and query of an absolute URL: printable ASCII except '#' and '%'
	urlEvent             // a status callback event list without white space: printable ASCII
)

var urlClass = func() (t [256]byte) {
	for c := 0x21; c < 0x7f; c++ {
		t[c] |= urlEvent
		if c != '#' && c != '%' {
			t[c] |= urlQuery | urlRest
		}
	}
	for _, c := range []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") {
		t[c] |= urlHost | urlPath
	}
	for _, c := range []byte("_~/") {
		t[c] |= urlPath
	}
	return t
}()

// allURLClass reports whether every byte of s has class bit mask, with
// straight-line code for the first eight bytes and a loop of eight bytes per
// iteration, out of line, past them (see skip in tokenizer.go).
func allURLClass(s string, mask byte) bool {
	if len(s) > 8 {
		return urlClass8(s, 0, mask) && allURLClassLoop(s, 8, mask)
	}
	if len(s) == 8 {
		return urlClass8(s, 0, mask)
	}
	// Shorter than a word: pad with a byte of every class.
	return urlClass[byteAt(s, 0)]&urlClass[byteAt(s, 1)]&urlClass[byteAt(s, 2)]&urlClass[byteAt(s, 3)]&
		urlClass[byteAt(s, 4)]&urlClass[byteAt(s, 5)]&urlClass[byteAt(s, 6)]&mask != 0
}

//go:noinline
func allURLClassLoop(s string, i int, mask byte) bool {
	for ; i+8 <= len(s); i += 8 {
		if !urlClass8(s, i, mask) {
			return false
		}
	}
	// The last word again, overlapping what was checked.
	return i == len(s) || urlClass8(s, len(s)-8, mask)
}

// urlClass8 reports whether the eight bytes of s from i all have class bit mask.
func urlClass8(s string, i int, mask byte) bool {
	return urlClass[s[i]]&urlClass[s[i+1]]&urlClass[s[i+2]]&urlClass[s[i+3]]&
		urlClass[s[i+4]]&urlClass[s[i+5]]&urlClass[s[i+6]]&urlClass[s[i+7]]&mask != 0
}

// byteAt is s[i], or 'a' (a letter: every URL class has it) past the end.
func byteAt(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 'a'
}

// plainAbsolute reports whether ref is an absolute http or https URL that
// url.Parse accepts as it is: a lower-case scheme, a host of letters, digits,
// dots and dashes with an optional numeric port, then printable ASCII without
// '%' (escapes) or '#' (fragment).
func plainAbsolute(ref string) bool {
	var rest string
	switch {
	case hasPrefix(ref, "https://"):
		rest = ref[len("https://"):]
	case hasPrefix(ref, "http://"):
		rest = ref[len("http://"):]
	default:
		return false
	}
	end := indexEither(rest, 0, '/', '?') // strings.IndexAny loops per byte
	if end < 0 {
		end = len(rest)
	}
	host, port, hasPort := cutByte(rest[:end], ':')
	if host == "" || !allURLClass(host, urlHost) {
		return false
	}
	if hasPort && !allDigits(port) {
		return false
	}
	return allURLClass(rest[end:], urlRest)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// plainBase is a document URL that plain relative references resolve against
// by joining strings: its scheme and host as written, and its path.
type plainBase struct {
	prefix string // "http://host:port"
	path   string
}

// plainBaseOf returns u's plainBase, false when u is not plain (user info,
// escapes, an opaque part, a scheme other than http or https, an unusual host).
func plainBaseOf(u *url.URL) (plainBase, bool) {
	if u == nil || (u.Scheme != "http" && u.Scheme != "https") || u.Opaque != "" || u.User != nil ||
		u.RawPath != "" || !allURLClass(u.Path, urlPath) {
		return plainBase{}, false
	}
	host, port, hasPort := cutByte(u.Host, ':')
	if host == "" || !allURLClass(host, urlHost) || (hasPort && !allDigits(port)) {
		return plainBase{}, false
	}
	return plainBase{prefix: u.Scheme + "://" + u.Host, path: u.Path}, true
}

// resolvePlain resolves ref against b as net/url's ResolveReference and String
// would, when ref is a plain relative reference: a non-empty one (an empty one
// keeps the base's query and fragment) with a path of letters, digits and
// "-._~/" (not starting with "//") and an optional query, where neither the
// joined path has "." or ".." segments. false means ref needs net/url.
func (b plainBase) resolvePlain(ref string) (string, bool) {
	path, query, hasQuery := cutByte(ref, '?')
	if ref == "" || hasPrefix(path, "//") || !allURLClass(path, urlPath) || (hasQuery && !allURLClass(query, urlQuery)) {
		return "", false
	}
	var full string
	switch {
	case path == "":
		full = b.path
	case path[0] == '/':
		full = path
	default:
		full = b.path[:strings.LastIndexByte(b.path, '/')+1] + path
	}
	if hasDotSegment(full) {
		return "", false
	}
	var sb strings.Builder
	sb.Grow(len(b.prefix) + 1 + len(full) + 1 + len(query))
	sb.WriteString(b.prefix)
	if full != "" && full[0] != '/' {
		sb.WriteByte('/')
	}
	sb.WriteString(full)
	if hasQuery {
		sb.WriteByte('?')
		sb.WriteString(query)
	}
	return sb.String(), true
}

// hasDotSegment reports whether a '/'-separated path has a "." or ".." segment.
func hasDotSegment(p string) bool {
	for i := indexByte(p, 0, '.'); i >= 0; {
		if (i == 0 || p[i-1] == '/') && (i+1 == len(p) || p[i+1] == '/' || (p[i+1] == '.' && (i+2 == len(p) || p[i+2] == '/'))) {
			return true
		}
		i = indexByte(p, i+1, '.')
	}
	return false
}

// resolveSlow is resolve's net/url road; ok is false when ref does not parse.
func resolveSlow(base *url.URL, ref string) (string, bool) {
	u, err := url.Parse(ref)
	if err != nil {
		return "", false
	}
	if u.Scheme != "" || base == nil {
		return ref, true
	}
	return base.ResolveReference(u).String(), true
}

// documentBase is the document URL that relative references resolve
// against. A plain absolute one is parsed by net/url only when a reference
// needs the slow road: in a wasm guest url.Parse costs ~170 termination
// checks, and a plain document URL with plain references never needs it.
type documentBase struct {
	raw      string
	u        *url.URL // nil without a document URL
	parsed   bool     // u is set (or raw is "")
	plain    plainBase
	hasPlain bool
}

// newDocumentBase checks docURL as url.Parse would; "" is no document URL.
func newDocumentBase(docURL string) (documentBase, error) {
	b := documentBase{raw: docURL}
	switch {
	case docURL == "":
		b.parsed = true
	case plainAbsolute(docURL):
		// url.Parse accepts every plain absolute URL, so it can wait.
		b.plain, b.hasPlain = plainBaseOfString(docURL)
	default:
		u, err := url.Parse(docURL)
		if err != nil {
			return b, err
		}
		b.u, b.parsed = u, true
		b.plain, b.hasPlain = plainBaseOf(u)
	}
	return b, nil
}

// url returns the parsed document URL, nil without one.
func (b *documentBase) url() *url.URL {
	if !b.parsed {
		b.u, _ = url.Parse(b.raw) // plain and absolute: it parses
		b.parsed = true
	}
	return b.u
}

// resolve resolves ref as resolveSlow does, taking the plain roads when it can.
func (b *documentBase) resolve(ref string) (string, bool) {
	if plainAbsolute(ref) {
		return ref, true
	}
	if b.hasPlain {
		if s, ok := b.plain.resolvePlain(ref); ok {
			return s, true
		}
	}
	return resolveSlow(b.url(), ref)
}

// plainBaseOfString is plainBaseOf(url.Parse(docURL)) for a docURL that
// plainAbsolute accepts, without net/url.
func plainBaseOfString(docURL string) (plainBase, bool) {
	schemeEnd := len("http://")
	if docURL[len("http")] == 's' {
		schemeEnd = len("https://")
	}
	rest := docURL[schemeEnd:]
	end := indexEither(rest, 0, '/', '?') // strings.IndexAny loops per byte
	if end < 0 {
		end = len(rest)
	}
	path, _, _ := cutByte(rest[end:], '?')
	if !allURLClass(path, urlPath) {
		return plainBase{}, false
	}
	return plainBase{prefix: docURL[:schemeEnd+end], path: path}, true
}
