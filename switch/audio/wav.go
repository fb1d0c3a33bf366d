package audio

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/zaf/g711"

	"github.com/patchbay/patchbay/switch/media"
)

// WAV format tags we play; WAVE_FORMAT_EXTENSIBLE names one of them in its
// sub-format GUID.
const (
	wavPCM        = 1
	wavFloat      = 3
	wavALaw       = 6
	wavMuLaw      = 7
	wavExtensible = 0xFFFE
	maxChannels   = 8
)

type wavFormat struct {
	tag      uint16 // the sub-format's for WAVE_FORMAT_EXTENSIBLE
	channels int
	rate     int
	bits     int
}

// parseWAV walks the RIFF chunks to the fmt chunk and the first data chunk
// after it. A data chunk that claims more bytes than the file holds (a cut
// file, or a size a streaming writer left unset) is cut to what is there.
func parseWAV(data []byte) (wavFormat, []byte, error) {
	var (
		f       wavFormat
		haveFmt bool
	)
	for off := 12; off+8 <= len(data); {
		id := string(data[off : off+4])
		size := uint64(binary.LittleEndian.Uint32(data[off+4 : off+8]))
		start := uint64(off + 8)
		end := min(start+size, uint64(len(data)))
		body := data[start:end]
		switch id {
		case "fmt ":
			var err error
			if f, err = parseFmt(body); err != nil {
				return f, nil, err
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return f, nil, fmt.Errorf("%w: WAV data chunk before its fmt chunk", ErrCorrupt)
			}
			return f, body, nil
		}
		next := end + size&1 // chunks are padded to even sizes
		if next <= uint64(off) || next > uint64(len(data)) {
			break
		}
		off = int(next)
	}
	if !haveFmt {
		return f, nil, fmt.Errorf("%w: WAV file without a fmt chunk", ErrCorrupt)
	}
	return f, nil, fmt.Errorf("%w: WAV file without a data chunk", ErrCorrupt)
}

func parseFmt(b []byte) (wavFormat, error) {
	if len(b) < 16 {
		return wavFormat{}, fmt.Errorf("%w: WAV fmt chunk of %d bytes", ErrCorrupt, len(b))
	}
	f := wavFormat{
		tag:      binary.LittleEndian.Uint16(b[0:2]),
		channels: int(binary.LittleEndian.Uint16(b[2:4])),
		rate:     int(binary.LittleEndian.Uint32(b[4:8])),
		bits:     int(binary.LittleEndian.Uint16(b[14:16])),
	}
	if f.tag == wavExtensible {
		// cbSize(2) validBits(2) channelMask(4), then the sub-format GUID
		// whose first two bytes are the real format tag.
		if len(b) < 40 {
			return f, fmt.Errorf("%w: WAVE_FORMAT_EXTENSIBLE fmt chunk of %d bytes", ErrCorrupt, len(b))
		}
		f.tag = binary.LittleEndian.Uint16(b[24:26])
	}
	if f.channels == 0 || f.rate == 0 {
		return f, fmt.Errorf("%w: WAV fmt chunk with %d channel(s), %d Hz", ErrCorrupt, f.channels, f.rate)
	}
	if f.sampleReader() == nil || f.channels > maxChannels || f.rate < minRate || f.rate > maxRate {
		return f, &FormatError{Format: f.tag, Channels: f.channels, SampleRate: f.rate, BitsPerSample: f.bits}
	}
	return f, nil
}

// sampleReader returns the decoder of one sample of the format to 16 bits,
// or nil for a format we do not play.
func (f wavFormat) sampleReader() func([]byte) int16 {
	switch {
	case f.tag == wavPCM && f.bits == 8:
		return func(b []byte) int16 { return (int16(b[0]) - 128) << 8 } // unsigned, 128 is zero
	case f.tag == wavPCM && f.bits == 16:
		return func(b []byte) int16 { return int16(binary.LittleEndian.Uint16(b)) }
	case f.tag == wavPCM && f.bits == 24:
		return func(b []byte) int16 { return int16(binary.LittleEndian.Uint16(b[1:])) }
	case f.tag == wavPCM && f.bits == 32:
		return func(b []byte) int16 { return int16(binary.LittleEndian.Uint16(b[2:])) }
	case f.tag == wavFloat && f.bits == 32:
		return func(b []byte) int16 {
			v := math.Float32frombits(binary.LittleEndian.Uint32(b))
			if v != v { // NaN
				return 0
			}
			return clamp16(v * resampleMax)
		}
	case f.tag == wavMuLaw && f.bits == 8:
		return func(b []byte) int16 { return g711.DecodeUlawFrame(b[0]) }
	case f.tag == wavALaw && f.bits == 8:
		return func(b []byte) int16 { return g711.DecodeAlawFrame(b[0]) }
	}
	return nil
}

