package media

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/zaf/g711"
)

// WAV format tags we play (and WAVE_FORMAT_EXTENSIBLE, which names one of
// them in its sub-format).
const (
	wavPCM        = 1
	wavALaw       = 6
	wavMuLaw      = 7
	wavExtensible = 0xFFFE
)

// FormatError describes a WAV file we cannot play: anything but 8 kHz mono
// 8/16-bit PCM, A-law or µ-law. It matches ErrUnsupportedWAV with errors.Is.
type FormatError struct {
	Format        uint16 // WAV format tag (1 PCM, 6 A-law, 7 µ-law, ...)
	Channels      int
	SampleRate    int
	BitsPerSample int
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("media: unsupported WAV format: tag %d, %d channel(s), %d Hz, %d bits (need 8000 Hz mono PCM 8/16-bit, A-law or µ-law)",
		e.Format, e.Channels, e.SampleRate, e.BitsPerSample)
}

// Is makes errors.Is(err, ErrUnsupportedWAV) true.
func (e *FormatError) Is(target error) bool { return target == ErrUnsupportedWAV }

type sampleFormat uint8

const (
	samplesPCM8 sampleFormat = iota + 1
	samplesPCM16
	samplesALaw
	samplesMuLaw
)

// Clip is a decoded WAV file: immutable, shareable, and aliasing the bytes
// it was decoded from.
type Clip struct {
	format  sampleFormat
	data    []byte // whole samples only
	samples int
}

// ReadWAV reads a WAV file of at most limit bytes from r and decodes it.
func ReadWAV(r io.Reader, limit int64) (*Clip, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("media: read WAV: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	return DecodeWAV(data)
}

// DecodeWAV parses a RIFF/WAVE file. The Clip aliases data. A data chunk
// that claims more bytes than the file holds (a truncated file, or a size
// left unset by a streaming writer) is cut to what is there.
func DecodeWAV(data []byte) (*Clip, error) {
	if len(data) < 12 || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: no RIFF/WAVE header", ErrNotWAV)
	}
	var (
		format  sampleFormat
		haveFmt bool
	)
	off := 12
	for off+8 <= len(data) {
		id := string(data[off : off+4])
		size := uint64(binary.LittleEndian.Uint32(data[off+4 : off+8]))
		start := off + 8
		end := uint64(start) + size
		if end > uint64(len(data)) {
			end = uint64(len(data))
		}
		body := data[start:end]
		switch id {
		case "fmt ":
			f, err := parseFmtChunk(body)
			if err != nil {
				return nil, err
			}
			format, haveFmt = f, true
		case "data":
			if !haveFmt {
				return nil, fmt.Errorf("%w: data chunk before fmt chunk", ErrNotWAV)
			}
			return newClip(format, body), nil
		}
		next := end + size&1 // chunks are padded to even sizes
		if next <= uint64(off) || next > uint64(len(data)) {
			break
		}
		off = int(next)
	}
	if !haveFmt {
		return nil, fmt.Errorf("%w: no fmt chunk", ErrNotWAV)
	}
	return nil, fmt.Errorf("%w: no data chunk", ErrNotWAV)
}

func parseFmtChunk(b []byte) (sampleFormat, error) {
	if len(b) < 16 {
		return 0, fmt.Errorf("%w: fmt chunk of %d bytes", ErrNotWAV, len(b))
	}
	tag := binary.LittleEndian.Uint16(b[0:2])
	fe := &FormatError{
		Format:        tag,
		Channels:      int(binary.LittleEndian.Uint16(b[2:4])),
		SampleRate:    int(binary.LittleEndian.Uint32(b[4:8])),
		BitsPerSample: int(binary.LittleEndian.Uint16(b[14:16])),
	}
	if tag == wavExtensible && len(b) >= 26 {
		// cbSize(2) validBits(2) channelMask(4), then the sub-format GUID
		// whose first two bytes are the real format tag.
		if len(b) < 40 {
			return 0, fmt.Errorf("%w: extensible fmt chunk of %d bytes", ErrNotWAV, len(b))
		}
		tag = binary.LittleEndian.Uint16(b[24:26])
		fe.Format = tag
	}
	if fe.Channels != 1 || fe.SampleRate != ClockRate {
		return 0, fe
	}
	switch {
	case tag == wavPCM && fe.BitsPerSample == 16:
		return samplesPCM16, nil
	case tag == wavPCM && fe.BitsPerSample == 8:
		return samplesPCM8, nil
	case tag == wavALaw && fe.BitsPerSample == 8:
		return samplesALaw, nil
	case tag == wavMuLaw && fe.BitsPerSample == 8:
		return samplesMuLaw, nil
	default:
		return 0, fe
	}
}

func newClip(format sampleFormat, data []byte) *Clip {
	n := len(data)
	if format == samplesPCM16 {
		n /= 2
		data = data[:2*n]
	}
	return &Clip{format: format, data: data, samples: n}
}

// Duration is the length of the audio.
func (c *Clip) Duration() time.Duration {
	return time.Duration(c.samples) * time.Second / ClockRate
}

// Frames is the number of 20 ms frames a source of the clip yields.
func (c *Clip) Frames() int { return (c.samples + FrameSamples - 1) / FrameSamples }

// Source returns a new reader of the clip encoded for codec: 16- and 8-bit
// PCM are encoded with G.711, and µ-law and A-law files are converted to
// each other directly.
func (c *Clip) Source(codec Codec) (*ClipSource, error) {
	if !codec.valid() {
		return nil, fmt.Errorf("media: clip source for codec %v", codec)
	}
	return &ClipSource{clip: c, codec: codec}, nil
}

// ClipSource plays a Clip; it is a Rewinder, so Loop can repeat it.
type ClipSource struct {
	clip  *Clip
	codec Codec
	pos   int // next sample
}

// Codec is the encoding the source was made for.
func (s *ClipSource) Codec() Codec { return s.codec }

// Rewind starts the clip over.
func (s *ClipSource) Rewind() { s.pos = 0 }

// ReadFrame fills frame with the next samples, padding the last frame with
// silence, and returns io.EOF once the clip is done.
func (s *ClipSource) ReadFrame(frame []byte) error {
	c := s.clip
	if s.pos >= c.samples {
		return io.EOF
	}
	n := min(len(frame), c.samples-s.pos)
	d := c.data
	switch c.format {
	case samplesPCM16:
		for i := range n {
			j := 2 * (s.pos + i)
			frame[i] = s.codec.encode(int16(binary.LittleEndian.Uint16(d[j:])))
		}
	case samplesPCM8:
		// 8-bit WAV is unsigned with 128 as zero.
		for i := range n {
			frame[i] = s.codec.encode((int16(d[s.pos+i]) - 128) << 8)
		}
	case samplesMuLaw:
		if s.codec == PCMU {
			copy(frame[:n], d[s.pos:])
		} else {
			for i := range n {
				frame[i] = g711.Ulaw2AlawFrame(d[s.pos+i])
			}
		}
	case samplesALaw:
		if s.codec == PCMA {
			copy(frame[:n], d[s.pos:])
		} else {
			for i := range n {
				frame[i] = g711.Alaw2UlawFrame(d[s.pos+i])
			}
		}
	}
	fill := s.codec.silence()
	for i := n; i < len(frame); i++ {
		frame[i] = fill
	}
	s.pos += n
	return nil
}
