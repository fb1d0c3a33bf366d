package media

import (
	"fmt"
	"testing"

	"github.com/pion/rtp"
)

// benchRoom makes a room without its clock (the caller ticks it) with n
// participants sending to a sink (or, with noSend, on hold by their
// peers, so nothing is sent), and a tone packet to feed them.
func benchRoom(tb testing.TB, n int, noSend bool) (*Room, []*Participant, *rtp.Packet) {
	tb.Helper()
	pool := testPool(tb, n)
	room, err := newRoom()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = room.Close() })
	close(room.done) // no clock for Close to wait for
	to := sink(tb)
	parts := make([]*Participant, n)
	for i := range parts {
		s := newTestSession(tb, pool)
		codec := []Codec{PCMU, PCMA}[i%2]
		prm := leg{codec: PCMU}.params(to)
		prm.Codec, prm.PayloadType, prm.NoSend = codec, codec.PayloadType(), noSend
		if err := s.Configure(prm); err != nil {
			tb.Fatal(err)
		}
		if parts[i], err = room.Join(s); err != nil {
			tb.Fatal(err)
		}
	}
	// Every participant is sent µ-law here; the A-law ones decode it as
	// A-law, which is noise, as good as speech for the mixer's cost.
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 9}, Payload: toneFrame(PCMU)}
	return room, parts, pkt
}

func mustClipSource(tb testing.TB) Rewinder {
	tb.Helper()
	data16, _ := pcm16(8000)
	clip, err := DecodeWAV(wavFile(1, 1, 8000, 16, data16))
	if err != nil {
		tb.Fatal(err)
	}
	src, err := clip.Source(PCMA)
	if err != nil {
		tb.Fatal(err)
	}
	return src
}

// BenchmarkRoomTick is one 20 ms round of a 50-participant conference:
// queueing each speaker's frame (done on the read goroutines in a live
// room), mixing, encoding, and sending 50 packets (unless nosend).
func BenchmarkRoomTick(b *testing.B) {
	const n = 50
	for _, bc := range []struct {
		speakers int
		noSend   bool
	}{{3, false}, {50, false}, {3, true}, {50, true}} {
		name := fmt.Sprintf("participants=%d/speakers=%d", n, bc.speakers)
		if bc.noSend {
			name += "/nosend"
		}
		b.Run(name, func(b *testing.B) {
			room, parts, pkt := benchRoom(b, n, bc.noSend)
			feed := func() {
				pkt.SequenceNumber++
				for _, p := range parts[:bc.speakers] {
					p.ConsumeRTP(pkt)
				}
			}
			for range 3 {
				feed()
				room.tick()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				feed()
				room.tick()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/participant")
		})
	}
}
