package sdp

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	pionsdp "github.com/pion/sdp/v3"
)

// Local describes our end of the audio stream for Offer and Answer.
type Local struct {
	// Address is the media IP written in c= and o=. It must be a concrete
	// address peers can reach, not 0.0.0.0.
	Address netip.Addr
	// Port is the RTP port from the switch's pool.
	Port int
	// SessionID and SessionVersion go into o=; keep the id for the call and
	// increment the version on every new offer or answer that changes
	// something (RFC 3264 §8).
	SessionID      uint64
	SessionVersion uint64
	// Username for o=; "-" when empty.
	Username string
}

// ptimeMs is the packet time the media engine sends.
const ptimeMs = 20

func (l Local) check() error {
	if !l.Address.IsValid() || l.Address.IsUnspecified() {
		return errors.New("sdp: local media address must be a concrete IP address")
	}
	if l.Port <= 0 || l.Port > 65535 {
		return fmt.Errorf("sdp: local media port %d out of range", l.Port)
	}
	return nil
}

// Offer writes our offer: the codecs in the given preference order, then
// telephone-event PayloadTypeEvent with fmtp EventsOffered, ptime 20 and
// the direction dir (SendRecv when DirectionUnknown; SendOnly puts the
// peer on hold).
func Offer(local Local, codecs []Codec, dir Direction) ([]byte, error) {
	if err := local.check(); err != nil {
		return nil, err
	}
	if len(codecs) == 0 {
		return nil, errors.New("sdp: offer needs at least one codec")
	}
	if dir == DirectionUnknown {
		dir = SendRecv
	}
	sd := session(local)
	sd.MediaDescriptions = []*pionsdp.MediaDescription{
		audio(local.Port, []string{"RTP", "AVP"}, codecs, true, PayloadTypeEvent, EventsOffered, dir),
	}
	return marshal(sd)
}

// Answer writes our answer to the offer that n was negotiated from. The
// audio line carries the chosen codec and the telephone-event payload type
// if agreed; every other m-line of the offer is refused with port 0.
func Answer(local Local, n Negotiated) ([]byte, error) {
	if err := local.check(); err != nil {
		return nil, err
	}
	if n.offer.audioIndex < 0 || n.offer.audioIndex >= len(n.offer.streams) {
		return nil, errors.New("sdp: answer needs a Negotiated from Negotiate")
	}
	sd := session(local)
	for i, st := range n.offer.streams {
		if i == n.offer.audioIndex {
			sd.MediaDescriptions = append(sd.MediaDescriptions,
				audio(local.Port, st.protos, []Codec{n.Codec}, n.HasEvents, n.EventPayloadType, n.Events, n.Direction))
			continue
		}
		formats := st.formats
		if len(formats) == 0 {
			formats = []string{"0"}
		}
		sd.MediaDescriptions = append(sd.MediaDescriptions, &pionsdp.MediaDescription{
			MediaName: pionsdp.MediaName{
				Media:   st.media,
				Port:    pionsdp.RangedPort{Value: 0},
				Protos:  st.protos,
				Formats: formats,
			},
		})
	}
	return marshal(sd)
}

func session(local Local) *pionsdp.SessionDescription {
	user := local.Username
	if user == "" {
		user = "-"
	}
	addrType := "IP4"
	if local.Address.Is6() && !local.Address.Is4In6() {
		addrType = "IP6"
	}
	addr := local.Address.Unmap().String()
	return &pionsdp.SessionDescription{
		Origin: pionsdp.Origin{
			Username:       user,
			SessionID:      local.SessionID,
			SessionVersion: local.SessionVersion,
			NetworkType:    "IN",
			AddressType:    addrType,
			UnicastAddress: addr,
		},
		SessionName: "-",
		ConnectionInformation: &pionsdp.ConnectionInformation{
			NetworkType: "IN",
			AddressType: addrType,
			Address:     &pionsdp.Address{Address: addr},
		},
		TimeDescriptions: []pionsdp.TimeDescription{{}},
	}
}

func audio(port int, protos []string, codecs []Codec, events bool, eventPT uint8, eventsFmtp string, dir Direction) *pionsdp.MediaDescription {
	md := &pionsdp.MediaDescription{
		MediaName: pionsdp.MediaName{
			Media:  "audio",
			Port:   pionsdp.RangedPort{Value: port},
			Protos: protos,
		},
	}
	for _, c := range codecs {
		pt := strconv.Itoa(int(c.PayloadType))
		md.MediaName.Formats = append(md.MediaName.Formats, pt)
		md.Attributes = append(md.Attributes,
			pionsdp.NewAttribute("rtpmap", pt+" "+c.Name+"/"+strconv.FormatUint(uint64(c.ClockRate), 10)))
	}
	if events {
		pt := strconv.Itoa(int(eventPT))
		md.MediaName.Formats = append(md.MediaName.Formats, pt)
		md.Attributes = append(md.Attributes,
			pionsdp.NewAttribute("rtpmap", pt+" telephone-event/8000"),
			pionsdp.NewAttribute("fmtp", pt+" "+eventsFmtp))
	}
	md.Attributes = append(md.Attributes,
		pionsdp.NewAttribute("ptime", strconv.Itoa(ptimeMs)),
		pionsdp.NewPropertyAttribute(dir.String()))
	return md
}

func marshal(sd *pionsdp.SessionDescription) ([]byte, error) {
	b, err := sd.Marshal()
	if err != nil {
		return nil, fmt.Errorf("sdp: marshal: %w", err)
	}
	return b, nil
}
