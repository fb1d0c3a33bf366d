package media

import (
	"strings"
	"time"

	"github.com/zaf/g711"
)

// Codec is a G.711 audio encoding. The zero value is CodecUnknown.
type Codec uint8

// Codecs.
const (
	CodecUnknown Codec = iota
	PCMU               // G.711 µ-law, static payload type 0
	PCMA               // G.711 A-law, static payload type 8
)

// Framing of the audio the engine sends: 20 ms of 8 kHz samples, one byte
// per sample in G.711.
const (
	ClockRate     = 8000
	FrameDuration = 20 * time.Millisecond
	FrameSamples  = ClockRate / 50 // 20 ms
)

// String returns "PCMU", "PCMA" or "unknown".
func (c Codec) String() string {
	switch c {
	case PCMU:
		return "PCMU"
	case PCMA:
		return "PCMA"
	default:
		return "unknown"
	}
}

// PayloadType returns the codec's static RTP payload type (0 or 8).
func (c Codec) PayloadType() uint8 {
	if c == PCMA {
		return 8
	}
	return 0
}

// CodecByName maps an SDP encoding name ("PCMU", "pcma") to a Codec, or
// CodecUnknown.
func CodecByName(name string) Codec {
	switch strings.ToUpper(name) {
	case "PCMU":
		return PCMU
	case "PCMA":
		return PCMA
	default:
		return CodecUnknown
	}
}

// silence is the codec's byte for a zero sample.
func (c Codec) silence() byte {
	if c == PCMA {
		return 0xD5
	}
	return 0xFF
}

// encode compresses one linear sample.
func (c Codec) encode(sample int16) byte {
	if c == PCMA {
		return g711.EncodeAlawFrame(sample)
	}
	return g711.EncodeUlawFrame(sample)
}

func (c Codec) valid() bool { return c == PCMU || c == PCMA }
