package sipuatest

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// answeredCall places a call from a to b (which must answer) and returns
// both ends once the callee has the ACK.
func answeredCall(t *testing.T, a, b *Peer, o InviteOptions) (out, in *Call) {
	t.Helper()
	ctx := testCtx(t)
	out, err := a.Invite(ctx, b.URI("+15551234"), o)
	if err != nil {
		t.Fatalf("Invite: %v", err)
	}
	if got := out.FinalCode(); got != 200 {
		t.Fatalf("final = %d, want 200", got)
	}
	in, err = b.WaitIncoming(ctx)
	if err != nil {
		t.Fatalf("WaitIncoming: %v", err)
	}
	if err := in.WaitAck(ctx); err != nil {
		t.Fatalf("WaitAck: %v", err)
	}
	return out, in
}

func TestCallAnsweredWithHeadersRTPDTMFAndCallerBye(t *testing.T) {
	a, b := NewPeer(t, WithUser("alice")), NewPeer(t, WithUser("bob"))
	b.Answer(Always(Reply{Ringing: true, Delay: 20 * time.Millisecond,
		Headers: map[string]string{"X-RestComm-CallSid": "CA0123456789abcdef0123456789abcdef"}}))
	out, in := answeredCall(t, a, b, InviteOptions{Headers: map[string]string{"X-Custom": "yes"}})
	ctx := testCtx(t)

	if !slices.Contains(out.Provisionals(), 180) {
		t.Errorf("provisionals = %v, want 180 among them", out.Provisionals())
	}
	if got := out.Header("x-restcomm-callsid"); got != "CA0123456789abcdef0123456789abcdef" {
		t.Errorf("CallSid header on 200 = %q", got)
	}
	if got := in.Header("X-Custom"); got != "yes" {
		t.Errorf("X-Custom on INVITE = %q", got)
	}
	if !strings.Contains(in.RequestURI(), "+15551234@") {
		t.Errorf("Request-URI = %q", in.RequestURI())
	}
	if !strings.Contains(in.Header("From"), "alice") {
		t.Errorf("From = %q", in.Header("From"))
	}
	if out.Codec() != PCMU || in.Codec() != PCMU {
		t.Errorf("codecs = %v/%v, want PCMU", out.Codec(), in.Codec())
	}

	// Audio both ways.
	if err := out.SendTone(ctx, 1000, 200*time.Millisecond); err != nil {
		t.Fatalf("caller SendTone: %v", err)
	}
	if err := in.WaitRTP(ctx, 0, 10); err != nil {
		t.Fatalf("callee RTP: %v", err)
	}
	if err := in.SendTone(ctx, 440, 100*time.Millisecond); err != nil {
		t.Fatalf("callee SendTone: %v", err)
	}
	if err := out.WaitRTP(ctx, 0, 5); err != nil {
		t.Fatalf("caller RTP: %v", err)
	}
	st := in.RTP()
	if st.PT(0).Bytes != 160*st.PT(0).Packets || len(st.SSRCs) != 1 || st.SeqGaps != 0 {
		t.Errorf("callee stats = %+v, want 160-byte packets, 1 SSRC, no gaps", st)
	}
	if st.First.IsZero() || st.Last.Before(st.First) {
		t.Errorf("arrival times first=%v last=%v", st.First, st.Last)
	}

	// DTMF from the caller, on the same SSRC as its audio.
	if err := out.SendDTMF(ctx, "12#"); err != nil {
		t.Fatalf("SendDTMF: %v", err)
	}
	if err := in.WaitDigits(ctx, "12#"); err != nil {
		t.Fatalf("digits: %v (got %q)", err, in.Digits())
	}
	if st := in.RTP(); len(st.SSRCs) != 1 || st.PT(DefaultTelephoneEventPT).Packets < 9 {
		t.Errorf("after DTMF: SSRCs %v, PT 101 packets %d", st.SSRCs, st.PT(DefaultTelephoneEventPT).Packets)
	}

	if err := out.Bye(ctx); err != nil {
		t.Fatalf("Bye: %v", err)
	}
	if err := in.WaitBye(ctx); err != nil {
		t.Fatalf("callee WaitBye: %v", err)
	}
	if !in.Ended() || !out.Ended() || out.ByeReceived() {
		t.Errorf("ended in=%v out=%v, caller got BYE=%v", in.Ended(), out.Ended(), out.ByeReceived())
	}
	if err := out.SendTone(ctx, 1000, 20*time.Millisecond); !errors.Is(err, ErrCallEnded) {
		t.Errorf("SendTone after BYE = %v, want ErrCallEnded", err)
	}
}

