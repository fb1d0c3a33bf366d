package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

func TestCreateAccount(t *testing.T) {
	e := newEnv(t)
	r := e.req("POST", "/restcomm/2012-04-24/Accounts.json", &e.root, url.Values{
		"EmailAddress": {"New@Example.com"}, "Password": {"RestComm12"}, "FriendlyName": {"Tenant"}, "Role": {"developer"},
	})
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	m := r.json(t)
	acctSid, _ := m["sid"].(string)
	token, _ := m["auth_token"].(string)
	if !sid.Valid(acctSid, sid.Account) || len(token) != 32 || m["email_address"] != "new@example.com" ||
		m["status"] != "active" || m["role"] != roleDeveloper || m["friendly_name"] != "Tenant" || m["type"] != "Full" {
		t.Fatalf("account %s", r.body)
	}
	if m["uri"] != "/2012-04-24/Accounts/"+acctSid+".json" {
		t.Errorf("uri %v", m["uri"])
	}
	if _, ok := m["password"]; ok || strings.Contains(r.body, "RestComm12") || strings.Contains(r.body, "pbkdf2") {
		t.Fatal("the password or its hash is rendered")
	}
	stored, err := e.st.Account(context.Background(), acctSid)
	if err != nil {
		t.Fatal(err)
	}
	if stored.ParentSid != e.root.Sid || !PasswordMatches(stored.PasswordHash, "RestComm12") || PasswordMatches(stored.PasswordHash, "RestComm13") {
		t.Fatalf("stored %+v", stored)
	}
	// The sid is random, not derived from the e-mail (decision 11), and the
	// new account can authenticate with its token.
	if acctSid == "AC"+strings.Repeat("0", 32) {
		t.Fatal("sid")
	}
	if r := e.req("GET", "/2012-04-24/Accounts/"+acctSid+".json", &stored, nil); r.status != http.StatusOK {
		t.Fatalf("new account cannot read itself: %d", r.status)
	}

	// JSON key order as upstream.
	keys := []string{`"sid"`, `"friendly_name"`, `"email_address"`, `"type"`, `"status"`, `"role"`, `"date_created"`,
		`"date_updated"`, `"auth_token"`, `"uri"`, `"subresource_uris"`, `"available_phone_numbers"`, `"calls"`, `"sms_messages"`}
	last := -1
	for _, k := range keys {
		i := strings.Index(r.body, k)
		if i <= last {
			t.Fatalf("key %s out of order in %s", k, r.body)
		}
		last = i
	}
}

func TestCreateAccountErrors(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		form   url.Values
		status int
		code   int
		msg    string
	}{
		{url.Values{}, 400, codeInvalidParameter, "Email address can not be null."},
		{url.Values{"EmailAddress": {"not-an-email"}}, 400, codeInvalidParameter, ""},
		{url.Values{"EmailAddress": {"a=b@example.com"}}, 400, codeInvalidParameter, ""},
		{url.Values{"EmailAddress": {"x@example.com"}, "Password": {"asdf123"}}, 400, codeInvalidParameter, "Password too weak"},
		{url.Values{"EmailAddress": {"x@example.com"}, "Password": {"1234"}}, 400, codeInvalidParameter, "Password too weak"},
		{url.Values{"EmailAddress": {"x@example.com"}, "Status": {"frozen"}}, 400, codeInvalidParameter, ""},
		{url.Values{"EmailAddress": {"x@example.com"}, "Role": {"Overlord"}}, 400, codeInvalidParameter, ""},
		{url.Values{"EmailAddress": {strings.ToUpper(BootstrapEmail)}}, 409, codeConflict, "The email address used for the new account is already in use."},
	}
	for _, tc := range cases {
		wantError(t, e.req("POST", "/2012-04-24/Accounts.json", &e.root, tc.form), tc.status, tc.code, tc.msg)
	}
	wantError(t, e.req("POST", "/2012-04-24/Accounts.json", nil, url.Values{"EmailAddress": {"y@example.com"}}), 401, codeUnauthenticated, "")
}

func TestCreateAccountRoleInheritedFromNonAdmin(t *testing.T) {
	e := newEnv(t)
	dev := e.subAccount(e.root, roleDeveloper)
	r := e.req("POST", "/2012-04-24/Accounts.json", &dev, url.Values{"EmailAddress": {"k@example.com"}, "Role": {"Administrator"}})
	if r.status != http.StatusOK || r.json(t)["role"] != roleDeveloper {
		t.Fatalf("a Developer's sub-account must stay Developer: %d %s", r.status, r.body)
	}
}

func TestAccountDepthLimit(t *testing.T) {
	e := newEnv(t)
	cur := e.root
	for range maxAccountDepth - 1 {
		cur = e.subAccount(cur, roleAdmin)
	}
	wantError(t, e.req("POST", "/2012-04-24/Accounts.json", &cur, url.Values{"EmailAddress": {"deep@example.com"}}),
		400, codeBadRequest, "This account is not allowed to have sub-accounts")
}

