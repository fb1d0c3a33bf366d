package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"testing"
	"time"

	"github.com/zaf/g711"

	"github.com/patchbay/patchbay/switch/media"
)

// wavOpts describes a WAV file for wavFile.
type wavOpts struct {
	tag        uint16
	channels   int
	rate       int
	bits       int
	extensible bool
	extra      []byte // chunks between fmt and data
}

// wavFile builds a RIFF/WAVE file around data.
func wavFile(o wavOpts, data []byte) []byte {
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(0)) // filled below
	b.WriteString("WAVEfmt ")
	tag := o.tag
	if o.extensible {
		le(uint32(40))
		tag = wavExtensible
	} else {
		le(uint32(16))
	}
	le(tag)
	le(uint16(o.channels))
	le(uint32(o.rate))
	le(uint32(o.rate * o.channels * o.bits / 8))
	le(uint16(o.channels * o.bits / 8))
	le(uint16(o.bits))
	if o.extensible {
		le(uint16(22))     // cbSize
		le(uint16(o.bits)) // valid bits
		le(uint32(0))      // channel mask
		le(o.tag)          // sub-format GUID: the tag, then a fixed suffix
		b.Write(make([]byte, 14))
	}
	b.Write(o.extra)
	b.WriteString("data")
	le(uint32(len(data)))
	b.Write(data)
	out := b.Bytes()
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out
}

// encode turns interleaved samples into the bytes of a WAV format.
func encode(tag uint16, bits int, samples []int16) []byte {
	var b []byte
	for _, s := range samples {
		switch {
		case tag == wavPCM && bits == 8:
			b = append(b, byte(int(s)>>8+128))
		case tag == wavPCM && bits == 16:
			b = binary.LittleEndian.AppendUint16(b, uint16(s))
		case tag == wavPCM && bits == 24:
			b = append(b, 0x5a, byte(s), byte(uint16(s)>>8))
		case tag == wavPCM && bits == 32:
			b = binary.LittleEndian.AppendUint32(b, uint32(int32(s)<<16|0x1234))
		case tag == wavFloat:
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(s)/32768))
		case tag == wavMuLaw:
			b = append(b, g711.EncodeUlawFrame(s))
		case tag == wavALaw:
			b = append(b, g711.EncodeAlawFrame(s))
		default:
			panic("encode: format")
		}
	}
	return b
}

// tones returns seconds of interleaved samples, one tone per channel.
func tones(rate int, seconds float64, hz ...float64) []int16 {
	n := int(seconds * float64(rate))
	s := make([]int16, 0, n*len(hz))
	for i := range n {
		for _, f := range hz {
			s = append(s, int16(12000*math.Sin(2*math.Pi*f*float64(i)/float64(rate))))
		}
	}
	return s
}

// play reads a clip the way a call leg does, as PCMU.
func play(t testing.TB, c *media.Clip) [][]byte {
	t.Helper()
	src, err := c.Source(media.PCMU)
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for {
		f := make([]byte, media.FrameSamples)
		if err := src.ReadFrame(f); err == io.EOF {
			return frames
		} else if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, f)
	}
}

// levels measures freqs in what a caller hears of the clip.
func levels(t testing.TB, c *media.Clip, freqs ...float64) []float64 {
	t.Helper()
	d := media.NewToneDetector(freqs...)
	for _, f := range play(t, c) {
		d.WriteG711(media.PCMU, f)
	}
	if d.Voiced() == 0 {
		t.Fatal("the clip is silent")
	}
	out := make([]float64, len(freqs))
	for i := range out {
		out[i] = d.Level(i)
	}
	return out
}

