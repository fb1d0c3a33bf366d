package media

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/pion/rtp"
)

// sink is a loopback socket nobody reads: packets sent to it cost a real
// sendto and are dropped by the kernel once its buffer is full.
func sink(tb testing.TB) netip.AddrPort {
	tb.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// relayPath is leg A of a bridge fed directly through its receive path
// (everything but the recvfrom), leg B sending to a sink.
type relayPath struct {
	legA, legB *Session
	relay      *Relay
	pkt        []byte
	from       netip.AddrPort
}

func newRelayPath(tb testing.TB, a, b leg, pt uint8, payload []byte) *relayPath {
	tb.Helper()
	pool := testPool(tb, 2)
	rp := &relayPath{legA: newTestSession(tb, pool), legB: newTestSession(tb, pool), from: netip.MustParseAddrPort("127.0.0.1:9")}
	if err := rp.legA.Configure(a.params(rp.from)); err != nil {
		tb.Fatal(err)
	}
	if err := rp.legB.Configure(b.params(sink(tb))); err != nil {
		tb.Fatal(err)
	}
	r, err := Bridge(rp.legA, rp.legB)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(r.Stop)
	rp.relay = r
	rp.pkt, err = (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: 1, Timestamp: 160, SSRC: 9},
		Payload: payload}).Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return rp
}

// next receives the packet once more as the following one of its stream.
func (rp *relayPath) next() {
	binary.BigEndian.PutUint16(rp.pkt[2:], binary.BigEndian.Uint16(rp.pkt[2:])+1)
	binary.BigEndian.PutUint32(rp.pkt[4:], binary.BigEndian.Uint32(rp.pkt[4:])+FrameSamples)
	rp.legA.receive(rp.pkt, rp.from)
}

func toneFrame(c Codec) []byte {
	frame := make([]byte, FrameSamples)
	_ = Tone(c, 1000, 8000).ReadFrame(frame)
	return frame
}

func TestRelayDoesNotAllocate(t *testing.T) {
	event := eventPayload{event: 5, duration: 320}.marshalTo(make([]byte, 4))
	for name, rp := range map[string]*relayPath{
		"same codec": newRelayPath(t, leg{codec: PCMU}, leg{codec: PCMU}, 0, toneFrame(PCMU)),
		"transcode":  newRelayPath(t, leg{codec: PCMA}, leg{codec: PCMU}, 8, toneFrame(PCMA)),
		"event":      newRelayPath(t, leg{codec: PCMU, eventPT: 101}, leg{codec: PCMU, eventPT: 96}, 101, event),
	} {
		rp.next() // latch first: latching stores a new peer once
		if n := testing.AllocsPerRun(200, rp.next); n != 0 {
			t.Errorf("%s: %v allocations per packet", name, n)
		}
		if st := rp.relay.Stats().AToB; st.Forwarded < 200 || st.Dropped != 0 {
			t.Errorf("%s: the measured packets were not relayed: %+v", name, st)
		}
	}
}

// BenchmarkRelay is the switch's CPU per relayed packet, from the parsed
// datagram to the sendto (the recvfrom and the scheduler wake-up are not
// in it).
func BenchmarkRelay(b *testing.B) {
	for _, bc := range []struct {
		name string
		a, b leg
		pt   uint8
	}{
		{"PCMU-PCMU", leg{codec: PCMU}, leg{codec: PCMU}, 0},
		{"PCMA-PCMU", leg{codec: PCMA}, leg{codec: PCMU}, 8},
	} {
		b.Run(bc.name, func(b *testing.B) {
			rp := newRelayPath(b, bc.a, bc.b, bc.pt, toneFrame(bc.a.codec))
			rp.next()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rp.next()
			}
		})
	}
}