func TestListAccountsDirectChildren(t *testing.T) {
	e := newEnv(t)
	a := e.subAccount(e.root, roleDeveloper)
	b := e.subAccount(e.root, roleDeveloper)
	e.subAccount(a, roleDeveloper) // grandchild: not listed
	r := e.req("GET", "/2012-04-24/Accounts.json", &e.root, nil)
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.body), &list); err != nil || len(list) != 2 {
		t.Fatalf("want a bare array of 2: %v %s", err, r.body)
	}
	got := map[any]bool{list[0]["sid"]: true, list[1]["sid"]: true}
	if !got[a.Sid] || !got[b.Sid] {
		t.Fatalf("children %v, want %s and %s", got, a.Sid, b.Sid)
	}
	r = e.req("GET", "/restcomm/2012-04-24/Accounts", &e.root, nil)
	if !strings.Contains(r.body, "<RestcommResponse><Accounts><Account><Sid>") || !strings.Contains(r.body, "<Sid>"+b.Sid+"</Sid>") || strings.Count(r.body, "<Account>") != 2 {
		t.Fatalf("XML list %s", r.body)
	}
}

func TestGetAccountXMLAndSecuredRule(t *testing.T) {
	e := newEnv(t)
	dev := e.subAccount(e.root, roleDeveloper)
	devChild := e.subAccount(dev, roleDeveloper)

	r := e.req("GET", "/2012-04-24/Accounts/"+dev.Sid, &e.root, nil)
	want := "<RestcommResponse><Account><Sid>" + dev.Sid + "</Sid><FriendlyName>sub</FriendlyName><EmailAddress></EmailAddress>" +
		"<Status>active</Status><Role>Developer</Role><Type>Full</Type><DateCreated>Thu, 28 Jun 2018 16:56:33 +0300</DateCreated>" +
		"<DateUpdated>Thu, 28 Jun 2018 16:56:33 +0300</DateUpdated><AuthToken>" + dev.AuthToken + "</AuthToken>" +
		"<Uri>/2012-04-24/Accounts/" + dev.Sid + "</Uri><SubresourceUris><AvailablePhoneNumbers>/2012-04-24/Accounts/" + dev.Sid + "/AvailablePhoneNumbers</AvailablePhoneNumbers>"
	if !strings.Contains(r.body, want) || !strings.Contains(r.body, "<SMSMessages>/2012-04-24/Accounts/"+dev.Sid+"/SMS/Messages</SMSMessages>") {
		t.Fatalf("XML account\n got %s\nwant prefix %s", r.body, want)
	}
	// A Developer may read only itself, not its own child.
	wantError(t, e.req("GET", "/2012-04-24/Accounts/"+devChild.Sid+".json", &dev, nil), 403, codeForbidden, "")
	wantError(t, e.req("GET", "/2012-04-24/Accounts/"+e.root.Sid+".json", &dev, nil), 403, codeForbidden, "")
	wantError(t, e.req("GET", "/2012-04-24/Accounts/"+sid.New(sid.Account)+".json", &dev, nil), 404, codeNotFound, "")
	wantError(t, e.req("GET", "/2012-04-24/Accounts/nobody@example.com.json", &e.root, nil), 404, codeNotFound, "")
	wantError(t, e.req("GET", "/2012-04-24/Accounts/ACshort", &e.root, nil), 400, codeMalformedSid, "")
	// Also reachable as Accounts.json/{sid} and by e-mail.
	if r := e.req("GET", "/2012-04-24/Accounts.json/"+dev.Sid, &e.root, nil); r.json(t)["sid"] != dev.Sid {
		t.Fatalf("Accounts.json/{sid}: %s", r.body)
	}
	if r := e.req("GET", "/2012-04-24/Accounts/"+BootstrapEmail+".json", &e.root, nil); r.json(t)["sid"] != e.root.Sid {
		t.Fatalf("by e-mail: %s", r.body)
	}
}

func TestUpdateAccount(t *testing.T) {
	e := newEnv(t)
	a := e.subAccount(e.root, roleDeveloper)
	path := "/2012-04-24/Accounts/" + a.Sid + ".json"

	r := e.req("PUT", path, &a, url.Values{"FriendlyName": {"Renamed"}, "Password": {"asd123$#@"}, "RotateAuthToken": {"true"}})
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	m := r.json(t)
	if m["friendly_name"] != "Renamed" || m["auth_token"] == a.AuthToken {
		t.Fatalf("update %s", r.body)
	}
	// The old token no longer works; the new one does.
	wantError(t, e.req("GET", path, &a, nil), 401, codeUnauthenticated, "")
	a.AuthToken = m["auth_token"].(string)
	if r := e.req("GET", path, &a, nil); r.status != http.StatusOK {
		t.Fatalf("new token: %d", r.status)
	}
	// Only an Administrator may change roles.
	wantError(t, e.req("POST", path, &a, url.Values{"Role": {"Administrator"}}), 403, codeForbidden, "Only Administrator allowed")
	wantError(t, e.req("POST", path, &a, url.Values{"Status": {"bogus"}}), 400, codeInvalidParameter, "")
	wantError(t, e.req("POST", path, &a, url.Values{"Password": {"weak"}}), 400, codeInvalidParameter, "Password too weak")
	wantError(t, e.req("DELETE", path, &e.root, nil), 405, codeMethodNotAllowed, "")
}

