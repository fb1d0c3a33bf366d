package media

import (
	"math"
	"testing"
)

func sine(n int, hz, amplitude float64, phase float64) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amplitude * math.Sin(phase+2*math.Pi*hz*float64(i)/ClockRate))
	}
	return out
}

func TestToneDetector(t *testing.T) {
	d := NewToneDetector(500, 1100, 1700)
	d.WritePCM(sine(8000, 1100, 8000, 0.3))
	if d.Voiced() != 25 || d.Silent() != 0 {
		t.Fatalf("voiced %d silent %d, want 25 and 0", d.Voiced(), d.Silent())
	}
	if l := d.Level(1); l < 0.95 || l > 1.05 {
		t.Errorf("level of the tone itself = %.3f, want about 1", l)
	}
	if l := max(d.Level(0), d.Level(2)); l > 0.01 {
		t.Errorf("level of absent tones = %.3f", l)
	}

	// Two equal tones share the energy; G.711 noise changes little.
	d.Reset()
	a, b := sine(8000, 500, 6000, 0), sine(8000, 1700, 6000, 1)
	mix := make([]byte, len(a))
	for i := range a {
		mix[i] = PCMA.encode(a[i] + b[i])
	}
	d.WriteG711(PCMA, mix)
	for i, want := range []float64{0.5, 0, 0.5} {
		if l := d.Level(i); math.Abs(l-want) > 0.05 {
			t.Errorf("level %d = %.3f, want %.1f", i, l, want)
		}
	}

	// Silence counts as silent, not as a level.
	d.Reset()
	d.WritePCM(make([]int16, 640))
	d.WritePCM(sine(640, 500, 50, 0)) // -56 dBFS
	if d.Voiced() != 0 || d.Silent() != 4 || d.Level(0) != 0 {
		t.Errorf("quiet input: voiced %d silent %d level %.2f", d.Voiced(), d.Silent(), d.Level(0))
	}
}

func TestTranscodeAndMix(t *testing.T) {
	// The direct tables may land one quantisation step away from encoding
	// the linear sample in the other law.
	near := func(got, want, s int16) bool {
		d := int32(got) - int32(want)
		return max(d, -d) <= max(16, abs16(s)/8)
	}
	for _, s := range []int16{0, 100, -100, 1000, -5000, 20000, -32000} {
		u, a := PCMU.encode(s), PCMA.encode(s)
		var got [1]byte
		transcode(got[:], []byte{u}, PCMU, PCMA)
		if !near(PCMA.decode(got[0]), PCMA.decode(a), s) {
			t.Errorf("µ→A of %d: %d, direct encoding %d", s, PCMA.decode(got[0]), PCMA.decode(a))
		}
		transcode(got[:], []byte{a}, PCMA, PCMU)
		if !near(PCMU.decode(got[0]), PCMU.decode(u), s) {
			t.Errorf("A→µ of %d: %d, direct encoding %d", s, PCMU.decode(got[0]), PCMU.decode(u))
		}
		transcode(got[:], []byte{u}, PCMU, PCMU)
		if got[0] != u {
			t.Errorf("same codec changed the byte")
		}
	}

	var dst [FrameSamples]int16
	var sum, overlay [FrameSamples]int32
	var own [FrameSamples]int16
	sum[0], sum[1], sum[2], sum[3] = 30000+20000, -30000-20000, 700, 0
	own[0], own[2] = 20000, 300
	overlay[3] = -40000
	mixFrame(&dst, &sum, &overlay, &own)
	if dst[0] != 30000 || dst[1] != -32768 || dst[2] != 400 || dst[3] != -32768 {
		t.Errorf("minus own, saturated: %v", dst[:4])
	}
	mixFrame(&dst, &sum, &overlay, nil)
	if dst[0] != 32767 || dst[2] != 700 {
		t.Errorf("whole mix: %v", dst[:4])
	}
}

func abs16(s int16) int32 { return int32(max(s, -s)) }

func TestPCMQueue(t *testing.T) {
	var q pcmQueue
	var frame [FrameSamples]int16
	payload := func(v int16, n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = PCMU.encode(v)
		}
		return b
	}
	q.push(1, 10, payload(1000, FrameSamples), PCMU)
	if q.pop(&frame) {
		t.Fatal("played before the cushion of two frames")
	}
	q.push(1, 11, payload(2000, FrameSamples), PCMU)
	q.push(1, 11, payload(9000, FrameSamples), PCMU) // repeated
	q.push(1, 9, payload(9000, FrameSamples), PCMU)  // late
	if !q.pop(&frame) || frame[0] != PCMU.decode(PCMU.encode(1000)) {
		t.Fatalf("first frame %d", frame[0])
	}
	if !q.pop(&frame) || frame[0] != PCMU.decode(PCMU.encode(2000)) {
		t.Fatalf("second frame %d (late or repeated packet queued?)", frame[0])
	}
	if q.pop(&frame) {
		t.Fatal("popped from an empty queue")
	}
	// 30 ms packets play as 20 ms frames.
	q.push(1, 12, payload(3000, 240), PCMU)
	q.push(1, 13, payload(3000, 240), PCMU)
	for i := range 3 {
		if !q.pop(&frame) {
			t.Fatalf("30 ms packets: frame %d missing", i)
		}
	}
	// A burst beyond queueMax is trimmed to the cushion, newest kept.
	q.reset()
	for i := range 10 {
		q.push(2, uint16(i), payload(int16(100*i), FrameSamples), PCMU)
	}
	if depth := q.w - q.r; depth > queueMax {
		t.Fatalf("depth %d after a burst", depth)
	}
	var last int16
	for q.pop(&frame) {
		last = frame[0]
	}
	if last != PCMU.decode(PCMU.encode(900)) {
		t.Errorf("last frame after a burst = %d, want the newest", last)
	}
	// A new SSRC restarts sequence checking.
	q.push(3, 5, payload(1, FrameSamples), PCMU)
	q.push(3, 6, payload(1, FrameSamples), PCMU)
	if !q.pop(&frame) {
		t.Error("new SSRC's packets not queued")
	}
}
