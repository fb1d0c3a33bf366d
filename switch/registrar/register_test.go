package registrar

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/store"
)

const aliceContact = "Contact: <sip:alice@127.0.0.1:5090>"

func TestRegisterWithoutCredentialsIsChallenged(t *testing.T) {
	f := newFixture(t)
	res := f.handle(register{login: "alice", extra: []string{aliceContact}}.request(t))
	if res.StatusCode != 401 {
		t.Fatalf("status %d, want 401", res.StatusCode)
	}
	hs := res.GetHeaders("WWW-Authenticate")
	if len(hs) != 2 {
		t.Fatalf("%d WWW-Authenticate headers, want one per algorithm: %s", len(hs), res)
	}
	md5c := challengeFor(t, res, "WWW-Authenticate", AlgorithmMD5)
	shac := challengeFor(t, res, "WWW-Authenticate", AlgorithmSHA256)
	if !strings.Contains(hs[0].Value(), "algorithm=MD5") {
		t.Errorf("first challenge %q, want MD5 first (default order)", hs[0].Value())
	}
	for _, c := range []*struct {
		realm, nonce string
		stale, auth  bool
	}{
		{md5c.Realm, md5c.Nonce, md5c.Stale, md5c.SupportsQOP("auth")},
		{shac.Realm, shac.Nonce, shac.Stale, shac.SupportsQOP("auth")},
	} {
		if c.realm != testDomain || c.nonce == "" || c.stale || !c.auth {
			t.Errorf("challenge realm=%q nonce=%q stale=%v qop auth=%v", c.realm, c.nonce, c.stale, c.auth)
		}
	}
	if tag, _ := res.To().Params.Get("tag"); tag == "" {
		t.Error("401 without To tag")
	}
	if regs, _ := f.reg.Lookup(t.Context(), "alice"); len(regs) != 0 {
		t.Fatalf("unauthenticated REGISTER made bindings: %+v", regs)
	}
}

func TestRegisterMD5AndSHA256(t *testing.T) {
	for _, alg := range []string{AlgorithmMD5, AlgorithmSHA256} {
		t.Run(alg, func(t *testing.T) {
			f := newFixture(t)
			res := f.authorized(register{login: "alice", extra: []string{aliceContact, "Expires: 600"}}, alg, testPassword)
			if res.StatusCode != 200 {
				t.Fatalf("status %d, want 200: %s", res.StatusCode, res)
			}
			if got := contacts(res); len(got) != 1 || got[0] != "<sip:alice@127.0.0.1:5090>;expires=600" {
				t.Errorf("200 contacts %q", got)
			}
			regs, err := f.reg.Lookup(t.Context(), "alice")
			if err != nil || len(regs) != 1 {
				t.Fatalf("Lookup = %+v, %v", regs, err)
			}
			b := regs[0]
			if b.Contact != "sip:alice@127.0.0.1:5090" || b.AccountSid != f.acct.Sid || b.Source != "127.0.0.1:5090" ||
				b.Transport != "UDP" || b.UserAgent != "registrar-test" || !b.Expires.Equal(f.clock.Now().Add(600*time.Second)) {
				t.Errorf("binding %+v", b)
			}
		})
	}
}

func TestRegisterWithoutQop(t *testing.T) {
	f := newFixture(t)
	first := f.handle(register{login: "alice", extra: []string{aliceContact}}.request(t))
	c := challengeFor(t, first, "WWW-Authenticate", AlgorithmMD5)
	auth := answer(t, c, "REGISTER", "alice", testPassword, false)
	if strings.Contains(auth, "qop") {
		t.Fatalf("test answer carries qop: %s", auth)
	}
	res := f.handle(register{login: "alice", cseq: 2, extra: []string{aliceContact, "Authorization: " + auth}}.request(t))
	if res.StatusCode != 200 {
		t.Fatalf("RFC 2069 response: status %d, want 200", res.StatusCode)
	}
}

