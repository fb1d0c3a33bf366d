package media

import (
	"encoding/binary"
	"fmt"
)

// Digit is a DTMF key as a character: '0'-'9', '*', '#', 'A'-'D', or '!'
// for flash (RFC 4733 event 16).
type Digit byte

// String returns the digit as a one-character string.
func (d Digit) String() string { return string(rune(d)) }

const digitEvents = "0123456789*#ABCD!"

// Event returns the RFC 4733 event code of d.
func (d Digit) Event() (uint8, bool) {
	for i := range len(digitEvents) {
		if digitEvents[i] == byte(d) {
			return uint8(i), true
		}
	}
	if d >= 'a' && d <= 'd' {
		return uint8(12 + d - 'a'), true
	}
	return 0, false
}

// DigitForEvent returns the digit of an RFC 4733 event code (0-16).
func DigitForEvent(event uint8) (Digit, bool) {
	if int(event) >= len(digitEvents) {
		return 0, false
	}
	return Digit(digitEvents[event]), true
}

// eventPayload is the 4-byte RFC 4733 payload:
// event (8) | E (1) R (1) volume (6) | duration (16).
type eventPayload struct {
	event    uint8
	end      bool
	volume   uint8
	duration uint16
}

func (e eventPayload) marshalTo(b []byte) []byte {
	b = b[:4]
	b[0] = e.event
	b[1] = e.volume & 0x3F
	if e.end {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], e.duration)
	return b
}

func parseEventPayload(b []byte) (eventPayload, error) {
	if len(b) < 4 {
		return eventPayload{}, fmt.Errorf("media: telephone-event payload of %d bytes", len(b))
	}
	return eventPayload{
		event:    b[0],
		end:      b[1]&0x80 != 0,
		volume:   b[1] & 0x3F,
		duration: binary.BigEndian.Uint16(b[2:]),
	}, nil
}

// eventDetector turns a stream of telephone-event packets into one report
// per event. It is owned by the read goroutine.
type eventDetector struct {
	have      bool
	timestamp uint32
	event     uint8
	ended     bool
}

// observe reports whether the packet starts a new event (the digit is to be
// delivered now). See the package doc for the rules.
func (d *eventDetector) observe(timestamp uint32, marker bool, e eventPayload) bool {
	isNew := !d.have || timestamp != d.timestamp || e.event != d.event ||
		(d.ended && marker && !e.end)
	if isNew {
		d.have, d.timestamp, d.event, d.ended = true, timestamp, e.event, e.end
		return true
	}
	if e.end {
		d.ended = true
	}
	return false
}
