// Package sdp does the SDP offer/answer exchange (RFC 3264) for the switch's
// anchored audio: it parses offers and answers from peers, picks the codec,
// and writes our own offers and answers.
//
// Only what a G.711 voice switch needs is modelled: one audio stream, its
// connection address and port, the payload formats with their rtpmap, the
// RFC 4733 telephone-event payload type, ptime and the direction attribute.
// Other m-lines (video, a second audio line) are kept just far enough to be
// rejected with port 0 in the answer, as RFC 3264 §6 requires.
//
// Parsing rests on github.com/pion/sdp/v3; this package adds the checks and
// the negotiation rules. All values returned are copies: nothing aliases the
// body that was parsed.
package sdp

import (
	"errors"
	"net/netip"
	"time"
)

// Errors returned by the parsers and by Negotiate. They are wrapped with
// detail; match them with errors.Is.
var (
	// ErrMalformed: the body is not valid SDP (syntax, missing v=/o=/s=,
	// a bad number, an unparsable address).
	ErrMalformed = errors.New("sdp: malformed")
	// ErrNoAudio: the description has no m=audio line.
	ErrNoAudio = errors.New("sdp: no audio stream")
	// ErrAudioDisabled: every m=audio line has port 0 (the stream is refused).
	ErrAudioDisabled = errors.New("sdp: audio stream disabled (port 0)")
	// ErrNoConnection: the audio stream has no c= line, neither at media nor
	// at session level.
	ErrNoConnection = errors.New("sdp: no connection address")
	// ErrUnsupportedTransport: the audio stream is not plain RTP/AVP or
	// RTP/AVPF (for example SRTP's RTP/SAVP).
	ErrUnsupportedTransport = errors.New("sdp: unsupported transport")
	// ErrNoCommonCodec: none of the offered formats is one we support; the
	// switch answers 488 Not Acceptable Here.
	ErrNoCommonCodec = errors.New("sdp: no common codec")
	// ErrUnexpectedCodec: an answer chose a codec we did not offer.
	ErrUnexpectedCodec = errors.New("sdp: answer chose a codec that was not offered")
)

// Direction is the SDP direction attribute of a stream (RFC 3264 §5.1).
// The zero value is DirectionUnknown.
type Direction int

// Directions.
const (
	DirectionUnknown Direction = iota
	SendRecv
	SendOnly
	RecvOnly
	Inactive
)

// String returns the attribute name ("sendrecv", ...), or "unknown".
func (d Direction) String() string {
	switch d {
	case SendRecv:
		return "sendrecv"
	case SendOnly:
		return "sendonly"
	case RecvOnly:
		return "recvonly"
	case Inactive:
		return "inactive"
	default:
		return "unknown"
	}
}

// Reverse returns the direction an answerer uses for an offer of d
// (RFC 3264 §6.1): sendonly ↔ recvonly, sendrecv and inactive stay.
func (d Direction) Reverse() Direction {
	switch d {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	default:
		return d
	}
}

// Sends reports whether the side with direction d sends media.
func (d Direction) Sends() bool { return d == SendRecv || d == SendOnly }

// Receives reports whether the side with direction d receives media.
func (d Direction) Receives() bool { return d == SendRecv || d == RecvOnly }

func parseDirection(s string) Direction {
	switch s {
	case "sendrecv":
		return SendRecv
	case "sendonly":
		return SendOnly
	case "recvonly":
		return RecvOnly
	case "inactive":
		return Inactive
	default:
		return DirectionUnknown
	}
}

// Codec is an audio payload format: its payload type in the description it
// came from, its encoding name as in rtpmap, and its clock rate.
type Codec struct {
	PayloadType uint8
	Name        string // encoding name, e.g. "PCMU"; compared case-insensitively
	ClockRate   uint32
}

// Static payload types and event defaults (RFC 3551, RFC 4733).
const (
	PayloadTypePCMU = 0
	PayloadTypePCMA = 8
	// PayloadTypeEvent is the dynamic payload type we use for
	// telephone-event in our own offers.
	PayloadTypeEvent = 101
	// EventsOffered is the telephone-event fmtp we offer: DTMF 0-9 * # A-D
	// and flash.
	EventsOffered = "0-16"
)

// PCMU returns G.711 µ-law with its static payload type.
func PCMU() Codec { return Codec{PayloadType: PayloadTypePCMU, Name: "PCMU", ClockRate: 8000} }

// PCMA returns G.711 A-law with its static payload type.
func PCMA() Codec { return Codec{PayloadType: PayloadTypePCMA, Name: "PCMA", ClockRate: 8000} }

// DefaultCodecs returns what the switch supports, in its preference order
// (PCMU, then PCMA). A fresh slice each call, so callers may reorder it.
func DefaultCodecs() []Codec { return []Codec{PCMU(), PCMA()} }

// Format is one payload format listed on the audio m-line, in the order the
// peer listed it.
type Format struct {
	PayloadType uint8
	// Name, ClockRate and Channels come from a=rtpmap, or from the static
	// table of RFC 3551 for payload types 0-34 without one. Name is empty
	// for a dynamic payload type without rtpmap.
	Name      string
	ClockRate uint32
	Channels  int
	Fmtp      string // a=fmtp value for this payload type, if any
}

// Description is the part of a peer's offer or answer that the switch uses.
type Description struct {
	// SessionID and SessionVersion come from the o= line; a re-INVITE with
	// the same version carries no change (RFC 3264 §8).
	SessionID      uint64
	SessionVersion uint64
	// Address is the connection address of the audio stream (media-level c=
	// when present, else session-level). 0.0.0.0 means "do not send to me"
	// (RFC 2543 hold); see Negotiate.
	Address netip.Addr
	Port    int
	// Formats lists the audio payload formats in the peer's order,
	// telephone-event included.
	Formats []Format
	// EventPayloadType is the telephone-event/8000 payload type; valid only
	// when HasEvents.
	EventPayloadType uint8
	HasEvents        bool
	EventsFmtp       string // the telephone-event fmtp ("0-15"), if any
	// Ptime is a=ptime (media level, else session level); 0 when absent.
	Ptime time.Duration
	// Direction is the peer's direction attribute for the audio stream,
	// SendRecv when absent.
	Direction Direction

	streams    []stream // every m-line, kept for the answer's rejected lines
	audioIndex int      // index in streams of the audio stream used
}

// Remote returns the address and port the peer wants audio sent to.
func (d Description) Remote() netip.AddrPort { return netip.AddrPortFrom(d.Address, uint16(d.Port)) }

// stream is one m-line as the peer wrote it.
type stream struct {
	media   string
	port    int
	protos  []string
	formats []string
}
