package registrar

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/emiago/sipgo/siptest"
	"github.com/icholy/digest"

	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
	"github.com/patchbay/patchbay/switch/store/badgerstore"
)

const (
	testDomain   = "pbx.test"
	testPassword = "secret"
)

// clock is a settable time source shared by a test and its registrar.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fixture is a registrar over an in-memory store holding one active account
// with the clients alice and bob (password testPassword).
type fixture struct {
	t     *testing.T
	st    *badgerstore.Store
	reg   *Registrar
	clock *clock
	acct  store.Account
	alice store.Client
}

func newFixture(t *testing.T, opts ...func(*Config)) *fixture {
	t.Helper()
	st, err := badgerstore.Open(badgerstore.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	f := &fixture{t: t, st: st, clock: &clock{now: time.Now()}}
	f.acct = store.Account{Sid: sid.New(sid.Account), Status: store.AccountActive, Role: "Developer", AuthToken: sid.Token()}
	if err := st.CreateAccount(t.Context(), f.acct); err != nil {
		t.Fatal(err)
	}
	f.alice = f.addClient("alice")
	f.addClient("bob")
	cfg := Config{Store: st, Domain: testDomain, Logger: slog.New(slog.DiscardHandler), Now: f.clock.Now}
	for _, o := range opts {
		o(&cfg)
	}
	f.reg, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) addClient(login string) store.Client {
	f.t.Helper()
	md5Hex, shaHex := HA1(login, testDomain, testPassword)
	c := store.Client{
		Sid: sid.New(sid.Client), AccountSid: f.acct.Sid, Login: login, FriendlyName: login,
		Status: store.ClientEnabled, HA1MD5: md5Hex, HA1SHA256: shaHex,
	}
	if err := f.st.CreateClient(f.t.Context(), c); err != nil {
		f.t.Fatal(err)
	}
	return c
}

// message parses a SIP request written with \n line ends.
func message(t *testing.T, text string) *sip.Request {
	t.Helper()
	raw := strings.ReplaceAll(strings.TrimLeft(text, "\n"), "\n", "\r\n") + "\r\n"
	msg, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatalf("parse request: %v\n%s", err, raw)
	}
	req, ok := msg.(*sip.Request)
	if !ok {
		t.Fatalf("not a request: %T", msg)
	}
	req.SetSource("127.0.0.1:5090")
	return req
}

// register is a REGISTER for login; extra holds more header lines
// (Contact, Expires, Authorization...).
type register struct {
	login  string
	callID string
	cseq   int
	extra  []string
}

func (r register) request(t *testing.T) *sip.Request {
	t.Helper()
	callID := r.callID
	if callID == "" {
		callID = sid.Token()
	}
	cseq := r.cseq
	if cseq == 0 {
		cseq = 1
	}
	lines := []string{
		"REGISTER sip:" + testDomain + " SIP/2.0",
		"Via: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bK" + sid.Token(),
		"From: <sip:" + r.login + "@" + testDomain + ">;tag=" + sid.Token()[:8],
		"To: <sip:" + r.login + "@" + testDomain + ">",
		"Call-ID: " + callID,
		fmt.Sprintf("CSeq: %d REGISTER", cseq),
		"User-Agent: registrar-test",
		"Max-Forwards: 70",
	}
	lines = append(lines, r.extra...)
	lines = append(lines, "Content-Length: 0", "")
	return message(t, strings.Join(lines, "\n"))
}

// handle runs a request through HandleRegister and returns the response.
func (f *fixture) handle(req *sip.Request) *sip.Response {
	f.t.Helper()
	rec := siptest.NewServerTxRecorder(req)
	f.reg.HandleRegister(req, rec)
	res := rec.Result()
	if len(res) != 1 {
		f.t.Fatalf("got %d responses, want 1", len(res))
	}
	return res[0]
}

// challengeFor returns the challenge for algorithm in res's header.
func challengeFor(t *testing.T, res *sip.Response, header, algorithm string) *digest.Challenge {
	t.Helper()
	for _, h := range res.GetHeaders(header) {
		c, err := digest.ParseChallenge(h.Value())
		if err != nil {
			t.Fatalf("parse %s %q: %v", header, h.Value(), err)
		}
		if strings.EqualFold(c.Algorithm, algorithm) {
			return c
		}
	}
	t.Fatalf("no %s challenge in %s", algorithm, res.String())
	return nil
}

// answer computes an Authorization (or Proxy-Authorization) value for
// challenge as user with password. qop false drops qop (an RFC 2069 client).
func answer(t *testing.T, c *digest.Challenge, method, user, password string, qop bool) string {
	t.Helper()
	c2 := *c
	if !qop {
		c2.QOP = nil
	}
	cred, err := digest.Digest(&c2, digest.Options{Method: method, URI: "sip:" + testDomain, Username: user, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	return cred.String()
}

// authorized sends r unauthenticated, answers the challenge with password
// and algorithm, and returns the response to the second request.
func (f *fixture) authorized(r register, algorithm, password string) *sip.Response {
	f.t.Helper()
	first := f.handle(r.request(f.t))
	if first.StatusCode != 401 {
		f.t.Fatalf("first REGISTER: %d, want 401", first.StatusCode)
	}
	c := challengeFor(f.t, first, "WWW-Authenticate", algorithm)
	r.extra = append(append([]string(nil), r.extra...), "Authorization: "+answer(f.t, c, "REGISTER", r.login, password, true))
	r.cseq++
	if r.cseq == 1 {
		r.cseq = 2
	}
	return f.handle(r.request(f.t))
}

// contacts returns the Contact values of a response.
func contacts(res *sip.Response) []string {
	var out []string
	for _, h := range res.GetHeaders("Contact") {
		out = append(out, h.Value())
	}
	return out
}
