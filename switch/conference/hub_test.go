package conference

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/patchbay/patchbay/switch/call"
	"github.com/patchbay/patchbay/switch/media"
	"github.com/patchbay/patchbay/switch/sdp"
	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
	"github.com/patchbay/patchbay/switch/store/badgerstore"
)

var loopback = netip.MustParseAddr("127.0.0.1")

var errNotInTest = errors.New("not used by the conference tests")

// testLeg is the smallest call.Media the hub accepts: a media.Session and
// its codec. Only what the hub and these tests use does anything.
type testLeg struct {
	s *media.Session

	mu    sync.Mutex
	codec media.Codec
}

var (
	_ call.Media = (*testLeg)(nil)
	_ Leg        = (*testLeg)(nil)
)

func (l *testLeg) LocalPort() int { return int(l.s.LocalAddr().Port()) }

func (l *testLeg) SetRemote(n sdp.Negotiated) {
	codec := media.CodecByName(n.Codec.Name)
	l.mu.Lock()
	l.codec = codec
	l.mu.Unlock()
	// The tests only pass values Configure accepts; a failure shows up as
	// missing audio.
	_ = l.s.Configure(media.Params{
		Remote: n.Remote, Codec: codec, PayloadType: n.Codec.PayloadType,
		NoSend: !n.Direction.Sends(),
	})
}

func (l *testLeg) Play(context.Context, call.Audio, int) error { return errNotInTest }

func (l *testLeg) SetMuted(muted bool) { l.s.SetMuted(muted) }

func (l *testLeg) Bridge(call.Media) (call.Bridge, error) { return nil, errNotInTest }

func (l *testLeg) SetDigitHandler(func(byte)) {}

func (l *testLeg) Record(string, call.Media, time.Duration, func()) (call.Recording, error) {
	return nil, errNotInTest
}

func (l *testLeg) Close() error { return l.s.Close() }

func (l *testLeg) Session() *media.Session { return l.s }

func (l *testLeg) Codec() media.Codec {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.codec
}

// notALeg is a call.Media without a session.
type notALeg struct{ call.Media }

