// Package conference runs the switch's conference rooms: one media mixer
// per running room, namespaced by account, with upstream's moderator rules
// (startConferenceOnEnter, endConferenceOnExit, wait music, beep,
// maxParticipants) and a conference detail record per run of a room.
package conference

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/patchbay/patchbay/switch/call"
	"github.com/patchbay/patchbay/switch/media"
	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

// Leg is what a call's media must offer to join a room.
type Leg interface {
	Session() *media.Session
	Codec() media.Codec
}

// Hub implements call.ConferenceHub. It is safe for concurrent use.
type Hub struct {
	store store.Store
	log   *slog.Logger
	now   func() time.Time

	mu    sync.Mutex
	rooms map[string]*room // by account sid + ":" + name
}

var _ call.ConferenceHub = (*Hub)(nil)

// New returns an empty hub.
func New(st store.Store, log *slog.Logger) *Hub {
	return &Hub{store: st, log: log, now: time.Now, rooms: make(map[string]*room)}
}

type room struct {
	key       string
	rec       store.Conference
	mix       *media.Room
	members   map[*member]struct{}
	moderated bool // a startConferenceOnEnter participant has joined
}

type member struct {
	hub   *Hub
	room  *room
	p     *media.Participant
	spec  call.JoinSpec
	wait  func() media.Source
	onEnd func()
	once  sync.Once
}

// Join implements call.ConferenceHub.
func (h *Hub) Join(m call.Media, spec call.JoinSpec, onEnd func()) (call.Membership, error) {
	leg, ok := m.(Leg)
	if !ok {
		return nil, errors.New("conference: media cannot join a room")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	key := spec.AccountSid + ":" + spec.Name
	r := h.rooms[key]
	if r != nil && spec.MaxParticipants > 0 && len(r.members) >= spec.MaxParticipants {
		return nil, call.ErrConferenceFull
	}
	if r == nil {
		mix, err := media.NewRoom(media.WithRoomLogger(h.log))
		if err != nil {
			return nil, fmt.Errorf("conference: new room: %w", err)
		}
		now := h.now()
		r = &room{key: key, mix: mix, members: make(map[*member]struct{}), rec: store.Conference{
			Sid: sid.New(sid.Conference), AccountSid: spec.AccountSid, FriendlyName: spec.Name,
			Status: store.ConferenceModeratorAbsent, APIVersion: "2012-04-24", DateCreated: now, DateUpdated: now,
		}}
		h.rooms[key] = r
		h.persist(r)
	}
	mem := &member{hub: h, room: r, spec: spec, onEnd: onEnd}
	codec := leg.Codec()
	mem.wait = func() media.Source { return waitSource(spec, codec) }
	var opts []media.JoinOption
	if spec.Muted {
		opts = append(opts, media.JoinMuted())
	}
	moderator := spec.StartConferenceOnEnter
	if !moderator && !r.moderated {
		opts = append(opts, media.JoinOnHold(mem.wait(), nil))
	}
	p, err := r.mix.Join(leg.Session(), opts...)
	if err != nil {
		h.closeIfEmpty(r)
		return nil, fmt.Errorf("conference: join %s: %w", spec.Name, err)
	}
	mem.p = p
	r.members[mem] = struct{}{}
	if moderator && !r.moderated {
		// The moderator arrives: everyone waiting stops hearing music.
		r.moderated = true
		for other := range r.members {
			other.p.Unhold()
		}
		r.rec.Status = store.ConferenceModeratorPresent
		h.persist(r)
	}
	if spec.Beep && r.moderated {
		r.mix.Beep()
	}
	return mem, nil
}

// waitSource is what a participant hears while waiting for a moderator.
func waitSource(spec call.JoinSpec, codec media.Codec) media.Source {
	if spec.NoWait {
		return media.Silence(codec)
	}
	if clip, ok := spec.Wait.(*media.Clip); ok {
		if src, err := clip.Source(codec); err == nil {
			return media.Loop(src, 0)
		}
	}
	// The switch's own hold music: a soft 440 Hz tone.
	return media.Tone(codec, 440, 2000)
}

func (h *Hub) persist(r *room) {
	r.rec.DateUpdated = h.now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.store.PutConference(ctx, r.rec); err != nil {
		h.log.Error("persisting conference record", "conference_sid", r.rec.Sid, "err", err)
	}
}

// closeIfEmpty ends a room nobody is in. h.mu is held.
func (h *Hub) closeIfEmpty(r *room) {
	if len(r.members) > 0 {
		return
	}
	delete(h.rooms, r.key)
	if err := r.mix.Close(); err != nil {
		h.log.Debug("closing room mixer", "err", err)
	}
	r.rec.Status = store.ConferenceCompleted
	h.persist(r)
}

// Rooms is the number of running rooms (for leak checks).
func (h *Hub) Rooms() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.rooms)
}

func (m *member) ConferenceSid() string { return m.room.rec.Sid }

func (m *member) OnHold() bool { return m.p.OnHold() }

func (m *member) SetMuted(muted bool) { m.p.SetMuted(muted) }

// Leave implements call.Membership.
func (m *member) Leave() { m.leave(true) }

// leave takes the member out once; it reports whether this call did.
func (m *member) leave(self bool) (left bool) {
	m.once.Do(func() {
		left = true
		h := m.hub
		h.mu.Lock()
		r := m.room
		m.p.Leave()
		delete(r.members, m)
		var ended []*member
		if self && m.spec.EndConferenceOnExit {
			// Everyone else is dropped from the conference.
			for other := range r.members {
				ended = append(ended, other)
			}
		}
		h.closeIfEmpty(r)
		h.mu.Unlock()
		for _, o := range ended {
			// A member that left by itself meanwhile is not told the
			// conference ended for it.
			if o.leave(false) && o.onEnd != nil {
				o.onEnd()
			}
		}
	})
	return left
}
