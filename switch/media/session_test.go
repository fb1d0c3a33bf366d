package media

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// testPool returns a pool of size ports in a random part of 23000-28999, so
// parallel test runs rarely meet (the pool skips ports it cannot bind).
func testPool(t testing.TB, size int) *PortPool {
	t.Helper()
	base := 23000 + 2*rand.IntN(2500)
	p, err := NewPortPool(loopback, base, base+2*(size-1))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// received records what a Consumer saw.
type received struct {
	mu      sync.Mutex
	headers []rtp.Header
	payload [][]byte
}

func (r *received) ConsumeRTP(p *rtp.Packet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.headers = append(r.headers, p.Header.Clone())
	r.payload = append(r.payload, append([]byte(nil), p.Payload...))
}

func (r *received) snapshot() ([]rtp.Header, [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]rtp.Header(nil), r.headers...), append([][]byte(nil), r.payload...)
}

// waitFor polls cond for up to 2 s; loopback delivery is quick but the
// machine is shared, so no tight bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pair makes two sessions on pool configured to talk to each other.
func pair(t *testing.T, pool *PortPool, codec Codec, optsA, optsB []SessionOption) (*Session, *Session) {
	t.Helper()
	newSession := func(opts []SessionOption) *Session {
		port, err := pool.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewSession(port, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	a, b := newSession(optsA), newSession(optsB)
	params := func(remote netip.AddrPort) Params {
		return Params{Remote: remote, Codec: codec, PayloadType: codec.PayloadType(), Events: true, EventPayloadType: 101}
	}
	if err := a.Configure(params(b.LocalAddr())); err != nil {
		t.Fatal(err)
	}
	if err := b.Configure(params(a.LocalAddr())); err != nil {
		t.Fatal(err)
	}
	return a, b
}

func TestPlayWAVArrivesInOrder(t *testing.T) {
	pool := testPool(t, 4)
	var got received
	a, b := pair(t, pool, PCMA, nil, []SessionOption{WithConsumer(&got)})

	data16, samples := pcm16(8*FrameSamples + 40) // 9 frames, last one partial
	clip, err := DecodeWAV(wavFile(1, 1, 8000, 16, data16))
	if err != nil {
		t.Fatal(err)
	}
	src, _ := clip.Source(PCMA)
	if err := a.Play(context.Background(), src); err != nil {
		t.Fatalf("Play: %v", err)
	}
	waitFor(t, "9 packets", func() bool { h, _ := got.snapshot(); return len(h) >= 9 })
	time.Sleep(50 * time.Millisecond)
	// A second play after a pause continues the sequence, starts a new
	// talkspurt, and its timestamps show the pause.
	if err := a.Play(context.Background(), Limit(Silence(PCMA), 60*time.Millisecond)); err != nil {
		t.Fatalf("second Play: %v", err)
	}
	waitFor(t, "12 packets", func() bool { h, _ := got.snapshot(); return len(h) >= 12 })
	headers, payloads := got.snapshot()
	if len(headers) != 12 {
		t.Fatalf("received %d packets, want 12", len(headers))
	}
	for i, h := range headers {
		if h.PayloadType != 8 || h.SSRC != a.SSRC() {
			t.Fatalf("packet %d: PT %d SSRC %x", i, h.PayloadType, h.SSRC)
		}
		if wantMarker := i == 0 || i == 9; h.Marker != wantMarker {
			t.Errorf("packet %d marker = %v", i, h.Marker)
		}
		if i == 0 {
			continue
		}
		if h.SequenceNumber != headers[i-1].SequenceNumber+1 {
			t.Errorf("packet %d seq %d after %d", i, h.SequenceNumber, headers[i-1].SequenceNumber)
		}
		step := h.Timestamp - headers[i-1].Timestamp
		switch {
		case i == 9 && step < 8*50: // the pause lasted at least the 50 ms slept
			t.Errorf("timestamp step over the pause = %d samples", step)
		case i != 9 && step != FrameSamples:
			t.Errorf("packet %d timestamp step %d", i, step)
		}
	}
	for i, s := range samples {
		if got, want := payloads[i/FrameSamples][i%FrameSamples], PCMA.encode(s); got != want {
			t.Fatalf("sample %d = %#x, want %#x", i, got, want)
		}
	}
	if st := a.Stats(); st.PacketsSent != 12 || st.OctetsSent != 12*FrameSamples {
		t.Errorf("sender stats %+v", st)
	}
	if st := b.Stats(); st.PacketsReceived != 12 || st.ByPayloadType[8].Octets != 12*FrameSamples {
		t.Errorf("receiver stats %+v", st)
	}
}

func TestPlayCancelStopsWithinAFrame(t *testing.T) {
	pool := testPool(t, 4)
	a, b := pair(t, pool, PCMU, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Play(ctx, Tone(PCMU, 1000, 8000)) }()
	waitFor(t, "playback to start", func() bool { return b.Stats().PacketsReceived >= 5 })
	cancel()
	atCancel := a.Stats().PacketsSent
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Play = %v, want context.Canceled", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Play did not return after cancel")
	}
	if extra := a.Stats().PacketsSent - atCancel; extra > 1 {
		t.Errorf("%d packets sent after cancel, want at most 1", extra)
	}
	// Mismatched codec is refused before anything is sent.
	if err := a.Play(context.Background(), Silence(PCMA)); !errors.Is(err, ErrCodecMismatch) {
		t.Errorf("Play(PCMA source) on PCMU = %v", err)
	}
}