// checkTone asserts the clip is a clean tone at hz lasting about want.
func checkTone(t *testing.T, c *media.Clip, hz float64, want, slack time.Duration) {
	t.Helper()
	if d := c.Duration(); d < want || d > want+slack {
		t.Errorf("duration %v, want %v (+%v)", d, want, slack)
	}
	l := levels(t, c, hz, hz/2, hz*1.5, 2000+hz)
	if l[0] < 0.9 {
		t.Errorf("%v Hz level %.3f, want ≥ 0.9", hz, l[0])
	}
	for i, f := range []float64{hz / 2, hz * 1.5, 2000 + hz} {
		if l[i+1] > 0.02 {
			t.Errorf("%v Hz level %.3f in a %v Hz tone, want ≤ 0.02", f, l[i+1], hz)
		}
	}
}

func TestDecodeWAVRates(t *testing.T) {
	for _, rate := range []int{8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000} {
		data := wavFile(wavOpts{tag: wavPCM, channels: 1, rate: rate, bits: 16}, encode(wavPCM, 16, tones(rate, 1, 1000)))
		c, err := Decode(data, "audio/wav")
		if err != nil {
			t.Fatalf("%d Hz: %v", rate, err)
		}
		t.Run(time.Duration(rate).String(), func(t *testing.T) { checkTone(t, c, 1000, time.Second, 0) })
	}
}

func TestDecodeWAVFormats(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    wavOpts
	}{
		{"pcm8", wavOpts{tag: wavPCM, channels: 1, rate: 22050, bits: 8}},
		{"pcm16 stereo", wavOpts{tag: wavPCM, channels: 2, rate: 44100, bits: 16}},
		{"pcm24", wavOpts{tag: wavPCM, channels: 1, rate: 48000, bits: 24}},
		{"pcm32 stereo", wavOpts{tag: wavPCM, channels: 2, rate: 32000, bits: 32}},
		{"float32", wavOpts{tag: wavFloat, channels: 1, rate: 44100, bits: 32}},
		{"µ-law 16 kHz", wavOpts{tag: wavMuLaw, channels: 1, rate: 16000, bits: 8}},
		{"A-law stereo 8 kHz", wavOpts{tag: wavALaw, channels: 2, rate: 8000, bits: 8}},
		{"extensible pcm16 stereo", wavOpts{tag: wavPCM, channels: 2, rate: 48000, bits: 16, extensible: true}},
		{"extensible float 6ch", wavOpts{tag: wavFloat, channels: 6, rate: 24000, bits: 32, extensible: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hz := make([]float64, tc.o.channels)
			for i := range hz {
				hz[i] = 1000 // the same tone on every channel mixes to itself
			}
			data := wavFile(tc.o, encode(tc.o.tag, tc.o.bits, tones(tc.o.rate, 1, hz...)))
			c, err := Decode(data, "")
			if err != nil {
				t.Fatal(err)
			}
			checkTone(t, c, 1000, time.Second, 0)
		})
	}
}

func TestDecodeWAVStereoDownmix(t *testing.T) {
	// Different tones left and right: the caller hears both, equally.
	data := wavFile(wavOpts{tag: wavPCM, channels: 2, rate: 44100, bits: 16}, encode(wavPCM, 16, tones(44100, 1, 600, 1400)))
	c, err := Decode(data, "")
	if err != nil {
		t.Fatal(err)
	}
	l := levels(t, c, 600, 1400, 1000)
	if l[0] < 0.4 || l[1] < 0.4 || l[2] > 0.02 {
		t.Errorf("levels 600 Hz %.3f, 1400 Hz %.3f, 1000 Hz %.3f; want ≈0.5, ≈0.5, 0", l[0], l[1], l[2])
	}
}

