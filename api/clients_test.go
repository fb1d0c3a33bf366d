package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/registrar"
	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

const testSIPDomain = "pbx.test"

func newClientEnv(t *testing.T) *env {
	e := newEnv(t)
	e.srv.sipDomain = testSIPDomain
	return e
}

func TestClientLifecycle(t *testing.T) {
	e := newClientEnv(t)
	base := "/2012-04-24/Accounts/" + e.root.Sid + "/Clients"

	r := e.req("POST", base+".json", &e.root, url.Values{
		"Login": {"alice"}, "Password": {"RestComm12"}, "VoiceUrl": {"http://127.0.0.1/client.xml"}, "VoiceMethod": {"get"},
	})
	if r.status != http.StatusOK {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	m := r.json(t)
	cl, _ := m["sid"].(string)
	if !sid.Valid(cl, sid.Client) || m["login"] != "alice" || m["friendly_name"] != "alice" || m["status"] != "1" ||
		m["voice_url"] != "http://127.0.0.1/client.xml" || m["voice_method"] != "GET" || m["voice_fallback_method"] != "POST" ||
		m["password_algorithm"] != "MD5" || m["account_sid"] != e.root.Sid || m["api_version"] != "2012-04-24" ||
		m["uri"] != base+"/"+cl+".json" || m["date_created"] != "Thu, 28 Jun 2018 16:56:33 +0300" {
		t.Fatalf("created %s", r.body)
	}
	// Null keys are omitted; the password (and its HA1) never appears.
	for _, k := range []string{"voice_fallback_url", "voice_application_sid", "password"} {
		if _, ok := m[k]; ok {
			t.Errorf("key %q present in %s", k, r.body)
		}
	}
	if strings.Contains(r.body, "RestComm12") {
		t.Fatal("password rendered")
	}
	// The store holds the HA1s for the SIP domain, never the password.
	stored, err := e.st.Client(t.Context(), cl)
	if err != nil {
		t.Fatal(err)
	}
	wantMD5, wantSHA := registrar.HA1("alice", testSIPDomain, "RestComm12")
	if stored.HA1MD5 != wantMD5 || stored.HA1SHA256 != wantSHA {
		t.Fatalf("stored secrets %q %q", stored.HA1MD5, stored.HA1SHA256)
	}
	if strings.Contains(r.body, wantMD5) {
		t.Fatal("HA1 rendered")
	}

	// XML: optional URL elements omitted when null.
	r = e.req("GET", "/restcomm"+base+"/"+cl, &e.root, nil)
	want := "<Client><Sid>" + cl + "</Sid><DateCreated>Thu, 28 Jun 2018 16:56:33 +0300</DateCreated><DateUpdated>Thu, 28 Jun 2018 16:56:33 +0300</DateUpdated>" +
		"<AccountSid>" + e.root.Sid + "</AccountSid><ApiVersion>2012-04-24</ApiVersion><FriendlyName>alice</FriendlyName><Login>alice</Login>" +
		"<Password_Algorithm>MD5</Password_Algorithm><Status>1</Status><VoiceUrl>http://127.0.0.1/client.xml</VoiceUrl><VoiceMethod>GET</VoiceMethod>" +
		"<VoiceFallbackMethod>POST</VoiceFallbackMethod><Uri>" + base + "/" + cl + "</Uri></Client>"
	if r.status != http.StatusOK || !strings.Contains(r.body, "<RestcommResponse>"+want+"</RestcommResponse>") {
		t.Fatalf("XML client %d %s\nwant %s", r.status, r.body, want)
	}

	// Update: a new password is re-hashed; Login cannot change; an empty URL clears it.
	r = e.req("PUT", base+"/"+cl+".json", &e.root, url.Values{
		"Password": {"N3w-Secret"}, "Login": {"mallory"}, "Status": {"0"}, "VoiceUrl": {""}, "FriendlyName": {"Alice"},
	})
	m = r.json(t)
	if r.status != http.StatusOK || m["login"] != "alice" || m["status"] != "0" || m["friendly_name"] != "Alice" || m["voice_url"] != nil {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	stored, _ = e.st.Client(t.Context(), cl)
	if md5Hex, _ := registrar.HA1("alice", testSIPDomain, "N3w-Secret"); stored.HA1MD5 != md5Hex {
		t.Fatal("password change did not recompute the HA1")
	}
	wantError(t, e.req("POST", base+"/"+cl+".json", &e.root, url.Values{"Password": {"1234"}}), 400, codeInvalidParameter, "Password too weak")
	wantError(t, e.req("POST", base+"/"+cl+".json", &e.root, url.Values{"Status": {"maybe"}}), 400, codeInvalidParameter, "")
	wantError(t, e.req("POST", base+"/"+cl+".json", &e.root, url.Values{"VoiceMethod": {"PUT"}}), 400, codeInvalidParameter, "")

	r = e.req("DELETE", base+"/"+cl+".json", &e.root, nil)
	if r.status != http.StatusOK || r.body != "" {
		t.Fatalf("delete: %d %q", r.status, r.body)
	}
	wantError(t, e.req("GET", base+"/"+cl+".json", &e.root, nil), 404, codeNotFound, "")
	wantError(t, e.req("DELETE", base+"/"+cl, &e.root, nil), 404, codeNotFound, "")
	wantError(t, e.req("GET", base+"/CLbad.json", &e.root, nil), 400, codeMalformedSid, "")
}

func TestClientCreateValidation(t *testing.T) {
	e := newClientEnv(t)
	base := "/2012-04-24/Accounts/" + e.root.Sid + "/Clients.json"
	wantError(t, e.req("POST", base, &e.root, url.Values{"Password": {"RestComm12"}}), 400, codeInvalidParameter, "Login can not be null.")
	wantError(t, e.req("POST", base, &e.root, url.Values{"Login": {"bob"}}), 400, codeInvalidParameter, "Password can not be null.")
	for _, login := range []string{"bob@home", "bob?x", "a=b", "bob smith", "b:b", "b%40b"} {
		wantError(t, e.req("POST", base, &e.root, url.Values{"Login": {login}, "Password": {"RestComm12"}}), 400, codeInvalidParameter,
			"Login "+login+" contains invalid character(s)")
	}
	for _, pw := range []string{"1234", "asdf123"} {
		wantError(t, e.req("POST", base, &e.root, url.Values{"Login": {"bob"}, "Password": {pw}}), 400, codeInvalidParameter, "Password too weak")
	}
	wantError(t, e.req("POST", base, &e.root, url.Values{"Login": {"bob"}, "Password": {"RestComm12"}, "VoiceUrl": {"relative.xml"}}), 400, codeURLInvalid, "")
	if list := e.req("GET", base, &e.root, nil); list.body != "[]" {
		t.Fatalf("refused creates left clients: %s", list.body)
	}

	// Without a SIP domain no HA1 can be computed: a server error, nothing stored.
	e.srv.sipDomain = ""
	wantError(t, e.req("POST", base, &e.root, url.Values{"Login": {"bob"}, "Password": {"RestComm12"}}), 500, codeInternal, "")
	if _, err := e.st.ClientByLogin(t.Context(), "bob"); err == nil {
		t.Fatal("client stored without a domain")
	}
}

func TestClientLoginUniqueness(t *testing.T) {
	e := newClientEnv(t)
	base := "/2012-04-24/Accounts/" + e.root.Sid + "/Clients.json"
	first := e.req("POST", base, &e.root, url.Values{"Login": {"bob"}, "Password": {"RestComm12"}, "FriendlyName": {"Bob"}})
	if first.status != 200 {
		t.Fatalf("create: %d %s", first.status, first.body)
	}
	// Same account: the existing client, unchanged (upstream).
	again := e.req("POST", base, &e.root, url.Values{"Login": {"bob"}, "Password": {"Other-Pass1"}, "FriendlyName": {"Robert"}})
	if again.status != 200 || again.json(t)["sid"] != first.json(t)["sid"] || again.json(t)["friendly_name"] != "Bob" {
		t.Fatalf("re-create in the same account: %d %s", again.status, again.body)
	}
	// Another account: 409.
	sub := e.subAccount(e.root, roleDeveloper)
	subBase := "/2012-04-24/Accounts/" + sub.Sid + "/Clients.json"
	wantError(t, e.req("POST", subBase, &sub, url.Values{"Login": {"bob"}, "Password": {"RestComm12"}}), 409, codeConflict, "")
	// Logins are case-sensitive SIP user parts.
	if r := e.req("POST", subBase, &sub, url.Values{"Login": {"Bob"}, "Password": {"RestComm12"}}); r.status != 200 {
		t.Fatalf("Bob in another account: %d %s", r.status, r.body)
	}
}

func TestClientListAndOwnership(t *testing.T) {
	e := newClientEnv(t)
	tick := testNow()
	e.srv.now = func() time.Time { tick = tick.Add(time.Second); return tick } // distinct creation times
	base := "/2012-04-24/Accounts/" + e.root.Sid + "/Clients"
	for _, login := range []string{"zed", "amy"} {
		if r := e.req("POST", base, &e.root, url.Values{"Login": {login}, "Password": {"RestComm12"}}); r.status != 200 {
			t.Fatalf("create %s: %d %s", login, r.status, r.body)
		}
	}
	r := e.req("GET", base+".json", &e.root, nil)
	if r.status != 200 || !strings.HasPrefix(r.body, `[{"sid":"CL`) || strings.Index(r.body, `"login":"zed"`) > strings.Index(r.body, `"login":"amy"`) {
		t.Fatalf("JSON list (bare array, oldest first): %d %s", r.status, r.body)
	}
	r = e.req("GET", base, &e.root, nil)
	if r.status != 200 || !strings.Contains(r.body, "<RestcommResponse><Clients><Client><Sid>CL") || strings.Count(r.body, "<Client>") != 2 {
		t.Fatalf("XML list: %s", r.body)
	}

	// A sub-account sees only its own clients, and cannot touch its parent's.
	sub := e.subAccount(e.root, roleDeveloper)
	subBase := "/2012-04-24/Accounts/" + sub.Sid + "/Clients"
	if r := e.req("GET", subBase+".json", &sub, nil); r.body != "[]" {
		t.Fatalf("sub-account list: %s", r.body)
	}
	amy, err := e.st.ClientByLogin(t.Context(), "amy")
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, e.req("GET", base+"/"+amy.Sid+".json", &sub, nil), 403, codeForbidden, "")
	wantError(t, e.req("DELETE", subBase+"/"+amy.Sid+".json", &sub, nil), 403, codeForbidden, "")
	// The parent reaches the sub-account's URL (ancestor rule), but still
	// not its own client through it.
	wantError(t, e.req("GET", subBase+"/"+amy.Sid+".json", &e.root, nil), 403, codeForbidden, "")
	wantError(t, e.req("GET", base+".json", nil, nil), 401, codeUnauthenticated, "")
	if got, err := e.st.Client(t.Context(), amy.Sid); err != nil || got.Status != store.ClientEnabled {
		t.Fatalf("amy after refused requests: %+v %v", got, err)
	}
}
