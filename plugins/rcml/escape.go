package rcml

import (
	"slices"
	"strings"
	"unsafe"
)

// escapeBareAmpersands returns body with every '&' that does not start a character or
// entity reference replaced by "&amp;", as upstream does before parsing (so that
// "?X-A=1&X-B=2" header suffixes need no escaping). CDATA sections are left alone, since
// '&' is literal there. It returns body itself when nothing needs escaping, and the
// offsets (in the returned text) where "amp;" was inserted, to map error offsets back.
func escapeBareAmpersands(body string) (string, []int) {
	out, inserted := appendEscaped(nil, nil, body)
	if len(inserted) == 0 {
		return body, nil
	}
	// out is new and never written again: sharing it, as strings.Builder
	// does, saves a copy of the document.
	return unsafe.String(unsafe.SliceData(out), len(out)), inserted
}

// appendEscaped is escapeBareAmpersands writing into buffers: it appends the
// escaped text to dst and the offsets to inserted. When nothing needs
// escaping, inserted comes back as it came and dst is not written.
func appendEscaped(dst []byte, inserted []int, body string) ([]byte, []int) {
	first := len(inserted)
	copied := 0 // body[:copied] is already in dst
	// Jump from '&' to '&', and from '!' to '!' (a CDATA section opens with
	// "<!"): in wasm a byte loop, or strings.IndexByte's four bytes per
	// iteration, pays a termination check per iteration (see scan.go).
	for i := 0; i < len(body); {
		at := indexEither(body, i, '&', '!')
		if at < 0 {
			break
		}
		if body[at] == '!' {
			i = at + 1
			if at > 0 && strings.HasPrefix(body[at-1:], cdataOpen) {
				from := at - 1 + len(cdataOpen)
				end := strings.Index(body[from:], cdataClose)
				if end < 0 {
					break
				}
				i = from + end + len(cdataClose)
			}
			continue
		}
		i = at + 1
		if isReference(body[i:]) {
			continue
		}
		if len(inserted) == first {
			dst = slices.Grow(dst, len(body)+16)
		}
		dst = append(dst, body[copied:i]...)
		inserted = append(inserted, len(dst))
		dst = append(dst, "amp;"...)
		copied = i
	}
	if len(inserted) == first {
		return dst, inserted
	}
	return append(dst, body[copied:]...), inserted
}

const (
	cdataOpen  = "<![CDATA["
	cdataClose = "]]>"
)

// isReference reports whether s (the bytes after an '&') starts with "#digits;",
// "#xhex;" or "name;" where name is a letter or '_' followed by letters, digits or '_'.
// Unknown names are kept: the decoder then rejects them, as upstream's parser does.
func isReference(s string) bool {
	if len(s) == 0 {
		return false
	}
	i := 0
	switch {
	case s[0] == '#' && len(s) > 1 && (s[1] == 'x' || s[1] == 'X'):
		i = 2
		for i < len(s) && isHex(s[i]) {
			i++
		}
		return i > 2 && i < len(s) && s[i] == ';'
	case s[0] == '#':
		i = 1
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i > 1 && i < len(s) && s[i] == ';'
	case isLetter(s[0]) || s[0] == '_':
		i = 1
		for i < len(s) && (isLetter(s[i]) || s[i] == '_' || (s[i] >= '0' && s[i] <= '9')) {
			i++
		}
		return i < len(s) && s[i] == ';'
	}
	return false
}

func isLetter(b byte) bool { return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') }

func isHex(b byte) bool {
	return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F')
}

// originalOffset maps an offset in the escaped text back to the original document.
func originalOffset(off int64, inserted []int) int64 {
	shift := int64(0)
	for _, at := range inserted {
		if int64(at) >= off {
			break
		}
		shift += 4
	}
	if shift > off {
		return 0
	}
	return off - shift
}