func TestCalleeHangsUp(t *testing.T) {
	a, b := NewPeer(t), NewPeer(t)
	out, in := answeredCall(t, a, b, InviteOptions{})
	ctx := testCtx(t)
	if out.ByeReceived() {
		t.Fatal("BYE before anyone hung up")
	}
	before := time.Now()
	if err := in.Bye(ctx); err != nil {
		t.Fatalf("callee Bye: %v", err)
	}
	if err := out.WaitBye(ctx); err != nil {
		t.Fatalf("caller WaitBye: %v", err)
	}
	if at := out.ByeReceivedAt(); at.Before(before) {
		t.Errorf("ByeReceivedAt %v before the BYE was sent (%v)", at, before)
	}
	if err := out.Bye(ctx); !errors.Is(err, ErrCallEnded) {
		t.Errorf("second Bye = %v, want ErrCallEnded", err)
	}
}

func TestPCMAOfferIsAnsweredPCMA(t *testing.T) {
	a, b := NewPeer(t), NewPeer(t)
	out, in := answeredCall(t, a, b, InviteOptions{Codecs: []Codec{PCMA}})
	ctx := testCtx(t)
	if out.Codec() != PCMA || in.Codec() != PCMA {
		t.Fatalf("codecs = %v/%v, want PCMA", out.Codec(), in.Codec())
	}
	if err := out.SendTone(ctx, 1000, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := in.WaitRTP(ctx, 8, 5); err != nil {
		t.Fatal(err)
	}
	if n := in.RTP().PT(0).Packets; n != 0 {
		t.Errorf("%d PCMU packets on a PCMA call", n)
	}
}

func TestCancelRingingCall(t *testing.T) {
	a, b := NewPeer(t), NewPeer(t)
	b.Answer(RingForever())
	ctx := testCtx(t)
	out, err := a.InviteAsync(ctx, b.URI("ring"), InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := out.WaitProvisional(ctx, 180); err != nil {
		t.Fatal(err)
	}
	in, err := b.WaitIncoming(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if in.Canceled() || out.FinalCode() != 0 {
		t.Fatalf("canceled=%v final=%d before CANCEL", in.Canceled(), out.FinalCode())
	}
	if err := out.Cancel(ctx); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	code, err := out.WaitFinal(ctx)
	if err != nil || code != 487 {
		t.Fatalf("final = %d, %v; want 487", code, err)
	}
	if err := in.WaitCanceled(ctx); err != nil {
		t.Fatal(err)
	}
	if err := in.WaitEnded(ctx); err != nil {
		t.Fatal(err)
	}
	if !out.Ended() || out.Established() {
		t.Errorf("caller ended=%v established=%v", out.Ended(), out.Established())
	}
}

func TestRejections(t *testing.T) {
	for _, tc := range []struct {
		name     string
		behavior Behavior
		want     int
	}{
		{"busy", Busy(), 486},
		{"fail", Fail(503), 503},
		{"ring then decline", Always(Reply{Ringing: true, Delay: 10 * time.Millisecond, Code: 603}), 603},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := NewPeer(t), NewPeer(t)
			b.Answer(tc.behavior)
			ctx := testCtx(t)
			out, err := a.Invite(ctx, b.URI("x"), InviteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if out.FinalCode() != tc.want || !out.Ended() {
				t.Fatalf("final = %d ended=%v, want %d", out.FinalCode(), out.Ended(), tc.want)
			}
			in, err := b.WaitIncoming(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := in.WaitEnded(ctx); err != nil {
				t.Fatal(err)
			}
			if in.FinalCode() != tc.want {
				t.Errorf("callee final = %d, want %d", in.FinalCode(), tc.want)
			}
			if err := out.Bye(ctx); !errors.Is(err, ErrCallEnded) {
				t.Errorf("Bye on rejected call = %v", err)
			}
		})
	}
}

func TestTCPCall(t *testing.T) {
	a, b := NewPeer(t, WithTCP()), NewPeer(t, WithTCP())
	ctx := testCtx(t)
	out, err := a.Invite(ctx, "sip:tcp@"+b.TCPAddr()+";transport=tcp", InviteOptions{Transport: "tcp"})
	if err != nil || out.FinalCode() != 200 {
		t.Fatalf("Invite over TCP: %v, final %d", err, out.FinalCode())
	}
	in, err := b.WaitIncoming(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(in.Header("Via"), "TCP") {
		t.Errorf("Via = %q, want TCP", in.Header("Via"))
	}
	if err := in.WaitAck(ctx); err != nil {
		t.Fatal(err)
	}
	if err := in.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	if err := out.WaitBye(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestLateOfferAnsweredInAck(t *testing.T) {
	a, b := NewPeer(t), NewPeer(t)
	out, in := answeredCall(t, a, b, InviteOptions{NoSDP: true})
	ctx := testCtx(t)
	if len(in.RemoteSDP()) == 0 {
		t.Fatal("callee got no SDP answer in the ACK")
	}
	if err := in.SendTone(ctx, 1000, 60*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := out.WaitRTP(ctx, 0, 3); err != nil {
		t.Fatal(err)
	}
	if err := out.SendTone(ctx, 1000, 60*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := in.WaitRTP(ctx, 0, 3); err != nil {
		t.Fatal(err)
	}
}

func TestMalformedOfferRejected(t *testing.T) {
	a, b := NewPeer(t), NewPeer(t)
	ctx := testCtx(t)
	out, err := a.Invite(ctx, b.URI("x"), InviteOptions{RawSDP: []byte("this is not SDP")})
	if err != nil {
		t.Fatal(err)
	}
	if out.FinalCode() != 488 {
		t.Fatalf("final = %d, want 488", out.FinalCode())
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	ctx := testCtx(t)
	a, err := New(WithTCP())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	b, err := New(WithTCP())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	// One call up over UDP with RTP, one over TCP, one ringing: Close must
	// stop all of them.
	up, err := a.Invite(ctx, b.URI("up"), InviteOptions{})
	if err != nil || up.FinalCode() != 200 {
		t.Fatalf("Invite: %v %d", err, up.FinalCode())
	}
	if err := up.SendTone(ctx, 1000, 40*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Invite(ctx, "sip:tcp@"+b.TCPAddr()+";transport=tcp", InviteOptions{Transport: "tcp"}); err != nil {
		t.Fatal(err)
	}
	b.Answer(RingForever())
	ringing, err := a.InviteAsync(ctx, b.URI("ring"), InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ringing.WaitProvisional(ctx, 180); err != nil {
		t.Fatal(err)
	}
	a.Close()
	b.Close()
	b.Close() // idempotent
	if _, err := ringing.WaitFinal(ctx); !errors.Is(err, ErrPeerClosed) {
		t.Errorf("WaitFinal after Close = %v, want ErrPeerClosed", err)
	}
	if left := waitNoGoroutines(ctx, "emiago/sipgo", "sipuatest.(*"); left != "" {
		t.Fatalf("goroutines left after Close:\n%s", left)
	}
}

// waitNoGoroutines polls until no goroutine stack mentions any of marks and
// returns the offending stacks if some remain when ctx ends. sipgo's timers
// (time.AfterFunc) may briefly run after Close, hence the polling.
func waitNoGoroutines(ctx context.Context, marks ...string) string {
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var left []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "waitNoGoroutines") {
				continue
			}
			for _, m := range marks {
				if strings.Contains(g, m) {
					left = append(left, g)
					break
				}
			}
		}
		if len(left) == 0 {
			return ""
		}
		select {
		case <-ctx.Done():
			return strings.Join(left, "\n\n")
		case <-time.After(20 * time.Millisecond):
		}
	}
}
