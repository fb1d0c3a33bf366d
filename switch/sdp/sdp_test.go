package sdp

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// crlf turns a readable multi-line literal into an SDP body.
func crlf(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n") }

// sippOffer is the body sipp sends from our uac_waitbye scenario (notes B.4).
var sippOffer = crlf(
	"v=0",
	"o=- 1 1 IN IP4 127.0.0.1",
	"s=-",
	"c=IN IP4 127.0.0.1",
	"t=0 0",
	"m=audio 6000 RTP/AVP 0 8 101",
	"a=rtpmap:0 PCMU/8000",
	"a=rtpmap:8 PCMA/8000",
	"a=rtpmap:101 telephone-event/8000",
	"a=fmtp:101 0-15",
	"a=ptime:20",
)

// baresipOffer is shaped like baresip 1.0's: G.722 first, session-level
// tool attribute, sendrecv, rtcp-rsize, ssrc and a bandwidth line.
var baresipOffer = crlf(
	"v=0",
	"o=- 1865370405 2118502306 IN IP4 127.0.0.1",
	"s=-",
	"c=IN IP4 127.0.0.1",
	"t=0 0",
	"a=tool:baresip 1.0.0",
	"m=audio 20022 RTP/AVP 9 0 8 101",
	"b=AS:64",
	"a=rtpmap:9 G722/8000",
	"a=rtpmap:0 PCMU/8000",
	"a=rtpmap:8 PCMA/8000",
	"a=rtpmap:101 telephone-event/8000",
	"a=fmtp:101 0-15",
	"a=sendrecv",
	"a=label:1",
	"a=ssrc:1263410711 cname:d4a1e7b8-3a9c-4c17-a51e-4b0d3f2e1a22",
	"a=rtcp-rsize",
	"a=ptime:20",
)

func TestParseOffer(t *testing.T) {
	tests := []struct {
		name       string
		body       []byte
		addr       string
		port       int
		pts        []uint8
		eventPT    int // -1: none
		ptime      time.Duration
		dir        Direction
		chosen     string // codec Negotiate picks with DefaultCodecs
		chosenPT   uint8
		answerDir  Direction
		wantErr    error
		wantNegErr error
	}{
		{name: "sipp", body: sippOffer, addr: "127.0.0.1", port: 6000, pts: []uint8{0, 8, 101}, eventPT: 101,
			ptime: 20 * time.Millisecond, dir: SendRecv, chosen: "PCMU", chosenPT: 0, answerDir: SendRecv},
		{name: "baresip G722 first", body: baresipOffer, addr: "127.0.0.1", port: 20022, pts: []uint8{9, 0, 8, 101}, eventPT: 101,
			ptime: 20 * time.Millisecond, dir: SendRecv, chosen: "PCMU", chosenPT: 0, answerDir: SendRecv},
		{name: "offer order wins over ours: PCMA first", body: crlf(
			"v=0", "o=- 5 5 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
			"m=audio 4000 RTP/AVP 8 0", "a=rtpmap:8 PCMA/8000", "a=rtpmap:0 PCMU/8000"),
			addr: "10.0.0.1", port: 4000, pts: []uint8{8, 0}, eventPT: -1, dir: SendRecv, chosen: "PCMA", chosenPT: 8, answerDir: SendRecv},
		{name: "static payload types without rtpmap, no trailing CRLF", body: []byte(
			"v=0\no=- 5 5 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 18 8"),
			addr: "10.0.0.1", port: 4000, pts: []uint8{18, 8}, eventPT: -1, dir: SendRecv, chosen: "PCMA", chosenPT: 8, answerDir: SendRecv},
		{name: "opus and dynamic PCMU, media-level c= wins", body: crlf(
			"v=0", "o=- 5 5 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
			"m=audio 7078 RTP/AVP 96 97 98", "c=IN IP4 192.0.2.9",
			"a=rtpmap:96 opus/48000/2", "a=rtpmap:97 pcmu/8000", "a=rtpmap:98 telephone-event/48000",
			"a=ptime:30", "a=sendonly"),
			addr: "192.0.2.9", port: 7078, pts: []uint8{96, 97, 98}, eventPT: -1, ptime: 30 * time.Millisecond,
			dir: SendOnly, chosen: "PCMU", chosenPT: 97, answerDir: RecvOnly},
		{name: "inactive at session level, IPv6", body: crlf(
			"v=0", "o=- 5 5 IN IP6 ::1", "s=-", "c=IN IP6 ::1", "t=0 0", "a=inactive",
			"m=audio 4000 RTP/AVP 0"),
			addr: "::1", port: 4000, pts: []uint8{0}, eventPT: -1, dir: Inactive, chosen: "PCMU", answerDir: Inactive},
		{name: "recvonly", body: crlf(
			"v=0", "o=- 5 5 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
			"m=audio 4000 RTP/AVP 0", "a=recvonly"),
			addr: "10.0.0.1", port: 4000, pts: []uint8{0}, eventPT: -1, dir: RecvOnly, chosen: "PCMU", answerDir: SendOnly},
		{name: "RFC 2543 hold with 0.0.0.0", body: crlf(
			"v=0", "o=- 5 6 IN IP4 10.0.0.1", "s=-", "c=IN IP4 0.0.0.0", "t=0 0",
			"m=audio 4000 RTP/AVP 0"),
			addr: "0.0.0.0", port: 4000, pts: []uint8{0}, eventPT: -1, dir: SendRecv, chosen: "PCMU", answerDir: RecvOnly},
		{name: "only G729", body: crlf(
			"v=0", "o=- 5 5 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
			"m=audio 4000 RTP/AVP 18 101", "a=rtpmap:18 G729/8000", "a=rtpmap:101 telephone-event/8000"),
			addr: "10.0.0.1", port: 4000, pts: []uint8{18, 101}, eventPT: 101, dir: SendRecv, wantNegErr: ErrNoCommonCodec},
		{name: "stereo PCMU is not ours", body: crlf(
			"v=0", "o=- 5 5 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
			"m=audio 4000 RTP/AVP 96", "a=rtpmap:96 PCMU/8000/2"),
			addr: "10.0.0.1", port: 4000, pts: []uint8{96}, eventPT: -1, dir: SendRecv, wantNegErr: ErrNoCommonCodec},
		{name: "video only", body: crlf(
			"v=0", "o=- 5 5 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
			"m=video 4000 RTP/AVP 96", "a=rtpmap:96 H264/90000"), wantErr: ErrNoAudio},
		{name: "no m-line", body: crlf("v=0", "o=- 5 5 IN IP4 10.0.0.1", "s=-", "t=0 0"), wantErr: ErrNoAudio},
		{name: "audio port 0", body: crlf(
			"v=0", "o=- 5 5 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
			"m=audio 0 RTP/AVP 0"), wantErr: ErrAudioDisabled},
		{name: "SRTP only", body: crlf(
			"v=0", "o=- 5 5 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
			"m=audio 4000 RTP/SAVP 0"), wantErr: ErrUnsupportedTransport},
		{name: "no c= anywhere", body: crlf(
			"v=0", "o=- 5 5 IN IP4 10.0.0.1", "s=-", "t=0 0",
			"m=audio 4000 RTP/AVP 0"), wantErr: ErrNoConnection},
		{name: "host name in c=", body: crlf(
			"v=0", "o=- 5 5 IN IP4 10.0.0.1", "s=-", "c=IN IP4 media.example.com", "t=0 0",
			"m=audio 4000 RTP/AVP 0"), wantErr: ErrMalformed},
		{name: "IP6 address typed IP4", body: crlf(
			"v=0", "o=- 5 5 IN IP4 10.0.0.1", "s=-", "c=IN IP4 ::1", "t=0 0",
			"m=audio 4000 RTP/AVP 0"), wantErr: ErrMalformed},
		{name: "payload type out of range", body: crlf(
			"v=0", "o=- 5 5 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
			"m=audio 4000 RTP/AVP 300"), wantErr: ErrMalformed},
		{name: "bad rtpmap", body: crlf(
			"v=0", "o=- 5 5 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
			"m=audio 4000 RTP/AVP 96", "a=rtpmap:96 PCMU"), wantErr: ErrMalformed},
		{name: "not SDP", body: []byte("hello"), wantErr: ErrMalformed},
		{name: "empty", body: nil, wantErr: ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ParseOffer(tc.body)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("ParseOffer error = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseOffer: %v", err)
			}
			if d.Address != netip.MustParseAddr(tc.addr) || d.Port != tc.port {
				t.Errorf("remote = %v, want %s:%d", d.Remote(), tc.addr, tc.port)
			}
			var pts []uint8
			for _, f := range d.Formats {
				pts = append(pts, f.PayloadType)
			}
			if string(pts) != string(tc.pts) {
				t.Errorf("payload types = %v, want %v", pts, tc.pts)
			}
			if tc.eventPT < 0 && d.HasEvents {
				t.Errorf("telephone-event PT %d found, want none", d.EventPayloadType)
			}
			if tc.eventPT >= 0 && (!d.HasEvents || int(d.EventPayloadType) != tc.eventPT) {
				t.Errorf("telephone-event = %v/%d, want %d", d.HasEvents, d.EventPayloadType, tc.eventPT)
			}
			if d.Ptime != tc.ptime || d.Direction != tc.dir {
				t.Errorf("ptime, dir = %v, %v; want %v, %v", d.Ptime, d.Direction, tc.ptime, tc.dir)
			}
			n, err := Negotiate(d, DefaultCodecs())
			if tc.wantNegErr != nil {
				if !errors.Is(err, tc.wantNegErr) {
					t.Fatalf("Negotiate error = %v, want %v", err, tc.wantNegErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Negotiate: %v", err)
			}
			if n.Codec.Name != tc.chosen || n.Codec.PayloadType != tc.chosenPT || n.Direction != tc.answerDir {
				t.Errorf("negotiated %+v dir %v, want %s/%d dir %v", n.Codec, n.Direction, tc.chosen, tc.chosenPT, tc.answerDir)
			}
		})
	}
}

var local = Local{Address: netip.MustParseAddr("127.0.0.1"), Port: 20000, SessionID: 42, SessionVersion: 7, Username: "patchbay"}

func TestAnswerToSipp(t *testing.T) {
	d, err := ParseOffer(sippOffer)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Negotiate(d, DefaultCodecs())
	if err != nil {
		t.Fatal(err)
	}
	body, err := Answer(local, n)
	if err != nil {
		t.Fatal(err)
	}
	want := string(crlf(
		"v=0",
		"o=patchbay 42 7 IN IP4 127.0.0.1",
		"s=-",
		"c=IN IP4 127.0.0.1",
		"t=0 0",
		"m=audio 20000 RTP/AVP 0 101",
		"a=rtpmap:0 PCMU/8000",
		"a=rtpmap:101 telephone-event/8000",
		"a=fmtp:101 0-15",
		"a=ptime:20",
		"a=sendrecv",
	))
	if string(body) != want {
		t.Errorf("answer:\n%s\nwant:\n%s", body, want)
	}
	// The offerer reads our answer back with its own offered codecs.
	got, err := ParseAnswer(body, []Codec{PCMU(), PCMA()})
	if err != nil {
		t.Fatalf("ParseAnswer(our answer): %v", err)
	}
	if got.Codec != PCMU() || !got.HasEvents || got.EventPayloadType != 101 || got.Remote.Port() != 20000 {
		t.Errorf("ParseAnswer = %+v", got)
	}
}

func TestAnswerDirectionsAndRejectedStreams(t *testing.T) {
	offer := crlf(
		"v=0", "o=- 5 5 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0",
		"m=audio 4000 RTP/AVP 8 101", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-11,16,60-70", "a=sendonly",
		"m=video 4002 RTP/AVP 96", "a=rtpmap:96 H264/90000",
	)
	d, err := ParseOffer(offer)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Negotiate(d, DefaultCodecs())
	if err != nil {
		t.Fatal(err)
	}
	body, err := Answer(local, n)
	if err != nil {
		t.Fatal(err)
	}
	s := string(body)
	for _, want := range []string{
		"m=audio 20000 RTP/AVP 8 101\r\n",
		"a=fmtp:101 0-11,16\r\n",
		"a=recvonly\r\n",
		"m=video 0 RTP/AVP 96\r\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("answer lacks %q:\n%s", want, s)
		}
	}
	if strings.Index(s, "m=audio") > strings.Index(s, "m=video") {
		t.Errorf("m-lines out of the offer's order:\n%s", s)
	}
}

