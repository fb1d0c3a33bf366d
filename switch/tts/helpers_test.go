package tts

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"testing"

	"github.com/zaf/g711"

	"github.com/patchbay/patchbay/switch/media"
)

// decode8k is the tests' stand-in for audio.Decode: it reads a mono 16-bit
// PCM WAV at any rate, resamples it to 8 kHz (a moving average as the
// anti-alias filter, then linear interpolation: crude, but speech survives
// it) into a media.NewPCMClip.
func decode8k(wav []byte) (*media.Clip, error) {
	rate, pcm, err := readPCM16(wav)
	if err != nil {
		return nil, err
	}
	if rate != media.ClockRate {
		pcm = resample(pcm, rate, media.ClockRate)
	}
	return media.NewPCMClip(pcm), nil
}

func readPCM16(b []byte) (rate int, pcm []int16, err error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return 0, nil, errors.New("not a WAV")
	}
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		body := b[off+8 : min(len(b), off+8+size)]
		switch id {
		case "fmt ":
			if len(body) < 16 {
				return 0, nil, errors.New("short fmt chunk")
			}
			tag, ch, bits := binary.LittleEndian.Uint16(body), binary.LittleEndian.Uint16(body[2:]), binary.LittleEndian.Uint16(body[14:])
			if tag != 1 || ch != 1 || bits != 16 {
				return 0, nil, fmt.Errorf("fmt tag %d, %d channels, %d bits: want mono 16-bit PCM", tag, ch, bits)
			}
			rate = int(binary.LittleEndian.Uint32(body[4:]))
		case "data":
			if rate == 0 {
				return 0, nil, errors.New("data before fmt")
			}
			pcm = make([]int16, len(body)/2)
			for i := range pcm {
				pcm[i] = int16(binary.LittleEndian.Uint16(body[2*i:]))
			}
			return rate, pcm, nil
		}
		off += 8 + size + size&1
	}
	return 0, nil, errors.New("no data chunk")
}

func resample(in []int16, from, to int) []int16 {
	// Average over about from/to input samples to keep what aliases out.
	w := max(1, from/to)
	smooth := make([]float64, len(in))
	var sum float64
	for i, v := range in {
		sum += float64(v)
		if i >= w {
			sum -= float64(in[i-w])
		}
		smooth[i] = sum / float64(min(i+1, w))
	}
	n := int(int64(len(in)) * int64(to) / int64(from))
	out := make([]int16, n)
	for i := range out {
		pos := float64(i) * float64(from) / float64(to)
		j := int(pos)
		frac := pos - float64(j)
		a := smooth[j]
		b := a
		if j+1 < len(smooth) {
			b = smooth[j+1]
		}
		out[i] = int16(a + (b-a)*frac)
	}
	return out
}

// clipPCM plays clip through µ-law, as a caller hears it, and decodes it
// back to linear samples.
func clipPCM(t testing.TB, clip *media.Clip) []int16 {
	t.Helper()
	src, err := clip.Source(media.PCMU)
	if err != nil {
		t.Fatal(err)
	}
	var out []int16
	frame := make([]byte, media.FrameSamples)
	for {
		if err := src.ReadFrame(frame); err == io.EOF {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		for _, b := range frame {
			out = append(out, g711.DecodeUlawFrame(b))
		}
	}
}

// voicedThreshold is the RMS of a 20 ms frame above which it counts as
// voiced: about -36 dBFS, well above µ-law's idle noise and well below
// espeak-ng's speech (around -20 dBFS).
const voicedThreshold = 500

// voicedShare returns the share of 20 ms frames whose RMS is above
// voicedThreshold, and the number of frames.
func voicedShare(pcm []int16) (float64, int) {
	frames, voiced := 0, 0
	for off := 0; off+media.FrameSamples <= len(pcm); off += media.FrameSamples {
		var sum float64
		for _, v := range pcm[off : off+media.FrameSamples] {
			sum += float64(v) * float64(v)
		}
		frames++
		if math.Sqrt(sum/media.FrameSamples) > voicedThreshold {
			voiced++
		}
	}
	if frames == 0 {
		return 0, 0
	}
	return float64(voiced) / float64(frames), frames
}

// medianPitch estimates the fundamental frequency of the voiced 40 ms
// windows of 8 kHz pcm by autocorrelation over 60..400 Hz and returns the
// median, or 0 when no window is clearly periodic.
func medianPitch(pcm []int16) float64 {
	const win = 320
	minLag, maxLag := media.ClockRate/400, media.ClockRate/60
	var pitches []float64
	for off := 0; off+win+maxLag <= len(pcm); off += win / 2 {
		x := pcm[off : off+win+maxLag]
		var energy float64
		for _, v := range x[:win] {
			energy += float64(v) * float64(v)
		}
		if math.Sqrt(energy/win) < 2*voicedThreshold {
			continue
		}
		bestLag, best := 0, 0.0
		for lag := minLag; lag <= maxLag; lag++ {
			var r, e2 float64
			for i := range win {
				r += float64(x[i]) * float64(x[i+lag])
				e2 += float64(x[i+lag]) * float64(x[i+lag])
			}
			if norm := r / math.Sqrt(energy*e2+1); norm > best {
				best, bestLag = norm, lag
			}
		}
		if best > 0.6 {
			pitches = append(pitches, float64(media.ClockRate)/float64(bestLag))
		}
	}
	if len(pitches) == 0 {
		return 0
	}
	slices.Sort(pitches)
	return pitches[len(pitches)/2]
}
