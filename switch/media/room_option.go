package media

import (
	"errors"
	"log/slog"
)

// RoomOption configures a Room in NewRoom.
type RoomOption func(*Room) error

// WithRoomLogger sets the room's logger; by default it logs nothing.
func WithRoomLogger(l *slog.Logger) RoomOption {
	return func(r *Room) error {
		if l == nil {
			return errors.New("media: nil logger")
		}
		r.log = l
		return nil
	}
}

// JoinOption sets a participant's state as it enters, before the room
// mixes for it even once.
type JoinOption func(*Participant) error

// JoinMuted makes the participant listen-only from the start (the
// Conference noun's muted="true").
func JoinMuted() JoinOption {
	return func(p *Participant) error {
		p.muted.Store(true)
		return nil
	}
}

// JoinOnHold puts the participant on hold from the start, hearing src (see
// Participant.Hold): startConferenceOnEnter="false" before a moderator is
// in the room.
func JoinOnHold(src Source, done func(error)) JoinOption {
	return func(p *Participant) error {
		p.setHoldLocked(src, done) // the participant is not shared yet
		return nil
	}
}