func TestOfferRoundTrip(t *testing.T) {
	body, err := Offer(local, []Codec{PCMA(), PCMU()}, DirectionUnknown)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"m=audio 20000 RTP/AVP 8 0 101\r\n", "a=rtpmap:8 PCMA/8000\r\n", "a=rtpmap:0 PCMU/8000\r\n",
		"a=rtpmap:101 telephone-event/8000\r\n", "a=fmtp:101 0-16\r\n", "a=ptime:20\r\n", "a=sendrecv\r\n",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("offer lacks %q:\n%s", want, body)
		}
	}
	// Our offer parses as an offer, and a peer preferring our order picks PCMA.
	d, err := ParseOffer(body)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Negotiate(d, DefaultCodecs())
	if err != nil {
		t.Fatal(err)
	}
	if n.Codec != PCMA() || n.Events != "0-16" {
		t.Errorf("negotiated %+v events %q", n.Codec, n.Events)
	}
	hold, err := Offer(local, DefaultCodecs(), SendOnly)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(hold), "a=sendonly\r\n") {
		t.Errorf("hold offer lacks sendonly:\n%s", hold)
	}
}

func TestParseAnswer(t *testing.T) {
	offered := DefaultCodecs()
	answer := func(mline string, extra ...string) []byte {
		lines := []string{"v=0", "o=- 9 9 IN IP4 10.0.0.2", "s=-", "c=IN IP4 10.0.0.2", "t=0 0", mline}
		return crlf(append(lines, extra...)...)
	}
	tests := []struct {
		name    string
		body    []byte
		codec   Codec
		events  bool
		dir     Direction
		wantErr error
	}{
		{name: "PCMA with events", body: answer("m=audio 5000 RTP/AVP 8 101", "a=rtpmap:101 telephone-event/8000"),
			codec: PCMA(), events: true, dir: SendRecv},
		{name: "recvonly peer: we only send", body: answer("m=audio 5000 RTP/AVP 0", "a=recvonly"),
			codec: PCMU(), dir: SendOnly},
		{name: "events on another PT are not ours", body: answer("m=audio 5000 RTP/AVP 0 100", "a=rtpmap:100 telephone-event/8000"),
			codec: PCMU(), dir: SendRecv},
		{name: "codec we did not offer", body: answer("m=audio 5000 RTP/AVP 18"), wantErr: ErrUnexpectedCodec},
		{name: "PT 8 renamed", body: answer("m=audio 5000 RTP/AVP 8", "a=rtpmap:8 G729/8000"), wantErr: ErrUnexpectedCodec},
		{name: "only events", body: answer("m=audio 5000 RTP/AVP 101", "a=rtpmap:101 telephone-event/8000"), wantErr: ErrNoCommonCodec},
		{name: "refused", body: answer("m=audio 0 RTP/AVP 0"), wantErr: ErrAudioDisabled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := ParseAnswer(tc.body, offered)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n.Codec != tc.codec || n.HasEvents != tc.events || n.Direction != tc.dir {
				t.Errorf("got %+v events %v dir %v", n.Codec, n.HasEvents, n.Direction)
			}
			if n.Remote != netip.MustParseAddrPort("10.0.0.2:5000") {
				t.Errorf("remote = %v", n.Remote)
			}
		})
	}
}