func TestDecodeWAV8kHzPlaysTheFileBytes(t *testing.T) {
	// µ-law at 8 kHz mono goes out to a PCMU leg byte for byte, and the
	// clip holds nothing but the samples.
	samples := tones(8000, 0.5, 1000)
	ulaw := encode(wavMuLaw, 8, samples)
	data := wavFile(wavOpts{tag: wavMuLaw, channels: 1, rate: 8000, bits: 8}, ulaw)
	c, err := Decode(data, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := bytes.Join(play(t, c), nil); !bytes.Equal(got, ulaw) {
		t.Error("µ-law clip is not played as the file's bytes")
	}
	if c.Size() != len(ulaw) {
		t.Errorf("clip of %d bytes, want %d", c.Size(), len(ulaw))
	}

	// A big metadata chunk must not stay alive behind the clip.
	pcm := encode(wavPCM, 16, samples)
	list := append([]byte("LIST\x00\x00\x02\x00"), make([]byte, 0x20000)...)
	data = wavFile(wavOpts{tag: wavPCM, channels: 1, rate: 8000, bits: 16, extra: list}, pcm)
	c, err = Decode(data, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Size() != len(pcm) {
		t.Errorf("clip of %d bytes, want %d", c.Size(), len(pcm))
	}
	checkTone(t, c, 1000, 500*time.Millisecond, 0)
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeMP3(t *testing.T) {
	// LAME adds an encoder delay and pads the last frame: a 1 s tone
	// decodes to a little more.
	const slack = 150 * time.Millisecond
	t.Run("mono", func(t *testing.T) {
		c, err := Decode(readFixture(t, "tone1k-44100-mono.mp3"), "application/octet-stream")
		if err != nil {
			t.Fatal(err)
		}
		checkTone(t, c, 1000, time.Second, slack)
	})
	t.Run("stereo", func(t *testing.T) {
		c, err := Decode(readFixture(t, "tone600-1400-22050-stereo.mp3"), "audio/mpeg")
		if err != nil {
			t.Fatal(err)
		}
		if d := c.Duration(); d < time.Second || d > time.Second+slack {
			t.Errorf("duration %v", d)
		}
		l := levels(t, c, 600, 1400, 1000)
		if l[0] < 0.4 || l[1] < 0.4 || l[2] > 0.02 {
			t.Errorf("levels 600 Hz %.3f, 1400 Hz %.3f, 1000 Hz %.3f; want ≈0.5, ≈0.5, 0", l[0], l[1], l[2])
		}
	})
	t.Run("junk before the first frame", func(t *testing.T) {
		// Served as audio/mpeg, a stream may start mid-frame.
		mp3 := readFixture(t, "tone1k-44100-mono.mp3")
		mp3 = mp3[bytes.Index(mp3, []byte{0xFF, 0xFB}):] // after the ID3 tag
		data := append([]byte("\x00\x01junk"), mp3...)
		if _, err := Decode(data, ""); !errors.Is(err, ErrNotAudio) {
			t.Errorf("without a content type: %v, want ErrNotAudio", err)
		}
		c, err := Decode(data, "audio/mpeg; charset=binary")
		if err != nil {
			t.Fatal(err)
		}
		checkTone(t, c, 1000, time.Second, slack)
	})
	t.Run("cut", func(t *testing.T) {
		data := readFixture(t, "tone1k-44100-mono.mp3")
		c, err := Decode(data[:len(data)/2], "")
		if err != nil {
			t.Fatal(err)
		}
		if d := c.Duration(); d < 300*time.Millisecond || d > 700*time.Millisecond {
			t.Errorf("half a file plays %v", d)
		}
	})
}

func TestDecodeErrors(t *testing.T) {
	pcm := encode(wavPCM, 16, tones(8000, 0.1, 1000))
	good := wavFile(wavOpts{tag: wavPCM, channels: 1, rate: 8000, bits: 16}, pcm)
	mp3 := readFixture(t, "tone600-1400-22050-stereo.mp3")
	dataFirst := bytes.Replace(good, []byte("fmt "), []byte("junk"), 1)
	dataFirst = append(dataFirst, good[12:36]...) // a fmt chunk after the data
	for _, tc := range []struct {
		name, ctype string
		data        []byte
		want        error
	}{
		{"empty", "audio/wav", nil, ErrNotAudio},
		{"html page", "text/html", []byte("<!DOCTYPE html><html><body>Not found</body></html>"), ErrNotAudio},
		{"html served as wav", "audio/wav", []byte("<html>oops</html>"), ErrNotAudio},
		{"ogg", "audio/ogg", []byte("OggS\x00\x02\x00\x00\x00\x00\x00\x00"), ErrUnsupported},
		{"flac", "", []byte("fLaC\x00\x00\x00\x22"), ErrUnsupported},
		{"m4a", "", []byte("\x00\x00\x00\x20ftypM4A \x00\x00"), ErrUnsupported},
		{"mp2", "audio/mpeg", []byte{0xFF, 0xFD, 0x90, 0x00, 0, 0, 0, 0}, ErrUnsupported},
		{"aac", "", []byte{0xFF, 0xF1, 0x50, 0x80, 0, 0, 0}, ErrUnsupported},
		{"adpcm wav", "", wavFile(wavOpts{tag: 2, channels: 1, rate: 8000, bits: 4}, pcm), ErrUnsupported},
		{"12-bit wav", "", wavFile(wavOpts{tag: wavPCM, channels: 1, rate: 8000, bits: 12}, pcm), ErrUnsupported},
		{"9 channels", "", wavFile(wavOpts{tag: wavPCM, channels: 9, rate: 8000, bits: 16}, pcm), ErrUnsupported},
		{"500 Hz", "", wavFile(wavOpts{tag: wavPCM, channels: 1, rate: 500, bits: 16}, pcm), ErrUnsupported},
		{"0 channels", "", wavFile(wavOpts{tag: wavPCM, channels: 0, rate: 8000, bits: 16}, pcm), ErrCorrupt},
		{"riff cut", "", []byte("RIFF\x00\x00"), ErrCorrupt},
		{"no fmt", "", dataFirst, ErrCorrupt},
		{"no data", "", good[:36], ErrCorrupt},
		{"short fmt", "", append([]byte("RIFF\x00\x00\x00\x00WAVEfmt \x04\x00\x00\x00\x01\x00\x01\x00"), good[36:]...), ErrCorrupt},
		{"no samples", "", wavFile(wavOpts{tag: wavPCM, channels: 1, rate: 8000, bits: 16}, nil), ErrCorrupt},
		{"id3 bigger than the file", "", []byte("ID3\x03\x00\x00\x7f\x7f\x7f\x7f"), ErrCorrupt},
		{"id3 only", "", []byte("ID3\x03\x00\x00\x00\x00\x00\x00"), ErrCorrupt},
		{"garbage served as mp3", "audio/mpeg", bytes.Repeat([]byte("garbage "), 200), ErrCorrupt},
		{"mp3 frame header cut", "", mp3[:30], ErrCorrupt},
		{"mpeg-2.5", "audio/mpeg", readFixture(t, "tone1k-8000-mono.mp3"), ErrUnsupported},
		{"mpeg-2 misread padding", "audio/mpeg", readFixture(t, "tone1k-22050-mono-32k.mp3"), ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Decode(tc.data, tc.ctype)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode = %v, %v; want %v", c, err, tc.want)
			}
			t.Log(err)
		})
	}

	var fe *FormatError
	_, err := Decode(wavFile(wavOpts{tag: 0x55, channels: 2, rate: 44100, bits: 0}, pcm), "")
	if !errors.As(err, &fe) || fe.Format != 0x55 || fe.Channels != 2 || fe.SampleRate != 44100 {
		t.Errorf("MPEG-in-WAV: %v, want a *FormatError with the header's values", err)
	}
}

func TestDecodeTooLong(t *testing.T) {
	d := Decoder{MaxDuration: 500 * time.Millisecond}
	wav := wavFile(wavOpts{tag: wavPCM, channels: 1, rate: 44100, bits: 16}, encode(wavPCM, 16, tones(44100, 1, 1000)))
	for name, data := range map[string][]byte{
		"wav": wav,
		"mp3": readFixture(t, "tone1k-44100-mono.mp3"),
	} {
		if _, err := d.Decode(data, ""); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: %v, want ErrTooLarge", name, err)
		}
	}
	// A header that claims 4 GiB of samples fails before anything is
	// allocated: the length checked is what the file holds.
	huge := wavFile(wavOpts{tag: wavPCM, channels: 1, rate: 1000, bits: 8}, make([]byte, 8000))
	binary.LittleEndian.PutUint32(huge[40:], 0xFFFFFFF0)
	if _, err := d.Decode(huge, ""); !errors.Is(err, ErrTooLarge) {
		t.Errorf("1000 Hz 8-bit: %v, want ErrTooLarge", err)
	}
	if c, err := (Decoder{MaxDuration: 9 * time.Second}).Decode(huge, ""); err != nil || c.Duration() != 8*time.Second {
		t.Errorf("huge claimed size: %v, %v; want the 8 s the file holds", c, err)
	}
}

