package media

// pcmQueue is a conference participant's short jitter queue: decoded
// samples in arrival order, pushed by the session's read goroutine and
// taken one 20 ms frame per room tick. It is sample-based, so senders with
// 30 ms packets (sipp's pcaps) mix like 20 ms ones. The owner serialises
// access.
//
// Playout starts (and restarts after running dry) once queueStart samples
// are waiting, which absorbs the phase between packet arrivals and the
// room's clock plus some jitter. When more than queueMax wait (a burst
// after a stall, or a sender clock faster than ours) the oldest are dropped
// down to queueStart, so latency stays bounded.
type pcmQueue struct {
	buf     [queueCap]int16
	r, w    uint64 // samples taken and pushed so far; w-r are waiting
	playing bool

	have bool // ssrc and seq are set
	ssrc uint32
	seq  uint16
}

const (
	queueCap   = 2048 // a power of two, above queueMax plus one packet
	queueStart = 2 * FrameSamples
	queueMax   = 6 * FrameSamples
)

// push appends payload, encoded in c. A packet older than or equal to the
// last one pushed from the same SSRC (late or repeated) is dropped.
func (q *pcmQueue) push(ssrc uint32, seq uint16, payload []byte, c Codec) {
	if q.have && ssrc == q.ssrc && int16(seq-q.seq) <= 0 {
		return
	}
	q.have, q.ssrc, q.seq = true, ssrc, seq
	if len(payload) > queueMax {
		payload = payload[len(payload)-queueMax:]
	}
	for _, b := range payload {
		q.buf[q.w&(queueCap-1)] = c.decode(b)
		q.w++
	}
	if q.w-q.r > queueMax {
		q.r = q.w - queueStart
	}
}

// pop fills dst with the next frame and reports whether there was one.
func (q *pcmQueue) pop(dst *[FrameSamples]int16) bool {
	depth := q.w - q.r
	if !q.playing {
		if depth < queueStart {
			return false
		}
		q.playing = true
	}
	if depth < FrameSamples {
		q.playing = false // ran dry: rebuild the cushion before playing on
		return false
	}
	for i := range dst {
		dst[i] = q.buf[q.r&(queueCap-1)]
		q.r++
	}
	return true
}

// reset drops what is waiting.
func (q *pcmQueue) reset() {
	q.r = q.w
	q.playing = false
}