func testPool(t *testing.T, size int) *media.PortPool {
	t.Helper()
	base := 30000 + 2*rand.IntN(5000)
	p, err := media.NewPortPool(loopback, base, base+2*(size-1))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newSession(t *testing.T, pool *media.PortPool, opts ...media.SessionOption) *media.Session {
	t.Helper()
	port, err := pool.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	s, err := media.NewSession(port, opts...)
	if err != nil {
		_ = port.Release()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newLeg(t *testing.T, pool *media.PortPool) *testLeg {
	t.Helper()
	return &testLeg{s: newSession(t, pool)}
}

func openStore(t *testing.T) *badgerstore.Store {
	t.Helper()
	st, err := badgerstore.Open(badgerstore.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func newHub(t *testing.T) (*Hub, *badgerstore.Store) {
	t.Helper()
	st := openStore(t)
	return New(st, slog.New(slog.DiscardHandler)), st
}

func mustJoin(t *testing.T, h *Hub, m call.Media, spec call.JoinSpec, onEnd func()) call.Membership {
	t.Helper()
	mem, err := h.Join(m, spec, onEnd)
	if err != nil {
		t.Fatalf("join %s as %+v: %v", spec.Name, spec, err)
	}
	return mem
}

func record(t *testing.T, st store.Store, confSid string) store.Conference {
	t.Helper()
	c, err := st.Conference(context.Background(), confSid)
	if err != nil {
		t.Fatalf("conference record %s: %v", confSid, err)
	}
	return c
}

func wantStatus(t *testing.T, st store.Store, confSid, want string) {
	t.Helper()
	if got := record(t, st, confSid).Status; got != want {
		t.Errorf("conference %s status = %s, want %s", confSid, got, want)
	}
}

// participant is the media participant behind a membership.
func participant(t *testing.T, m call.Membership) *media.Participant {
	t.Helper()
	mem, ok := m.(*member)
	if !ok {
		t.Fatalf("membership is a %T", m)
	}
	return mem.p
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func checkNoLeak(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRoomsAreKeyedByAccountAndName(t *testing.T) {
	h, st := newHub(t)
	pool := testPool(t, 8)
	acct1, acct2 := sid.New(sid.Account), sid.New(sid.Account)

	a := mustJoin(t, h, newLeg(t, pool), call.JoinSpec{AccountSid: acct1, Name: "sales"}, nil)
	b := mustJoin(t, h, newLeg(t, pool), call.JoinSpec{AccountSid: acct2, Name: "sales"}, nil)
	c := mustJoin(t, h, newLeg(t, pool), call.JoinSpec{AccountSid: acct1, Name: "sales"}, nil)
	d := mustJoin(t, h, newLeg(t, pool), call.JoinSpec{AccountSid: acct1, Name: "support"}, nil)

	if h.Rooms() != 3 {
		t.Errorf("Rooms() = %d, want 3 (acct1/sales, acct2/sales, acct1/support)", h.Rooms())
	}
	if a.ConferenceSid() == b.ConferenceSid() {
		t.Errorf("the same name in two accounts shares conference %s", a.ConferenceSid())
	}
	if a.ConferenceSid() != c.ConferenceSid() {
		t.Errorf("two joins of acct1/sales got conferences %s and %s", a.ConferenceSid(), c.ConferenceSid())
	}
	if d.ConferenceSid() == a.ConferenceSid() {
		t.Errorf("two names in one account share conference %s", d.ConferenceSid())
	}
	for _, m := range []call.Membership{a, b, d} {
		if !sid.Valid(m.ConferenceSid(), sid.Conference) {
			t.Errorf("conference sid %q is not a CF sid", m.ConferenceSid())
		}
	}
	if rec := record(t, st, b.ConferenceSid()); rec.AccountSid != acct2 || rec.FriendlyName != "sales" {
		t.Errorf("record of acct2/sales = account %s name %q", rec.AccountSid, rec.FriendlyName)
	}
	for _, m := range []call.Membership{a, b, c, d} {
		m.Leave()
	}
	if h.Rooms() != 0 {
		t.Errorf("Rooms() = %d after everyone left", h.Rooms())
	}
}

func TestConferenceRecordFollowsTheRun(t *testing.T) {
	h, st := newHub(t)
	pool := testPool(t, 8)
	acct := sid.New(sid.Account)
	guest := call.JoinSpec{AccountSid: acct, Name: "board"}
	host := call.JoinSpec{AccountSid: acct, Name: "board", StartConferenceOnEnter: true}

	g := mustJoin(t, h, newLeg(t, pool), guest, nil)
	first := g.ConferenceSid()
	rec := record(t, st, first)
	if rec.Status != store.ConferenceModeratorAbsent || rec.AccountSid != acct || rec.FriendlyName != "board" {
		t.Errorf("record at first join = %+v", rec)
	}
	if rec.DateCreated.IsZero() || rec.DateUpdated.Before(rec.DateCreated) {
		t.Errorf("record dates: created %v, updated %v", rec.DateCreated, rec.DateUpdated)
	}

	m := mustJoin(t, h, newLeg(t, pool), host, nil)
	if m.ConferenceSid() != first {
		t.Fatalf("moderator joined conference %s, guest is in %s", m.ConferenceSid(), first)
	}
	wantStatus(t, st, first, store.ConferenceModeratorPresent)

	// Someone leaving is not the end of the run.
	m.Leave()
	wantStatus(t, st, first, store.ConferenceModeratorPresent)
	if h.Rooms() != 1 {
		t.Errorf("Rooms() = %d with the guest still in", h.Rooms())
	}
	g.Leave()
	wantStatus(t, st, first, store.ConferenceCompleted)
	if h.Rooms() != 0 {
		t.Errorf("Rooms() = %d after the last left", h.Rooms())
	}

	// The same name runs again as a new conference.
	again := mustJoin(t, h, newLeg(t, pool), guest, nil)
	if again.ConferenceSid() == first {
		t.Errorf("a new run of %q reused conference %s", guest.Name, first)
	}
	wantStatus(t, st, again.ConferenceSid(), store.ConferenceModeratorAbsent)
	wantStatus(t, st, first, store.ConferenceCompleted)
	again.Leave()
	wantStatus(t, st, again.ConferenceSid(), store.ConferenceCompleted)

	list, total, err := st.ListConferences(context.Background(), store.ConferenceFilter{AccountSids: []string{acct}}, store.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if total != 2 || len(list) != 2 {
		t.Errorf("account has %d conference records (%d listed), want 2", total, len(list))
	}
}

func TestMaxParticipants(t *testing.T) {
	h, st := newHub(t)
	pool := testPool(t, 8)
	spec := call.JoinSpec{AccountSid: sid.New(sid.Account), Name: "small", MaxParticipants: 2, StartConferenceOnEnter: true}
	a := mustJoin(t, h, newLeg(t, pool), spec, nil)
	b := mustJoin(t, h, newLeg(t, pool), spec, nil)
	third := newLeg(t, pool)
	if m, err := h.Join(third, spec, nil); !errors.Is(err, call.ErrConferenceFull) {
		t.Fatalf("third join of a room of 2 = %v, %v; want ErrConferenceFull", m, err)
	}
	if h.Rooms() != 1 {
		t.Errorf("Rooms() = %d after a refused join", h.Rooms())
	}
	wantStatus(t, st, a.ConferenceSid(), store.ConferenceModeratorPresent)

	// A place frees up when someone leaves.
	b.Leave()
	c, err := h.Join(third, spec, nil)
	if err != nil {
		t.Fatalf("join after a participant left: %v", err)
	}
	if c.ConferenceSid() != a.ConferenceSid() {
		t.Errorf("joined %s, want the running %s", c.ConferenceSid(), a.ConferenceSid())
	}
	a.Leave()
	c.Leave()
	if h.Rooms() != 0 {
		t.Errorf("Rooms() = %d after everyone left", h.Rooms())
	}
}

func TestJoinRejectsMediaWithoutSession(t *testing.T) {
	h, _ := newHub(t)
	if _, err := h.Join(notALeg{}, call.JoinSpec{AccountSid: sid.New(sid.Account), Name: "x"}, nil); err == nil {
		t.Error("media without a session joined a room")
	}
	if h.Rooms() != 0 {
		t.Errorf("Rooms() = %d after a refused join", h.Rooms())
	}
}

func TestGuestsWaitOnHoldForTheModerator(t *testing.T) {
	h, st := newHub(t)
	pool := testPool(t, 8)
	acct := sid.New(sid.Account)
	guest := call.JoinSpec{AccountSid: acct, Name: "class"}
	host := call.JoinSpec{AccountSid: acct, Name: "class", StartConferenceOnEnter: true}

	g1 := mustJoin(t, h, newLeg(t, pool), guest, nil)
	g2 := mustJoin(t, h, newLeg(t, pool), call.JoinSpec{AccountSid: acct, Name: "class", NoWait: true}, nil)
	if !g1.OnHold() || !g2.OnHold() {
		t.Fatalf("guests before the moderator: OnHold = %v, %v; want both on hold", g1.OnHold(), g2.OnHold())
	}

	m := mustJoin(t, h, newLeg(t, pool), host, nil)
	if m.OnHold() {
		t.Error("the moderator is on hold")
	}
	if g1.OnHold() || g2.OnHold() {
		t.Errorf("guests after the moderator joined: OnHold = %v, %v; want neither", g1.OnHold(), g2.OnHold())
	}
	wantStatus(t, st, m.ConferenceSid(), store.ConferenceModeratorPresent)

	// Once a moderator came, later guests go straight in, even after it left.
	m.Leave()
	g3 := mustJoin(t, h, newLeg(t, pool), guest, nil)
	if g3.OnHold() {
		t.Error("a guest joining a moderated room is on hold")
	}
	for _, x := range []call.Membership{g1, g2, g3} {
		x.Leave()
	}
	if h.Rooms() != 0 {
		t.Errorf("Rooms() = %d after everyone left", h.Rooms())
	}
}

func TestEndConferenceOnExitEndsTheOthers(t *testing.T) {
	h, st := newHub(t)
	pool := testPool(t, 8)
	acct := sid.New(sid.Account)
	host := call.JoinSpec{AccountSid: acct, Name: "town hall", StartConferenceOnEnter: true, EndConferenceOnExit: true}
	guest := call.JoinSpec{AccountSid: acct, Name: "town hall"}

	var hostEnded atomic.Int32
	m := mustJoin(t, h, newLeg(t, pool), host, func() { hostEnded.Add(1) })
	var ended [2]atomic.Int32
	var guests [2]call.Membership
	var mu sync.Mutex // guards guests against the onEnd callbacks
	for i := range guests {
		mem := mustJoin(t, h, newLeg(t, pool), guest, func() {
			ended[i].Add(1)
			// What a call does when its conference ends: leave, from the
			// callback itself. This must neither deadlock nor end twice.
			mu.Lock()
			g := guests[i]
			mu.Unlock()
			g.Leave()
		})
		mu.Lock()
		guests[i] = mem
		mu.Unlock()
	}
	mix := m.(*member).room.mix
	if mix.Len() != 3 {
		t.Fatalf("room mixes %d participants, want 3", mix.Len())
	}

	m.Leave()
	for i := range ended {
		if n := ended[i].Load(); n != 1 {
			t.Errorf("guest %d: onEnd called %d times, want 1", i, n)
		}
	}
	if n := hostEnded.Load(); n != 0 {
		t.Errorf("the leaving moderator's own onEnd called %d times", n)
	}
	if mix.Len() != 0 {
		t.Errorf("room still mixes %d participants", mix.Len())
	}
	if h.Rooms() != 0 {
		t.Errorf("Rooms() = %d after the conference ended", h.Rooms())
	}
	wantStatus(t, st, m.ConferenceSid(), store.ConferenceCompleted)

	// Everything afterwards is a no-op.
	m.Leave()
	for i, g := range guests {
		g.Leave()
		if n := ended[i].Load(); n != 1 {
			t.Errorf("guest %d: onEnd called %d times after leaving again", i, n)
		}
	}
	if h.Rooms() != 0 {
		t.Errorf("Rooms() = %d", h.Rooms())
	}
}

func TestEndConferenceOnExitOnlyWhenThatMemberLeaves(t *testing.T) {
	h, _ := newHub(t)
	pool := testPool(t, 8)
	acct := sid.New(sid.Account)
	var ended atomic.Int32
	onEnd := func() { ended.Add(1) }
	host := mustJoin(t, h, newLeg(t, pool), call.JoinSpec{AccountSid: acct, Name: "r", StartConferenceOnEnter: true, EndConferenceOnExit: true}, onEnd)
	g1 := mustJoin(t, h, newLeg(t, pool), call.JoinSpec{AccountSid: acct, Name: "r"}, onEnd)
	g2 := mustJoin(t, h, newLeg(t, pool), call.JoinSpec{AccountSid: acct, Name: "r"}, onEnd)

	// An ordinary guest leaving (twice) ends nothing.
	g1.Leave()
	g1.Leave()
	if n := ended.Load(); n != 0 {
		t.Fatalf("%d onEnd calls after an ordinary guest left", n)
	}
	if h.Rooms() != 1 || host.(*member).room.mix.Len() != 2 {
		t.Fatalf("Rooms() = %d, mixing %d; want the room going on with 2", h.Rooms(), host.(*member).room.mix.Len())
	}
	host.Leave()
	if n := ended.Load(); n != 1 {
		t.Errorf("%d onEnd calls after the moderator left, want 1 (the remaining guest)", n)
	}
	g2.Leave()
	if h.Rooms() != 0 {
		t.Errorf("Rooms() = %d", h.Rooms())
	}
}

func TestSetMutedReachesTheParticipant(t *testing.T) {
	h, _ := newHub(t)
	pool := testPool(t, 4)
	acct := sid.New(sid.Account)
	m := mustJoin(t, h, newLeg(t, pool), call.JoinSpec{AccountSid: acct, Name: "m", StartConferenceOnEnter: true}, nil)
	listener := mustJoin(t, h, newLeg(t, pool), call.JoinSpec{AccountSid: acct, Name: "m", Muted: true}, nil)
	p := participant(t, m)
	if p.Muted() {
		t.Fatal("joined unmuted but Muted() = true")
	}
	m.SetMuted(true)
	if !p.Muted() {
		t.Error("SetMuted(true) did not mute the participant")
	}
	m.SetMuted(false)
	if p.Muted() {
		t.Error("SetMuted(false) did not unmute the participant")
	}
	if !participant(t, listener).Muted() {
		t.Error(`muted="true" joined unmuted`)
	}
	m.Leave()
	listener.Leave()
}

// TestConcurrentJoinsAndLeaves hammers one hub from several goroutines
// (for -race) and checks that every room ends completed.
func TestConcurrentJoinsAndLeaves(t *testing.T) {
	h, st := newHub(t)
	pool := testPool(t, 16)
	acct := sid.New(sid.Account)
	names := []string{"a", "b"}
	var wg sync.WaitGroup
	sids := make(chan string, 8*20)
	for i := range 8 {
		leg := newLeg(t, pool)
		wg.Go(func() {
			for j := range 20 {
				spec := call.JoinSpec{AccountSid: acct, Name: names[(i+j)%2], StartConferenceOnEnter: j%3 == 0, EndConferenceOnExit: j%7 == 0}
				m, err := h.Join(leg, spec, nil)
				if err != nil {
					t.Errorf("join: %v", err)
					return
				}
				sids <- m.ConferenceSid()
				_ = m.OnHold()
				m.SetMuted(j%2 == 0)
				m.Leave()
			}
		})
	}
	wg.Wait()
	close(sids)
	if h.Rooms() != 0 {
		t.Errorf("Rooms() = %d after every join was left", h.Rooms())
	}
	seen := map[string]bool{}
	for s := range sids {
		if !seen[s] {
			seen[s] = true
			wantStatus(t, st, s, store.ConferenceCompleted)
		}
	}
}

// ear records what a phone hears, for a ToneDetector.
type ear struct {
	mu  sync.Mutex
	det *media.ToneDetector
}

func (e *ear) ConsumeRTP(pkt *rtp.Packet) {
	if pkt.PayloadType != media.PCMU.PayloadType() {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.det.WriteG711(media.PCMU, pkt.Payload)
}

func (e *ear) reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.det.Reset()
}

func (e *ear) blocks() (voiced, silent int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.det.Voiced(), e.det.Silent()
}

func (e *ear) level(i int) float64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.det.Level(i)
}

// Frequencies in the media test: each phone talks on its own, the hub's
// wait music is 440 Hz.
var freqs = []float64{1100, 1700, 440}

const (
	toneA, toneB, waitTone = 0, 1, 2
)

// phone is a remote party: a session of its own on loopback connected to
// a switch leg, playing its tone without pause until hung up.
type phone struct {
	s    *media.Session
	leg  *testLeg
	ear  *ear
	stop context.CancelFunc
	done chan error
}

func dial(t *testing.T, pool *media.PortPool, tone int) *phone {
	t.Helper()
	p := &phone{ear: &ear{det: media.NewToneDetector(freqs...)}, done: make(chan error, 1)}
	p.s = newSession(t, pool, media.WithConsumer(p.ear))
	p.leg = newLeg(t, pool)
	if err := p.s.Configure(media.Params{Remote: p.leg.s.LocalAddr(), Codec: media.PCMU, PayloadType: media.PCMU.PayloadType()}); err != nil {
		t.Fatal(err)
	}
	p.leg.SetRemote(sdp.Negotiated{
		Codec:     sdp.Codec{PayloadType: sdp.PayloadTypePCMU, Name: "PCMU", ClockRate: media.ClockRate},
		Remote:    p.s.LocalAddr(),
		Direction: sdp.SendRecv,
	})
	ctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	go func() { p.done <- p.s.Play(ctx, media.Tone(media.PCMU, freqs[tone], 6000)) }()
	t.Cleanup(p.hangUp)
	return p
}

func (p *phone) hangUp() {
	if p.stop != nil {
		p.stop()
		<-p.done
		p.stop = nil
	}
	_ = p.s.Close()
	_ = p.leg.Close()
}

// listen forgets what the phones heard so far, lets queued audio drain,
// then waits until each heard at least 0.4 s more.
func listen(t *testing.T, phones ...*phone) {
	t.Helper()
	time.Sleep(100 * time.Millisecond)
	for _, p := range phones {
		p.ear.reset()
	}
	waitFor(t, "0.4 s of audio at every phone", func() bool {
		for _, p := range phones {
			if v, s := p.ear.blocks(); v+s < 10 {
				return false
			}
		}
		return true
	})
}

func hears(t *testing.T, who string, p *phone, tone int, want bool) {
	t.Helper()
	l := p.ear.level(tone)
	if want && l < 0.8 {
		t.Errorf("%s hears %v Hz at %.2f, want it clearly", who, freqs[tone], l)
	}
	if !want && l > 0.03 {
		t.Errorf("%s hears %v Hz at %.2f, want nothing", who, freqs[tone], l)
	}
}

// TestTwoPhonesHearEachOtherThroughTheRoom runs real RTP: phone A and
// phone B each talk to a switch leg over loopback UDP, the legs join one
// room, and each phone's tone reaches the other.
func TestTwoPhonesHearEachOtherThroughTheRoom(t *testing.T) {
	h, st := newHub(t)
	before := runtime.NumGoroutine()
	pool := testPool(t, 8)
	acct := sid.New(sid.Account)

	a, b := dial(t, pool, toneA), dial(t, pool, toneB)

	// B comes first and waits with the hub's music, hearing nobody.
	mb := mustJoin(t, h, b.leg, call.JoinSpec{AccountSid: acct, Name: "duo"}, nil)
	listen(t, b)
	hears(t, "B on hold", b, waitTone, true)
	hears(t, "B on hold", b, toneB, false)

	// A moderates: B leaves hold, each hears the other and not itself.
	ma := mustJoin(t, h, a.leg, call.JoinSpec{AccountSid: acct, Name: "duo", StartConferenceOnEnter: true}, nil)
	if mb.OnHold() {
		t.Fatal("B still on hold with the moderator in")
	}
	listen(t, a, b)
	hears(t, "B", b, toneA, true)
	hears(t, "B", b, waitTone, false)
	hears(t, "B", b, toneB, false)
	hears(t, "A", a, toneB, true)
	hears(t, "A", a, toneA, false)

	// Muted, A still hears B but B hears silence.
	ma.SetMuted(true)
	listen(t, a, b)
	hears(t, "muted A", a, toneB, true)
	if v, s := b.ear.blocks(); v != 0 || s < 10 {
		t.Errorf("B heard %d voiced blocks (%d silent) from a muted A", v, s)
	}

	ma.Leave()
	mb.Leave()
	mb.Leave()
	if h.Rooms() != 0 {
		t.Errorf("Rooms() = %d after both left", h.Rooms())
	}
	wantStatus(t, st, ma.ConferenceSid(), store.ConferenceCompleted)
	sentA, sentB := a.leg.s.Stats().PacketsSent, b.leg.s.Stats().PacketsSent
	time.Sleep(100 * time.Millisecond)
	if a.leg.s.Stats().PacketsSent != sentA || b.leg.s.Stats().PacketsSent != sentB {
		t.Error("the room kept sending to legs that left")
	}

	a.hangUp()
	b.hangUp()
	checkNoLeak(t, before)
}