func TestUpdateAccountStatusCascadesAndClose(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.subAccount(e.root, roleAdmin)
	child := e.subAccount(a, roleDeveloper)
	grandchild := e.subAccount(child, roleDeveloper)
	// A number of the grandchild is released when the subtree closes.
	num := e.req("POST", "/2012-04-24/Accounts/"+grandchild.Sid+"/IncomingPhoneNumbers.json", &e.root, url.Values{"PhoneNumber": {"+15550001"}})
	if num.status != http.StatusOK {
		t.Fatalf("number: %d %s", num.status, num.body)
	}

	r := e.req("POST", "/2012-04-24/Accounts/"+a.Sid+".json", &e.root, url.Values{"Status": {"SUSPENDED"}})
	if r.status != http.StatusOK || r.json(t)["status"] != "suspended" {
		t.Fatalf("suspend: %d %s", r.status, r.body)
	}
	for _, s := range []string{a.Sid, child.Sid, grandchild.Sid} {
		got, _ := e.st.Account(ctx, s)
		if got.Status != store.AccountSuspended {
			t.Fatalf("%s status %s after cascade", s, got.Status)
		}
	}
	// A suspended account cannot use the API.
	wantError(t, e.req("GET", "/2012-04-24/Accounts/"+child.Sid+".json", &child, nil), 403, codeAccountNotActive, "")

	r = e.req("POST", "/2012-04-24/Accounts/"+a.Sid+".json", &e.root, url.Values{"Status": {"closed"}})
	if r.status != http.StatusOK {
		t.Fatalf("close: %d %s", r.status, r.body)
	}
	if got, _ := e.st.Account(ctx, grandchild.Sid); got.Status != store.AccountClosed {
		t.Fatalf("grandchild %s", got.Status)
	}
	if nums, _ := e.st.PhoneNumbers(ctx, grandchild.Sid); len(nums) != 0 {
		t.Fatalf("closed account keeps %d numbers", len(nums))
	}
	wantError(t, e.req("POST", "/2012-04-24/Accounts/"+a.Sid+".json", &e.root, url.Values{"Status": {"active"}}), 400, codeBadRequest, "Account is closed")
}

func TestEnsureBootstrapAccount(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	again, created, err := EnsureBootstrapAccount(ctx, e.st, "", "")
	if err != nil || created || again.Sid != e.root.Sid || again.AuthToken != e.root.AuthToken {
		t.Fatalf("second call: %+v created=%v err=%v", again, created, err)
	}
	if again.Role != roleAdmin || again.ParentSid != "" || again.Status != store.AccountActive {
		t.Fatalf("bootstrap %+v", again)
	}
	// A configured token replaces the stored one.
	tok := sid.Token()
	again, created, err = EnsureBootstrapAccount(ctx, e.st, e.root.Sid, tok)
	if err != nil || created || again.AuthToken != tok {
		t.Fatalf("configured token: %+v %v %v", again, created, err)
	}
	// A configured sid that does not exist yet is created with that sid.
	want := sid.New(sid.Account)
	other, created, err := EnsureBootstrapAccount(ctx, e.st, want, "")
	if err != nil || !created || other.Sid != want || len(other.AuthToken) != 32 {
		t.Fatalf("configured sid: %+v %v %v", other, created, err)
	}
	if _, _, err := EnsureBootstrapAccount(ctx, e.st, "bad", ""); err == nil {
		t.Fatal("malformed sid accepted")
	}
	sub := e.subAccount(e.root, roleDeveloper)
	if _, _, err := EnsureBootstrapAccount(ctx, e.st, sub.Sid, ""); err == nil {
		t.Fatal("a sub-account accepted as bootstrap")
	}
}

func TestPasswordStrengthVectors(t *testing.T) {
	for pw, ok := range map[string]bool{"1234": false, "asdf123": false, "asd123$#@": true, "RestComm12": true, "abcdefgh": false} {
		if got := checkPasswordStrength(pw) == nil; got != ok {
			t.Errorf("%q: accepted %v, want %v", pw, got, ok)
		}
	}
	if PasswordMatches("garbage", "x") || PasswordMatches("pbkdf2-sha256$0$AA$AA", "x") {
		t.Error("malformed hash matched")
	}
}
