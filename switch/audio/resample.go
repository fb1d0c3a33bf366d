package audio

import (
	"fmt"
	"math"
)

// Resampling filter design. The low-pass keeps everything below 85 % of the
// lower rate's Nyquist frequency (3400 Hz when going to 8 kHz: the whole
// telephone band) and is 80 dB down from the Nyquist frequency on, so what
// folds back into the band is below the 8-bit-ish noise floor of G.711.
const (
	passEdge    = 0.85 // passband edge, as a share of the lower Nyquist
	stopAtten   = 80.0 // dB at and above the lower Nyquist
	minRate     = 1000
	maxRate     = 384000
	maxCoefs    = 1 << 20 // phases × taps: 4 MiB of float32 for odd ratios
	resampleMax = 32767
	writeChunk  = 4096 // input samples buffered at a time
)

// Resampler converts a stream of linear 16-bit samples from one rate to
// another: a Kaiser-windowed sinc low-pass evaluated in polyphase form for
// the exact rational ratio of the two rates, so 44.1 kHz → 8 kHz (80/441)
// has no drift and every output sample sees the same filter quality.
//
// The output is aligned with the input (the filter is centred, not causal):
// n input samples give ceil(n·to/from) output samples once Flush is called.
// A Resampler is used by one goroutine at a time.
type Resampler struct {
	from, to int
	l, m     int       // to/gcd and from/gcd: output n sits at input n·m/l
	half     int       // taps on each side of the centre
	coef     []float32 // l phases of 2·half taps

	buf  []float32 // input from absolute index base on
	base int64
	in   int64 // input samples written
	i    int64 // input index of the next output (integer part)
	p    int   // and its phase (fraction ·l)
	n    int64 // outputs produced
}

// NewResampler returns a Resampler from fromRate to toRate Hz. Rates must
// lie between 1 kHz and 384 kHz, and their ratio must be one a filter table
// of reasonable size can represent exactly (every common audio rate pair
// is; 44056 Hz to 8 kHz is, at 1000 phases, too).
func NewResampler(fromRate, toRate int) (*Resampler, error) {
	if fromRate < minRate || fromRate > maxRate || toRate < minRate || toRate > maxRate {
		return nil, fmt.Errorf("%w: resampling %d Hz to %d Hz (rates must be %d to %d Hz)",
			ErrUnsupported, fromRate, toRate, minRate, maxRate)
	}
	g := gcd(fromRate, toRate)
	r := &Resampler{from: fromRate, to: toRate, l: toRate / g, m: fromRate / g}

	nyquist := float64(min(fromRate, toRate)) / 2
	transition := (1 - passEdge) * nyquist // Hz, passband edge to Nyquist
	cutoff := (nyquist - transition/2) / float64(fromRate)
	// Kaiser's estimate of the length for stopAtten over the transition
	// width, in input samples (the kernel is evaluated on the input grid).
	width := 2 * math.Pi * transition / float64(fromRate)
	r.half = int(math.Ceil((stopAtten - 8) / (2.285 * width) / 2))
	taps := 2 * r.half
	if r.l*taps > maxCoefs {
		return nil, fmt.Errorf("%w: resampling %d Hz to %d Hz needs %d filter phases",
			ErrUnsupported, fromRate, toRate, r.l)
	}
	beta := 0.1102 * (stopAtten - 8.7)
	i0beta := besselI0(beta)
	r.coef = make([]float32, r.l*taps)
	row := make([]float64, taps)
	for p := range r.l {
		var sum float64
		for k := range taps {
			// Distance from the output instant to input tap k, in input samples.
			x := float64(r.half-1-k) + float64(p)/float64(r.l)
			v := 0.0
			if u := x / float64(r.half); u > -1 && u < 1 {
				v = 2 * cutoff * sinc(2*cutoff*x) * besselI0(beta*math.Sqrt(1-u*u)) / i0beta
			}
			row[k] = v
			sum += v
		}
		// Unit gain for every phase, so DC and low tones carry no ripple
		// at the phase rate.
		for k, v := range row {
			r.coef[p*taps+k] = float32(v / sum)
		}
	}
	r.reset()
	return r, nil
}

