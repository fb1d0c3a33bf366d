package registrar

import (
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// serve runs a sipgo server on a free UDP port of 127.0.0.1 with the
// registrar's REGISTER handler and an INVITE handler that authenticates and
// then answers 486 naming the caller ("client alice" or "not a client"), so
// a test can see what AuthenticateInvite decided. It returns the port.
func (f *fixture) serve() int {
	f.t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("registrar-test-server"))
	if err != nil {
		f.t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		f.t.Fatal(err)
	}
	srv.OnRegister(f.reg.HandleRegister)
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		c, ok := f.reg.AuthenticateInvite(req, tx)
		if !ok {
			return
		}
		who := "not a client"
		if c.Sid != "" {
			who = "client " + c.Login
		}
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusBusyHere, who, nil))
	})
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		f.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.ServeUDP(conn)
	}()
	f.t.Cleanup(func() {
		_ = ua.Close()
		_ = conn.Close()
		<-done
	})
	return conn.LocalAddr().(*net.UDPAddr).Port
}

func newSipgoClient(t *testing.T) *sipgo.Client {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("sipgo-phone"))
	if err != nil {
		t.Fatal(err)
	}
	cli, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ua.Close() })
	return cli
}

func newOutgoing(method sip.RequestMethod, port int, from, to string) *sip.Request {
	req := sip.NewRequest(method, sip.Uri{Scheme: "sip", User: to, Host: "127.0.0.1", Port: port})
	if method == sip.REGISTER {
		req.Recipient.User = ""
	}
	fromHdr := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: from, Host: testDomain}}
	fromHdr.Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(fromHdr)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: to, Host: testDomain}})
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: from, Host: "127.0.0.1", Port: 5099}})
	req.AppendHeader(sip.NewHeader("User-Agent", "sipgo-phone"))
	return req
}

// TestSipgoClientRegistersAndCalls drives the registrar with a real sipgo
// client over UDP: REGISTER is challenged with 401 and accepted after
// digest; an INVITE from the client is challenged with 407 and comes
// through authenticated; a wrong password never does.
func TestSipgoClientRegistersAndCalls(t *testing.T) {
	f := newFixture(t)
	port := f.serve()
	cli := newSipgoClient(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	req := newOutgoing(sip.REGISTER, port, "alice", "alice")
	req.AppendHeader(sip.NewHeader("Expires", "120"))
	res, err := cli.Do(ctx, req)
	if err != nil || res.StatusCode != 401 {
		t.Fatalf("REGISTER: %v %v, want 401", res, err)
	}
	res, err = cli.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: "alice", Password: testPassword})
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("REGISTER with digest: %v %v, want 200", res, err)
	}
	regs, err := f.reg.Lookup(ctx, "alice")
	if err != nil || len(regs) != 1 || regs[0].Contact != "sip:alice@127.0.0.1:5099" || regs[0].UserAgent != "sipgo-phone" ||
		!strings.HasPrefix(regs[0].Source, "127.0.0.1:") {
		t.Fatalf("bindings %+v, %v", regs, err)
	}

	invite := newOutgoing(sip.INVITE, port, "alice", "+15551234")
	res, err = cli.Do(ctx, invite)
	if err != nil || res.StatusCode != 407 || res.GetHeader("Proxy-Authenticate") == nil {
		t.Fatalf("INVITE: %v %v, want 407 with Proxy-Authenticate", res, err)
	}
	res, err = cli.DoDigestAuth(ctx, invite, res, sipgo.DigestAuth{Username: "alice", Password: testPassword})
	if err != nil || res.StatusCode != 486 || res.Reason != "client alice" {
		t.Fatalf("INVITE with digest: %v %v, want to be let through as client alice", res, err)
	}

	bad := newOutgoing(sip.INVITE, port, "bob", "+15551234")
	res, err = cli.Do(ctx, bad)
	if err != nil || res.StatusCode != 407 {
		t.Fatalf("bob's INVITE: %v %v, want 407", res, err)
	}
	res, err = cli.DoDigestAuth(ctx, bad, res, sipgo.DigestAuth{Username: "bob", Password: "guess"})
	if err != nil || res.StatusCode != 407 {
		t.Fatalf("bob's INVITE with a wrong password: %v %v, want 407 again", res, err)
	}

	// A caller that is not a client is let through unchallenged, as a
	// carrier is; the caller of AuthenticateInvite routes it inward only.
	anon := newOutgoing(sip.INVITE, port, "+15550000", "alice")
	res, err = cli.Do(ctx, anon)
	if err != nil || res.StatusCode != 486 || res.Reason != "not a client" {
		t.Fatalf("non-client INVITE: %v %v", res, err)
	}
}

// TestSippRegisters proves a real, independent SIP implementation registers:
// sipp sends REGISTER, answers the 401 with its own digest code and expects
// 200. With a wrong password the same scenario fails (403).
func TestSippRegisters(t *testing.T) {
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatalf("sipp is required for this test (apt-get install sip-tester): %v", err)
	}
	f := newFixture(t)
	port := f.serve()
	scenario, err := filepath.Abs(filepath.Join("testdata", "register_digest.xml"))
	if err != nil {
		t.Fatal(err)
	}
	run := func(password string) (string, error) {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		localPort := freeUDPPort(t)
		cmd := exec.CommandContext(ctx, sipp, "127.0.0.1:"+strconv.Itoa(port),
			"-sf", scenario, "-m", "1", "-s", "alice", "-au", "alice", "-ap", password,
			"-i", "127.0.0.1", "-p", strconv.Itoa(localPort), "-timeout", "15s", "-timeout_error",
			"-nostdin", "-trace_err", "-error_file", filepath.Join(t.TempDir(), "errors.log"))
		cmd.Dir = t.TempDir()
		out, err := cmd.CombinedOutput()
		return string(out) + "\nlocal port " + strconv.Itoa(localPort), err
	}
	if out, err := run("guess"); err == nil {
		t.Fatalf("sipp registered with a wrong password:\n%s", out)
	}
	if regs, _ := f.reg.Lookup(t.Context(), "alice"); len(regs) != 0 {
		t.Fatalf("wrong password made bindings: %+v", regs)
	}
	out, err := run(testPassword)
	if err != nil {
		t.Fatalf("sipp failed to register: %v\n%s", err, out)
	}
	regs, err := f.reg.Lookup(t.Context(), "alice")
	if err != nil || len(regs) != 1 || regs[0].UserAgent != "sipp" || !strings.HasPrefix(regs[0].Contact, "sip:alice@127.0.0.1:") {
		t.Fatalf("after sipp: bindings %+v, %v", regs, err)
	}
	if left := regs[0].Expires.Sub(f.clock.Now()); left != 120*time.Second {
		t.Errorf("sipp binding expires in %v, want 120s", left)
	}
}

// freeUDPPort returns a UDP port of 127.0.0.1 that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