func TestRegisterRefusals(t *testing.T) {
	f := newFixture(t)
	first := f.handle(register{login: "alice", extra: []string{aliceContact}}.request(t))
	c := challengeFor(t, first, "WWW-Authenticate", AlgorithmMD5)
	wrongRealm := *c
	wrongRealm.Realm = "elsewhere.test"
	cases := []struct {
		name string
		to   string
		auth string
		want int
	}{
		{"wrong password", "alice", answer(t, c, "REGISTER", "alice", "guess", true), 403},
		{"unknown user", "mallory", answer(t, c, "REGISTER", "mallory", testPassword, true), 403},
		// bob's valid credentials cannot register alice (upstream's quirk).
		{"username is not the To user", "alice", answer(t, c, "REGISTER", "bob", testPassword, true), 403},
		{"other realm only", "alice", answer(t, &wrongRealm, "REGISTER", "alice", testPassword, true), 401},
		{"response for another method", "alice", answer(t, c, "INVITE", "alice", testPassword, true), 403},
		{"garbage", "alice", `Digest username="alice, realm`, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := f.handle(register{login: tc.to, cseq: 2, extra: []string{aliceContact, "Authorization: " + tc.auth}}.request(t))
			if res.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.want)
			}
		})
	}
	if regs, _ := f.reg.Lookup(t.Context(), "alice"); len(regs) != 0 {
		t.Fatalf("refused REGISTERs made bindings: %+v", regs)
	}
}

func TestRegisterStaleNonce(t *testing.T) {
	f := newFixture(t)
	first := f.handle(register{login: "alice", extra: []string{aliceContact}}.request(t))
	c := challengeFor(t, first, "WWW-Authenticate", AlgorithmMD5)
	auth := "Authorization: " + answer(t, c, "REGISTER", "alice", testPassword, true)

	f.clock.Advance(6 * time.Minute) // past the 5-minute nonce lifetime
	res := f.handle(register{login: "alice", cseq: 2, extra: []string{aliceContact, auth}}.request(t))
	if res.StatusCode != 401 || !challengeFor(t, res, "WWW-Authenticate", AlgorithmMD5).Stale {
		t.Fatalf("expired nonce: %d %s, want 401 stale=true", res.StatusCode, res)
	}
	// An expired nonce with a wrong password is a plain refusal, not stale.
	bad := "Authorization: " + answer(t, c, "REGISTER", "alice", "guess", true)
	if res := f.handle(register{login: "alice", cseq: 3, extra: []string{aliceContact, bad}}.request(t)); res.StatusCode != 403 {
		t.Fatalf("expired nonce, wrong password: %d, want 403", res.StatusCode)
	}

	// A nonce from another process (a restart) is stale too.
	other := newFixture(t)
	foreign := other.handle(register{login: "alice", extra: []string{aliceContact}}.request(t))
	fc := challengeFor(t, foreign, "WWW-Authenticate", AlgorithmMD5)
	res = f.handle(register{login: "alice", cseq: 4, extra: []string{aliceContact, "Authorization: " + answer(t, fc, "REGISTER", "alice", testPassword, true)}}.request(t))
	if res.StatusCode != 401 || !challengeFor(t, res, "WWW-Authenticate", AlgorithmSHA256).Stale {
		t.Fatalf("foreign nonce: %d, want 401 stale=true", res.StatusCode)
	}
}

func TestRegisterReplayIsRefused(t *testing.T) {
	f := newFixture(t)
	first := f.handle(register{login: "alice", extra: []string{aliceContact}}.request(t))
	c := challengeFor(t, first, "WWW-Authenticate", AlgorithmMD5)
	auth := "Authorization: " + answer(t, c, "REGISTER", "alice", testPassword, true)
	if res := f.handle(register{login: "alice", cseq: 2, extra: []string{aliceContact, auth}}.request(t)); res.StatusCode != 200 {
		t.Fatalf("first use: %d", res.StatusCode)
	}
	res := f.handle(register{login: "alice", cseq: 3, extra: []string{"Contact: <sip:alice@203.0.113.9:5060>", auth}}.request(t))
	if res.StatusCode != 401 || !challengeFor(t, res, "WWW-Authenticate", AlgorithmMD5).Stale {
		t.Fatalf("replayed credentials: %d, want 401 stale=true", res.StatusCode)
	}
	regs, _ := f.reg.Lookup(t.Context(), "alice")
	if len(regs) != 1 || regs[0].Contact != "sip:alice@127.0.0.1:5090" {
		t.Fatalf("replay changed bindings: %+v", regs)
	}
}