// g711Compatible: media.Clip plays these 8 kHz mono encodings from the
// file's bytes.
func (f wavFormat) g711Compatible() bool {
	return f.rate == media.ClockRate && f.channels == 1 &&
		((f.tag == wavPCM && (f.bits == 8 || f.bits == 16)) ||
			((f.tag == wavMuLaw || f.tag == wavALaw) && f.bits == 8))
}

const decodeChunk = 4096 // frames converted at a time

func decodeWAV(data []byte, maxSamples int) (*media.Clip, error) {
	f, body, err := parseWAV(data)
	if err != nil {
		return nil, err
	}
	frameBytes := f.channels * f.bits / 8
	frames := len(body) / frameBytes
	var rs *Resampler
	outLen := frames
	if f.rate != media.ClockRate {
		if rs, err = NewResampler(f.rate, media.ClockRate); err != nil {
			return nil, err
		}
		outLen = rs.OutputLen(frames)
	}
	if outLen > maxSamples {
		return nil, fmt.Errorf("%w: %v of audio, more than %v", ErrTooLarge,
			samplesDuration(outLen), samplesDuration(maxSamples))
	}
	if frames == 0 {
		return nil, fmt.Errorf("%w: WAV file without samples", ErrCorrupt)
	}
	if f.g711Compatible() {
		return directClip(data, f, body)
	}
	read := f.sampleReader()
	size := f.bits / 8
	mono := make([]int16, decodeChunk)
	out := make([]int16, 0, outLen)
	for first := 0; first < frames; first += decodeChunk {
		n := min(decodeChunk, frames-first)
		b := body[first*frameBytes:]
		for i := range n {
			var sum int32
			for ch := range f.channels {
				sum += int32(read(b[(i*f.channels+ch)*size:]))
			}
			mono[i] = int16(sum / int32(f.channels))
		}
		if rs == nil {
			out = append(out, mono[:n]...)
		} else {
			out = rs.Write(out, mono[:n])
		}
	}
	if rs != nil {
		out = rs.Flush(out)
	}
	return media.NewPCMClip(out), nil
}

// directClip makes the clip that plays the file's bytes as they are. The
// clip aliases the buffer, so a file padded with big metadata chunks (or a
// buffer with spare capacity) is first repacked into a minimal WAV: a
// cache budgets a clip by its audio, and must not keep the rest alive.
func directClip(data []byte, f wavFormat, body []byte) (*media.Clip, error) {
	if 4*len(body) < 3*cap(data) {
		data = minimalWAV(f, body)
	}
	clip, err := media.DecodeWAV(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return clip, nil
}

func minimalWAV(f wavFormat, body []byte) []byte {
	b := make([]byte, 44+len(body))
	le := binary.LittleEndian
	copy(b, "RIFF")
	le.PutUint32(b[4:], uint32(36+len(body)))
	copy(b[8:], "WAVEfmt ")
	le.PutUint32(b[16:], 16)
	le.PutUint16(b[20:], f.tag)
	le.PutUint16(b[22:], uint16(f.channels))
	le.PutUint32(b[24:], uint32(f.rate))
	le.PutUint32(b[28:], uint32(f.rate*f.channels*f.bits/8))
	le.PutUint16(b[32:], uint16(f.channels*f.bits/8))
	le.PutUint16(b[34:], uint16(f.bits))
	copy(b[36:], "data")
	le.PutUint32(b[40:], uint32(len(body)))
	copy(b[44:], body)
	return b
}
