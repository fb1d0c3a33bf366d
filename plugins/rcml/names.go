package rcml

//go:generate go run names_gen.go

// runeRange is an inclusive range of code points.
type runeRange struct{ lo, hi rune }

// isNameStart reports whether r may start an XML name: a Letter of XML 1.0 (fourth
// edition) Appendix B, '_' or ':', the table encoding/xml uses.
func isNameStart(r rune) bool { return inRanges(nameStartRanges[:], r) }

// isNameChar reports whether r may follow the first character of an XML name.
func isNameChar(r rune) bool { return inRanges(nameCharRanges[:], r) }

func inRanges(ranges []runeRange, r rune) bool {
	lo, hi := 0, len(ranges)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch {
		case r < ranges[m].lo:
			hi = m
		case r > ranges[m].hi:
			lo = m + 1
		default:
			return true
		}
	}
	return false
}
