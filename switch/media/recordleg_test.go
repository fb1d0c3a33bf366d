package media

import (
	"testing"

	"github.com/pion/rtp"
)

// playoutRig feeds a playout 20 ms packets whose samples all hold the
// packet's number, so each frame taken shows which packet it came from.
type playoutRig struct {
	t  *testing.T
	pl playout
}

// levels are distinct µ-law bytes; packet k carries levels[k].
var levels = [...]byte{0x80, 0x85, 0x8a, 0x90, 0x95, 0x9a, 0xa0, 0xa5, 0xaa, 0xb0, 0xb5, 0xba}

func (r *playoutRig) put(ssrc uint32, k int, samples int) {
	payload := make([]byte, samples)
	for i := range payload {
		payload[i] = levels[k]
	}
	r.pl.put(queuedPacket{ssrc: ssrc, seq: uint16(1000 + k), ts: uint32(5000 + k*FrameSamples), n: uint16(samples), codec: PCMU}, payload)
}

// take returns what the next frame holds: the packet number, -1 for
// silence, -2 for a mixture.
func (r *playoutRig) take() int {
	var sum [FrameSamples]int32
	r.pl.addFrame(&sum)
	got := -2
	for k, b := range levels {
		if sum[0] == int32(PCMU.decode(b)) {
			got = k
		}
	}
	if sum[0] == 0 {
		got = -1
	}
	for _, v := range sum {
		if v != sum[0] {
			return -2
		}
	}
	return got
}

func (r *playoutRig) expect(want ...int) {
	r.t.Helper()
	for i, w := range want {
		if got := r.take(); got != w {
			r.t.Fatalf("frame %d holds %d, want %d", i, got, w)
		}
	}
}

func TestPlayoutInOrderAfterCushion(t *testing.T) {
	r := &playoutRig{t: t}
	r.expect(-1, -1) // before any packet
	r.put(1, 0, FrameSamples)
	r.put(1, 1, FrameSamples)
	r.expect(-1, -1, 0, 1, -1)
}

func TestPlayoutReorderGapLateAndDuplicate(t *testing.T) {
	r := &playoutRig{t: t}
	r.put(1, 0, FrameSamples)
	r.put(1, 2, FrameSamples) // 1 is late
	r.put(1, 1, FrameSamples) // and arrives within the cushion: in place
	r.put(1, 2, FrameSamples) // a repeat
	r.put(1, 4, FrameSamples) // 3 is lost
	r.expect(-1, -1, 0, 1, 2, -1, 4)
	r.put(1, 3, FrameSamples) // too late now
	r.expect(-1)
	if r.pl.late != 1 || r.pl.dups != 1 || r.pl.resyncs != 1 {
		t.Errorf("late %d, duplicates %d, resyncs %d", r.pl.late, r.pl.dups, r.pl.resyncs)
	}
}

func TestPlayoutResyncs(t *testing.T) {
	r := &playoutRig{t: t}
	r.put(1, 0, FrameSamples)
	r.expect(-1, -1, 0)
	// The sender stalls 10 frames, then goes on where it was (its clock
	// lost time): the newest packet is behind, so it is placed after the
	// cushion again instead of being dropped with all that follow.
	r.expect(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1)
	r.put(1, 1, FrameSamples)
	r.put(1, 2, FrameSamples)
	r.expect(-1, -1, 1, 2)
	// A new SSRC starts over, also when its timestamps overlap.
	r.put(2, 0, FrameSamples)
	r.expect(-1, -1, 0)
	// A jump far ahead (beyond the timeline) resyncs too.
	r.put(2, 0, FrameSamples)
	r.pl.put(queuedPacket{ssrc: 2, seq: 1002, ts: 5000 + 100*FrameSamples, n: FrameSamples, codec: PCMU}, make([]byte, FrameSamples))
	if r.pl.resyncs != 4 {
		t.Errorf("%d resyncs, want 4", r.pl.resyncs)
	}
}

func TestPlayout30msPackets(t *testing.T) {
	r := &playoutRig{t: t}
	// Three 30 ms packets cover 90 ms: frames 2-5 of the timeline hold
	// 20 ms of 0, 10 of 0 and 10 of 1, 20 of 1, 20 of 2 and 0 of nothing.
	for k := range 3 {
		payload := make([]byte, 240)
		for i := range payload {
			payload[i] = levels[k]
		}
		r.pl.put(queuedPacket{ssrc: 1, seq: uint16(k), ts: uint32(k * 240), n: 240, codec: PCMU}, payload)
	}
	r.expect(-1, -1, 0, -2, 1, 2, -2, -1)
}

func TestRecordLegQueueWrapsAndOverflows(t *testing.T) {
	l := &recordLeg{}
	var scratch [maxPacket]byte
	const size = 6 * FrameSamples // 120 ms packets
	pkt := &rtp.Packet{Header: rtp.Header{SSRC: 7}, Payload: make([]byte, size)}
	// Three packets a round: 2880 bytes, so the 4096-byte ring wraps.
	for round := range 20 {
		for i := range 3 {
			k := 3*round + i
			pkt.SequenceNumber, pkt.Timestamp = uint16(k), uint32(size*k)
			for j := range pkt.Payload {
				pkt.Payload[j] = levels[k%len(levels)]
			}
			l.tapAudio(pkt, PCMU)
		}
		l.drain(&scratch)
		if l.play.late+l.play.dups != 0 || l.play.resyncs != 1 || l.overflow != 0 {
			t.Fatalf("round %d: late %d dups %d resyncs %d overflow %d", round, l.play.late, l.play.dups, l.play.resyncs, l.overflow)
		}
		// Each packet is intact at its place in the timeline.
		for i := range 3 {
			k := 3*round + i
			start := uint32(size*k) + l.play.offset
			for _, j := range []uint32{start, start + size - 1} {
				if got, want := l.play.buf[j&(playoutCap-1)], PCMU.decode(levels[k%len(levels)]); got != want {
					t.Fatalf("round %d packet %d: sample %d, want %d", round, k, got, want)
				}
			}
		}
		for range 3 * 6 { // play the round out
			var sum [FrameSamples]int32
			l.play.addFrame(&sum)
		}
	}
	for i := range 5 { // 4800 bytes do not fit
		pkt.SequenceNumber++
		l.tapAudio(pkt, PCMU)
		if want := uint64(max(0, i-3)); l.overflow != want {
			t.Fatalf("after %d packets overflow %d, want %d", i+1, l.overflow, want)
		}
	}
}

func TestRecordPathsDoNotAllocate(t *testing.T) {
	s, pkt, from := benchSession(t)
	rec, err := newRecorder(discardSeeker{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Add(s); err != nil {
		t.Fatal(err)
	}
	s.receive(pkt, from) // latch
	if n := testing.AllocsPerRun(200, func() {
		s.receive(pkt, from)
		if err := rec.tick(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("tap and tick: %v allocs per frame", n)
	}
	l := s.tap.Load()
	if l.pw < 200 || l.overflow != 0 {
		t.Errorf("%d packets tapped, %d overflowed", l.pw, l.overflow)
	}
}

// discardSeeker is a file that forgets what is written.
type discardSeeker struct{}

func (discardSeeker) Write(p []byte) (int, error)    { return len(p), nil }
func (discardSeeker) Seek(int64, int) (int64, error) { return 0, nil }
