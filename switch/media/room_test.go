package media

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

// Each phone in a conference test talks on its own frequency; every ear
// measures all of them and the beep.
var confFreqs = []float64{500, 1100, 1700, 2300, 2900, BeepFrequency}

const (
	wait2300 = 3 // index of the wait-music frequency in confFreqs
	beepIdx  = 5
)

// confPhone is a phone connected to a switch leg.
type confPhone struct {
	phone, leg *Session
	ear        *listener
	freq       int // index in confFreqs
	stop       context.CancelFunc
	done       chan error
}

// newConfPhone connects a phone to a leg in codec; with talk it plays its
// tone without pause until the test ends.
func newConfPhone(t *testing.T, pool *PortPool, codec Codec, freq int, talk bool) *confPhone {
	t.Helper()
	c := &confPhone{ear: newListener(codec, confFreqs...), freq: freq, done: make(chan error, 1)}
	c.phone = newTestSession(t, pool, WithConsumer(c.ear))
	c.leg = newTestSession(t, pool)
	connect(t, c.phone, c.leg, leg{codec: codec, eventPT: 101})
	if talk {
		ctx, cancel := context.WithCancel(context.Background())
		c.stop = cancel
		go func() { c.done <- c.phone.Play(ctx, Tone(codec, confFreqs[freq], 6000)) }()
		t.Cleanup(c.hangUp)
	}
	return c
}

func (c *confPhone) hangUp() {
	if c.stop != nil {
		c.stop()
		<-c.done
		c.stop = nil
	}
}

