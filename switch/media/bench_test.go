package media

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// benchSession makes a configured session sending to a socket nobody reads
// from (loopback UDP drops silently) and a packet from its peer.
func benchSession(tb testing.TB) (*Session, []byte, netip.AddrPort) {
	tb.Helper()
	pool := testPool(tb, 2)
	port, err := pool.Allocate()
	if err != nil {
		tb.Fatal(err)
	}
	s, err := NewSession(port, WithConsumer(NoOpConsumer{}))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	sink, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = sink.Close() })
	remote := sink.LocalAddr().(*net.UDPAddr).AddrPort()
	if err := s.Configure(Params{Remote: remote, Codec: PCMU, Events: true, EventPayloadType: 101}); err != nil {
		tb.Fatal(err)
	}
	pkt, err := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 1, Timestamp: 160, SSRC: 9},
		Payload: make([]byte, FrameSamples)}).Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return s, pkt, remote
}

func TestHotPathsDoNotAllocate(t *testing.T) {
	s, pkt, from := benchSession(t)
	frame := make([]byte, FrameSamples)
	var ts uint32
	if n := testing.AllocsPerRun(200, func() { ts, _ = s.sendAudio(frame, PCMU, false, ts) }); n != 0 {
		t.Errorf("send path: %v allocs per packet", n)
	}
	s.receive(pkt, from) // latch first: latching stores a new peer once
	if n := testing.AllocsPerRun(200, func() { s.receive(pkt, from) }); n != 0 {
		t.Errorf("receive path: %v allocs per packet", n)
	}
	if st := s.Stats(); st.PacketsDropped != 0 || st.ByPayloadType[0].Packets < 200 {
		t.Errorf("the measured packets were not accepted: %+v", st)
	}
	src := Tone(PCMA, 1000, 8000)
	if n := testing.AllocsPerRun(200, func() { _ = src.ReadFrame(frame) }); n != 0 {
		t.Errorf("tone frame: %v allocs", n)
	}
}

func BenchmarkSendAudio(b *testing.B) {
	s, _, _ := benchSession(b)
	frame := make([]byte, FrameSamples)
	var ts uint32
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var err error
		if ts, err = s.sendAudio(frame, PCMU, false, ts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReceive(b *testing.B) {
	s, pkt, from := benchSession(b)
	s.receive(pkt, from)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s.receive(pkt, from)
	}
}

func BenchmarkClipFramePCM16ToPCMA(b *testing.B) {
	data16, _ := pcm16(8000)
	clip, err := DecodeWAV(wavFile(1, 1, 8000, 16, data16))
	if err != nil {
		b.Fatal(err)
	}
	src, _ := clip.Source(PCMA)
	loop := Loop(src, 0)
	frame := make([]byte, FrameSamples)
	b.ReportAllocs()
	for b.Loop() {
		if err := loop.ReadFrame(frame); err != nil {
			b.Fatal(err)
		}
	}
}

// An hour of <Play loop="0"> reads 180,000 frames through Loop and sends
// each one: none of that may allocate, or a hold-music call would grow for
// as long as it is held. Measured over a whole simulated hour (the pacing
// clock is what would make it last an hour, and it is not under test here).
func TestAnHourOfLoopedPlayDoesNotAllocate(t *testing.T) {
	s, _, _ := benchSession(t)
	data16, _ := pcm16(8000) // one second
	clip, err := DecodeWAV(wavFile(1, 1, 8000, 16, data16))
	if err != nil {
		t.Fatal(err)
	}
	src, err := clip.Source(PCMU)
	if err != nil {
		t.Fatal(err)
	}
	forever := Loop(src, 0)
	frame := make([]byte, FrameSamples)
	const hourOfFrames = int(time.Hour / FrameDuration)
	var ts uint32
	var readErr, sendErr error
	allocs := testing.AllocsPerRun(1, func() {
		for i := 0; i < hourOfFrames && readErr == nil && sendErr == nil; i++ {
			readErr = forever.ReadFrame(frame)
			ts, sendErr = s.sendAudio(frame, PCMU, false, ts)
		}
	})
	if readErr != nil || sendErr != nil {
		t.Fatalf("the loop stopped: read %v, send %v", readErr, sendErr)
	}
	if allocs != 0 {
		t.Errorf("an hour of looped play made %v allocations; want 0", allocs)
	}
	if got := s.Stats().PacketsSent; got < uint64(2*hourOfFrames) {
		t.Errorf("sent %d packets, want the two hours AllocsPerRun ran (%d)", got, 2*hourOfFrames)
	}
}
