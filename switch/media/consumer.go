package media

import "github.com/pion/rtp"

// Consumer receives the RTP packets a Session accepts: audio of the
// negotiated payload type (unless muted) and telephone events. It is the
// plug-in point for the relay and the mixer; a Recorder taps the session
// beside it and does not take the slot.
//
// ConsumeRTP runs on the session's read goroutine: it must not block, and
// pkt (with its Payload) is valid only until it returns; Clone it to keep it.
type Consumer interface {
	ConsumeRTP(pkt *rtp.Packet)
}

// ConsumerFunc adapts a function to Consumer.
type ConsumerFunc func(pkt *rtp.Packet)

// ConsumeRTP calls f(pkt).
func (f ConsumerFunc) ConsumeRTP(pkt *rtp.Packet) { f(pkt) }

// NoOpConsumer drops every packet; embed it to implement only what you need.
type NoOpConsumer struct{}

// ConsumeRTP does nothing.
func (NoOpConsumer) ConsumeRTP(*rtp.Packet) {}

// Chain hands each packet to every consumer in order.
type Chain []Consumer

// ConsumeRTP calls each consumer of the chain with pkt.
func (c Chain) ConsumeRTP(pkt *rtp.Packet) {
	for _, next := range c {
		next.ConsumeRTP(pkt)
	}
}

// Interface guards.
var (
	_ Consumer = ConsumerFunc(nil)
	_ Consumer = NoOpConsumer{}
	_ Consumer = Chain(nil)
)
