package media

import (
	"sync"

	"github.com/pion/rtp"
)

// recordLeg is one session a Recorder records. Its tap runs on the
// session's read goroutine and only copies the packet into a small queue;
// the recorder's clock goroutine drains the queue into the leg's playout
// timeline, where decoding, reordering and gap filling happen.
type recordLeg struct {
	session *Session

	// mu guards the queue; the tap and drain each hold it for a copy.
	mu       sync.Mutex
	detached bool // set by the recorder's Stop: the tap queues nothing more
	bytes    [recordQueueBytes]byte
	br, bw   uint64 // payload bytes drained and queued so far
	pkts     [recordQueuePackets]queuedPacket
	pr, pw   uint64 // packets drained and queued so far
	overflow uint64 // packets dropped because the queue was full

	play playout // owned by the clock goroutine
}

// The tap queue holds what arrives between two ticks of the recorder's
// clock, normally one packet, with room for a stall of the clock
// goroutine of half a second of 20 ms G.711 packets.
const (
	recordQueueBytes   = 4096 // a power of two, above maxPacket
	recordQueuePackets = 32   // a power of two
)

// queuedPacket locates one queued payload in recordLeg.bytes.
type queuedPacket struct {
	ssrc, ts uint32
	seq      uint16
	n        uint16
	codec    Codec
}

// tapAudio queues an audio packet received by the session; it runs on the
// read goroutine, never blocks on I/O and allocates nothing.
func (l *recordLeg) tapAudio(pkt *rtp.Packet, c Codec) {
	n := len(pkt.Payload)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.detached || n == 0 {
		return
	}
	if l.pw-l.pr == recordQueuePackets || l.bw-l.br+uint64(n) > recordQueueBytes {
		l.overflow++
		return
	}
	k := copy(l.bytes[l.bw&(recordQueueBytes-1):], pkt.Payload)
	copy(l.bytes[:], pkt.Payload[k:])
	l.pkts[l.pw&(recordQueuePackets-1)] = queuedPacket{
		ssrc: pkt.SSRC, ts: pkt.Timestamp, seq: pkt.SequenceNumber, n: uint16(n), codec: c,
	}
	l.pw++
	l.bw += uint64(n)
}

// drain moves the queued packets into the playout timeline, using scratch
// to unwrap payloads. Only the clock goroutine calls it.
func (l *recordLeg) drain(scratch *[maxPacket]byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for ; l.pr < l.pw; l.pr++ {
		p := l.pkts[l.pr&(recordQueuePackets-1)]
		b := scratch[:p.n]
		k := copy(b, l.bytes[l.br&(recordQueueBytes-1):])
		copy(b[k:], l.bytes[:])
		l.br += uint64(p.n)
		l.play.put(p, b)
	}
}

// detach stops the tap: once it returns nothing more is queued, even by a
// tap that loaded the leg just before it was removed from the session.
func (l *recordLeg) detach() {
	l.session.tap.CompareAndSwap(l, nil)
	l.mu.Lock()
	l.detached = true
	l.mu.Unlock()
}

// playout places one leg's received audio on the recorder's clock by RTP
// timestamp, so packets reordered in the network land where they belong,
// a missing packet leaves silence, and every tick takes exactly one frame
// whatever arrived.
//
// Sample position = RTP timestamp + offset. The offset is set when the
// first packet of an SSRC arrives so that it plays playoutCushion after the
// current playout point, and set again (a resync) when the newest packet
// falls behind the playout point (the sender's clock is slower than ours,
// or the network held packets back) or too far ahead of it (faster clock,
// or a timestamp jump). Positions not written play as silence.
type playout struct {
	buf    [playoutCap]int16 // positions play .. play+playoutCap-1
	play   uint32            // position of the next frame to take
	offset uint32
	synced bool
	ssrc   uint32
	seq    uint16 // highest sequence number seen from ssrc

	late, dups, resyncs uint64
}

const (
	playoutCap = 4096 // samples (512 ms), a power of two, above maxPacket plus the cushion
	// playoutCushion matches the room's jitter queue start: enough for the
	// phase between arrivals and ticks plus some jitter.
	playoutCushion = 2 * FrameSamples
	// playoutMaxMisorder is how far back a sequence number may be and
	// still count as a reordered packet (RFC 3550 A.1's MAX_MISORDER).
	playoutMaxMisorder = 100
)

// put decodes payload (p.n bytes in p.codec) into the timeline.
func (pl *playout) put(p queuedPacket, payload []byte) {
	n := int32(len(payload))
	switch d := int16(p.seq - pl.seq); {
	case !pl.synced || p.ssrc != pl.ssrc || d < -playoutMaxMisorder:
		// A new stream, or one that restarted its sequence numbers.
		pl.resync(p)
	case d == 0:
		pl.dups++
		return
	case d > 0:
		pl.seq = p.seq
		if rel := int32(p.ts + pl.offset - pl.play); rel < 0 || rel+n > playoutCap {
			pl.resync(p)
		}
	}
	rel := int32(p.ts + pl.offset - pl.play)
	if rel+n <= 0 || rel >= playoutCap {
		pl.late++ // a reordered packet whose time has passed
		return
	}
	// A late packet's first samples, or an old one reaching past the end,
	// are cut off.
	lo, hi := max(0, -rel), min(n, playoutCap-rel)
	for i := lo; i < hi; i++ {
		pl.buf[(pl.play+uint32(rel+i))&(playoutCap-1)] = p.codec.decode(payload[i])
	}
}

// resync maps p's timestamp to playoutCushion ahead of the playout point.
// What is already placed within the cushion stays (it comes first in
// time); anything further ahead came from the old mapping and is dropped
// so that it cannot play out of order later.
func (pl *playout) resync(p queuedPacket) {
	for i := uint32(playoutCushion); i < playoutCap; i++ {
		pl.buf[(pl.play+i)&(playoutCap-1)] = 0
	}
	pl.synced, pl.ssrc, pl.seq = true, p.ssrc, p.seq
	pl.offset = pl.play + playoutCushion - p.ts
	pl.resyncs++
}

// addFrame adds the next frame to sum and moves the playout point past it,
// clearing the samples taken so that unwritten positions stay silent.
func (pl *playout) addFrame(sum *[FrameSamples]int32) {
	for i := range sum {
		j := (pl.play + uint32(i)) & (playoutCap - 1)
		sum[i] += int32(pl.buf[j])
		pl.buf[j] = 0
	}
	pl.play += FrameSamples
}
