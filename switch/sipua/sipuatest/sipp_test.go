package sipuatest

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// scenario returns the path of a scenario shipped in switch/e2e/testdata.
func scenario(name string) string { return filepath.Join("..", "..", "e2e", "testdata", name) }

const testSid = "CA0123456789abcdef0123456789abcdef"

func TestSippBuiltinUACAgainstUASAnswer(t *testing.T) {
	uas := SippBackground(t, SippOptions{Scenario: scenario("uas_answer.xml"), RTPEcho: true})
	res := Sipp(t, SippOptions{Builtin: "uac", Remote: uas.Addr(), Calls: 2, Rate: 20, Duration: 100 * time.Millisecond})
	if res.ExitCode != 0 || res.Successful != 2 || res.Failed != 0 {
		t.Fatalf("uac: exit %d, %d ok, %d failed; errors:\n%s", res.ExitCode, res.Successful, res.Failed, res.Errors)
	}
	st, err := uas.Stop(3 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if st.Successful != 2 || st.Failed != 0 {
		t.Errorf("uas: %d ok, %d failed (exit %d)", st.Successful, st.Failed, st.ExitCode)
	}
}

func TestSippWaitByeGetsBYEFromGoPeer(t *testing.T) {
	ctx := testCtx(t)
	callee := NewPeer(t)
	callee.Answer(Always(Reply{Ringing: true, Headers: map[string]string{"X-RestComm-CallSid": testSid}}))
	done := make(chan error, 1)
	go func() {
		in, err := callee.WaitIncoming(ctx)
		if err == nil {
			err = in.WaitAck(ctx)
		}
		if err == nil {
			err = in.WaitRTP(ctx, 0, 10) // sipp's rtp_stream: 20 ms PCMU
		}
		if err == nil {
			err = in.Bye(ctx)
		}
		done <- err
	}()
	res := Sipp(t, SippOptions{Scenario: scenario("uac_waitbye.xml"), Remote: callee.Addr(), Service: "+1555",
		Calls: 1, NoDefaultBehaviors: true, RecvTimeout: 5 * time.Second})
	if err := <-done; err != nil {
		t.Fatalf("callee: %v", err)
	}
	if res.ExitCode != 0 || res.Successful != 1 {
		t.Fatalf("exit %d, %d ok; errors:\n%s", res.ExitCode, res.Successful, res.Errors)
	}
	if !slices.Equal(res.CallSids, []string{testSid}) {
		t.Errorf("call sids = %v, want [%s]", res.CallSids, testSid)
	}
	in := callee.Incoming()[0]
	if st := in.RTP(); st.PT(0).Bytes != 160*st.PT(0).Packets {
		t.Errorf("sipp audio not 20 ms PCMU: %+v", st.PT(0))
	}
}

func TestSippWaitByeFailsWithoutBYE(t *testing.T) {
	callee := NewPeer(t)
	res := Sipp(t, SippOptions{Scenario: scenario("uac_waitbye.xml"), Remote: callee.Addr(),
		Calls: 1, NoDefaultBehaviors: true, RecvTimeout: 1 * time.Second})
	if res.ExitCode != 1 || res.Failed != 1 || res.Successful != 0 {
		t.Fatalf("exit %d, %d ok, %d failed; want exit 1 and one failed call", res.ExitCode, res.Successful, res.Failed)
	}
	if len(res.CallSids) != 0 {
		t.Errorf("call sids %v from a 200 without the header", res.CallSids)
	}
	if in := callee.Incoming(); len(in) != 1 || in[0].ByeReceived() {
		t.Errorf("sipp hung up itself despite -nd")
	}
}

func TestSippRingingThenRejected(t *testing.T) {
	callee := NewPeer(t)
	callee.Answer(Always(Reply{Ringing: true, Delay: 100 * time.Millisecond, Code: 480,
		Headers: map[string]string{"X-RestComm-CallSid": testSid}}))
	res := Sipp(t, SippOptions{Scenario: scenario("uac_ringing_cancel.xml"), Remote: callee.Addr(),
		Calls: 1, RecvTimeout: 5 * time.Second})
	if res.ExitCode != 0 || res.Successful != 1 {
		t.Fatalf("exit %d, %d ok; errors:\n%s", res.ExitCode, res.Successful, res.Errors)
	}
	if !slices.Contains(res.LogLines, "FINAL 480") || !slices.Equal(res.CallSids, []string{testSid}) {
		t.Errorf("log = %v, want FINAL 480 and the call sid", res.LogLines)
	}
	ctx := testCtx(t)
	in, err := callee.WaitIncoming(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The ACK of the 480 reached the callee's transaction: it ended cleanly.
	if err := in.WaitEnded(ctx); err != nil || in.FinalCode() != 480 {
		t.Fatalf("callee: %v, final %d", err, in.FinalCode())
	}
}

func TestSippLoadAgainstHangingUpGoPeer(t *testing.T) {
	ctx := testCtx(t)
	callee := NewPeer(t)
	callee.Answer(Always(Reply{Headers: map[string]string{"X-RestComm-CallSid": testSid}}))
	const calls = 3
	done := make(chan error, 1)
	go func() {
		for range calls {
			in, err := callee.WaitIncoming(ctx)
			if err == nil {
				err = in.WaitAck(ctx)
			}
			if err == nil {
				err = in.Bye(ctx)
			}
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	res := Sipp(t, SippOptions{Scenario: scenario("uac_load.xml"), Remote: callee.Addr(),
		Calls: calls, Rate: 10, NoDefaultBehaviors: true})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 || res.Successful != calls || len(res.CallSids) != calls {
		t.Fatalf("exit %d, %d ok, sids %v; errors:\n%s", res.ExitCode, res.Successful, res.CallSids, res.Errors)
	}
}

func TestGoPeerAgainstSippUASScenarios(t *testing.T) {
	caller := NewPeer(t)
	headers := map[string]string{"X-RestComm-CallSid": testSid}

	t.Run("answer", func(t *testing.T) {
		ctx := testCtx(t)
		uas := SippBackground(t, SippOptions{Scenario: scenario("uas_answer.xml"), RTPEcho: true})
		c, err := caller.Invite(ctx, "sip:bob@"+uas.Addr(), InviteOptions{Headers: headers})
		if err != nil || c.FinalCode() != 200 || !slices.Contains(c.Provisionals(), 180) {
			t.Fatalf("Invite: %v, final %d, provisionals %v", err, c.FinalCode(), c.Provisionals())
		}
		if err := c.SendTone(ctx, 1000, 200*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if err := c.WaitRTP(ctx, 0, 5); err != nil { // echoed by sipp
			t.Fatalf("echo: %v", err)
		}
		if err := c.Bye(ctx); err != nil {
			t.Fatal(err)
		}
		res, err := uas.Stop(3 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if res.Successful != 1 || !slices.Equal(res.CallSids, []string{testSid}) {
			t.Errorf("uas: %d ok, sids %v; errors:\n%s", res.Successful, res.CallSids, res.Errors)
		}
	})

	t.Run("ring forever then CANCEL", func(t *testing.T) {
		ctx := testCtx(t)
		uas := SippBackground(t, SippOptions{Scenario: scenario("uas_ring_forever.xml")})
		c, err := caller.InviteAsync(ctx, "sip:bob@"+uas.Addr(), InviteOptions{Headers: headers})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Cancel(ctx); err != nil {
			t.Fatal(err)
		}
		if code, err := c.WaitFinal(ctx); err != nil || code != 487 {
			t.Fatalf("final %d, %v; want 487", code, err)
		}
		res, err := uas.Stop(3 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if res.Successful != 1 || res.Failed != 0 {
			t.Errorf("uas: %d ok, %d failed; errors:\n%s", res.Successful, res.Failed, res.Errors)
		}
	})

	t.Run("busy", func(t *testing.T) {
		ctx := testCtx(t)
		uas := SippBackground(t, SippOptions{Scenario: scenario("uas_busy.xml")})
		c, err := caller.Invite(ctx, "sip:bob@"+uas.Addr(), InviteOptions{})
		if err != nil || c.FinalCode() != 486 {
			t.Fatalf("Invite: %v, final %d", err, c.FinalCode())
		}
		res, err := uas.Stop(3 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if res.Successful != 1 {
			t.Errorf("uas: %d ok, %d failed; errors:\n%s", res.Successful, res.Failed, res.Errors)
		}
	})
}

func TestRunSippHonoursContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	// A UAS with no caller never exits by itself.
	res, err := RunSipp(ctx, SippOptions{Scenario: scenario("uas_answer.xml")})
	if err == nil {
		t.Fatalf("RunSipp returned without error: %+v", res)
	}
	if res == nil || res.ExitCode == 0 {
		t.Errorf("result %+v, want a killed sipp", res)
	}
}