func TestRegisterSeveralContactsAndRemoval(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	lookup := func() []string {
		t.Helper()
		regs, err := f.reg.Lookup(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, b := range regs {
			out = append(out, b.Contact)
		}
		slices.Sort(out)
		return out
	}
	res := f.authorized(register{login: "alice", extra: []string{
		"Contact: <sip:alice@127.0.0.1:5090>;expires=120, <sip:alice@127.0.0.1:5091;transport=tcp>",
		"Expires: 300",
	}}, AlgorithmMD5, testPassword)
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	got := contacts(res)
	slices.Sort(got)
	want := []string{"<sip:alice@127.0.0.1:5090>;expires=120", "<sip:alice@127.0.0.1:5091;transport=tcp>;expires=300"}
	if !slices.Equal(got, want) {
		t.Fatalf("200 contacts %q, want %q", got, want)
	}
	// A third device registers separately; the 200 lists all three.
	res = f.authorized(register{login: "alice", extra: []string{"Contact: <sip:alice@127.0.0.1:5092>"}}, AlgorithmSHA256, testPassword)
	if n := len(contacts(res)); res.StatusCode != 200 || n != 3 {
		t.Fatalf("third device: %d with %d contacts, want 200 with 3", res.StatusCode, n)
	}
	if l := lookup(); len(l) != 3 {
		t.Fatalf("Lookup = %q", l)
	}
	// A query (no Contact) lists without changing.
	if res := f.authorized(register{login: "alice"}, AlgorithmMD5, testPassword); len(contacts(res)) != 3 {
		t.Fatalf("query: %q", contacts(res))
	}

	// expires=0 removes one binding.
	res = f.authorized(register{login: "alice", extra: []string{"Contact: <sip:alice@127.0.0.1:5090>;expires=0"}}, AlgorithmMD5, testPassword)
	if res.StatusCode != 200 || len(contacts(res)) != 2 {
		t.Fatalf("remove one: %d %q", res.StatusCode, contacts(res))
	}
	if l := lookup(); slices.Contains(l, "sip:alice@127.0.0.1:5090") || len(l) != 2 {
		t.Fatalf("after removal Lookup = %q", l)
	}

	// "*" needs Expires: 0.
	if res := f.authorized(register{login: "alice", extra: []string{"Contact: *", "Expires: 60"}}, AlgorithmMD5, testPassword); res.StatusCode != 400 {
		t.Fatalf("* with Expires 60: %d, want 400", res.StatusCode)
	}
	if res := f.authorized(register{login: "alice", extra: []string{"Contact: *"}}, AlgorithmMD5, testPassword); res.StatusCode != 400 {
		t.Fatalf("* without Expires: %d, want 400", res.StatusCode)
	}
	res = f.authorized(register{login: "alice", extra: []string{"Contact: *", "Expires: 0"}}, AlgorithmMD5, testPassword)
	if res.StatusCode != 200 || len(contacts(res)) != 0 {
		t.Fatalf("remove all: %d %q", res.StatusCode, contacts(res))
	}
	if l := lookup(); len(l) != 0 {
		t.Fatalf("after * Lookup = %q", l)
	}
}

func TestRegisterExpiry(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MinExpires = 60 * time.Second; c.MaxExpires = 900 * time.Second })
	res := f.authorized(register{login: "alice", extra: []string{aliceContact, "Expires: 30"}}, AlgorithmMD5, testPassword)
	if res.StatusCode != 423 {
		t.Fatalf("too brief: %d, want 423", res.StatusCode)
	}
	if h := res.GetHeader("Min-Expires"); h == nil || h.Value() != "60" {
		t.Fatalf("Min-Expires = %v", h)
	}
	// One brief contact refuses the whole request: nothing is bound.
	res = f.authorized(register{login: "alice", extra: []string{"Contact: <sip:alice@127.0.0.1:5093>, <sip:alice@127.0.0.1:5094>;expires=5"}}, AlgorithmMD5, testPassword)
	if regs, _ := f.reg.Lookup(t.Context(), "alice"); res.StatusCode != 423 || len(regs) != 0 {
		t.Fatalf("partly brief: %d, bindings %+v", res.StatusCode, regs)
	}

	// Above the maximum is capped, not refused; no expiry at all gets the default, capped too.
	res = f.authorized(register{login: "alice", extra: []string{aliceContact, "Expires: 7200"}}, AlgorithmMD5, testPassword)
	if got := contacts(res); res.StatusCode != 200 || len(got) != 1 || !strings.HasSuffix(got[0], ";expires=900") {
		t.Fatalf("capped: %d %q", res.StatusCode, got)
	}
	res = f.authorized(register{login: "alice", extra: []string{"Contact: <sip:alice@127.0.0.1:5095>"}}, AlgorithmMD5, testPassword)
	if got := contacts(res); len(got) != 2 {
		t.Fatalf("default expiry: %q", got)
	}

	f.clock.Advance(899 * time.Second)
	if regs, _ := f.reg.Lookup(t.Context(), "alice"); len(regs) != 2 {
		t.Fatalf("before expiry: %+v", regs)
	}
	f.clock.Advance(2 * time.Second)
	if regs, _ := f.reg.Lookup(t.Context(), "alice"); len(regs) != 0 {
		t.Fatalf("after expiry Lookup still has %+v", regs)
	}
	res = f.authorized(register{login: "alice"}, AlgorithmMD5, testPassword)
	if got := contacts(res); len(got) != 0 {
		t.Fatalf("query after expiry lists %q", got)
	}
}