func TestDigitsReceivedOnce(t *testing.T) {
	pool := testPool(t, 4)
	digits := make(chan Digit, 16)
	a, b := pair(t, pool, PCMU, nil, []SessionOption{WithDigitHandler(func(d Digit) { digits <- d })})
	ctx := context.Background()
	for _, d := range []Digit{'1', '2', '#', '2'} {
		if err := a.SendDigit(ctx, d, 60*time.Millisecond); err != nil {
			t.Fatalf("SendDigit(%c): %v", d, err)
		}
	}
	var got []byte
	waitFor(t, "4 digits", func() bool {
		for {
			select {
			case d := <-digits:
				got = append(got, byte(d))
			default:
				return len(got) >= 4
			}
		}
	})
	time.Sleep(50 * time.Millisecond)
	if len(digits) != 0 || string(got) != "12#2" {
		t.Fatalf("digits = %q (+%d more), want \"12#2\"", got, len(digits))
	}
	if a.Stats().DigitsSent != 4 || b.Stats().DigitsReceived != 4 {
		t.Errorf("stats sent %d received %d", a.Stats().DigitsSent, b.Stats().DigitsReceived)
	}
	// 60 ms = 3 steps: 2 interim + 3 end packets per digit, end packets
	// sharing one sequence number.
	if n := b.Stats().ByPayloadType[101].Packets; n != 4*5 {
		t.Errorf("%d event packets, want 20", n)
	}
	if err := a.SendDigit(ctx, 'x', 0); !errors.Is(err, ErrInvalidDigit) {
		t.Errorf("SendDigit('x') = %v", err)
	}
}

