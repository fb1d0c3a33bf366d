package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/zaf/g711"
)

// wavFile builds a RIFF/WAVE file; extra chunks go between fmt and data.
func wavFile(tag uint16, channels, rate, bits int, data []byte, extra ...[]byte) []byte {
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(0)) // filled below
	b.WriteString("WAVE")
	b.WriteString("fmt ")
	le(uint32(16))
	le(tag)
	le(uint16(channels))
	le(uint32(rate))
	le(uint32(rate * channels * bits / 8))
	le(uint16(channels * bits / 8))
	le(uint16(bits))
	for _, c := range extra {
		b.Write(c)
	}
	b.WriteString("data")
	le(uint32(len(data)))
	b.Write(data)
	out := b.Bytes()
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out
}

// pcm16 returns n samples of a ramp, little-endian.
func pcm16(n int) ([]byte, []int16) {
	samples := make([]int16, n)
	data := make([]byte, 2*n)
	for i := range samples {
		samples[i] = int16(i*37 - 6000)
		binary.LittleEndian.PutUint16(data[2*i:], uint16(samples[i]))
	}
	return data, samples
}

func readAll(t testing.TB, src Source) [][]byte {
	t.Helper()
	var frames [][]byte
	for i := 0; ; i++ {
		if i > 100000 {
			t.Fatal("source does not end")
		}
		f := make([]byte, FrameSamples)
		err := src.ReadFrame(f)
		if err == io.EOF {
			return frames
		}
		if err != nil {
			t.Fatalf("ReadFrame: %v", err)
		}
		frames = append(frames, f)
	}
}

