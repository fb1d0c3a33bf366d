// Package audio turns the audio files <Play> fetches into clips the media
// engine plays: WAV (PCM 8/16/24/32-bit, 32-bit float, µ-law, A-law, plain
// or WAVE_FORMAT_EXTENSIBLE, any channel count up to 8 mixed down to mono)
// and MP3, at any common rate, resampled to 8 kHz mono.
//
// The file's own bytes decide what it is (RIFF/WAVE, an ID3 tag or an MPEG
// frame header); the HTTP content type is only a hint for MP3 streams that
// start with junk. An 8 kHz mono WAV in a G.711-compatible encoding is
// played from the file's bytes as they are; everything else is decoded to
// linear samples and, when needed, resampled with Resampler, which the
// text-to-speech engine uses too.
package audio

import (
	"fmt"
	"mime"
	"strings"
	"time"

	"github.com/patchbay/patchbay/switch/media"
)

// DefaultMaxDuration bounds the decoded audio when Decoder.MaxDuration is
// zero: half an hour is 28.8 MB of 8 kHz PCM16, more than any prompt or
// hold-music loop, and it caps what a hostile header can make us allocate.
const DefaultMaxDuration = 30 * time.Minute

// Decoder decodes audio files within limits; the zero value uses the
// defaults. It holds no state: one Decoder may be used concurrently.
type Decoder struct {
	// MaxDuration bounds the decoded audio; longer files fail with
	// ErrTooLarge before or while decoding, not after.
	MaxDuration time.Duration
}

// Decode decodes data with the default limits; see Decoder.Decode.
func Decode(data []byte, contentType string) (*media.Clip, error) {
	return Decoder{}.Decode(data, contentType)
}

// Decode decodes a WAV or MP3 file to an 8 kHz mono clip. contentType (an
// HTTP Content-Type, may be empty) is only a hint. The clip may alias data,
// which must not be modified afterwards. Errors match ErrNotAudio,
// ErrUnsupported, ErrCorrupt or ErrTooLarge.
func (d Decoder) Decode(data []byte, contentType string) (*media.Clip, error) {
	maxDur := d.MaxDuration
	if maxDur <= 0 {
		maxDur = DefaultMaxDuration
	}
	maxSamples := int(maxDur / (time.Second / media.ClockRate))
	k, err := sniff(data, contentType)
	if err != nil {
		return nil, err
	}
	if k == kindWAV {
		return decodeWAV(data, maxSamples)
	}
	return decodeMP3(data, maxSamples)
}

type kind int

const (
	kindWAV kind = iota + 1
	kindMP3
)

// sniff tells the file's kind from its first bytes.
func sniff(data []byte, contentType string) (kind, error) {
	if len(data) == 0 {
		return 0, fmt.Errorf("%w: empty file", ErrNotAudio)
	}
	has := func(off int, s string) bool {
		return len(data) >= off+len(s) && string(data[off:off+len(s)]) == s
	}
	switch {
	case has(0, "RIFF") && has(8, "WAVE"):
		return kindWAV, nil
	case has(0, "RIFF") && len(data) < 12:
		return 0, fmt.Errorf("%w: WAV header cut after %d bytes", ErrCorrupt, len(data))
	case has(0, "ID3"):
		return kindMP3, nil
	}
	if len(data) >= 4 && data[0] == 0xFF && data[1]&0xE0 == 0xE0 {
		if data[1]>>1&3 == 0 { // reserved in MPEG audio: an ADTS header
			return 0, fmt.Errorf("%w: AAC (ADTS) audio", ErrUnsupported)
		}
		// Layers I and II, MPEG-2.5: decodeMP3 says what is unsupported.
		return kindMP3, nil
	}
	for _, f := range []struct {
		off         int
		magic, name string
	}{
		{0, "OggS", "Ogg"}, {0, "fLaC", "FLAC"}, {0, "#!AMR", "AMR"}, {4, "ftyp", "MP4/M4A"},
		{0, ".snd", "Sun AU"}, {8, "AIFF", "AIFF"}, {8, "AIFC", "AIFF-C"}, {0, "RIFF", "non-WAVE RIFF"},
	} {
		if has(f.off, f.magic) {
			return 0, fmt.Errorf("%w: %s file (play WAV or MP3)", ErrUnsupported, f.name)
		}
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "audio/mpeg", "audio/mp3", "audio/mpeg3", "audio/x-mpeg", "audio/x-mpeg-3", "audio/x-mp3":
		// An MP3 stream may start with junk before its first frame; the
		// decoder looks for the frame sync.
		return kindMP3, nil
	}
	return 0, fmt.Errorf("%w: content type %q, starts with %q", ErrNotAudio, contentType, prefix(data))
}

// prefix is the start of data, for error messages that show what a server
// sent instead of audio (often an HTML error page).
func prefix(data []byte) string {
	s := string(data[:min(len(data), 24)])
	return strings.ToValidUTF8(s, "?")
}

// samplesDuration is the playing time of n samples at 8 kHz.
func samplesDuration(n int) time.Duration {
	return time.Duration(n) * (time.Second / media.ClockRate)
}
