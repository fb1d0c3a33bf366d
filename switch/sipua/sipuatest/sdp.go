package sipuatest

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// Codec is a static RTP payload type the peer can offer and answer.
type Codec uint8

const (
	// PCMU is G.711 µ-law, payload type 0.
	PCMU Codec = 0
	// PCMA is G.711 A-law, payload type 8.
	PCMA Codec = 8
)

// DefaultTelephoneEventPT is the payload type the peer offers for RFC 4733
// telephone-event.
const DefaultTelephoneEventPT = 101

func (c Codec) String() string {
	switch c {
	case PCMU:
		return "PCMU"
	case PCMA:
		return "PCMA"
	}
	return "PT" + strconv.Itoa(int(c))
}

var errNoCommonCodec = errors.New("sipuatest: no common codec in SDP offer")

// media is what one side's SDP says about its audio stream.
type media struct {
	addr    *net.UDPAddr
	codecs  []uint8 // payload types of the m= line, in order
	eventPT int     // telephone-event payload type, -1 if absent
}

// firstAudio returns the first G.711 codec of m, or false.
func (m media) firstAudio() (Codec, bool) {
	for _, pt := range m.codecs {
		if pt == uint8(PCMU) || pt == uint8(PCMA) {
			return Codec(pt), true
		}
	}
	return 0, false
}

// parseMedia reads the first audio stream of an SDP body.
func parseMedia(body []byte) (media, error) {
	var s sdp.SessionDescription
	if err := s.Unmarshal(body); err != nil {
		return media{}, fmt.Errorf("parse SDP: %w", err)
	}
	for _, md := range s.MediaDescriptions {
		if md.MediaName.Media != "audio" {
			continue
		}
		ci := md.ConnectionInformation
		if ci == nil {
			ci = s.ConnectionInformation
		}
		if ci == nil || ci.Address == nil {
			return media{}, errors.New("parse SDP: audio stream without connection address")
		}
		ip := net.ParseIP(ci.Address.Address)
		if ip == nil {
			return media{}, fmt.Errorf("parse SDP: connection address %q is not an IP", ci.Address.Address)
		}
		m := media{addr: &net.UDPAddr{IP: ip, Port: md.MediaName.Port.Value}, eventPT: -1}
		for _, f := range md.MediaName.Formats {
			pt, err := strconv.Atoi(f)
			if err != nil || pt < 0 || pt > 127 {
				return media{}, fmt.Errorf("parse SDP: bad payload type %q", f)
			}
			m.codecs = append(m.codecs, uint8(pt))
		}
		for _, a := range md.Attributes {
			if a.Key != "rtpmap" {
				continue
			}
			pt, enc, ok := strings.Cut(a.Value, " ")
			if ok && strings.HasPrefix(strings.ToLower(enc), "telephone-event/") {
				if n, err := strconv.Atoi(pt); err == nil {
					m.eventPT = n
				}
			}
		}
		return m, nil
	}
	return media{}, errors.New("parse SDP: no audio stream")
}

// buildSDP writes a session with one audio stream on port offering codecs
// (and telephone-event on eventPT when eventPT >= 0).
func buildSDP(port int, version int, codecs []Codec, eventPT int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=sipuatest 1 %d IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n", version)
	fmt.Fprintf(&b, "m=audio %d RTP/AVP", port)
	for _, c := range codecs {
		fmt.Fprintf(&b, " %d", c)
	}
	if eventPT >= 0 {
		fmt.Fprintf(&b, " %d", eventPT)
	}
	b.WriteString("\r\n")
	for _, c := range codecs {
		fmt.Fprintf(&b, "a=rtpmap:%d %s/8000\r\n", c, c)
	}
	if eventPT >= 0 {
		fmt.Fprintf(&b, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-15\r\n", eventPT, eventPT)
	}
	b.WriteString("a=ptime:20\r\na=sendrecv\r\n")
	return []byte(b.String())
}

// chooseAnswer picks the first codec of prefs that the offer contains; the
// answer keeps the offer's telephone-event payload type.
func chooseAnswer(offer media, prefs []Codec) (Codec, error) {
	for _, want := range prefs {
		for _, pt := range offer.codecs {
			if pt == uint8(want) {
				return want, nil
			}
		}
	}
	return 0, errNoCommonCodec
}
