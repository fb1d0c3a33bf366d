package api

import (
	"context"
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

func TestAuthRejectsMissingAndWrongCredentials(t *testing.T) {
	e := newEnv(t)
	path := "/restcomm/2012-04-24/Accounts/" + e.root.Sid + "/Calls"

	r := e.req("GET", path, nil, nil)
	wantError(t, r, http.StatusUnauthorized, codeUnauthenticated, "")
	if got := r.header.Get("WWW-Authenticate"); got != `Basic realm="Restcomm realm"` {
		t.Errorf("WWW-Authenticate %q", got)
	}

	wrong := e.root
	wrong.AuthToken = sid.Token()
	r = e.req("GET", path+".json", &wrong, nil)
	wantError(t, r, http.StatusUnauthorized, codeUnauthenticated, "")
	if r.header.Get("WWW-Authenticate") == "" {
		t.Error("no WWW-Authenticate on a wrong token")
	}

	unknown := store.Account{Sid: sid.New(sid.Account), AuthToken: e.root.AuthToken}
	wantError(t, e.req("GET", path, &unknown, nil), http.StatusUnauthorized, codeUnauthenticated, "")

	// Garbage in the header is a 401, not a 500.
	wantError(t, e.req("GET", path, nil, nil, "Authorization", "Basic !!!"), http.StatusUnauthorized, codeUnauthenticated, "")
}

func TestAuthAcceptsEmailAsUsername(t *testing.T) {
	e := newEnv(t)
	cred := base64.StdEncoding.EncodeToString([]byte(BootstrapEmail + ":" + e.root.AuthToken))
	r := e.req("GET", "/2012-04-24/Accounts/"+e.root.Sid+".json", nil, nil, "Authorization", "Basic "+cred)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if r.json(t)["sid"] != e.root.Sid {
		t.Fatalf("body %s", r.body)
	}
}

func TestAuthInactiveAccountIsForbidden(t *testing.T) {
	e := newEnv(t)
	sub := e.subAccount(e.root, roleDeveloper)
	sub.Status = store.AccountSuspended
	if err := e.st.UpdateAccount(context.Background(), sub); err != nil {
		t.Fatal(err)
	}
	r := e.req("GET", "/2012-04-24/Accounts/"+sub.Sid+"/Calls.json", &sub, nil)
	wantError(t, r, http.StatusForbidden, codeAccountNotActive, "Provided Account is not active")
}

func TestAuthAccountTree(t *testing.T) {
	e := newEnv(t)
	a := e.subAccount(e.root, roleDeveloper)
	b := e.subAccount(e.root, roleDeveloper)
	aChild := e.subAccount(a, roleDeveloper)

	cases := []struct {
		name   string
		as     store.Account
		target string
		status int
		code   int
	}{
		{"self", a, a.Sid, http.StatusOK, 0},
		{"ancestor reads grandchild", e.root, aChild.Sid, http.StatusOK, 0},
		{"parent reads child", a, aChild.Sid, http.StatusOK, 0},
		{"sibling", a, b.Sid, http.StatusForbidden, codeForbidden},
		{"child reads parent", aChild, a.Sid, http.StatusForbidden, codeForbidden},
		{"unknown account", a, sid.New(sid.Account), http.StatusNotFound, codeNotFound},
		{"malformed sid", a, "ACnothex", http.StatusBadRequest, codeMalformedSid},
		{"wrong prefix", a, sid.New(sid.Call), http.StatusBadRequest, codeMalformedSid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.req("GET", "/2012-04-24/Accounts/"+tc.target+"/Calls.json", &tc.as, nil)
			if tc.status == http.StatusOK {
				if r.status != http.StatusOK {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				return
			}
			wantError(t, r, tc.status, tc.code, "")
		})
	}
}

func TestAuthErrorsInXMLWithoutJSONHint(t *testing.T) {
	e := newEnv(t)
	r := e.req("GET", "/restcomm/2012-04-24/Accounts/"+e.root.Sid+"/Calls/CAbad", &e.root, nil)
	wantError(t, r, http.StatusBadRequest, codeMalformedSid, "")
	if ct := r.header.Get("Content-Type"); ct != "application/xml; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	// The same error is JSON when the Accept header asks for it.
	r = e.req("GET", "/restcomm/2012-04-24/Accounts/"+e.root.Sid+"/Calls/CAbad", &e.root, nil, "Accept", "application/json")
	wantError(t, r, http.StatusBadRequest, codeMalformedSid, `CallSid "CAbad" is not a valid sid.`)
}
