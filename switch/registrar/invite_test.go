package registrar

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/emiago/sipgo/siptest"

	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

func inviteRequest(t *testing.T, fromUser, fromHost string, extra ...string) *sip.Request {
	t.Helper()
	lines := []string{
		"INVITE sip:+15551234@" + testDomain + " SIP/2.0",
		"Via: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bK" + sid.Token(),
		"From: <sip:" + fromUser + "@" + fromHost + ">;tag=" + sid.Token()[:8],
		"To: <sip:+15551234@" + testDomain + ">",
		"Call-ID: " + sid.Token(),
		"CSeq: 1 INVITE",
		"Contact: <sip:" + fromUser + "@127.0.0.1:5090>",
		"Max-Forwards: 70",
	}
	lines = append(lines, extra...)
	lines = append(lines, "Content-Length: 0", "")
	return message(t, strings.Join(lines, "\n"))
}

// invite runs AuthenticateInvite and returns its result and the response
// it sent (nil when it sent none).
func (f *fixture) invite(req *sip.Request) (store.Client, bool, *sip.Response) {
	f.t.Helper()
	rec := siptest.NewServerTxRecorder(req)
	c, ok := f.reg.AuthenticateInvite(req, rec)
	res := rec.Result()
	switch {
	case ok && len(res) != 0:
		f.t.Fatalf("let through but answered %d", res[0].StatusCode)
	case !ok && len(res) != 1:
		f.t.Fatalf("refused with %d responses, want 1", len(res))
	case ok:
		return c, ok, nil
	}
	return c, ok, res[0]
}

// proxyAuth challenges an INVITE from alice and answers the challenge.
func (f *fixture) proxyAuth(password, algorithm string) string {
	f.t.Helper()
	_, ok, res := f.invite(inviteRequest(f.t, "alice", testDomain))
	if ok || res.StatusCode != 407 {
		f.t.Fatalf("INVITE without credentials: ok=%v %v, want 407", ok, res)
	}
	if res.GetHeader("WWW-Authenticate") != nil {
		f.t.Fatal("407 carries WWW-Authenticate; an INVITE is challenged with Proxy-Authenticate")
	}
	c := challengeFor(f.t, res, "Proxy-Authenticate", algorithm)
	return "Proxy-Authorization: " + answer(f.t, c, "INVITE", "alice", password, true)
}

func TestInviteFromClient(t *testing.T) {
	for _, alg := range []string{AlgorithmMD5, AlgorithmSHA256} {
		t.Run(alg, func(t *testing.T) {
			f := newFixture(t)
			auth := f.proxyAuth(testPassword, alg)
			c, ok, res := f.invite(inviteRequest(t, "alice", testDomain, auth))
			if !ok || c.Sid != f.alice.Sid {
				t.Fatalf("valid credentials: ok=%v client=%q response %v", ok, c.Login, res)
			}
		})
	}
}

func TestInviteRefusals(t *testing.T) {
	f := newFixture(t)
	wrong := f.proxyAuth("guess", AlgorithmMD5)
	if _, ok, res := f.invite(inviteRequest(t, "alice", testDomain, wrong)); ok || res.StatusCode != 407 {
		t.Fatalf("wrong password: ok=%v %v, want 407", ok, res)
	}
	// Credentials in the wrong header (Authorization) do not count.
	good := f.proxyAuth(testPassword, AlgorithmMD5)
	asWWW := strings.Replace(good, "Proxy-Authorization", "Authorization", 1)
	if _, ok, res := f.invite(inviteRequest(t, "alice", testDomain, asWWW)); ok || res.StatusCode != 407 {
		t.Fatalf("Authorization instead of Proxy-Authorization: ok=%v %v, want 407", ok, res)
	}
	// Alice's valid credentials cannot call as bob.
	if _, ok, res := f.invite(inviteRequest(t, "bob", testDomain, good)); ok || res.StatusCode != 407 {
		t.Fatalf("alice's credentials for bob: ok=%v %v, want 407", ok, res)
	}
	// Stale nonce: 407 with stale=true.
	late := f.proxyAuth(testPassword, AlgorithmMD5)
	f.clock.Advance(10 * time.Minute)
	_, ok, res := f.invite(inviteRequest(t, "alice", testDomain, late))
	if ok || res.StatusCode != 407 || !challengeFor(t, res, "Proxy-Authenticate", AlgorithmMD5).Stale {
		t.Fatalf("stale nonce: ok=%v %v, want 407 stale=true", ok, res)
	}
	if _, ok, res := f.invite(inviteRequest(t, "alice", testDomain, `Proxy-Authorization: Digest username="alice, realm`)); ok || res.StatusCode != 400 {
		t.Fatalf("malformed: ok=%v %v, want 400", ok, res)
	}

	// An authenticated client of a suspended account: 403.
	auth := f.proxyAuth(testPassword, AlgorithmMD5)
	suspended := f.acct
	suspended.Status = store.AccountSuspended
	if err := f.st.UpdateAccount(t.Context(), suspended); err != nil {
		t.Fatal(err)
	}
	_, ok, res = f.invite(inviteRequest(t, "alice", testDomain, auth))
	if ok || res.StatusCode != 403 || res.Reason != "Account is not ACTIVE" {
		t.Fatalf("suspended account: ok=%v %v, want 403 Account is not ACTIVE", ok, res)
	}
}

func TestInviteFromNonClient(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct{ user, host string }{
		{"+15550000", testDomain},    // not a login
		{"alice", "carrier.example"}, // a login, but not our domain
	} {
		c, ok, _ := f.invite(inviteRequest(t, tc.user, tc.host))
		if !ok || c.Sid != "" {
			t.Errorf("From %s@%s: ok=%v client=%q, want let through as a non-client", tc.user, tc.host, ok, c.Sid)
		}
	}
	// The domain compares without case and ignores a trailing dot.
	if _, ok, res := f.invite(inviteRequest(t, "alice", "PBX.test.")); ok || res.StatusCode != 407 {
		t.Fatalf("From alice@PBX.test.: ok=%v, want challenged", ok)
	}
}
