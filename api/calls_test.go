package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/calls"
	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

// goldenCall is a dialed, ended leg with every field filled.
func goldenCall(account string) store.Call {
	c := testCall(account, "alice", "bob")
	c.Sid = "CA0123456789abcdef0123456789abcdef"
	c.ParentCallSid = "CAfedcba9876543210fedcba9876543210"
	c.Direction = store.DirectionOutboundDial
	c.StartTime = time.Date(2013, 10, 18, 4, 51, 47, 671_000_000, time.UTC)
	c.EndTime = c.StartTime.Add(90 * time.Second)
	c.Duration = 80
	c.RingDuration = 10
	c.AnsweredBy = "bob"
	c.CallerName = "Alice"
	c.DateCreated = time.Date(2018, 6, 8, 13, 56, 33, 0, time.UTC)
	return c
}

func TestCallJSONRepresentation(t *testing.T) {
	e := newEnv(t)
	c := e.putCall(goldenCall(e.root.Sid))
	r := e.req("GET", "/2012-04-24/Accounts/"+e.root.Sid+"/Calls/"+c.Sid+".json", &e.root, nil)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	uri := "/2012-04-24/Accounts/" + e.root.Sid + "/Calls/" + c.Sid
	want := `{"sid":"` + c.Sid + `","date_created":"Fri, 8 Jun 2018 16:56:33 +0300","date_updated":"Thu, 28 Jun 2018 16:56:33 +0300",` +
		`"parent_call_sid":"CAfedcba9876543210fedcba9876543210","account_sid":"` + e.root.Sid + `","to":"bob","from":"alice",` +
		`"status":"completed","start_time":"2013-10-18T07:51:47.671+03:00","end_time":"2013-10-18T07:53:17.671+03:00",` +
		`"duration":80,"price":"0.00","price_unit":"USD","direction":"outbound-dial","answered_by":"bob","api_version":"2012-04-24",` +
		`"caller_name":"Alice","uri":"` + uri + `.json","ring_duration":10,` +
		`"subresource_uris":{"notifications":"` + uri + `/Notifications.json","recordings":"` + uri + `/Recordings.json"}}`
	if r.body != want {
		t.Fatalf("JSON call\n got %s\nwant %s", r.body, want)
	}
}

