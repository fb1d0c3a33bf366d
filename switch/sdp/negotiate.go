package sdp

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Negotiated is the outcome of an offer/answer exchange, from our side.
type Negotiated struct {
	// Codec is the chosen audio codec, with the payload type as the offer
	// numbered it (both directions use the offerer's numbers).
	Codec Codec
	// EventPayloadType is the agreed telephone-event payload type; valid only
	// when HasEvents.
	EventPayloadType uint8
	HasEvents        bool
	// Events is the telephone-event fmtp both sides support ("0-15").
	Events string
	// Remote is where to send RTP (before symmetric-RTP latching).
	Remote netip.AddrPort
	// Direction is our direction: whether we send and/or receive.
	Direction Direction
	// Ptime is the packet time the peer asked for (0 if it did not say). We
	// send 20 ms packets regardless; ptime is a receiver preference.
	Ptime time.Duration

	offer Description // the offer being answered; zero for ParseAnswer
}

// Negotiate chooses the codec for an offer: the first payload format in the
// offer's order that is in supported (matched by encoding name and clock
// rate). It keeps the offer's telephone-event payload type if there is one.
// It returns ErrNoCommonCodec when nothing matches.
//
// An offer whose connection address is unspecified (0.0.0.0, the RFC 2543
// way of putting a call on hold) is treated as sendonly, or inactive if it
// said recvonly, since we may not send to it.
func Negotiate(offer Description, supported []Codec) (Negotiated, error) {
	n := Negotiated{
		Remote:           offer.Remote(),
		Ptime:            offer.Ptime,
		HasEvents:        offer.HasEvents,
		EventPayloadType: offer.EventPayloadType,
		offer:            offer,
	}
	found := false
	for _, f := range offer.Formats {
		if c, ok := match(f, supported); ok {
			n.Codec = c
			found = true
			break
		}
	}
	if !found {
		return Negotiated{}, fmt.Errorf("%w: offered %s", ErrNoCommonCodec, formatList(offer.Formats))
	}
	if n.HasEvents {
		n.Events = intersectEvents(offer.EventsFmtp)
		if n.Events == "" {
			n.HasEvents = false
		}
	}
	peer := offer.Direction
	if offer.Address.IsUnspecified() {
		switch peer {
		case SendRecv:
			peer = SendOnly
		case RecvOnly:
			peer = Inactive
		}
	}
	n.Direction = peer.Reverse()
	return n, nil
}

func match(f Format, supported []Codec) (Codec, bool) {
	if f.Name == "" {
		return Codec{}, false
	}
	for _, c := range supported {
		if strings.EqualFold(f.Name, c.Name) && f.ClockRate == c.ClockRate && f.Channels <= 1 {
			return Codec{PayloadType: f.PayloadType, Name: c.Name, ClockRate: c.ClockRate}, true
		}
	}
	return Codec{}, false
}

func formatList(fs []Format) string {
	names := make([]string, 0, len(fs))
	for _, f := range fs {
		name := f.Name
		if name == "" {
			name = "?"
		}
		names = append(names, strconv.Itoa(int(f.PayloadType))+" "+name)
	}
	return "[" + strings.Join(names, ", ") + "]"
}

// ParseAnswer parses the peer's answer to an offer we made with offered
// codecs (and telephone-event PayloadTypeEvent). The chosen codec is the
// first non-event format of the answer; it must be one we offered, with the
// same payload type, or ParseAnswer fails with ErrUnexpectedCodec.
func ParseAnswer(body []byte, offered []Codec) (Negotiated, error) {
	d, err := parse(body)
	if err != nil {
		return Negotiated{}, fmt.Errorf("parse answer: %w", err)
	}
	n := Negotiated{Remote: d.Remote(), Ptime: d.Ptime}
	found := false
	for _, f := range d.Formats {
		if d.HasEvents && f.PayloadType == d.EventPayloadType {
			continue
		}
		for _, c := range offered {
			if c.PayloadType == f.PayloadType && (f.Name == "" || strings.EqualFold(f.Name, c.Name)) {
				n.Codec = c
				found = true
			}
		}
		if !found {
			return Negotiated{}, fmt.Errorf("parse answer: %w: %d %s", ErrUnexpectedCodec, f.PayloadType, f.Name)
		}
		break
	}
	if !found {
		return Negotiated{}, fmt.Errorf("parse answer: %w: answer has no audio codec", ErrNoCommonCodec)
	}
	if d.HasEvents && d.EventPayloadType == PayloadTypeEvent {
		n.HasEvents = true
		n.EventPayloadType = PayloadTypeEvent
		n.Events = intersectEvents(d.EventsFmtp)
	}
	peer := d.Direction
	if d.Address.IsUnspecified() && peer != Inactive {
		peer = Inactive
	}
	n.Direction = peer.Reverse()
	return n, nil
}

// maxEvent is the highest RFC 4733 event we handle: 16, flash.
const maxEvent = 16

// intersectEvents returns the events of fmtp (e.g. "0-15,66") that we also
// support, as a range list. An empty fmtp means 0-15 (RFC 4733 §7.1.1).
// It returns "" when nothing is shared.
func intersectEvents(fmtp string) string {
	if strings.TrimSpace(fmtp) == "" {
		fmtp = "0-15"
	}
	var have [maxEvent + 1]bool
	for _, part := range strings.Split(fmtp, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				continue
			}
		}
		for e := max(a, 0); e <= min(b, maxEvent); e++ {
			have[e] = true
		}
	}
	var out []string
	for e := 0; e <= maxEvent; e++ {
		if !have[e] {
			continue
		}
		end := e
		for end+1 <= maxEvent && have[end+1] {
			end++
		}
		if end == e {
			out = append(out, strconv.Itoa(e))
		} else {
			out = append(out, strconv.Itoa(e)+"-"+strconv.Itoa(end))
		}
		e = end
	}
	return strings.Join(out, ",")
}
