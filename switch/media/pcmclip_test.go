package media

import (
	"encoding/binary"
	"io"
	"testing"
	"time"
)

func TestNewPCMClip(t *testing.T) {
	samples := make([]int16, 2*FrameSamples+10)
	for i := range samples {
		samples[i] = int16(i*97 - 20000)
	}
	c := NewPCMClip(samples)
	samples[0] = 12345 // the clip must not alias the caller's buffer

	if got, want := c.Duration(), time.Duration(len(samples))*time.Second/ClockRate; got != want {
		t.Errorf("Duration = %v, want %v", got, want)
	}
	if got := c.Frames(); got != 3 {
		t.Errorf("Frames = %d, want 3", got)
	}
	if got := c.Size(); got != 2*len(samples) {
		t.Errorf("Size = %d, want %d", got, 2*len(samples))
	}

	// The clip plays exactly as the same samples in an 8 kHz WAV file.
	data := make([]byte, 2*len(samples))
	for i := range samples {
		v := int16(i*97 - 20000)
		binary.LittleEndian.PutUint16(data[2*i:], uint16(v))
	}
	ref, err := DecodeWAV(wavFile(wavPCM, 1, ClockRate, 16, data))
	if err != nil {
		t.Fatal(err)
	}
	for _, codec := range []Codec{PCMU, PCMA} {
		got := readAll(t, pcmTestSource(t, c, codec))
		want := readAll(t, pcmTestSource(t, ref, codec))
		if len(got) != len(want) {
			t.Fatalf("%v: %d frames, want %d", codec, len(got), len(want))
		}
		for i := range got {
			if string(got[i]) != string(want[i]) {
				t.Fatalf("%v: frame %d differs from the WAV clip's", codec, i)
			}
		}
	}
}

func TestNewPCMClipEmpty(t *testing.T) {
	c := NewPCMClip(nil)
	if c.Duration() != 0 || c.Frames() != 0 || c.Size() != 0 {
		t.Errorf("empty clip: duration %v, %d frames, %d bytes", c.Duration(), c.Frames(), c.Size())
	}
	src := pcmTestSource(t, c, PCMU)
	if err := src.ReadFrame(make([]byte, FrameSamples)); err != io.EOF {
		t.Errorf("ReadFrame of an empty clip = %v, want io.EOF", err)
	}
}

func pcmTestSource(t *testing.T, c *Clip, codec Codec) *ClipSource {
	t.Helper()
	s, err := c.Source(codec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
