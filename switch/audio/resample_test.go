package audio

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// sine returns d seconds of a tone at rate, amplitude a.
func sine(rate int, seconds, hz, a float64) []int16 {
	n := int(seconds * float64(rate))
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(a * math.Sin(2*math.Pi*hz*float64(i)/float64(rate)))
	}
	return s
}

// rms of samples, leaving out the edges where the filter sees the
// silence around the signal.
func rms(s []int16, edge int) float64 {
	s = s[edge : len(s)-edge]
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(s)))
}

func db(ratio float64) float64 { return 20 * math.Log10(ratio) }

func TestResampleResponse(t *testing.T) {
	const amp = 16000
	inRMS := amp / math.Sqrt2
	for _, tc := range []struct {
		from     int
		hz       float64
		min, max float64 // gain in dB
	}{
		// The telephone band passes untouched...
		{44100, 300, -0.1, 0.1},
		{44100, 1000, -0.1, 0.1},
		{44100, 3000, -0.2, 0.1},
		{22050, 1000, -0.1, 0.1},
		{48000, 3300, -0.5, 0.1},
		{11025, 2000, -0.1, 0.1},
		// ...and what would fold back into it is gone. 6 kHz would alias
		// to 2 kHz, 4.4 kHz to 3.6 kHz, 10 kHz to 2 kHz.
		{44100, 6000, -1000, -75},
		{44100, 4400, -1000, -75},
		{44100, 10000, -1000, -75},
		{22050, 6000, -1000, -75},
		{16000, 5000, -1000, -75},
		{48000, 7000, -1000, -75},
	} {
		in := sine(tc.from, 1, tc.hz, amp)
		out, err := Resample(in, tc.from, 8000)
		if err != nil {
			t.Fatal(err)
		}
		if want := (len(in)*8000 + tc.from - 1) / tc.from; len(out) != want {
			t.Errorf("%d Hz: %d samples out of %d, want %d", tc.from, len(out), len(in), want)
		}
		g := db(max(rms(out, 400), 1e-9) / inRMS)
		if g < tc.min || g > tc.max {
			t.Errorf("%v Hz tone at %d Hz → 8 kHz: gain %.2f dB, want %.1f to %.1f dB", tc.hz, tc.from, g, tc.min, tc.max)
		}
	}
}

func TestResampleKeepsTheFrequency(t *testing.T) {
	// A 1 kHz tone at 44.1 kHz is a 1 kHz tone at 8 kHz: each output sample
	// is the sine at its instant, give or take the rounding.
	in := sine(44100, 1, 1000, 10000)
	out, err := Resample(in, 44100, 8000)
	if err != nil {
		t.Fatal(err)
	}
	want := sine(8000, 1, 1000, 10000)
	var worst float64
	for i := 200; i < len(want)-200; i++ {
		worst = max(worst, math.Abs(float64(out[i])-float64(want[i])))
	}
	if worst > 10 {
		t.Errorf("largest difference from the ideal 8 kHz sine: %.0f (of 10000)", worst)
	}
}

func TestResampleRoundTrip(t *testing.T) {
	// Up and back down: an in-band signal survives (the resampler is not
	// only a decimator; the TTS engine may give any rate).
	in := sine(8000, 0.5, 700, 8000)
	for i := range in {
		in[i] += int16(3000 * math.Sin(2*math.Pi*2500*float64(i)/8000))
	}
	up, err := Resample(in, 8000, 22050)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Resample(up, 22050, 8000)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(in) {
		t.Fatalf("%d samples back, want %d", len(back), len(in))
	}
	var diff, sig float64
	for i := 100; i < len(in)-100; i++ {
		d := float64(back[i]) - float64(in[i])
		diff += d * d
		sig += float64(in[i]) * float64(in[i])
	}
	if snr := 10 * math.Log10(sig/diff); snr < 50 {
		t.Errorf("8 kHz → 22.05 kHz → 8 kHz: SNR %.1f dB, want ≥ 50", snr)
	}
}

func TestResamplerStreamingMatchesOneShot(t *testing.T) {
	in := sine(22050, 0.7, 440, 12000)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range in {
		in[i] += int16(rng.IntN(2000) - 1000)
	}
	want, err := Resample(in, 22050, 8000)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewResampler(22050, 8000)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 { // Flush readies it for a second stream
		var got []int16
		for rest := in; len(rest) > 0; {
			n := min(len(rest), rng.IntN(700))
			got = r.Write(got, rest[:n])
			rest = rest[n:]
		}
		got = r.Flush(got)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: streamed output (%d samples) differs from one-shot (%d)", round, len(got), len(want))
		}
	}
}

func TestResampleEdges(t *testing.T) {
	if out, err := Resample(nil, 44100, 8000); err != nil || len(out) != 0 {
		t.Errorf("Resample(nil) = %d samples, %v", len(out), err)
	}
	in := []int16{1, 2, 3}
	out, err := Resample(in, 8000, 8000)
	if err != nil || !slices.Equal(out, in) {
		t.Errorf("same rate: %v, %v", out, err)
	}
	out[0] = 9
	if in[0] != 1 {
		t.Error("same-rate Resample aliases its input")
	}
	// Full-scale input must saturate, not wrap: the filter rings past
	// both rails around a full-scale step.
	step := make([]int16, 4410)
	for i := range step {
		step[i] = -32768
		if i >= len(step)/2 {
			step[i] = 32767
		}
	}
	out, err = Resample(step, 44100, 8000)
	if err != nil {
		t.Fatal(err)
	}
	mid := len(out) / 2
	for i, v := range out {
		if (i < mid-5 && v >= 0) || (i > mid+5 && v <= 0) {
			t.Fatalf("sample %d of a full-scale step is %d: wrapped around", i, v)
		}
	}
	for _, rates := range [][2]int{{0, 8000}, {8000, 0}, {999, 8000}, {8000, 400000}, {384000, 383999}} {
		if _, err := NewResampler(rates[0], rates[1]); !errors.Is(err, ErrUnsupported) {
			t.Errorf("NewResampler(%d, %d) = %v, want ErrUnsupported", rates[0], rates[1], err)
		}
	}
}

func BenchmarkResample22050(b *testing.B) {
	// The TTS engine's case: espeak-ng speaks at 22.05 kHz.
	in := sine(22050, 10, 440, 10000)
	b.SetBytes(int64(2 * len(in)))
	for b.Loop() {
		if _, err := Resample(in, 22050, 8000); err != nil {
			b.Fatal(err)
		}
	}
}