// rawPeer is a plain UDP socket standing in for a SIP phone or sipp.
func rawPeer(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func sendRaw(t *testing.T, c *net.UDPConn, to netip.AddrPort, h rtp.Header, payload []byte) {
	t.Helper()
	h.Version = 2
	b, err := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteToUDPAddrPort(b, to); err != nil {
		t.Fatal(err)
	}
}

// TestSippDTMFCapture replays the shape of sipp's dtmf_2833 pcaps: 7
// interim and 3 end packets whose end packets repeat one sequence number,
// an SSRC unrelated to the audio, and the same capture played twice.
func TestSippDTMFCapture(t *testing.T) {
	pool := testPool(t, 2)
	port, err := pool.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	digits := make(chan Digit, 16)
	s, err := NewSession(port, WithDigitHandler(func(d Digit) { digits <- d }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	peer := rawPeer(t)
	if err := s.Configure(Params{Remote: peer.LocalAddr().(*net.UDPAddr).AddrPort(), Codec: PCMU, Events: true, EventPayloadType: 101}); err != nil {
		t.Fatal(err)
	}
	capture := func(event uint8, ts uint32) {
		seq := uint16(1000)
		for i := 1; i <= 10; i++ {
			e := eventPayload{event: event, end: i > 7, volume: 10, duration: uint16(320 * min(i, 8))}
			sendRaw(t, peer, s.LocalAddr(), rtp.Header{PayloadType: 101, Marker: i == 1, SequenceNumber: seq, Timestamp: ts, SSRC: 0xDEAD},
				e.marshalTo(make([]byte, 4)))
			if i <= 7 {
				seq++
			}
		}
	}
	capture(5, 8000)
	capture(5, 8000) // replayed: same timestamps and sequence numbers
	// A late interim packet of the last event (no marker) is not a new key.
	sendRaw(t, peer, s.LocalAddr(), rtp.Header{PayloadType: 101, SequenceNumber: 1003, Timestamp: 8000, SSRC: 0xDEAD},
		eventPayload{event: 5, duration: 960}.marshalTo(make([]byte, 4)))
	// An event whose first packets were lost is still reported, once.
	for i := range 3 {
		sendRaw(t, peer, s.LocalAddr(), rtp.Header{PayloadType: 101, SequenceNumber: uint16(2000 + i), Timestamp: 16000, SSRC: 0xDEAD},
			eventPayload{event: 11, end: true, duration: 800}.marshalTo(make([]byte, 4)))
	}
	waitFor(t, "all 34 packets", func() bool { return s.Stats().ByPayloadType[101].Packets == 24 })
	close(digits)
	var got []byte
	for d := range digits {
		got = append(got, byte(d))
	}
	if string(got) != "55#" {
		t.Fatalf("digits = %q, want \"55#\"", got)
	}
}

func TestLatchingAndForeignSources(t *testing.T) {
	pool := testPool(t, 2)
	port, err := pool.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	var got received
	s, err := NewSession(port, WithConsumer(&got))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	natted, stranger := rawPeer(t), rawPeer(t)
	signalled := netip.MustParseAddrPort("127.0.0.1:9") // what SDP said: not where packets come from
	if err := s.Configure(Params{Remote: signalled, Codec: PCMU}); err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, FrameSamples)
	sendRaw(t, natted, s.LocalAddr(), rtp.Header{SequenceNumber: 1, Timestamp: 160, SSRC: 7}, frame)
	waitFor(t, "latching", func() bool { _, l := s.Remote(); return l })
	if r, _ := s.Remote(); r != natted.LocalAddr().(*net.UDPAddr).AddrPort() {
		t.Fatalf("latched to %v, want %v", r, natted.LocalAddr())
	}
	sendRaw(t, stranger, s.LocalAddr(), rtp.Header{SequenceNumber: 2, Timestamp: 320, SSRC: 7}, frame)
	waitFor(t, "the stranger's packet to be dropped", func() bool { return s.Stats().PacketsDropped == 1 })
	// Junk and RTCP are dropped too.
	_, _ = natted.WriteToUDPAddrPort([]byte("hello, not rtp"), s.LocalAddr())
	_, _ = natted.WriteToUDPAddrPort([]byte{0x80, 200, 0, 6, 0, 0, 0, 7}, s.LocalAddr())
	waitFor(t, "junk to be dropped", func() bool { return s.Stats().PacketsDropped == 3 })
	// Our audio goes to the latched source, not the signalled address.
	if err := s.Play(context.Background(), Limit(Silence(PCMU), 20*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	_ = natted.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := natted.Read(buf)
	if err != nil || n != 12+FrameSamples {
		t.Fatalf("latched peer read %d bytes, %v", n, err)
	}
	if h, _ := got.snapshot(); len(h) != 1 || s.Stats().PacketsReceived != 1 {
		t.Errorf("consumer saw %d packets, stats %d", len(h), s.Stats().PacketsReceived)
	}
	// A re-INVITE to a new address re-arms latching.
	if err := s.Configure(Params{Remote: stranger.LocalAddr().(*net.UDPAddr).AddrPort(), Codec: PCMU}); err != nil {
		t.Fatal(err)
	}
	if _, l := s.Remote(); l {
		t.Error("still latched after Configure with a new remote")
	}
}

func TestMuteKeepsDigitsDropsAudio(t *testing.T) {
	pool := testPool(t, 4)
	var got received
	digits := make(chan Digit, 4)
	a, b := pair(t, pool, PCMU, nil, []SessionOption{WithConsumer(&got), WithDigitHandler(func(d Digit) { digits <- d })})
	b.SetMuted(true)
	if !b.Muted() {
		t.Fatal("Muted() = false")
	}
	ctx := context.Background()
	if err := a.Play(ctx, Limit(Tone(PCMU, 440, 4000), 60*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := a.SendDigit(ctx, '7', 40*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-digits:
		if d != '7' {
			t.Fatalf("digit %c", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no digit while muted")
	}
	waitFor(t, "audio counted", func() bool { return b.Stats().ByPayloadType[0].Packets == 3 })
	for _, h := range func() []rtp.Header { h, _ := got.snapshot(); return h }() {
		if h.PayloadType == 0 {
			t.Fatal("muted session handed audio to its consumer")
		}
	}
	b.SetMuted(false)
	if err := a.Play(ctx, Limit(Silence(PCMU), 20*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "audio after unmute", func() bool {
		h, _ := got.snapshot()
		return len(h) > 0 && h[len(h)-1].PayloadType == 0
	})
}

func TestCloseStopsEverything(t *testing.T) {
	pool := testPool(t, 4)
	before := runtime.NumGoroutine()
	a, b := pair(t, pool, PCMU, nil, nil)
	if pool.InUse() != 2 {
		t.Fatalf("InUse = %d", pool.InUse())
	}
	done := make(chan error, 1)
	go func() { done <- a.Play(context.Background(), Tone(PCMU, 1000, 8000)) }()
	waitFor(t, "playback", func() bool { return b.Stats().PacketsReceived > 2 })
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("Play after Close = %v, want ErrClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if pool.InUse() != 0 {
		t.Errorf("InUse after Close = %d", pool.InUse())
	}
	waitFor(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
	if err := a.Play(context.Background(), Silence(PCMU)); !errors.Is(err, ErrClosed) {
		t.Errorf("Play on a closed session = %v", err)
	}
}

func TestNotConfigured(t *testing.T) {
	pool := testPool(t, 2)
	port, err := pool.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSession(port)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Play(context.Background(), Silence(PCMU)); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("Play = %v", err)
	}
	if err := s.SendDigit(context.Background(), '1', 0); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("SendDigit = %v", err)
	}
	if err := s.Configure(Params{Remote: netip.MustParseAddrPort("127.0.0.1:9"), Codec: PCMU}); err != nil {
		t.Fatal(err)
	}
	if err := s.SendDigit(context.Background(), '1', 0); !errors.Is(err, ErrNoEvents) {
		t.Errorf("SendDigit without events = %v", err)
	}
	if err := s.Configure(Params{Remote: netip.MustParseAddrPort("127.0.0.1:9")}); err == nil {
		t.Error("Configure without codec succeeded")
	}
}

func TestCodecChangeMidPlayStopsPlayback(t *testing.T) {
	pool := testPool(t, 4)
	a, b := pair(t, pool, PCMU, nil, nil)
	done := make(chan error, 1)
	go func() { done <- a.Play(context.Background(), Tone(PCMU, 1000, 8000)) }()
	waitFor(t, "playback", func() bool { return b.Stats().PacketsReceived >= 2 })
	// A re-INVITE moved the call to PCMA: the µ-law source must not go on
	// under the A-law payload type.
	if err := a.Configure(Params{Remote: b.LocalAddr(), Codec: PCMA, PayloadType: 8}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrCodecMismatch) {
			t.Fatalf("Play = %v, want ErrCodecMismatch", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Play went on after the codec changed")
	}
	if n := b.Stats().ByPayloadType[8].Packets; n != 0 {
		t.Errorf("%d µ-law frames went out as PT 8", n)
	}
}