func newTestRoom(t *testing.T) *Room {
	t.Helper()
	r, err := NewRoom()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func join(t *testing.T, r *Room, c *confPhone, opts ...JoinOption) *Participant {
	t.Helper()
	p, err := r.Join(c.leg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// listen forgets what the phones heard so far, lets queued audio drain,
// then waits until each phone heard at least 0.4 s more.
func listen(t *testing.T, phones ...*confPhone) {
	t.Helper()
	time.Sleep(100 * time.Millisecond)
	for _, c := range phones {
		c.ear.reset()
	}
	waitFor(t, "0.4 s of audio at every phone", func() bool {
		for _, c := range phones {
			if v, s := c.ear.blocks(); v+s < 10 {
				return false
			}
		}
		return true
	})
}

// hears checks which phones' tones c hears: each of from at a fair share,
// each of not barely at all.
func hears(t *testing.T, c *confPhone, from []*confPhone, not []*confPhone) {
	t.Helper()
	for _, o := range from {
		if l := c.ear.level(o.freq); l < 0.8/float64(len(from)) {
			t.Errorf("phone %d hears phone %d's %v Hz at %.2f", c.freq, o.freq, confFreqs[o.freq], l)
		}
	}
	for _, o := range not {
		if l := c.ear.level(o.freq); l > 0.03 {
			t.Errorf("phone %d hears phone %d's %v Hz at %.2f, want nothing", c.freq, o.freq, confFreqs[o.freq], l)
		}
	}
}

func TestRoomEachHearsTheOthers(t *testing.T) {
	before := runtime.NumGoroutine()
	pool := testPool(t, 12)
	room := newTestRoom(t)
	a := newConfPhone(t, pool, PCMU, 0, true)
	b := newConfPhone(t, pool, PCMA, 1, true)
	c := newConfPhone(t, pool, PCMU, 2, true)
	pa, pb, pc := join(t, room, a), join(t, room, b), join(t, room, c)
	if _, err := room.Join(a.leg); err == nil {
		t.Error("a session joined twice")
	}
	if room.Len() != 3 {
		t.Fatalf("Len = %d", room.Len())
	}

	listen(t, a, b, c)
	hears(t, a, []*confPhone{b, c}, []*confPhone{a})
	hears(t, b, []*confPhone{a, c}, []*confPhone{b})
	hears(t, c, []*confPhone{a, b}, []*confPhone{c})

	// A muted participant is heard by nobody and still hears the others.
	pa.SetMuted(true)
	listen(t, a, b, c)
	hears(t, a, []*confPhone{b, c}, []*confPhone{a})
	hears(t, b, []*confPhone{c}, []*confPhone{a, b})
	hears(t, c, []*confPhone{b}, []*confPhone{a, c})

	// C leaves mid-stream: the room sends it nothing more, nobody hears it,
	// and its leg can play at once, continuing its stream.
	pc.Leave()
	pc.Leave()
	sent := c.leg.Stats().PacketsSent
	listen(t, a, b)
	if n := c.leg.Stats().PacketsSent; n != sent {
		t.Errorf("room sent %d packets to a participant that left", n-sent)
	}
	hears(t, a, []*confPhone{b}, []*confPhone{a, c})
	// B hears only muted A: silence.
	if v, s := b.ear.blocks(); v != 0 || s < 10 {
		t.Errorf("B heard %d voiced blocks (%d silent) from a muted A", v, s)
	}
	if err := c.leg.Play(context.Background(), Limit(Tone(PCMU, 900, 6000), 100*time.Millisecond)); err != nil {
		t.Fatalf("Play after Leave: %v", err)
	}
	waitFor(t, "C to hear the whole stream", func() bool { return c.phone.Stats().PacketsReceived == c.leg.Stats().PacketsSent })

	// D joins mid-stream.
	d := newConfPhone(t, pool, PCMA, 4, true)
	join(t, room, d)
	pa.SetMuted(false)
	listen(t, a, b, d)
	hears(t, a, []*confPhone{b, d}, []*confPhone{a, c})
	hears(t, b, []*confPhone{a, d}, []*confPhone{b, c})
	hears(t, d, []*confPhone{a, b}, []*confPhone{d, c})

	// Whatever happened, each phone got one clean stream from its leg.
	checkStream(t, c.ear.snapshot(), c.leg.SSRC(), PCMU.PayloadType())
	checkStream(t, b.ear.snapshot(), b.leg.SSRC(), PCMA.PayloadType())

	if err := room.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := room.Join(c.leg); !errors.Is(err, ErrRoomClosed) {
		t.Errorf("Join after Close = %v", err)
	}
	pb.Leave() // after Close: harmless
	for _, p := range []*confPhone{a, b, c, d} {
		p.hangUp()
		_ = p.phone.Close()
		_ = p.leg.Close()
	}
	checkNoLeak(t, before)
}

// TestRoomHoldAndWaitMusic is startConferenceOnEnter="false": A waits on
// hold with music while B talks; then A is taken off hold.
func TestRoomHoldAndWaitMusic(t *testing.T) {
	pool := testPool(t, 8)
	room := newTestRoom(t)
	a := newConfPhone(t, pool, PCMU, 0, true)
	b := newConfPhone(t, pool, PCMA, 1, true)
	ended := make(chan error, 4)
	music := Limit(Tone(PCMA, confFreqs[wait2300], 6000), 600*time.Millisecond)
	pa := join(t, room, a, JoinOnHold(music, func(err error) { ended <- err }))
	join(t, room, b)
	if !pa.OnHold() {
		t.Fatal("joined on hold but OnHold() = false")
	}
	waitFor(t, "some music", func() bool { return a.ear.audioPackets() >= 5 })
	a.ear.reset()
	b.ear.reset()
	waitFor(t, "0.2 s of music", func() bool { v, _ := a.ear.blocks(); return v >= 5 })
	if l := a.ear.level(wait2300); l < 0.9 {
		t.Errorf("A on hold hears the music at %.2f", l)
	}
	hears(t, a, nil, []*confPhone{b})
	if l := b.ear.level(wait2300); l > 0.03 {
		t.Errorf("B hears A's wait music at %.2f", l)
	}
	hears(t, b, nil, []*confPhone{a})
	select {
	case err := <-ended:
		if err != nil {
			t.Fatalf("music ended with %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("music did not end")
	}
	// After the music: silence, still on hold.
	listen(t, a)
	if v, _ := a.ear.blocks(); v != 0 {
		t.Errorf("A heard %d voiced blocks after the music ended", v)
	}

	// Endless music, then the moderator arrives: Unhold stops it.
	pa.Hold(Tone(PCMU, confFreqs[wait2300], 6000), func(err error) { ended <- err })
	pa.Unhold()
	if err := <-ended; !errors.Is(err, ErrStopped) {
		t.Errorf("music stopped by Unhold ended with %v", err)
	}
	listen(t, a, b)
	hears(t, a, []*confPhone{b}, []*confPhone{a})
	hears(t, b, []*confPhone{a}, []*confPhone{b})

	// Close stops a playing hold source too.
	pa.Hold(Tone(PCMU, confFreqs[wait2300], 6000), func(err error) { ended <- err })
	_ = room.Close()
	if err := <-ended; !errors.Is(err, ErrStopped) {
		t.Errorf("music stopped by Close ended with %v", err)
	}
	pa.Hold(nil, func(err error) { ended <- err })
	if err := <-ended; !errors.Is(err, ErrStopped) {
		t.Errorf("Hold after leaving = %v", err)
	}
}

func TestRoomBeep(t *testing.T) {
	pool := testPool(t, 8)
	room := newTestRoom(t)
	a := newConfPhone(t, pool, PCMU, 0, false)
	b := newConfPhone(t, pool, PCMA, 1, false)
	held := newConfPhone(t, pool, PCMU, 2, false)
	join(t, room, a)
	join(t, room, b)
	join(t, room, held, JoinOnHold(nil, nil))
	waitFor(t, "the room's silence", func() bool { return a.ear.audioPackets() >= 5 && held.ear.audioPackets() >= 5 })
	room.Beep()
	time.Sleep(BeepDuration + 200*time.Millisecond)
	for _, c := range []*confPhone{a, b} {
		// Blocks at the edges of the beep are partly silent, so below 1.
		if v, _ := c.ear.blocks(); v < 3 || c.ear.level(beepIdx) < 0.6 {
			t.Errorf("phone %d: %d voiced blocks, beep at %.2f", c.freq, v, c.ear.level(beepIdx))
		}
	}
	if v, _ := held.ear.blocks(); v != 0 {
		t.Errorf("the participant on hold heard %d voiced blocks", v)
	}
}

func TestRoomTickDoesNotAllocate(t *testing.T) {
	room, parts, pkt := benchRoom(t, 5, false)
	feed := func() {
		for _, p := range parts {
			pkt.SequenceNumber++
			p.ConsumeRTP(pkt)
		}
	}
	parts[1].SetMuted(true)
	parts[2].Hold(Loop(mustClipSource(t), 0), nil)
	room.Beep()
	for range 3 {
		feed()
		room.tick()
	}
	if n := testing.AllocsPerRun(100, func() { feed(); room.tick() }); n != 0 {
		t.Errorf("%v allocations per tick", n)
	}
	if st := parts[0].Session().Stats(); st.PacketsSent < 100 {
		t.Errorf("the measured ticks sent %d packets", st.PacketsSent)
	}
}

// TestRoomHammer changes membership, mute and hold from several goroutines
// while everyone talks, then checks each phone still got one clean stream
// and nothing is left running.
func TestRoomHammer(t *testing.T) {
	before := runtime.NumGoroutine()
	pool := testPool(t, 12)
	room := newTestRoom(t)
	phones := make([]*confPhone, 4)
	for i := range phones {
		phones[i] = newConfPhone(t, pool, []Codec{PCMU, PCMA}[i%2], i, true)
	}
	var wg sync.WaitGroup
	for i, c := range phones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 15 {
				p, err := room.Join(c.leg)
				if err != nil {
					t.Error(err)
					return
				}
				p.SetMuted(round%3 == 1)
				if round%4 == i%4 {
					p.Hold(Limit(Tone(PCMU, 2300, 6000), 40*time.Millisecond), func(error) {})
				}
				if round%5 == 0 {
					room.Beep()
				}
				time.Sleep(time.Duration(45+5*i) * time.Millisecond) // a few ticks
				p.Unhold()
				p.Leave()
			}
		}()
	}
	wg.Wait()
	if room.Len() != 0 {
		t.Fatalf("Len = %d after everyone left", room.Len())
	}
	if err := room.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range phones {
		waitFor(t, "the phone to hear the whole stream", func() bool { return c.phone.Stats().PacketsReceived == c.leg.Stats().PacketsSent })
		// Each of the 15 joins starts one talkspurt in the leg's one stream
		// (unless the shared box let a membership pass without a tick),
		// and nothing else does: hold, mute and beeps continue it.
		if spurts := checkStream(t, c.ear.snapshot(), c.leg.SSRC(), c.ear.codec.PayloadType()); spurts < 10 || spurts > 15 {
			t.Errorf("phone %d: %d talkspurts in %d packets, want 15", c.freq, spurts, len(c.ear.snapshot()))
		}
		c.hangUp()
		_ = c.phone.Close()
		_ = c.leg.Close()
	}
	checkNoLeak(t, before)
}
