package sipua

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/patchbay/patchbay/switch/media"
)

// DTMF carried in SIP INFO bodies, as many PBXs and phones send it instead
// of (or besides) RFC 4733 events.
const (
	contentDTMFRelay = "application/dtmf-relay" // "Signal=5\r\nDuration=160"
	contentDTMF      = "application/dtmf"       // "5"
)

// onInfo answers an in-dialog INFO. A DTMF body is reported to the leg's
// owner as EventDigit; other bodies are refused with 415 so the peer knows
// to use RFC 4733 instead.
func (s *Stack) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	emit := s.dialogEmitter(req)
	if emit == nil {
		s.respond(req, tx, 481, "Call/Transaction Does Not Exist")
		return
	}
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = strings.ToLower(strings.TrimSpace(strings.Split(h.Value(), ";")[0]))
	}
	var (
		digit byte
		ok    bool
	)
	switch ct {
	case contentDTMFRelay:
		digit, ok = parseDTMFRelay(req.Body())
	case contentDTMF:
		digit, ok = parseDTMFDigit(string(bytes.TrimSpace(req.Body())))
	default:
		s.respond(req, tx, 415, "Unsupported Media Type", sip.NewHeader("Accept", contentDTMFRelay+", "+contentDTMF))
		return
	}
	if !ok {
		s.respond(req, tx, 400, "Bad Request", sip.NewHeader("Warning", `399 patchbay "no DTMF signal in the INFO body"`))
		return
	}
	s.respond(req, tx, 200, "OK")
	emit(Event{Kind: EventDigit, Digit: digit})
}

// dialogEmitter finds the leg an in-dialog request belongs to, or nil.
func (s *Stack) dialogEmitter(req *sip.Request) func(Event) {
	if id, err := sip.DialogIDFromRequestUAS(req); err == nil {
		if v, ok := s.inbound.Load(id); ok {
			return v.(*InboundLeg).emit
		}
	}
	if id, err := sip.DialogIDFromRequestUAC(req); err == nil {
		if v, ok := s.outbound.Load(id); ok {
			return v.(*OutboundLeg).emitDigit
		}
	}
	return nil
}

// parseDTMFRelay reads the Signal line of an application/dtmf-relay body.
func parseDTMFRelay(body []byte) (byte, bool) {
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		name, value, found := strings.Cut(sc.Text(), "=")
		if found && strings.EqualFold(strings.TrimSpace(name), "signal") {
			return parseDTMFDigit(strings.TrimSpace(value))
		}
	}
	return 0, false
}

// parseDTMFDigit accepts a key (0-9, *, #, A-D) or its RFC 4733 event code
// (10 is *, 11 is #, 12-15 are A-D), which some phones send instead; flash
// (event 16) is not a key.
func parseDTMFDigit(v string) (byte, bool) {
	event := -1
	if len(v) == 1 {
		if ev, ok := media.Digit(v[0]).Event(); ok {
			event = int(ev)
		}
	} else if n, err := strconv.Atoi(v); err == nil && n >= 10 {
		event = n
	}
	if event < 0 || event > 15 {
		return 0, false
	}
	d, _ := media.DigitForEvent(uint8(event))
	return byte(d), true
}
