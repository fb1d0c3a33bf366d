package media

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// listener is a phone's ear: it keeps the headers of every packet its
// session accepts and measures tones in the audio.
type listener struct {
	mu      sync.Mutex
	codec   Codec
	det     *ToneDetector
	headers []rtp.Header
	audio   int
}

func newListener(codec Codec, freqs ...float64) *listener {
	return &listener{codec: codec, det: NewToneDetector(freqs...)}
}

func (l *listener) ConsumeRTP(p *rtp.Packet) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.headers = append(l.headers, p.Header.Clone())
	if p.PayloadType == l.codec.PayloadType() {
		l.audio++
		l.det.WriteG711(l.codec, p.Payload)
	}
}

func (l *listener) audioPackets() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.audio
}

func (l *listener) level(i int) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.det.Level(i)
}

func (l *listener) blocks() (voiced, silent int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.det.Voiced(), l.det.Silent()
}

func (l *listener) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.det.Reset()
	l.audio = 0
	l.headers = nil
}

func (l *listener) snapshot() []rtp.Header {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]rtp.Header(nil), l.headers...)
}

// checkNoLeak waits for the goroutine count to fall back to before and
// shows what is left if it does not.
func checkNoLeak(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// newTestSession allocates a session on pool, closed at cleanup.
func newTestSession(t testing.TB, pool *PortPool, opts ...SessionOption) *Session {
	t.Helper()
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

// leg describes one side of a call as negotiated.
type leg struct {
	codec   Codec
	eventPT uint8 // 0: no telephone-event
}

func (g leg) params(remote netip.AddrPort) Params {
	return Params{Remote: remote, Codec: g.codec, PayloadType: g.codec.PayloadType(),
		Events: g.eventPT != 0, EventPayloadType: g.eventPT}
}

// connect configures two sessions to talk to each other as g says.
func connect(t testing.TB, x, y *Session, g leg) {
	t.Helper()
	if err := x.Configure(g.params(y.LocalAddr())); err != nil {
		t.Fatal(err)
	}
	if err := y.Configure(g.params(x.LocalAddr())); err != nil {
		t.Fatal(err)
	}
}

// bridgeRig is phone A ⇄ switch leg A, switch leg B ⇄ phone B, all real
// sessions on loopback UDP.
type bridgeRig struct {
	phoneA, legA, legB, phoneB *Session
	earA, earB                 *listener
	digitsB                    chan Digit
}

func newBridgeRig(t *testing.T, a, b leg, freqs ...float64) *bridgeRig {
	t.Helper()
	pool := testPool(t, 8)
	r := &bridgeRig{earA: newListener(a.codec, freqs...), earB: newListener(b.codec, freqs...), digitsB: make(chan Digit, 16)}
	r.phoneA = newTestSession(t, pool, WithConsumer(r.earA))
	r.legA = newTestSession(t, pool)
	r.legB = newTestSession(t, pool)
	r.phoneB = newTestSession(t, pool, WithConsumer(r.earB), WithDigitHandler(func(d Digit) { r.digitsB <- d }))
	connect(t, r.phoneA, r.legA, a)
	connect(t, r.legB, r.phoneB, b)
	return r
}

func bridge(t *testing.T, a, b *Session) *Relay {
	t.Helper()
	r, err := Bridge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

// playBoth plays a tone on each phone for d, at the same time.
func playBoth(t *testing.T, a, b *Session, srcA, srcB Source) {
	t.Helper()
	errs := make(chan error, 2)
	go func() { errs <- a.Play(context.Background(), srcA) }()
	go func() { errs <- b.Play(context.Background(), srcB) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// checkStream asserts what a phone received from one switch session is a
// proper RTP stream: one SSRC, sequence numbers without gaps, timestamps
// strictly increasing, stepping by one frame except where a talkspurt
// starts (marker). It returns the number of packets with the marker bit.
func checkStream(t *testing.T, headers []rtp.Header, ssrc uint32, audioPT uint8) int {
	t.Helper()
	spurts := 0
	for i, h := range headers {
		if h.SSRC != ssrc {
			t.Fatalf("packet %d: SSRC %x, want %x", i, h.SSRC, ssrc)
		}
		if h.Marker {
			spurts++
		}
		if i == 0 {
			continue
		}
		prev := headers[i-1]
		if h.SequenceNumber != prev.SequenceNumber+1 {
			t.Fatalf("packet %d: seq %d after %d", i, h.SequenceNumber, prev.SequenceNumber)
		}
		step := int32(h.Timestamp - prev.Timestamp)
		switch {
		case step <= 0:
			t.Fatalf("packet %d: timestamp %d after %d", i, h.Timestamp, prev.Timestamp)
		case !h.Marker && h.PayloadType == audioPT && step != FrameSamples:
			t.Errorf("packet %d: timestamp step %d inside a talkspurt", i, step)
		}
	}
	return spurts
}

func TestRelayCarriesToneBothWays(t *testing.T) {
	before := runtime.NumGoroutine()
	g := leg{codec: PCMU, eventPT: 101}
	rig := newBridgeRig(t, g, g, 600, 1000)
	relay := bridge(t, rig.legA, rig.legB)

	playBoth(t, rig.phoneA, rig.phoneB,
		Limit(Tone(PCMU, 1000, 8000), 400*time.Millisecond), Limit(Tone(PCMU, 600, 8000), 400*time.Millisecond))
	waitFor(t, "20 packets each way", func() bool { return rig.earB.audioPackets() == 20 && rig.earA.audioPackets() == 20 })

	if l := rig.earB.level(1); l < 0.9 {
		t.Errorf("B hears A's 1000 Hz at %.2f", l)
	}
	if l := rig.earB.level(0); l > 0.05 {
		t.Errorf("B hears its own 600 Hz at %.2f", l)
	}
	if l := rig.earA.level(0); l < 0.9 {
		t.Errorf("A hears B's 600 Hz at %.2f", l)
	}
	st := relay.Stats()
	if st.AToB.Forwarded != 20 || st.BToA.Forwarded != 20 || st.AToB.Transcoded != 0 || st.AToB.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
	if spurts := checkStream(t, rig.earB.snapshot(), rig.legB.SSRC(), 0); spurts != 1 {
		t.Errorf("%d talkspurts, want 1", spurts)
	}
	relay.Stop()
	for _, s := range []*Session{rig.phoneA, rig.legA, rig.legB, rig.phoneB} {
		_ = s.Close()
	}
	checkNoLeak(t, before)
}

func TestRelayTranscodesPCMUAndPCMA(t *testing.T) {
	rig := newBridgeRig(t, leg{codec: PCMU}, leg{codec: PCMA}, 600, 1000)
	relay := bridge(t, rig.legA, rig.legB)
	playBoth(t, rig.phoneA, rig.phoneB,
		Limit(Tone(PCMU, 1000, 8000), 400*time.Millisecond), Limit(Tone(PCMA, 600, 8000), 400*time.Millisecond))
	waitFor(t, "20 packets each way", func() bool { return rig.earB.audioPackets() == 20 && rig.earA.audioPackets() == 20 })
	if l := rig.earB.level(1); l < 0.9 {
		t.Errorf("B (A-law) hears A's 1000 Hz at %.2f", l)
	}
	if l := rig.earA.level(0); l < 0.9 {
		t.Errorf("A (µ-law) hears B's 600 Hz at %.2f", l)
	}
	for _, h := range rig.earB.snapshot() {
		if h.PayloadType != 8 {
			t.Fatalf("B got payload type %d", h.PayloadType)
		}
	}
	if st := relay.Stats(); st.AToB.Transcoded != 20 || st.BToA.Transcoded != 20 {
		t.Errorf("stats %+v", st)
	}
	if n := rig.phoneB.Stats().ByPayloadType[0].Packets; n != 0 {
		t.Errorf("%d µ-law packets reached the A-law phone", n)
	}
}

func TestRelayPassesDigitsUnderTheOtherLegsEventType(t *testing.T) {
	rig := newBridgeRig(t, leg{codec: PCMU, eventPT: 101}, leg{codec: PCMU, eventPT: 96})
	relay := bridge(t, rig.legA, rig.legB)
	ctx := context.Background()
	for _, d := range []Digit{'5', '#'} {
		if err := rig.phoneA.SendDigit(ctx, d, 60*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	var got []byte
	for len(got) < 2 {
		select {
		case d := <-rig.digitsB:
			got = append(got, byte(d))
		case <-time.After(2 * time.Second):
			t.Fatalf("digits so far %q", got)
		}
	}
	if string(got) != "5#" {
		t.Fatalf("B got digits %q", got)
	}
	// 60 ms = 2 interim + 3 end packets per digit, as phone A sent them.
	waitFor(t, "all event packets", func() bool { return rig.phoneB.Stats().ByPayloadType[96].Packets == 10 })
	if n := rig.phoneB.Stats().ByPayloadType[101].Packets; n != 0 {
		t.Errorf("%d packets under A's event type reached B", n)
	}
	// The three end packets keep one sequence number, as sent.
	h := rig.earB.snapshot()
	if h[2].SequenceNumber != h[3].SequenceNumber || h[3].SequenceNumber != h[4].SequenceNumber ||
		h[5].SequenceNumber != h[4].SequenceNumber+1 || !h[0].Marker || !h[5].Marker || h[0].Timestamp != h[4].Timestamp {
		t.Errorf("event packets: %v", h)
	}
	if st := relay.Stats(); st.AToB.Events != 10 {
		t.Errorf("stats %+v", st)
	}

	// A leg without telephone-event gets no event packets.
	if err := rig.legB.Configure(leg{codec: PCMU}.params(rig.phoneB.LocalAddr())); err != nil {
		t.Fatal(err)
	}
	if err := rig.phoneA.SendDigit(ctx, '1', 40*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "event packets dropped", func() bool { return relay.Stats().AToB.Dropped == 4 })
	if n := rig.phoneB.Stats().ByPayloadType[96].Packets; n != 10 {
		t.Errorf("B got %d event packets, want still 10", n)
	}
}

func TestRelayMuteAndHold(t *testing.T) {
	g := leg{codec: PCMU, eventPT: 101}
	rig := newBridgeRig(t, g, g)
	relay := bridge(t, rig.legA, rig.legB)
	ctx := context.Background()

	// A muted leg is heard by nobody: no audio, no digits.
	rig.legA.SetMuted(true)
	if err := rig.phoneA.Play(ctx, Limit(Tone(PCMU, 1000, 8000), 100*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := rig.phoneA.SendDigit(ctx, '9', 40*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "leg A to receive everything", func() bool {
		st := rig.legA.Stats()
		return st.ByPayloadType[0].Packets == 5 && st.ByPayloadType[101].Packets == 4
	})
	time.Sleep(40 * time.Millisecond)
	if n := len(rig.earB.snapshot()); n != 0 || rig.legB.Stats().PacketsSent != 0 {
		t.Fatalf("B got %d packets from a muted leg", n)
	}
	rig.legA.SetMuted(false)

	// B's phone put us on hold (recvonly): nothing goes to it.
	held := g.params(rig.phoneB.LocalAddr())
	held.NoSend = true
	if err := rig.legB.Configure(held); err != nil {
		t.Fatal(err)
	}
	dropped := relay.Stats().AToB.Dropped
	if err := rig.phoneA.Play(ctx, Limit(Tone(PCMU, 1000, 8000), 100*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "held packets dropped", func() bool { return relay.Stats().AToB.Dropped == dropped+5 })
	if n := rig.legB.Stats().PacketsSent; n != 0 {
		t.Fatalf("leg on hold sent %d packets", n)
	}
	// Unhold in the middle of A's talkspurt: audio flows again, and the
	// packet after the hold is marked as a new talkspurt.
	talk, stop := context.WithCancel(ctx)
	defer stop()
	talking := make(chan error, 1)
	go func() { talking <- rig.phoneA.Play(talk, Tone(PCMU, 1000, 8000)) }()
	waitFor(t, "held packets dropped", func() bool { return relay.Stats().AToB.Dropped >= dropped+8 })
	if err := rig.legB.Configure(g.params(rig.phoneB.LocalAddr())); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "audio after unhold", func() bool { return rig.earB.audioPackets() >= 5 })
	stop()
	<-talking
	if h := rig.earB.snapshot(); !h[0].Marker || h[1].Marker {
		t.Errorf("markers after unhold: %v %v", h[0].Marker, h[1].Marker)
	}
	checkStream(t, rig.earB.snapshot(), rig.legB.SSRC(), 0)
}

// TestRelayDetachWhileFlowing moves leg B between Play and the relay while
// phone A talks without pause, as LCM does, and checks phone B sees one
// clean stream.
func TestRelayDetachWhileFlowing(t *testing.T) {
	before := runtime.NumGoroutine()
	g := leg{codec: PCMU, eventPT: 101}
	rig := newBridgeRig(t, g, g, 400, 1000)
	var legAHeard received
	rig.legA.SetConsumer(&legAHeard)

	ctx, cancel := context.WithCancel(context.Background())
	talking := make(chan error, 1)
	go func() { talking <- rig.phoneA.Play(ctx, Tone(PCMU, 1000, 8000)) }()
	defer cancel()

	play := func() {
		t.Helper()
		if err := rig.legB.Play(context.Background(), Limit(Tone(PCMU, 400, 8000), 60*time.Millisecond)); err != nil {
			t.Fatalf("Play on leg B: %v", err)
		}
	}
	play()
	for round := range 5 {
		relay, err := Bridge(rig.legA, rig.legB)
		if err != nil {
			t.Fatal(err)
		}
		target := relay.Stats().AToB.Forwarded + 4
		waitFor(t, "relayed packets", func() bool { return relay.Stats().AToB.Forwarded >= target })
		relay.Stop()
		sent := rig.legB.Stats().PacketsSent
		heard := len(func() []rtp.Header { h, _ := legAHeard.snapshot(); return h }())
		time.Sleep(50 * time.Millisecond) // A keeps talking
		if now := rig.legB.Stats().PacketsSent; now != sent {
			t.Fatalf("round %d: leg B sent %d packets after Stop", round, now-sent)
		}
		// Leg A's own consumer is back and hears A again.
		waitFor(t, "leg A's consumer back", func() bool {
			h, _ := legAHeard.snapshot()
			return len(h) > heard
		})
		play()
	}
	relay, err := Bridge(rig.legA, rig.legB)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "relayed packets", func() bool { return relay.Stats().AToB.Forwarded >= 4 })
	relay.Stop()
	sentByB := rig.legB.Stats().PacketsSent
	waitFor(t, "phone B to hear everything", func() bool { return uint64(rig.earB.audioPackets()) == sentByB })

	// 6 plays and 6 relay periods, each a talkspurt, in one stream.
	if spurts := checkStream(t, rig.earB.snapshot(), rig.legB.SSRC(), 0); spurts != 12 {
		t.Errorf("%d talkspurts, want 12", spurts)
	}
	cancel()
	if err := <-talking; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	for _, s := range []*Session{rig.phoneA, rig.legA, rig.legB, rig.phoneB} {
		_ = s.Close()
	}
	checkNoLeak(t, before)
}

// TestRelayRenumbersAndRetimes feeds leg A raw packets with a gap, a
// repeat, a new SSRC and a timestamp jump.
func TestRelayRenumbersAndRetimes(t *testing.T) {
	pool := testPool(t, 4)
	ear := newListener(PCMU)
	legA, legB := newTestSession(t, pool), newTestSession(t, pool)
	phoneB := newTestSession(t, pool, WithConsumer(ear))
	peer := rawPeer(t)
	g := leg{codec: PCMU, eventPT: 101}
	if err := legA.Configure(g.params(peer.LocalAddr().(*net.UDPAddr).AddrPort())); err != nil {
		t.Fatal(err)
	}
	connect(t, legB, phoneB, g)
	relay := bridge(t, legA, legB)

	frame := make([]byte, FrameSamples)
	in := []rtp.Header{
		{SSRC: 1, SequenceNumber: 10, Timestamp: 1000},
		{SSRC: 1, SequenceNumber: 11, Timestamp: 1160},
		{SSRC: 1, SequenceNumber: 13, Timestamp: 1480}, // 12 lost
		{SSRC: 1, SequenceNumber: 13, Timestamp: 1480}, // repeated
		{SSRC: 2, SequenceNumber: 500, Timestamp: 7},   // the peer changed SSRC
		{SSRC: 2, SequenceNumber: 501, Timestamp: 167},
		{SSRC: 2, SequenceNumber: 502, Timestamp: 1<<32 - 20*ClockRate}, // jumps back 20 s
	}
	for _, h := range in {
		sendRaw(t, peer, legA.LocalAddr(), h, frame)
		time.Sleep(2 * time.Millisecond) // keep arrival order on a busy box
	}
	waitFor(t, "7 packets", func() bool { return ear.audioPackets() == 7 })
	out := ear.snapshot()
	seq0, ts0 := out[0].SequenceNumber, out[0].Timestamp
	want := []struct {
		seq    uint16
		ts     int64 // relative to the first; -1: anything later than the previous
		marker bool
	}{
		{0, 0, true}, {1, 160, false}, {2, 480, false}, {2, 480, false},
		{3, -1, true}, {4, -2, false}, {5, -1, true},
	}
	for i, w := range want {
		h := out[i]
		if h.SequenceNumber != seq0+w.seq || h.Marker != w.marker || h.SSRC != legB.SSRC() {
			t.Errorf("packet %d: seq +%d marker %v, want +%d %v", i, h.SequenceNumber-seq0, h.Marker, w.seq, w.marker)
		}
		switch w.ts {
		case -1:
			if int32(h.Timestamp-out[i-1].Timestamp) <= 0 {
				t.Errorf("packet %d: timestamp %d not after %d", i, h.Timestamp, out[i-1].Timestamp)
			}
		case -2:
			if h.Timestamp != out[i-1].Timestamp+160 {
				t.Errorf("packet %d: timestamp step %d", i, h.Timestamp-out[i-1].Timestamp)
			}
		default:
			if h.Timestamp != ts0+uint32(w.ts) {
				t.Errorf("packet %d: timestamp +%d, want +%d", i, h.Timestamp-ts0, w.ts)
			}
		}
	}
	if st := relay.Stats(); st.AToB.Forwarded != 7 {
		t.Errorf("stats %+v", st)
	}
}

func TestBridgeRejects(t *testing.T) {
	pool := testPool(t, 2)
	s := newTestSession(t, pool)
	if _, err := Bridge(s, s); !errors.Is(err, ErrSameSession) {
		t.Errorf("Bridge(s, s) = %v", err)
	}
	if _, err := Bridge(s, nil); err == nil {
		t.Error("Bridge with nil succeeded")
	}
}
