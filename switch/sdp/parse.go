package sdp

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	pionsdp "github.com/pion/sdp/v3"
)

// ParseOffer parses a peer's offer. It fails with ErrMalformed, ErrNoAudio,
// ErrAudioDisabled, ErrUnsupportedTransport or ErrNoConnection (wrapped).
//
// The audio stream used is the first m=audio line with a non-zero port and
// an RTP/AVP or RTP/AVPF transport.
func ParseOffer(body []byte) (Description, error) {
	d, err := parse(body)
	if err != nil {
		return Description{}, fmt.Errorf("parse offer: %w", err)
	}
	return d, nil
}

func parse(body []byte) (Description, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return Description{}, fmt.Errorf("%w: empty body", ErrMalformed)
	}
	if last := body[len(body)-1]; last != '\n' {
		// Some peers omit the final line break; pion's lexer wants it.
		body = append(body[:len(body):len(body)], '\r', '\n')
	}
	var sd pionsdp.SessionDescription
	if err := sd.Unmarshal(body); err != nil {
		return Description{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	d := Description{
		SessionID:      sd.Origin.SessionID,
		SessionVersion: sd.Origin.SessionVersion,
		audioIndex:     -1,
	}
	sawAudio, sawBadTransport := false, false
	for i, md := range sd.MediaDescriptions {
		st := stream{
			media:   md.MediaName.Media,
			port:    md.MediaName.Port.Value,
			protos:  append([]string(nil), md.MediaName.Protos...),
			formats: append([]string(nil), md.MediaName.Formats...),
		}
		if st.port < 0 || st.port > 65535 {
			return Description{}, fmt.Errorf("%w: m=%s port %d out of range", ErrMalformed, st.media, st.port)
		}
		d.streams = append(d.streams, st)
		if st.media != "audio" || d.audioIndex >= 0 {
			continue
		}
		sawAudio = true
		if st.port == 0 {
			continue
		}
		if !supportedTransport(st.protos) {
			sawBadTransport = true
			continue
		}
		d.audioIndex = i
	}
	switch {
	case d.audioIndex >= 0:
	case sawBadTransport:
		return Description{}, fmt.Errorf("%w: audio is not RTP/AVP", ErrUnsupportedTransport)
	case sawAudio:
		return Description{}, ErrAudioDisabled
	default:
		return Description{}, ErrNoAudio
	}

	md := sd.MediaDescriptions[d.audioIndex]
	addr, err := connectionAddress(md.ConnectionInformation, sd.ConnectionInformation)
	if err != nil {
		return Description{}, err
	}
	d.Address = addr
	d.Port = md.MediaName.Port.Value

	if err := d.parseFormats(md); err != nil {
		return Description{}, err
	}
	d.Ptime = parsePtime(md, &sd)
	d.Direction = streamDirection(md, &sd)
	return d, nil
}

func supportedTransport(protos []string) bool {
	p := strings.ToUpper(strings.Join(protos, "/"))
	return p == "RTP/AVP" || p == "RTP/AVPF"
}

func connectionAddress(media, session *pionsdp.ConnectionInformation) (netip.Addr, error) {
	ci := media
	if ci == nil {
		ci = session
	}
	if ci == nil || ci.Address == nil {
		return netip.Addr{}, ErrNoConnection
	}
	if ci.NetworkType != "IN" {
		return netip.Addr{}, fmt.Errorf("%w: network type %q", ErrMalformed, ci.NetworkType)
	}
	addr, err := netip.ParseAddr(ci.Address.Address)
	if err != nil {
		// A host name is legal SDP but would need DNS on the call path; no
		// SIP peer we know sends one.
		return netip.Addr{}, fmt.Errorf("%w: connection address %q is not an IP address", ErrMalformed, ci.Address.Address)
	}
	switch {
	case ci.AddressType == "IP4" && addr.Is4():
	case ci.AddressType == "IP6" && addr.Is6() && !addr.Is4In6():
	default:
		return netip.Addr{}, fmt.Errorf("%w: address %q is not of type %q", ErrMalformed, ci.Address.Address, ci.AddressType)
	}
	return addr, nil
}

func (d *Description) parseFormats(md *pionsdp.MediaDescription) error {
	rtpmaps := map[uint8]string{}
	fmtps := map[uint8]string{}
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" && a.Key != "fmtp" {
			continue
		}
		ptText, rest, _ := strings.Cut(a.Value, " ")
		pt, err := parsePayloadType(ptText)
		if err != nil {
			return fmt.Errorf("a=%s:%s: %w", a.Key, a.Value, err)
		}
		if a.Key == "rtpmap" {
			rtpmaps[pt] = strings.TrimSpace(rest)
		} else {
			fmtps[pt] = strings.TrimSpace(rest)
		}
	}
	for _, text := range md.MediaName.Formats {
		pt, err := parsePayloadType(text)
		if err != nil {
			return fmt.Errorf("m=audio format: %w", err)
		}
		f := Format{PayloadType: pt, Fmtp: fmtps[pt]}
		if m, ok := rtpmaps[pt]; ok {
			if err := f.parseRtpmap(m); err != nil {
				return err
			}
		} else {
			f.Name, f.ClockRate, f.Channels = staticFormat(pt)
		}
		d.Formats = append(d.Formats, f)
		if !d.HasEvents && strings.EqualFold(f.Name, "telephone-event") && f.ClockRate == 8000 {
			d.HasEvents = true
			d.EventPayloadType = pt
			d.EventsFmtp = f.Fmtp
		}
	}
	return nil
}

