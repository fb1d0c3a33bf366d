package sipua

import "fmt"

// EventKind says what happened on a leg.
type EventKind int

// Leg events. The zero value is EventUnknown so a forgotten field shows.
const (
	EventUnknown EventKind = iota
	// EventProvisional: an outbound leg got a 1xx (Code 180 or 183).
	EventProvisional
	// EventAnswered: an outbound leg got a 2xx and the ACK was sent; SDP holds the answer.
	EventAnswered
	// EventFailed: an outbound leg got a final non-2xx (Code) or could not be sent (Err).
	EventFailed
	// EventCanceled: an inbound caller sent CANCEL, or our CANCEL of an outbound leg completed.
	EventCanceled
	// EventConfirmed: the ACK for our 2xx to an inbound INVITE arrived.
	EventConfirmed
	// EventAckTimeout: no ACK came for our 2xx; the leg should be hung up.
	EventAckTimeout
	// EventBye: the peer hung up with BYE.
	EventBye
	// EventReInvite: the peer sent a re-INVITE; SDP holds its new offer.
	EventReInvite
	// EventRejected: our final non-2xx to an inbound INVITE was sent.
	EventRejected
	// EventDigit: the peer sent a DTMF key in a SIP INFO (Digit).
	EventDigit
)

var eventNames = [...]string{"unknown", "provisional", "answered", "failed", "canceled", "confirmed", "ack-timeout", "bye", "re-invite", "rejected", "digit"}

func (k EventKind) String() string {
	if int(k) < len(eventNames) {
		return eventNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is what a leg reports to its owner. Events of one leg are delivered
// in the order they happened, from the stack's goroutines: the owner's
// callback must not block (post to a mailbox and return).
type Event struct {
	Kind   EventKind
	Code   int    // SIP status code, where one applies
	Reason string // SIP reason phrase, where one applies
	SDP    []byte // answer (EventAnswered) or new offer (EventReInvite)
	// Headers are the X- headers of the final response (EventAnswered, EventFailed).
	Headers map[string]string
	// Digit is the key of EventDigit: 0-9, *, # or A-D.
	Digit byte
	Err   error
}
