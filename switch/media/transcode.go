package media

import "github.com/zaf/g711"

// decode expands one G.711 byte of codec c to a linear sample.
func (c Codec) decode(b byte) int16 {
	if c == PCMA {
		return g711.DecodeAlawFrame(b)
	}
	return g711.DecodeUlawFrame(b)
}

// decodeTo expands src, encoded in c, into dst (len(dst) >= len(src)).
func (c Codec) decodeTo(dst []int16, src []byte) {
	dst = dst[:len(src)]
	if c == PCMA {
		for i, b := range src {
			dst[i] = g711.DecodeAlawFrame(b)
		}
		return
	}
	for i, b := range src {
		dst[i] = g711.DecodeUlawFrame(b)
	}
}

// encodeTo compresses src into dst (len(dst) >= len(src)) in codec c.
func (c Codec) encodeTo(dst []byte, src []int16) {
	dst = dst[:len(src)]
	if c == PCMA {
		for i, s := range src {
			dst[i] = g711.EncodeAlawFrame(s)
		}
		return
	}
	for i, s := range src {
		dst[i] = g711.EncodeUlawFrame(s)
	}
}

// transcode converts src from one G.711 law to the other into dst
// (len(dst) >= len(src)) through g711's direct tables, without going
// through linear samples; with from == to it copies. It returns the
// len(src) bytes written.
func transcode(dst, src []byte, from, to Codec) []byte {
	dst = dst[:len(src)]
	switch {
	case from == to:
		copy(dst, src)
	case from == PCMU:
		for i, b := range src {
			dst[i] = g711.Ulaw2AlawFrame(b)
		}
	default:
		for i, b := range src {
			dst[i] = g711.Alaw2UlawFrame(b)
		}
	}
	return dst
}
