// Package sipuatest provides scriptable SIP peers for end-to-end tests of the
// switch: a Go user agent built on sipgo (Peer) and a runner for sipp
// scenarios (RunSipp, StartSipp).
//
// A Peer places calls (Invite, InviteAsync) and answers them (Answer), and
// records what a real phone would have seen: provisional and final
// responses, the headers of the INVITE or of the final response, BYE and
// CANCEL received, RTP packets per payload type and RFC 4733 digits. Waits
// take a context; nothing in this package sleeps for a fixed time to let
// something happen.
//
// sipgo hands every incoming message to its own goroutine, so messages of
// one dialog can be processed out of order (a 180 after the 200, a BYE
// before the ACK, a CANCEL before its INVITE). The peer does not rely on
// that order: provisional responses are recorded from a copy of the wire
// taken in arrival order, and every in-dialog handler works whatever state
// the call is in.
//
// Everything binds 127.0.0.1 with ports chosen by the kernel, and Close
// (registered with t.Cleanup by NewPeer) stops every goroutine the peer
// started.
package sipuatest