func TestDecodeWAVFormats(t *testing.T) {
	data16, samples := pcm16(400) // 2.5 frames
	ulaw := g711.EncodeUlaw(data16)
	alaw := g711.EncodeAlaw(data16)
	pcm8 := make([]byte, 400)
	for i := range pcm8 {
		pcm8[i] = byte(i)
	}
	list := append([]byte("LIST"), 3, 0, 0, 0, 'a', 'b', 'c', 0) // odd size, padded
	tests := []struct {
		name     string
		file     []byte
		codec    Codec
		expected func(i int) byte
	}{
		{"pcm16 to PCMU", wavFile(1, 1, 8000, 16, data16), PCMU, func(i int) byte { return g711.EncodeUlawFrame(samples[i]) }},
		{"pcm16 to PCMA, odd LIST chunk before data", wavFile(1, 1, 8000, 16, data16, list), PCMA, func(i int) byte { return g711.EncodeAlawFrame(samples[i]) }},
		{"pcm8 to PCMU", wavFile(1, 1, 8000, 8, pcm8), PCMU, func(i int) byte { return g711.EncodeUlawFrame((int16(i%256) - 128) << 8) }},
		{"µ-law to PCMU is a copy", wavFile(7, 1, 8000, 8, ulaw), PCMU, func(i int) byte { return ulaw[i] }},
		{"µ-law to PCMA converts directly", wavFile(7, 1, 8000, 8, ulaw), PCMA, func(i int) byte { return g711.Ulaw2AlawFrame(ulaw[i]) }},
		{"A-law to PCMA is a copy", wavFile(6, 1, 8000, 8, alaw), PCMA, func(i int) byte { return alaw[i] }},
		{"A-law to PCMU converts directly", wavFile(6, 1, 8000, 8, alaw), PCMU, func(i int) byte { return g711.Alaw2UlawFrame(alaw[i]) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clip, err := DecodeWAV(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if clip.Duration() != 50*time.Millisecond || clip.Frames() != 3 {
				t.Errorf("duration %v frames %d, want 50ms and 3", clip.Duration(), clip.Frames())
			}
			src, err := clip.Source(tc.codec)
			if err != nil {
				t.Fatal(err)
			}
			frames := readAll(t, src)
			if len(frames) != 3 {
				t.Fatalf("%d frames, want 3", len(frames))
			}
			for i := range 400 {
				if got, want := frames[i/FrameSamples][i%FrameSamples], tc.expected(i); got != want {
					t.Fatalf("sample %d = %#x, want %#x", i, got, want)
				}
			}
			for i := 400; i < 3*FrameSamples; i++ {
				if frames[2][i%FrameSamples] != tc.codec.silence() {
					t.Fatalf("padding sample %d = %#x, want silence", i, frames[2][i%FrameSamples])
				}
			}
		})
	}
}

func TestDecodeWAVExtensible(t *testing.T) {
	data16, _ := pcm16(160)
	file := wavFile(1, 1, 8000, 16, data16)
	// Rewrite fmt as WAVE_FORMAT_EXTENSIBLE (40 bytes) with sub-format PCM.
	fmtChunk := make([]byte, 8+40)
	copy(fmtChunk, "fmt ")
	binary.LittleEndian.PutUint32(fmtChunk[4:], 40)
	copy(fmtChunk[8:], file[20:36])
	binary.LittleEndian.PutUint16(fmtChunk[8:], 0xFFFE)
	binary.LittleEndian.PutUint16(fmtChunk[8+16:], 22)
	binary.LittleEndian.PutUint16(fmtChunk[8+24:], 1)
	ext := append(append(append([]byte{}, file[:12]...), fmtChunk...), file[36:]...)
	clip, err := DecodeWAV(ext)
	if err != nil {
		t.Fatal(err)
	}
	if clip.Frames() != 1 {
		t.Errorf("frames = %d", clip.Frames())
	}
}

func TestDecodeWAVRejects(t *testing.T) {
	data16, _ := pcm16(160)
	good := wavFile(1, 1, 8000, 16, data16)
	noData := good[:36]
	dataFirst := append(append(append([]byte{}, good[:12]...), good[36:]...), good[12:36]...)
	tests := []struct {
		name   string
		file   []byte
		err    error
		format *FormatError
	}{
		{"empty", nil, ErrNotWAV, nil},
		{"not RIFF", []byte("RIFX....WAVEfmt "), ErrNotWAV, nil},
		{"mp3", []byte("ID3\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00"), ErrNotWAV, nil},
		{"no data chunk", noData, ErrNotWAV, nil},
		{"data before fmt", dataFirst, ErrNotWAV, nil},
		{"short fmt", append(append([]byte{}, good[:16]...), 4, 0, 0, 0, 1, 0, 1, 0), ErrNotWAV, nil},
		{"stereo", wavFile(1, 2, 8000, 16, data16), ErrUnsupportedWAV, &FormatError{1, 2, 8000, 16}},
		{"16 kHz", wavFile(1, 1, 16000, 16, data16), ErrUnsupportedWAV, &FormatError{1, 1, 16000, 16}},
		{"24-bit", wavFile(1, 1, 8000, 24, data16), ErrUnsupportedWAV, &FormatError{1, 1, 8000, 24}},
		{"ADPCM", wavFile(2, 1, 8000, 4, data16), ErrUnsupportedWAV, &FormatError{2, 1, 8000, 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeWAV(tc.file)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if tc.format != nil {
				var fe *FormatError
				if !errors.As(err, &fe) || *fe != *tc.format {
					t.Fatalf("err = %#v, want %#v", err, tc.format)
				}
			}
		})
	}
}

func TestDecodeWAVTruncatedData(t *testing.T) {
	data16, _ := pcm16(400)
	file := wavFile(1, 1, 8000, 16, data16)
	cut := file[:len(file)-201] // the data chunk claims 800 bytes; 599 remain
	clip, err := DecodeWAV(cut)
	if err != nil {
		t.Fatal(err)
	}
	if clip.samples != 299 {
		t.Errorf("samples = %d, want 299 whole samples", clip.samples)
	}
}

func TestReadWAVLimit(t *testing.T) {
	data16, _ := pcm16(400)
	file := wavFile(1, 1, 8000, 16, data16)
	if _, err := ReadWAV(bytes.NewReader(file), int64(len(file))); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	if _, err := ReadWAV(bytes.NewReader(file), int64(len(file)-1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
}

func TestLoopAndLimit(t *testing.T) {
	data16, _ := pcm16(320) // 2 frames
	clip, err := DecodeWAV(wavFile(1, 1, 8000, 16, data16))
	if err != nil {
		t.Fatal(err)
	}
	src := func() *ClipSource {
		s, err := clip.Source(PCMU)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	once := readAll(t, src())
	thrice := readAll(t, Loop(src(), 3))
	if len(thrice) != 6 {
		t.Fatalf("Loop(3) gave %d frames, want 6", len(thrice))
	}
	for i, f := range thrice {
		if !bytes.Equal(f, once[i%2]) {
			t.Fatalf("looped frame %d differs", i)
		}
	}
	if n := len(readAll(t, Limit(Loop(src(), 0), 210*time.Millisecond))); n != 11 {
		t.Errorf("Limit(Loop forever, 210ms) gave %d frames, want 11", n)
	}
	empty, err := DecodeWAV(wavFile(1, 1, 8000, 16, nil))
	if err != nil {
		t.Fatal(err)
	}
	es, _ := empty.Source(PCMA)
	if n := len(readAll(t, Loop(es, 0))); n != 0 {
		t.Errorf("looping an empty clip gave %d frames", n)
	}
	if _, err := clip.Source(CodecUnknown); err == nil {
		t.Error("Source(CodecUnknown) succeeded")
	}
}

func TestToneAndSilence(t *testing.T) {
	frames := readAll(t, Limit(Tone(PCMU, 1000, 8000), 40*time.Millisecond))
	if len(frames) != 2 {
		t.Fatalf("%d frames", len(frames))
	}
	// 1 kHz at 8 kHz repeats every 8 samples.
	for i := 8; i < FrameSamples; i++ {
		if d := int(g711.DecodeUlawFrame(frames[0][i])) - int(g711.DecodeUlawFrame(frames[0][i-8])); d > 300 || d < -300 {
			t.Fatalf("tone not periodic at sample %d: %d", i, d)
		}
	}
	if g711.DecodeUlawFrame(frames[0][2]) < 7000 { // sin(π/2) * 8000
		t.Errorf("tone peak %d too low", g711.DecodeUlawFrame(frames[0][2]))
	}
	f := make([]byte, FrameSamples)
	if err := Silence(PCMA).ReadFrame(f); err != nil || f[0] != 0xD5 || f[FrameSamples-1] != 0xD5 {
		t.Errorf("PCMA silence = %#x, %v", f[0], err)
	}
}

func FuzzDecodeWAV(f *testing.F) {
	data16, _ := pcm16(200)
	f.Add(wavFile(1, 1, 8000, 16, data16))
	f.Add(wavFile(7, 1, 8000, 8, data16[:100]))
	f.Add(wavFile(6, 1, 8000, 8, data16[:99], []byte("LIST\x01\x00\x00\x00x\x00")))
	f.Add(wavFile(1, 1, 8000, 8, data16[:33])[:50])
	f.Add([]byte("RIFF\xff\xff\xff\xffWAVEfmt \xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, file []byte) {
		clip, err := DecodeWAV(file)
		if err != nil {
			if !errors.Is(err, ErrNotWAV) && !errors.Is(err, ErrUnsupportedWAV) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		for _, c := range []Codec{PCMU, PCMA} {
			src, err := clip.Source(c)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(readAll(t, src)); n != clip.Frames() {
				t.Fatalf("%d frames, clip says %d", n, clip.Frames())
			}
		}
	})
}
