package media

import "math"

// ToneDetector measures which share of a signal's energy lies at given
// frequencies, with the Goertzel algorithm over blocks of 40 ms. Tests use
// it to prove which tones a party hears (through a relay, through a
// conference), end-to-end tests on audio received from the switch.
//
// Each block gives, per frequency, the power at that frequency divided by
// the power of a pure sine with the block's energy: about 1 for a pure
// tone, 1/n for each of n equally loud tones, near 0 for a frequency that
// is not there. Blocks quieter than about -50 dBFS count as silent and are
// left out of the averages, so silence neither dilutes nor fakes a level.
//
// A ToneDetector is used by one goroutine at a time.
type ToneDetector struct {
	freqs  []float64
	coeffs []float64
	s1, s2 []float64
	n      int
	energy float64
	levels []float64 // sums over voiced blocks
	voiced int
	silent int
}

const (
	toneBlock = 320 // samples: 40 ms, 25 Hz resolution
	// toneSilence is the mean square below which a block is silent
	// (RMS 100 of 32767 full scale, about -50 dBFS).
	toneSilence = 100 * 100
)

// NewToneDetector measures the given frequencies (Hz, below 4000).
func NewToneDetector(freqs ...float64) *ToneDetector {
	d := &ToneDetector{
		freqs:  append([]float64(nil), freqs...),
		coeffs: make([]float64, len(freqs)),
		s1:     make([]float64, len(freqs)),
		s2:     make([]float64, len(freqs)),
		levels: make([]float64, len(freqs)),
	}
	for i, f := range freqs {
		d.coeffs[i] = 2 * math.Cos(2*math.Pi*f/ClockRate)
	}
	return d
}

// WritePCM adds linear samples.
func (d *ToneDetector) WritePCM(samples []int16) {
	for _, s := range samples {
		x := float64(s)
		d.energy += x * x
		for i, c := range d.coeffs {
			s0 := x + c*d.s1[i] - d.s2[i]
			d.s2[i], d.s1[i] = d.s1[i], s0
		}
		d.n++
		if d.n == toneBlock {
			d.endBlock()
		}
	}
}

// WriteG711 adds a G.711 payload encoded in c.
func (d *ToneDetector) WriteG711(c Codec, payload []byte) {
	var pcm [FrameSamples]int16
	for len(payload) > 0 {
		n := min(len(payload), len(pcm))
		c.decodeTo(pcm[:n], payload[:n])
		d.WritePCM(pcm[:n])
		payload = payload[n:]
	}
}

func (d *ToneDetector) endBlock() {
	if d.energy/float64(d.n) < toneSilence {
		d.silent++
	} else {
		d.voiced++
		// A sine of amplitude A gives power (A·N/2)² and energy N·A²/2.
		norm := d.energy * float64(d.n) / 2
		for i, c := range d.coeffs {
			power := d.s1[i]*d.s1[i] + d.s2[i]*d.s2[i] - c*d.s1[i]*d.s2[i]
			d.levels[i] += power / norm
		}
	}
	d.n, d.energy = 0, 0
	clear(d.s1)
	clear(d.s2)
}

// Level is the average share of the i-th frequency given to
// NewToneDetector over the voiced blocks so far, or 0 if none was voiced.
func (d *ToneDetector) Level(i int) float64 {
	if d.voiced == 0 {
		return 0
	}
	return d.levels[i] / float64(d.voiced)
}

// Len is the number of frequencies measured.
func (d *ToneDetector) Len() int { return len(d.freqs) }

// Voiced is the number of complete blocks with sound in them.
func (d *ToneDetector) Voiced() int { return d.voiced }

// Silent is the number of complete silent blocks.
func (d *ToneDetector) Silent() int { return d.silent }

// Reset forgets everything written.
func (d *ToneDetector) Reset() {
	d.n, d.energy, d.voiced, d.silent = 0, 0, 0, 0
	clear(d.s1)
	clear(d.s2)
	clear(d.levels)
}
