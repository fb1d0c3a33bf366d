package media

import "errors"

// Errors returned by this package; match them with errors.Is.
var (
	// ErrPoolExhausted: every port of the pool is in use or failed to bind.
	ErrPoolExhausted = errors.New("media: RTP port pool exhausted")
	// ErrClosed: the session was closed.
	ErrClosed = errors.New("media: session closed")
	// ErrNotConfigured: the session has no remote address and codec yet
	// (Configure was not called).
	ErrNotConfigured = errors.New("media: session not configured")
	// ErrCodecMismatch: a source encodes another codec than the session's.
	ErrCodecMismatch = errors.New("media: source codec does not match the session's")
	// ErrNoEvents: telephone-event was not negotiated, so digits cannot be sent.
	ErrNoEvents = errors.New("media: telephone-event not negotiated")
	// ErrInvalidDigit: the digit has no RFC 4733 event code.
	ErrInvalidDigit = errors.New("media: invalid DTMF digit")
	// ErrNotWAV: the data is not a RIFF/WAVE file, or is cut before its
	// format or data chunk.
	ErrNotWAV = errors.New("media: not a WAV file")
	// ErrUnsupportedWAV: a WAV file in a format we cannot play; the error is
	// a *FormatError with the details.
	ErrUnsupportedWAV = errors.New("media: unsupported WAV format")
	// ErrTooLarge: the audio is larger than the limit given to ReadWAV.
	ErrTooLarge = errors.New("media: audio file too large")
)

// Errors of the relay and the conference room.
var (
	// ErrPacketTooLarge: a payload does not fit in one outgoing packet.
	ErrPacketTooLarge = errors.New("media: packet too large")
	// ErrSameSession: Bridge was given one session for both legs.
	ErrSameSession = errors.New("media: cannot bridge a session to itself")
	// ErrRoomClosed: the conference room was closed.
	ErrRoomClosed = errors.New("media: room closed")
	// ErrStopped is given to a hold's done function when the hold source
	// did not play to its end: it was replaced, the participant was taken
	// off hold or left, or the room closed.
	ErrStopped = errors.New("media: stopped before the end")
)

// Errors of the recorder.
var (
	// ErrAlreadyRecorded: the session is already tapped by a Recorder.
	ErrAlreadyRecorded = errors.New("media: session already being recorded")
	// ErrRecorderStopped: the recorder was stopped.
	ErrRecorderStopped = errors.New("media: recorder stopped")
)
