package audio

import (
	"errors"
	"fmt"
)

// Errors of Decode; match them with errors.Is. The caller plays nothing
// and reports the error: each says what to fix in the file.
var (
	// ErrNotAudio: neither a WAV nor an MP3 file (an HTML error page, a
	// text file, an empty body).
	ErrNotAudio = errors.New("audio: not an audio file")
	// ErrUnsupported: audio in a format we do not play (another container
	// such as Ogg or FLAC, a WAV encoding other than PCM, float, µ-law or
	// A-law, MPEG layer I/II, a rate out of range). WAV details come as a
	// *FormatError.
	ErrUnsupported = errors.New("audio: unsupported audio format")
	// ErrCorrupt: a WAV or MP3 file that cannot be decoded (missing
	// chunks, impossible header values, damaged MP3 frames).
	ErrCorrupt = errors.New("audio: corrupt audio file")
	// ErrTooLarge: the decoded audio would be longer than the limit.
	ErrTooLarge = errors.New("audio: audio too long")
)

// FormatError describes a WAV file in a format we do not play. It matches
// ErrUnsupported with errors.Is.
type FormatError struct {
	Format        uint16 // WAV format tag (the sub-format's for WAVE_FORMAT_EXTENSIBLE)
	Channels      int
	SampleRate    int
	BitsPerSample int
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("audio: unsupported WAV format: %s, %d channel(s), %d Hz, %d bits "+
		"(playable: PCM 8/16/24/32-bit, 32-bit float, µ-law or A-law; 1 to %d channels; %d to %d Hz)",
		tagName(e.Format), e.Channels, e.SampleRate, e.BitsPerSample, maxChannels, minRate, maxRate)
}

// Is makes errors.Is(err, ErrUnsupported) true.
func (e *FormatError) Is(target error) bool { return target == ErrUnsupported }

func tagName(tag uint16) string {
	switch tag {
	case wavPCM:
		return "PCM"
	case wavFloat:
		return "IEEE float"
	case wavALaw:
		return "A-law"
	case wavMuLaw:
		return "µ-law"
	case 2:
		return "MS ADPCM"
	case 0x11:
		return "IMA ADPCM"
	case 0x31:
		return "GSM 6.10"
	case 0x50:
		return "MPEG"
	case 0x55:
		return "MPEG layer III"
	default:
		return fmt.Sprintf("format tag 0x%04x", tag)
	}
}
