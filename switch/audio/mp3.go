package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/hajimehoshi/go-mp3"

	"github.com/patchbay/patchbay/switch/media"
)

// mp3Chunk is the number of stereo frames read from the decoder at a time
// (one MPEG-1 layer III frame holds 1152).
const mp3Chunk = 4 * 1152

// decodeMP3 decodes with go-mp3, which always gives 16-bit stereo at the
// stream's rate; it is mixed to mono and resampled as it comes, so memory
// is bounded by the output, never by what a hostile stream claims.
func decodeMP3(data []byte, maxSamples int) (clip *media.Clip, err error) {
	// The decoder parses untrusted bytes and may panic on some damaged
	// frames; a bad file must fail like any other, not take the switch down.
	defer func() {
		if v := recover(); v != nil {
			clip, err = nil, fmt.Errorf("%w: MP3 decoder failed: %v", ErrCorrupt, v)
		}
	}()
	body, err := stripTags(data)
	if err != nil {
		return nil, err
	}
	if err := checkFrames(body); err != nil {
		return nil, err
	}
	// Hide Seek: with a Seeker, go-mp3 first walks every frame header to
	// compute the length, which we do not need and would fail whole files
	// for one damaged header at the end.
	dec, err := mp3.NewDecoder(struct{ io.Reader }{bytes.NewReader(body)})
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: no MP3 frame found", ErrCorrupt)
		}
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	var rs *Resampler
	if rate := dec.SampleRate(); rate != media.ClockRate {
		if rs, err = NewResampler(rate, media.ClockRate); err != nil {
			return nil, err
		}
	}
	buf := make([]byte, 4*mp3Chunk)
	mono := make([]int16, mp3Chunk)
	var out []int16
	for {
		n, rerr := io.ReadFull(dec, buf)
		frames := n / 4
		for i := range frames {
			l := int32(int16(binary.LittleEndian.Uint16(buf[4*i:])))
			r := int32(int16(binary.LittleEndian.Uint16(buf[4*i+2:])))
			mono[i] = int16((l + r) / 2)
		}
		if rs == nil {
			out = append(out, mono[:frames]...)
		} else {
			out = rs.Write(out, mono[:frames])
		}
		if len(out) > maxSamples {
			return nil, fmt.Errorf("%w: MP3 longer than %v", ErrTooLarge, samplesDuration(maxSamples))
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return nil, fmt.Errorf("%w: MP3 frame at %v: %w", ErrCorrupt, samplesDuration(len(out)), rerr)
		}
	}
	if rs != nil {
		out = rs.Flush(out)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: MP3 without audio", ErrCorrupt)
	}
	return media.NewPCMClip(out), nil
}

// stripTags removes leading ID3v2 tags and a trailing ID3v1 tag. go-mp3
// skips one ID3v2 tag itself, but allocates whatever size the tag header
// claims (up to 256 MiB) before reading it, and would take an ID3v1 tag
// for junk in which to look for frames.
func stripTags(b []byte) ([]byte, error) {
	for len(b) >= 3 && string(b[:3]) == "ID3" {
		if len(b) < 10 {
			return nil, fmt.Errorf("%w: ID3 tag cut after %d bytes", ErrCorrupt, len(b))
		}
		var size int
		for _, c := range b[6:10] { // "syncsafe": 7 bits a byte
			if c&0x80 != 0 {
				return nil, fmt.Errorf("%w: bad ID3 tag size", ErrCorrupt)
			}
			size = size<<7 | int(c)
		}
		size += 10
		if b[5]&0x10 != 0 { // footer present
			size += 10
		}
		if size > len(b) {
			return nil, fmt.Errorf("%w: ID3 tag of %d bytes in %d", ErrCorrupt, size, len(b))
		}
		b = b[size:]
	}
	if n := len(b); n >= 128 && string(b[n-128:n-125]) == "TAG" {
		b = b[:n-128]
	}
	return b, nil
}

// MPEG audio frame header fields.
const (
	mpeg25   = 0 // version bits
	mpeg2    = 2
	mpeg1    = 3
	layerIII = 1 // layer bits
)