// FuzzDecode: no panic on any input, and decoded audio bounded by the limit
// and by what the input can expand to (16 bytes of clip per input byte).
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"tone1k-44100-mono.mp3", "tone600-1400-22050-stereo.mp3", "tone1k-8000-mono.mp3", "tone1k-22050-mono-32k.mp3"} {
		data := readFixture(f, name)
		f.Add(data, "audio/mpeg")
		f.Add(data[:min(len(data), 1500)], "")
	}
	for _, o := range []wavOpts{
		{tag: wavPCM, channels: 1, rate: 8000, bits: 16},
		{tag: wavPCM, channels: 2, rate: 44100, bits: 16},
		{tag: wavMuLaw, channels: 1, rate: 8000, bits: 8},
		{tag: wavFloat, channels: 2, rate: 22050, bits: 32, extensible: true},
	} {
		f.Add(wavFile(o, encode(o.tag, o.bits, tones(o.rate, 0.05, make([]float64, o.channels)...))), "audio/wav")
	}
	f.Add([]byte("<html></html>"), "text/html")
	const maxDur = 20 * time.Second
	d := Decoder{MaxDuration: maxDur}
	f.Fuzz(func(t *testing.T, data []byte, ctype string) {
		c, err := d.Decode(data, ctype)
		if err != nil {
			if !errors.Is(err, ErrNotAudio) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if c.Duration() > maxDur || c.Size() > 16*len(data)+2*media.ClockRate {
			t.Fatalf("%d input bytes gave %v, %d bytes of audio", len(data), c.Duration(), c.Size())
		}
	})
}