func TestRegisterInactive(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	disabled := f.alice
	disabled.Status = store.ClientDisabled
	if err := f.st.UpdateClient(ctx, disabled); err != nil {
		t.Fatal(err)
	}
	if res := f.authorized(register{login: "alice", extra: []string{aliceContact}}, AlgorithmMD5, testPassword); res.StatusCode != 403 {
		t.Fatalf("disabled client: %d, want 403", res.StatusCode)
	}
	suspended := f.acct
	suspended.Status = store.AccountSuspended
	if err := f.st.UpdateAccount(ctx, suspended); err != nil {
		t.Fatal(err)
	}
	res := f.authorized(register{login: "bob", extra: []string{"Contact: <sip:bob@127.0.0.1:5090>"}}, AlgorithmMD5, testPassword)
	if res.StatusCode != 403 || res.Reason != "Account is not ACTIVE" {
		t.Fatalf("suspended account: %d %q, want 403 Account is not ACTIVE", res.StatusCode, res.Reason)
	}
	for _, login := range []string{"alice", "bob"} {
		if regs, _ := f.reg.Lookup(ctx, login); len(regs) != 0 {
			t.Fatalf("%s bound while refused: %+v", login, regs)
		}
	}
}

func TestRegisterOutOfOrder(t *testing.T) {
	f := newFixture(t)
	res := f.authorized(register{login: "alice", callID: "dev-1", cseq: 10, extra: []string{aliceContact}}, AlgorithmMD5, testPassword)
	if res.StatusCode != 200 {
		t.Fatalf("register: %d", res.StatusCode)
	}
	// An older REGISTER of the same Call-ID arriving late must not remove it.
	res = f.authorized(register{login: "alice", callID: "dev-1", cseq: 5, extra: []string{aliceContact + ";expires=0"}}, AlgorithmMD5, testPassword)
	if res.StatusCode != 500 {
		t.Fatalf("older CSeq: %d, want 500", res.StatusCode)
	}
	if regs, _ := f.reg.Lookup(t.Context(), "alice"); len(regs) != 1 {
		t.Fatalf("older REGISTER undid the binding: %+v", regs)
	}
}

func TestNewValidates(t *testing.T) {
	f := newFixture(t)
	logger := slog.New(slog.DiscardHandler)
	for name, cfg := range map[string]Config{
		"no store":     {Domain: testDomain, Logger: logger},
		"no domain":    {Store: f.st, Logger: logger},
		"no logger":    {Store: f.st, Domain: testDomain},
		"min over max": {Store: f.st, Domain: testDomain, Logger: logger, MinExpires: time.Hour, MaxExpires: time.Minute},
		"bad alg":      {Store: f.st, Domain: testDomain, Logger: logger, Algorithms: []string{"MD5-sess"}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestHA1(t *testing.T) {
	// RFC 2617 §3.5's example user, realm and password.
	md5Hex, shaHex := HA1("Mufasa", "testrealm@host.com", "Circle Of Life")
	if md5Hex != "939e7578ed9e3c518a452acee763bce9" {
		t.Errorf("MD5 HA1 = %s", md5Hex)
	}
	if len(shaHex) != 64 || shaHex == md5Hex {
		t.Errorf("SHA-256 HA1 = %s", shaHex)
	}
}