func TestCallXMLRepresentation(t *testing.T) {
	e := newEnv(t)
	c := goldenCall(e.root.Sid)
	c.ParentCallSid = ""
	c.EndTime = time.Time{}
	c.Duration = -1
	e.putCall(c)
	r := e.req("GET", "/restcomm/2012-04-24/Accounts/"+e.root.Sid+"/Calls/"+c.Sid, &e.root, nil)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	uri := "/2012-04-24/Accounts/" + e.root.Sid + "/Calls/" + c.Sid
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<RestcommResponse><Call><Sid>` + c.Sid + `</Sid>` +
		`<DateCreated>Fri, 8 Jun 2018 16:56:33 +0300</DateCreated><DateUpdated>Thu, 28 Jun 2018 16:56:33 +0300</DateUpdated>` +
		`<ParentCallSid></ParentCallSid><AccountSid>` + e.root.Sid + `</AccountSid><To>bob</To><From>alice</From>` +
		`<PhoneNumberSid></PhoneNumberSid><Status>completed</Status><StartTime>2013-10-18T07:51:47.671+03:00</StartTime>` +
		`<EndTime></EndTime><Duration></Duration><Price>0.00</Price><PriceUnit>USD</PriceUnit><Direction>outbound-dial</Direction>` +
		`<AnsweredBy>bob</AnsweredBy><ApiVersion>2012-04-24</ApiVersion><ForwardedFrom></ForwardedFrom><CallerName>Alice</CallerName>` +
		`<Uri>` + uri + `</Uri><SubresourceUris><Notifications>` + uri + `/Notifications</Notifications>` +
		`<Recordings>` + uri + `/Recordings</Recordings></SubresourceUris><Ring_duration>10</Ring_duration></Call></RestcommResponse>`
	if r.body != want {
		t.Fatalf("XML call\n got %s\nwant %s", r.body, want)
	}
}

func TestJSONSelectionAndPrefixes(t *testing.T) {
	e := newEnv(t)
	c := e.putCall(testCall(e.root.Sid, "a", "b"))
	acct := "/Accounts/" + e.root.Sid
	for _, prefix := range []string{"/restcomm/2012-04-24", "/2012-04-24"} {
		cases := []struct {
			path, accept string
			json         bool
		}{
			{prefix + acct + "/Calls/" + c.Sid + ".json", "", true},
			{prefix + acct + "/Calls.json/" + c.Sid, "", true},
			{prefix + acct + "/Calls/" + c.Sid, "application/json", true},
			{prefix + acct + "/Calls/" + c.Sid, "", false},
			{prefix + acct + "/Calls/" + c.Sid, "text/xml", false},
		}
		for _, tc := range cases {
			r := e.req("GET", tc.path, &e.root, nil, "Accept", tc.accept)
			if r.status != http.StatusOK {
				t.Fatalf("GET %s: status %d %s", tc.path, r.status, r.body)
			}
			isJSON := strings.HasPrefix(r.body, "{")
			if isJSON != tc.json {
				t.Errorf("GET %s (Accept %q): JSON %v, want %v: %s", tc.path, tc.accept, isJSON, tc.json, r.body)
			}
		}
		// The collection with .json.
		r := e.req("GET", prefix+acct+"/Calls.json", &e.root, nil)
		if r.status != http.StatusOK || r.json(t)["total"] != float64(1) {
			t.Fatalf("GET Calls.json: %d %s", r.status, r.body)
		}
	}
}

func TestGetCallErrors(t *testing.T) {
	e := newEnv(t)
	other := e.subAccount(e.root, roleDeveloper)
	foreign := e.putCall(testCall(other.Sid, "a", "b"))
	base := "/2012-04-24/Accounts/" + e.root.Sid + "/Calls/"

	wantError(t, e.req("GET", base+sid.New(sid.Call)+".json", &e.root, nil), http.StatusNotFound, codeNotFound, "")
	wantError(t, e.req("GET", base+foreign.Sid+".json", &e.root, nil), http.StatusForbidden, codeForbidden, "")
	wantError(t, e.req("GET", base+"CA123.json", &e.root, nil), http.StatusBadRequest, codeMalformedSid, "")

	// The parent reads the child's call through the child's URL.
	r := e.req("GET", "/2012-04-24/Accounts/"+other.Sid+"/Calls/"+foreign.Sid+".json", &e.root, nil)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	// The clustered sid form names the same call.
	clustered := "ID" + strings.Repeat("a", 32) + "-" + foreign.Sid
	r = e.req("GET", "/2012-04-24/Accounts/"+other.Sid+"/Calls/"+clustered+".json", &e.root, nil)
	if r.status != http.StatusOK || r.json(t)["sid"] != foreign.Sid {
		t.Fatalf("clustered sid: %d %s", r.status, r.body)
	}
}

func TestCreateCallValidation(t *testing.T) {
	e := newEnv(t)
	path := "/2012-04-24/Accounts/" + e.root.Sid + "/Calls.json"
	full := func(kv ...string) url.Values {
		v := url.Values{"From": {"alice"}, "To": {"+15551234"}, "Url": {"http://127.0.0.1/app.xml"}}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				v.Del(kv[i])
			} else {
				v.Set(kv[i], kv[i+1])
			}
		}
		return v
	}
	cases := []struct {
		name    string
		form    url.Values
		code    int
		message string
	}{
		{"nothing", url.Values{}, codeFromMissing, "From can not be null."},
		{"no From", full("From", ""), codeFromMissing, "From can not be null."},
		{"no To", full("To", ""), codeToMissing, "To can not be null."},
		{"no Url", full("Url", ""), codeURLInvalid, "Url can not be null."},
		{"From checked before Url", url.Values{"To": {"x"}}, codeFromMissing, "From can not be null."},
		{"relative Url", full("Url", "/app.xml"), codeURLInvalid, ""},
		{"ftp Url", full("Url", "ftp://127.0.0.1/a"), codeURLInvalid, ""},
		{"bad Method", full("Method", "PUT"), codeInvalidParameter, `Method must be GET or POST, not "PUT".`},
		{"bad FallbackMethod", full("FallbackMethod", "DELETE"), codeInvalidParameter, ""},
		{"bad StatusCallbackMethod", full("StatusCallbackMethod", "x"), codeInvalidParameter, ""},
		{"bad FallbackUrl", full("FallbackUrl", "nope"), codeURLInvalid, ""},
		{"bad StatusCallback", full("StatusCallback", "nope"), codeURLInvalid, ""},
		{"Timeout zero", full("Timeout", "0"), codeInvalidParameter, ""},
		{"Timeout too big", full("Timeout", "601"), codeInvalidParameter, ""},
		{"Timeout not a number", full("Timeout", "ten"), codeInvalidParameter, `Timeout must be an integer from 1 to 600, not "ten".`},
		{"unknown event", full("StatusCallbackEvent", "initiated bogus"), codeInvalidParameter, ""},
		{"non-X header", full("To", "sip:bob@127.0.0.1?Via=evil"), codeToInvalid, ""},
		{"client with colon", full("To", "client:a:b"), codeToInvalid, "client:a:b is an invalid client identifier."},
		{"empty client", full("To", "client:"), codeToInvalid, ""},
		{"only headers", full("To", "?X-A=1"), codeToMissing, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.req("POST", path, &e.root, tc.form)
			wantError(t, r, http.StatusBadRequest, tc.code, tc.message)
		})
	}
	if n := len(e.calls.creates); n != 0 {
		t.Fatalf("%d invalid requests reached the switch", n)
	}
}

func TestCreateCallBuildsRequest(t *testing.T) {
	e := newEnv(t)
	sub := e.subAccount(e.root, roleDeveloper)
	path := "/restcomm/2012-04-24/Accounts/" + sub.Sid + "/Calls.json"

	r := e.req("POST", path, &e.root, url.Values{
		"From": {" alice "}, "To": {"sip:bob@127.0.0.1:5070?X-Foo=1&X-Bar=two"}, "Url": {"http://127.0.0.1:8080/a.xml"},
		"Method": {"get"}, "StatusCallback": {"https://127.0.0.1/cb"}, "StatusCallbackEvent": {"completed, ringing"},
		"Timeout": {"30"}, "Username": {"u"}, "Password": {"p"},
	})
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	got := e.calls.lastCreate(t)
	want := calls.CreateRequest{
		AccountSid: sub.Sid, From: "alice", To: "sip:bob@127.0.0.1:5070", ToKind: calls.TargetSIP,
		Headers: map[string]string{"X-Foo": "1", "X-Bar": "two"},
		URL:     "http://127.0.0.1:8080/a.xml", Method: "GET", FallbackMethod: "POST",
		StatusCallback: "https://127.0.0.1/cb", StatusCallbackMethod: "POST",
		StatusCallbackEvents: []string{"ringing", "completed"}, TimeoutSeconds: 30,
		Username: "u", Password: "p",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("CreateRequest\n got %+v\nwant %+v", got, want)
	}
	m := r.json(t)
	if m["account_sid"] != sub.Sid || m["status"] != "queued" || m["direction"] != "outbound-api" {
		t.Fatalf("created call %s", r.body)
	}

	// Defaults and target kinds.
	kinds := map[string]string{
		"client:alice": calls.TargetClient, "+15551234": calls.TargetNumber,
		"bob@127.0.0.1": calls.TargetSIP, "sip:1234@127.0.0.1": calls.TargetSIP,
	}
	for to, kind := range kinds {
		r := e.req("POST", path, &e.root, url.Values{"From": {"a"}, "To": {to}, "Url": {"http://127.0.0.1/x"}})
		if r.status != http.StatusOK {
			t.Fatalf("To %s: status %d %s", to, r.status, r.body)
		}
		got := e.calls.lastCreate(t)
		if got.ToKind != kind || got.To != to {
			t.Errorf("To %s: kind %s to %s, want %s", to, got.ToKind, got.To, kind)
		}
		if got.Method != "POST" || got.TimeoutSeconds != 60 || len(got.StatusCallbackEvents) != 4 || got.Headers != nil {
			t.Errorf("To %s: defaults not applied: %+v", to, got)
		}
	}
}

func TestCreateCallSeveralLegs(t *testing.T) {
	e := newEnv(t)
	e.calls.createFn = func(r calls.CreateRequest) ([]store.Call, error) {
		return []store.Call{testCall(r.AccountSid, r.From, "alice"), testCall(r.AccountSid, r.From, "alice")}, nil
	}
	form := url.Values{"From": {"a"}, "To": {"client:alice"}, "Url": {"http://127.0.0.1/x"}}
	r := e.req("POST", "/2012-04-24/Accounts/"+e.root.Sid+"/Calls.json", &e.root, form)
	var legs []map[string]any
	if err := json.Unmarshal([]byte(r.body), &legs); err != nil || len(legs) != 2 {
		t.Fatalf("want a JSON array of two calls: %v %s", err, r.body)
	}
	r = e.req("POST", "/2012-04-24/Accounts/"+e.root.Sid+"/Calls", &e.root, form)
	if !strings.Contains(r.body, "<RestcommResponse><Calls><Call>") || strings.Count(r.body, "<Call>") != 2 {
		t.Fatalf("want <RestcommResponse><Calls> with two calls: %s", r.body)
	}
	// A single leg in XML is wrapped in RestcommResponse.
	e.calls.createFn = nil
	r = e.req("POST", "/2012-04-24/Accounts/"+e.root.Sid+"/Calls", &e.root, form)
	if !strings.Contains(r.body, "<RestcommResponse><Call><Sid>CA") {
		t.Fatalf("single leg XML: %s", r.body)
	}
}

func TestCreateCallErrorMapping(t *testing.T) {
	e := newEnv(t)
	path := "/2012-04-24/Accounts/" + e.root.Sid + "/Calls.json"
	cases := []struct {
		err     error
		status  int
		code    int
		message string
	}{
		{calls.ErrClientNotRegistered, http.StatusNotFound, codeDialFailed, "The SIP Client client:alice is not registered or does not exist"},
		{calls.ErrNoOutboundProxy, http.StatusInternalServerError, codeDialFailed, "Cannot create call to: client:alice. The Active Outbound Proxy is null. Please check configuration."},
		{fmt.Errorf("switch: %w", calls.ErrShuttingDown), http.StatusServiceUnavailable, codeUnavailable, ""},
		{&calls.DeniedError{Plugin: "p", Reason: "no calls after 6pm"}, http.StatusForbidden, codePolicyDenied, "no calls after 6pm"},
		{fmt.Errorf("disk on fire"), http.StatusInternalServerError, codeInternal, "Internal server error."},
	}
	for _, tc := range cases {
		e.calls.createFn = func(calls.CreateRequest) ([]store.Call, error) { return nil, tc.err }
		r := e.req("POST", path, &e.root, url.Values{"From": {"a"}, "To": {"client:alice"}, "Url": {"http://127.0.0.1/x"}})
		wantError(t, r, tc.status, tc.code, tc.message)
	}
	if !strings.Contains(e.logs.String(), "disk on fire") {
		t.Error("the internal error was not logged")
	}
}

func TestPanicIsRecoveredInto500(t *testing.T) {
	e := newEnv(t)
	e.calls.createFn = func(calls.CreateRequest) ([]store.Call, error) { panic("boom") }
	r := e.req("POST", "/2012-04-24/Accounts/"+e.root.Sid+"/Calls", &e.root, url.Values{"From": {"a"}, "To": {"b"}, "Url": {"http://127.0.0.1/x"}})
	wantError(t, r, http.StatusInternalServerError, codeInternal, "Internal server error.")
	if !strings.Contains(e.logs.String(), "panic in handler") {
		t.Error("panic not logged")
	}
	// The server still works afterwards.
	e.calls.createFn = nil
	r = e.req("GET", "/2012-04-24/Accounts/"+e.root.Sid+"/Calls.json", &e.root, nil)
	if r.status != http.StatusOK {
		t.Fatalf("after panic: %d", r.status)
	}
}

func TestModifyCallValidation(t *testing.T) {
	e := newEnv(t)
	c := e.putCall(liveCall(e.root.Sid))
	path := "/2012-04-24/Accounts/" + e.root.Sid + "/Calls/" + c.Sid + ".json"
	cases := []struct {
		name string
		form url.Values
		code int
	}{
		{"nothing to do", url.Values{}, codeBadRequest},
		{"only Method", url.Values{"Method": {"GET"}}, codeBadRequest},
		{"only MoveConnectedCallLeg", url.Values{"MoveConnectedCallLeg": {"true"}}, codeBadRequest},
		{"relative Url", url.Values{"Url": {"/next.xml"}}, codeURLInvalid},
		{"garbage Url", url.Values{"Url": {"http//x"}}, codeURLInvalid},
		{"bad Method", url.Values{"Url": {"http://127.0.0.1/x"}, "Method": {"PATCH"}}, codeInvalidParameter},
		{"bad Status", url.Values{"Status": {"complete"}}, codeInvalidParameter},
		{"bad Mute", url.Values{"Mute": {"yes"}}, codeInvalidParameter},
		{"bad MoveConnectedCallLeg", url.Values{"Url": {"http://127.0.0.1/x"}, "MoveConnectedCallLeg": {"1"}}, codeInvalidParameter},
		{"bad StatusCallback", url.Values{"StatusCallback": {"cb"}}, codeURLInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.req("POST", path, &e.root, tc.form), http.StatusBadRequest, tc.code, "")
		})
	}
	wantError(t, e.req("POST", "/2012-04-24/Accounts/"+e.root.Sid+"/Calls/CAxyz", &e.root, url.Values{"Status": {"completed"}}),
		http.StatusBadRequest, codeMalformedSid, "")
	if n := e.calls.modifyCount(); n != 0 {
		t.Fatalf("%d invalid requests reached the switch", n)
	}
}

func TestModifyCallBuildsRequest(t *testing.T) {
	e := newEnv(t)
	c := e.putCall(liveCall(e.root.Sid))
	base := "/2012-04-24/Accounts/" + e.root.Sid
	paths := []string{base + "/Calls/" + c.Sid + ".json", base + "/Calls.json/" + c.Sid, base + "/Calls/" + c.Sid}

	r := e.req("POST", paths[0], &e.root, url.Values{
		"Url": {"http://127.0.0.1/next.xml"}, "FallbackUrl": {"http://127.0.0.1/fb.xml"}, "FallbackMethod": {"get"},
		"Status": {"Completed"}, "Mute": {"TRUE"}, "MoveConnectedCallLeg": {"True"},
	})
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	mute := true
	want := calls.ModifyRequest{
		AccountSid: e.root.Sid, RequesterSid: e.root.Sid, Superuser: true, CallSid: c.Sid,
		URL: "http://127.0.0.1/next.xml", Method: "POST", FallbackURL: "http://127.0.0.1/fb.xml", FallbackMethod: "GET",
		Status: store.StatusCompleted, Mute: &mute, MoveConnectedCallLeg: true,
	}
	if got := e.calls.lastModify(t); !reflect.DeepEqual(got, want) {
		t.Fatalf("ModifyRequest\n got %+v\nwant %+v", got, want)
	}
	if r.json(t)["status"] != "completed" {
		t.Fatalf("response is not the call as modified: %s", r.body)
	}

	// Absent Mute is "no change"; StatusCallback alone is something to do.
	for _, p := range paths {
		r := e.req("POST", p, &e.root, url.Values{"StatusCallback": {"http://127.0.0.1/cb"}})
		if r.status != http.StatusOK {
			t.Fatalf("POST %s: %d %s", p, r.status, r.body)
		}
		got := e.calls.lastModify(t)
		if got.Mute != nil || got.URL != "" || got.Method != "" || got.StatusCallbackMethod != "POST" {
			t.Fatalf("POST %s: %+v", p, got)
		}
	}
	if !strings.HasPrefix(e.req("POST", paths[2], &e.root, url.Values{"Mute": {"false"}}).body, "<?xml") {
		t.Error("LCM without .json did not answer XML")
	}
}

func TestModifyEndedCallIsGoneWithoutTheSwitch(t *testing.T) {
	e := newEnv(t)
	c := e.putCall(testCall(e.root.Sid, "a", "b")) // completed
	wantError(t, e.req("POST", "/2012-04-24/Accounts/"+e.root.Sid+"/Calls/"+c.Sid, &e.root, url.Values{"Status": {"canceled"}}),
		http.StatusGone, codeCallCompleted, "Call is already completed.")
	if n := e.calls.modifyCount(); n != 0 {
		t.Fatalf("%d requests reached the switch", n)
	}
}

func TestCreateCallForInactiveChildIsForbidden(t *testing.T) {
	e := newEnv(t)
	child := e.subAccount(e.root, roleDeveloper)
	child.Status = store.AccountSuspended
	if err := e.st.UpdateAccount(context.Background(), child); err != nil {
		t.Fatal(err)
	}
	r := e.req("POST", "/2012-04-24/Accounts/"+child.Sid+"/Calls.json", &e.root, url.Values{"From": {"a"}, "To": {"b"}, "Url": {"http://127.0.0.1/x"}})
	wantError(t, r, http.StatusForbidden, codeAccountNotActive, "Account is not active")
	// Reading the child's calls is still allowed to the ancestor.
	if r := e.req("GET", "/2012-04-24/Accounts/"+child.Sid+"/Calls.json", &e.root, nil); r.status != http.StatusOK {
		t.Fatalf("list: %d", r.status)
	}
}

func liveCall(account string) store.Call {
	c := testCall(account, "a", "b")
	c.Status = store.StatusInProgress
	return c
}

func TestModifyCallErrorMapping(t *testing.T) {
	e := newEnv(t)
	c := e.putCall(liveCall(e.root.Sid))
	path := "/2012-04-24/Accounts/" + e.root.Sid + "/Calls/" + c.Sid + ".json"
	form := url.Values{"Url": {"http://127.0.0.1/x"}}
	cases := []struct {
		err     error
		status  int
		code    int
		message string
	}{
		{calls.ErrUnknownCall, http.StatusNotAcceptable, codeUnknownCall, ""},
		{fmt.Errorf("actor: %w", calls.ErrCallEnded), http.StatusGone, codeCallCompleted, "Call is already completed."},
		{&calls.DeniedError{Plugin: "policy", Reason: "redirects to that host are not allowed"}, http.StatusForbidden, codePolicyDenied, "redirects to that host are not allowed"},
		{calls.ErrShuttingDown, http.StatusServiceUnavailable, codeUnavailable, ""},
	}
	for _, tc := range cases {
		e.calls.modifyErr = tc.err
		wantError(t, e.req("POST", path, &e.root, form), tc.status, tc.code, tc.message)
		// XML too.
		wantError(t, e.req("POST", strings.TrimSuffix(path, ".json"), &e.root, form), tc.status, tc.code, tc.message)
	}
}

func TestModifyCallOwnership(t *testing.T) {
	e := newEnv(t)
	a := e.subAccount(e.root, roleDeveloper)
	b := e.subAccount(e.root, roleDeveloper)
	bCall := e.putCall(liveCall(b.Sid))
	form := url.Values{"Status": {"completed"}}

	// Unknown call: 406 without reaching the switch.
	wantError(t, e.req("POST", "/2012-04-24/Accounts/"+a.Sid+"/Calls/"+sid.New(sid.Call)+".json", &a, form),
		http.StatusNotAcceptable, codeUnknownCall, "")
	// Another tenant's call through one's own URL: answered like an unknown call.
	wantError(t, e.req("POST", "/2012-04-24/Accounts/"+a.Sid+"/Calls/"+bCall.Sid+".json", &a, form),
		http.StatusNotAcceptable, codeUnknownCall, "")
	if n := e.calls.modifyCount(); n != 0 {
		t.Fatalf("%d foreign requests reached the switch", n)
	}
	// Another tenant's URL: 403 (tree check).
	wantError(t, e.req("POST", "/2012-04-24/Accounts/"+b.Sid+"/Calls/"+bCall.Sid+".json", &a, form),
		http.StatusForbidden, codeForbidden, "")
	// The top-level account may modify any call through its own URL.
	r := e.req("POST", "/2012-04-24/Accounts/"+e.root.Sid+"/Calls/"+bCall.Sid+".json", &e.root, form)
	if r.status != http.StatusOK {
		t.Fatalf("superuser LCM: %d %s", r.status, r.body)
	}
	if got := e.calls.lastModify(t); !got.Superuser || got.AccountSid != e.root.Sid || got.RequesterSid != e.root.Sid {
		t.Fatalf("superuser request %+v", got)
	}
	// The owner itself: not a superuser.
	if r := e.req("POST", "/2012-04-24/Accounts/"+b.Sid+"/Calls/"+bCall.Sid+".json", &b, form); r.status != http.StatusOK {
		t.Fatalf("owner LCM: %d %s", r.status, r.body)
	}
	if got := e.calls.lastModify(t); got.Superuser || got.RequesterSid != b.Sid {
		t.Fatalf("owner request %+v", got)
	}
}

func TestCallStoreErrorIsInternal(t *testing.T) {
	e := newEnv(t)
	_ = e.st.Close()
	r := e.req("GET", "/2012-04-24/Accounts/"+e.root.Sid+"/Calls.json", &e.root, nil)
	wantError(t, r, http.StatusInternalServerError, codeInternal, "")
}

// A redirect a tenant's policy plugin rewrote answers with where the call
// went, in headers (the Call keeps upstream's shape); any other
// modification has no such headers.
func TestModifyResponseShowsAPolicyRewrite(t *testing.T) {
	e := newEnv(t)
	c := e.putCall(liveCall(e.root.Sid))
	base := "/2012-04-24/Accounts/" + e.root.Sid + "/Calls/" + c.Sid
	form := url.Values{"Url": {"http://127.0.0.1/asked.xml"}}

	r := e.req("POST", base+".json", &e.root, form)
	if r.status != http.StatusOK || r.header.Get("X-Patchbay-Rewrite-Url") != "" {
		t.Fatalf("unrewritten redirect: %d %v %s", r.status, r.header, r.body)
	}

	e.calls.mu.Lock()
	e.calls.rewrite = [2]string{"http://127.0.0.1/voicemail.xml", "GET"}
	e.calls.mu.Unlock()
	for _, path := range []string{base + ".json", base} {
		r = e.req("POST", path, &e.root, form)
		if r.status != http.StatusOK || r.header.Get("X-Patchbay-Rewrite-Url") != "http://127.0.0.1/voicemail.xml" ||
			r.header.Get("X-Patchbay-Rewrite-Method") != "GET" || strings.Contains(r.body, "voicemail") {
			t.Fatalf("rewritten redirect (%s): %d %v %s", path, r.status, r.header, r.body)
		}
	}
}

// A call whose connected leg changed while its plugins decided refuses the
// modification: 409, to be retried.
func TestModifyOfACallThatChangedIsAConflict(t *testing.T) {
	e := newEnv(t)
	c := e.putCall(liveCall(e.root.Sid))
	e.calls.mu.Lock()
	e.calls.modifyErr = fmt.Errorf("switchboard: modifying call %s: %w", c.Sid, calls.ErrCallChanged)
	e.calls.mu.Unlock()
	r := e.req("POST", "/2012-04-24/Accounts/"+e.root.Sid+"/Calls/"+c.Sid+".json", &e.root, url.Values{"Url": {"http://127.0.0.1/x.xml"}})
	if j := r.json(t); r.status != http.StatusConflict || j["code"] != float64(20409) || !strings.Contains(j["message"].(string), "Retry") {
		t.Fatalf("changed call: %d %s", r.status, r.body)
	}
}
