// Package media is the switch's RTP engine: a pool of UDP ports, one Session
// per call leg that terminates RTP on one of them, G.711 audio sources
// (WAV files, tones, silence) and RFC 4733 telephone events.
//
// # Sessions
//
// A Session owns its UDP socket and one read goroutine. The remote address
// comes from SDP (Configure) and is then latched to the source of the first
// valid RTP packet received (symmetric RTP, for peers behind NAT); after
// that, packets from any other source are dropped and counted, until the
// next Configure with a different address re-arms latching.
//
// Sending is paced from a clock: Play sends one 20 ms frame per slot of a
// schedule computed from the start time, so delays do not accumulate. One
// SSRC per session; sequence numbers run on across plays, digits and pauses;
// timestamps follow the wall clock across pauses (a new talkspurt starts at
// the time it is sent, with the marker bit) and step by 160 inside one.
//
// # Digits
//
// Received RFC 4733 events are delivered once per event to the handler given
// with WithDigitHandler, or installed later with SetDigitHandler (the call
// actor replaces it at any time), on the first packet of the event that
// arrives (not on its end), so a caller's key press is seen one packet after
// it starts.
// Repeated end packets and interim updates are ignored; a packet with the
// marker bit and the timestamp of an event that already ended starts a new
// event, which is how a replayed capture (sipp's dtmf pcaps) looks.
// SSRC and sequence numbers of event packets are not checked against the
// audio stream's, since some senders (sipp pcaps) do not match them.
//
// # Mute
//
// SetMuted mutes what the call sends into the conversation, as Restcomm's
// Mute does: received audio is still counted but no longer handed to the
// Consumer (the relay or mixer). Playback to the muted party, digit
// detection and recording go on.
//
// # Connected calls
//
// Bridge relays two sessions to each other (Relay); a Room mixes any
// number of them as a conference. Both take over the sessions' Consumer
// until Stop or Leave and give it back; a session is in at most one of
// them at a time. See README.md for the measured per-packet costs.
//
// # Recording
//
// A Recorder writes what one or more sessions receive, mixed, to an 8 kHz
// mono PCM16 WAV file whose length is the wall-clock time it ran (<Record>
// taps the caller, <Dial record="true"> both legs). Each session has one
// recording tap beside its Consumer slot, so a recording goes on while the
// session is idle, playing, bridged or in a room, and hears it when muted.
// With no tap the receive path pays one atomic load; with one, the read
// goroutine copies the payload into a queue and the recorder's goroutine
// does the rest: it places packets by RTP timestamp (reordering, gaps as
// silence, late and repeated packets dropped), mixes, detects silence
// (WithSilenceTimeout) and writes through a buffer.
//
// # Aliasing and goroutines
//
// The *rtp.Packet handed to a Consumer, and its Payload, alias the session's
// read buffer: they are valid only until ConsumeRTP returns. A consumer that
// keeps a packet, or passes it to another goroutine, must Clone it (or copy
// the payload). Consumers, the recording tap and the digit handler run on
// the read goroutine and must not block.
//
// A Clip returned by DecodeWAV aliases the bytes it was decoded from; they
// must not change while the clip or one of its sources is in use. A Clip is
// immutable and may be shared by any number of sessions; each ClipSource is
// used by one Play at a time.
//
// The send and receive paths allocate nothing per packet: headers are
// unmarshalled into a reused rtp.Packet and written with MarshalTo into a
// buffer the session owns.
package media