func TestBuildRejectsBadLocal(t *testing.T) {
	for _, l := range []Local{
		{Port: 20000},
		{Address: netip.IPv4Unspecified(), Port: 20000},
		{Address: netip.MustParseAddr("127.0.0.1"), Port: 0},
		{Address: netip.MustParseAddr("127.0.0.1"), Port: 70000},
	} {
		if _, err := Offer(l, DefaultCodecs(), SendRecv); err == nil {
			t.Errorf("Offer(%+v) succeeded", l)
		}
	}
	if _, err := Answer(local, Negotiated{}); err == nil {
		t.Error("Answer without a negotiated offer succeeded")
	}
}

func TestIntersectEvents(t *testing.T) {
	for in, want := range map[string]string{
		"":             "0-15",
		"0-15":         "0-15",
		"0-16":         "0-16",
		"0-255":        "0-16",
		"1, 3-5,16":    "1,3-5,16",
		"32-40":        "",
		"x,-,7-bogus,": "",
	} {
		if got := intersectEvents(in); got != want {
			t.Errorf("intersectEvents(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseOffer(f *testing.F) {
	f.Add(sippOffer)
	f.Add(baresipOffer)
	f.Add([]byte("v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 1.2.3.4\nt=0 0\nm=audio 1 RTP/AVP 0 8 96\na=rtpmap:96 x/0/0\n"))
	f.Add([]byte("v=0\r\nm=audio 65536 RTP/AVP 0\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := ParseOffer(body)
		if err != nil {
			return
		}
		if d.Port <= 0 || d.Port > 65535 || !d.Address.IsValid() {
			t.Fatalf("accepted offer with remote %v", d.Remote())
		}
		n, err := Negotiate(d, DefaultCodecs())
		if err != nil {
			return
		}
		if _, err := Answer(local, n); err != nil {
			t.Fatalf("Answer of an accepted offer: %v", err)
		}
	})
}