// Resample converts samples from fromRate to toRate Hz in one go.
func Resample(samples []int16, fromRate, toRate int) ([]int16, error) {
	if fromRate == toRate {
		return append([]int16(nil), samples...), nil
	}
	r, err := NewResampler(fromRate, toRate)
	if err != nil {
		return nil, err
	}
	out := make([]int16, 0, r.OutputLen(len(samples)))
	out = r.Write(out, samples)
	return r.Flush(out), nil
}

// OutputLen is the number of samples n input samples become.
func (r *Resampler) OutputLen(n int) int {
	return int((int64(n)*int64(r.l) + int64(r.m) - 1) / int64(r.m))
}

// Write resamples src, appends what is ready to dst and returns it. The
// last few milliseconds (half the filter) wait for more input or Flush.
func (r *Resampler) Write(dst, src []int16) []int16 {
	// In slices, so the buffer stays about one filter long whatever the
	// caller gives at once.
	for len(src) > 0 {
		n := min(len(src), writeChunk)
		for _, s := range src[:n] {
			r.buf = append(r.buf, float32(s))
		}
		r.in += int64(n)
		src = src[n:]
		dst = r.drain(dst, -1)
	}
	return dst
}

// Flush ends the stream: it appends the outputs still held back, as if
// silence followed, and readies the Resampler for a new stream.
func (r *Resampler) Flush(dst []int16) []int16 {
	for range r.half {
		r.buf = append(r.buf, 0)
	}
	dst = r.drain(dst, int64(r.OutputLen(int(r.in))))
	r.reset()
	return dst
}

func (r *Resampler) reset() {
	// half zeros stand for the silence before the stream starts.
	r.buf = append(r.buf[:0], make([]float32, r.half)...)
	r.base = -int64(r.half)
	r.in, r.i, r.p, r.n = 0, 0, 0, 0
}

// drain computes every output whose taps are all in buf, up to limit
// outputs in all when limit >= 0.
func (r *Resampler) drain(dst []int16, limit int64) []int16 {
	taps := 2 * r.half
	end := r.base + int64(len(r.buf))
	for r.i+int64(r.half) < end && (limit < 0 || r.n < limit) {
		start := int(r.i - int64(r.half) + 1 - r.base)
		x := r.buf[start : start+taps]
		c := r.coef[r.p*taps : r.p*taps+taps]
		dst = append(dst, clamp16(dot(x, c)))
		r.n++
		r.p += r.m
		r.i += int64(r.p / r.l)
		r.p %= r.l
	}
	// Drop the input no later output reaches back to.
	if drop := int(r.i - int64(r.half) + 1 - r.base); drop > 0 {
		drop = min(drop, len(r.buf))
		r.buf = r.buf[:copy(r.buf, r.buf[drop:])]
		r.base += int64(drop)
	}
	return dst
}

func dot(x, c []float32) float32 {
	x = x[:len(c)]
	var a0, a1, a2, a3 float32
	k := 0
	for ; k+4 <= len(c); k += 4 {
		a0 += x[k] * c[k]
		a1 += x[k+1] * c[k+1]
		a2 += x[k+2] * c[k+2]
		a3 += x[k+3] * c[k+3]
	}
	for ; k < len(c); k++ {
		a0 += x[k] * c[k]
	}
	return a0 + a1 + a2 + a3
}

func clamp16(v float32) int16 {
	switch {
	case v >= resampleMax:
		return resampleMax
	case v <= -resampleMax-1:
		return -resampleMax - 1
	case v >= 0:
		return int16(v + 0.5)
	default:
		return int16(v - 0.5)
	}
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// besselI0 is the modified Bessel function of the first kind, order 0, by
// its power series (converges fast for the β of a Kaiser window).
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	q := x * x / 4
	for k := 1; k < 100; k++ {
		term *= q / float64(k*k)
		sum += term
		if term < sum*1e-12 {
			break
		}
	}
	return sum
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