var (
	bitratesMPEG1 = [16]int{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, -1}
	bitratesMPEG2 = [16]int{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, -1}
	ratesMPEG1    = [4]int{44100, 48000, 32000, -1}
)

// checkFrames walks the frame headers for streams go-mp3 v0.3.4 cannot
// decode, so they fail with ErrUnsupported instead of playing garbage:
//
//   - layers I and II, MPEG-2.5 (8, 11.025, 12 kHz) and free-format
//     bitrates, which it refuses;
//   - MPEG-2 (16, 22.05, 24 kHz) with a padded frame whose size it gets one
//     byte short: it computes (144·bitrate/rate + padding) >> 1, which drops
//     the padding byte when 144·bitrate/rate is even (32 and 96 kbps at
//     22.05 kHz, for instance). The byte is missing from the bit reservoir
//     and the frames after it decode to noise, without an error.
//
// The first header decides the stream's kind. After it, junk between
// frames is skipped byte by byte as the decoder does, and a header counts
// only where the next one follows it, so a stray sync pattern in junk
// (an ID3 tag in the middle, say) rejects nothing.
func checkFrames(b []byte) error {
	first := true
	for i := 0; i+4 <= len(b); {
		h, ok := parseHeader(b[i:])
		if !ok {
			i++
			continue
		}
		if first {
			first = false
			switch {
			case h.layer != layerIII:
				return fmt.Errorf("%w: MPEG layer %s audio (only layer III, MP3, is played)", ErrUnsupported, [4]string{2: "II", 3: "I"}[h.layer])
			case h.version == mpeg25:
				return fmt.Errorf("%w: MPEG-2.5 MP3 (%d Hz); re-encode at 16 to 48 kHz", ErrUnsupported, h.rate)
			case h.bitrate == 0:
				return fmt.Errorf("%w: free-format MP3", ErrUnsupported)
			}
		}
		if h.layer != layerIII || h.version == mpeg25 || h.bitrate == 0 {
			i++
			continue
		}
		end := i + h.size
		if end != len(b) {
			if next, ok := parseHeader(b[min(end, len(b)):]); !ok || next.version != h.version {
				i++
				continue
			}
		}
		if h.misread {
			return fmt.Errorf("%w: MPEG-2 MP3 at %d Hz, %d kbps with padded frames, which the decoder misreads; "+
				"re-encode at 32, 44.1 or 48 kHz, or at another bitrate (64 kbps works at 22.05 kHz)", ErrUnsupported, h.rate, h.bitrate/1000)
		}
		i = end
	}
	return nil
}

type frameHeader struct {
	version, layer int
	rate, bitrate  int // Hz, bit/s (0: free format)
	size           int // bytes, for layer III
	misread        bool
}

// parseHeader reads the frame header at the start of b, if there is one
// by the decoder's own test.
func parseHeader(b []byte) (frameHeader, bool) {
	if len(b) < 4 || b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return frameHeader{}, false
	}
	h := frameHeader{version: int(b[1] >> 3 & 3), layer: int(b[1] >> 1 & 3)}
	bri, sri, pad := int(b[2]>>4), int(b[2]>>2&3), int(b[2]>>1&1)
	if h.version == 1 || h.layer == 0 || bri == 15 || sri == 3 || b[3]&3 == 2 {
		return h, false
	}
	h.rate = ratesMPEG1[sri]
	switch h.version {
	case mpeg1:
		h.bitrate = bitratesMPEG1[bri] * 1000
		h.size = 144*h.bitrate/h.rate + pad
	case mpeg2:
		h.rate /= 2
		h.bitrate = bitratesMPEG2[bri] * 1000
		h.size = 72*h.bitrate/h.rate + pad
		h.misread = pad == 1 && (144*h.bitrate/h.rate)%2 == 0
	case mpeg25:
		h.rate /= 4
		h.bitrate = bitratesMPEG2[bri] * 1000
		h.size = 72*h.bitrate/h.rate + pad
	}
	if h.size < 4 { // free format
		h.size = 1
	}
	return h, true
}