func parsePayloadType(s string) (uint8, error) {
	n, err := strconv.ParseUint(s, 10, 8)
	if err != nil || n > 127 {
		return 0, fmt.Errorf("%w: payload type %q", ErrMalformed, s)
	}
	return uint8(n), nil
}

// parseRtpmap reads "<encoding name>/<clock rate>[/<channels>]".
func (f *Format) parseRtpmap(v string) error {
	parts := strings.Split(v, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" {
		return fmt.Errorf("%w: rtpmap %q", ErrMalformed, v)
	}
	rate, err := strconv.ParseUint(parts[1], 10, 32)
	if err != nil || rate == 0 {
		return fmt.Errorf("%w: rtpmap clock rate %q", ErrMalformed, v)
	}
	f.Name, f.ClockRate, f.Channels = parts[0], uint32(rate), 1
	if len(parts) == 3 {
		ch, err := strconv.Atoi(parts[2])
		if err != nil || ch < 1 {
			return fmt.Errorf("%w: rtpmap channels %q", ErrMalformed, v)
		}
		f.Channels = ch
	}
	return nil
}

// staticFormat gives the RFC 3551 audio formats a peer may list without an
// rtpmap line.
func staticFormat(pt uint8) (name string, rate uint32, channels int) {
	switch pt {
	case 0:
		return "PCMU", 8000, 1
	case 3:
		return "GSM", 8000, 1
	case 4:
		return "G723", 8000, 1
	case 8:
		return "PCMA", 8000, 1
	case 9:
		return "G722", 8000, 1
	case 13:
		return "CN", 8000, 1
	case 18:
		return "G729", 8000, 1
	default:
		return "", 0, 0
	}
}

// parsePtime reads a=ptime in milliseconds (decimals are seen in the wild);
// a value that does not parse is ignored rather than failing the call.
func parsePtime(md *pionsdp.MediaDescription, sd *pionsdp.SessionDescription) time.Duration {
	v, ok := md.Attribute("ptime")
	if !ok {
		v, ok = sd.Attribute("ptime")
	}
	if !ok {
		return 0
	}
	ms, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || ms <= 0 || ms > 1000 {
		return 0
	}
	return time.Duration(ms * float64(time.Millisecond))
}

func streamDirection(md *pionsdp.MediaDescription, sd *pionsdp.SessionDescription) Direction {
	for _, a := range md.Attributes {
		if dir := parseDirection(a.Key); dir != DirectionUnknown {
			return dir
		}
	}
	for _, a := range sd.Attributes {
		if dir := parseDirection(a.Key); dir != DirectionUnknown {
			return dir
		}
	}
	return SendRecv
}