// BenchmarkDecode44100: 10 s of 44.1 kHz audio to 8 kHz.
func BenchmarkDecode44100(b *testing.B) {
	wavMono := wavFile(wavOpts{tag: wavPCM, channels: 1, rate: 44100, bits: 16}, encode(wavPCM, 16, tones(44100, 10, 1000)))
	wavStereo := wavFile(wavOpts{tag: wavPCM, channels: 2, rate: 44100, bits: 16}, encode(wavPCM, 16, tones(44100, 10, 1000, 600)))
	// Ten copies of the 1 s fixture without its tags: MP3 frames concatenate.
	frames, err := stripTags(readFixture(b, "tone1k-44100-mono.mp3"))
	if err != nil {
		b.Fatal(err)
	}
	mp3 := bytes.Repeat(frames, 10)
	for _, bc := range []struct {
		name string
		data []byte
	}{{"wav-mono", wavMono}, {"wav-stereo", wavStereo}, {"mp3-mono-64k", mp3}} {
		b.Run(bc.name, func(b *testing.B) {
			var c *media.Clip
			for b.Loop() {
				var err error
				if c, err = Decode(bc.data, ""); err != nil {
					b.Fatal(err)
				}
			}
			if c.Duration() < 10*time.Second {
				b.Fatalf("decoded %v, want 10 s", c.Duration())
			}
		})
	}
}
