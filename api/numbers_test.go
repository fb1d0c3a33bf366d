package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/patchbay/patchbay/switch/sid"
)

func TestNumberLifecycle(t *testing.T) {
	e := newEnv(t)
	base := "/2012-04-24/Accounts/" + e.root.Sid + "/IncomingPhoneNumbers"

	r := e.req("POST", base+".json", &e.root, url.Values{
		"PhoneNumber": {"+15551234"}, "VoiceUrl": {"http://127.0.0.1/voice.xml"}, "VoiceMethod": {"get"},
		"VoiceCallerIdLookup": {"true"}, "isSIP": {"true"},
	})
	if r.status != http.StatusOK {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	m := r.json(t)
	pn, _ := m["sid"].(string)
	if !sid.Valid(pn, sid.PhoneNumber) || m["phone_number"] != "+15551234" || m["friendly_name"] != "+15551234" ||
		m["voice_method"] != "GET" || m["voice_fallback_method"] != "POST" || m["voice_caller_id_lookup"] != true {
		t.Fatalf("created %s", r.body)
	}
	// Nulls are emitted as null for this resource.
	for _, k := range []string{`"voice_fallback_url":null`, `"status_callback":null`, `"sms_url":null`, `"voice_application_sid":null`,
		`"capabilities":{"voice_capable":false,"sms_capable":false,"mms_capable":false,"fax_capable":false}`,
		`"uri":"` + base + "/" + pn + `.json"`} {
		if !strings.Contains(r.body, k) {
			t.Errorf("missing %s in %s", k, r.body)
		}
	}

	// Duplicate number: upstream's 21452.
	wantError(t, e.req("POST", base+".json", &e.root, url.Values{"PhoneNumber": {"+15551234"}}), 400, codeNumberUnavailable, "")
	wantError(t, e.req("POST", base+"/Local.json", &e.root, url.Values{}), 400, codeInvalidParameter, "Phone number can not be null.")
	wantError(t, e.req("POST", base+".json", &e.root, url.Values{"PhoneNumber": {"1"}, "VoiceMethod": {"PUT"}}), 400, codeInvalidParameter, "")
	wantError(t, e.req("POST", base+".json", &e.root, url.Values{"PhoneNumber": {"2"}, "VoiceUrl": {"relative.xml"}}), 400, codeURLInvalid, "")
	wantError(t, e.req("POST", base+".json", &e.root, url.Values{"PhoneNumber": {"3"}, "VoiceCallerIdLookup": {"maybe"}}), 400, codeInvalidParameter, "")

	// XML: URL elements omitted when null, method elements present.
	r = e.req("GET", "/restcomm"+base+"/"+pn, &e.root, nil)
	if r.status != http.StatusOK || !strings.Contains(r.body, "<IncomingPhoneNumber><Sid>"+pn+"</Sid><AccountSid>"+e.root.Sid+
		"</AccountSid><FriendlyName>+15551234</FriendlyName><PhoneNumber>+15551234</PhoneNumber><VoiceUrl>http://127.0.0.1/voice.xml</VoiceUrl>"+
		"<VoiceMethod>GET</VoiceMethod><VoiceFallbackMethod>POST</VoiceFallbackMethod><StatusCallbackMethod>POST</StatusCallbackMethod>") {
		t.Fatalf("XML number %s", r.body)
	}

	// Update: an empty URL clears it; PhoneNumber cannot change; an absolute path is allowed.
	r = e.req("PUT", base+"/"+pn+".json", &e.root, url.Values{
		"VoiceUrl": {""}, "VoiceFallbackUrl": {"/fallback.xml"}, "PhoneNumber": {"+1999"}, "FriendlyName": {"Main"},
	})
	m = r.json(t)
	if r.status != http.StatusOK || m["voice_url"] != nil || m["voice_fallback_url"] != "/fallback.xml" ||
		m["phone_number"] != "+15551234" || m["friendly_name"] != "Main" || m["voice_method"] != "GET" {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	wantError(t, e.req("POST", base+"/"+pn+".json", &e.root, url.Values{"StatusCallbackMethod": {"x"}}), 400, codeInvalidParameter, "")

	// Another account's number.
	other := e.subAccount(e.root, roleDeveloper)
	otherBase := "/2012-04-24/Accounts/" + other.Sid + "/IncomingPhoneNumbers/"
	wantError(t, e.req("GET", otherBase+pn+".json", &e.root, nil), 403, codeForbidden, "")
	wantError(t, e.req("DELETE", otherBase+pn+".json", &other, nil), 403, codeForbidden, "")
	wantError(t, e.req("GET", base+"/PNbad.json", &e.root, nil), 400, codeMalformedSid, "")

	r = e.req("DELETE", base+"/"+pn+".json", &e.root, nil)
	if r.status != http.StatusNoContent || r.body != "" {
		t.Fatalf("delete: %d %q", r.status, r.body)
	}
	wantError(t, e.req("GET", base+"/"+pn+".json", &e.root, nil), 404, codeNotFound, "")
	wantError(t, e.req("DELETE", base+"/"+pn, &e.root, nil), 404, codeNotFound, "")
}

func TestNumberList(t *testing.T) {
	e := newEnv(t)
	base := "/2012-04-24/Accounts/" + e.root.Sid + "/IncomingPhoneNumbers"
	for _, n := range []struct{ number, name string }{{"+1300", "zeta"}, {"+1100", "alpha"}, {"+1200", "beta"}, {"*", "catch-all"}} {
		if r := e.req("POST", base+"/TollFree", &e.root, url.Values{"PhoneNumber": {n.number}, "FriendlyName": {n.name}}); r.status != 200 {
			t.Fatalf("create %s: %d %s", n.number, r.status, r.body)
		}
	}
	numbers := func(q string) string {
		t.Helper()
		r := e.req("GET", base+".json?"+q, &e.root, nil)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", q, r.status, r.body)
		}
		var out []string
		for _, it := range r.json(t)["incomingPhoneNumbers"].([]any) {
			out = append(out, it.(map[string]any)["phone_number"].(string))
		}
		return strings.Join(out, ",")
	}
	for q, want := range map[string]string{
		"":                               "*,+1100,+1200,+1300",
		"Reverse=true":                   "+1300,+1200,+1100,*",
		"SortBy=FriendlyName":            "+1100,+1200,*,+1300",
		"PhoneNumber=2":                  "+1200",
		"PhoneNumber=%2B1_00&PageSize=2": "+1100,+1200",
		"FriendlyName=ta":                "+1200,+1300",
		"PageSize=3&Page=1":              "+1300",
	} {
		if got := numbers(q); got != want {
			t.Errorf("%q: got %s, want %s", q, got, want)
		}
	}
	m := e.req("GET", base+"/Mobile.json?PageSize=3&Page=1", &e.root, nil).json(t)
	if m["total"] != float64(4) || m["num_pages"] != float64(1) || m["start"] != "3" || m["end"] != "4" || m["uri"] != base {
		t.Fatalf("paging %v", m)
	}
	wantError(t, e.req("GET", base+".json?Page=2&PageSize=3", &e.root, nil), 400, codeInvalidParameter, "")
	wantError(t, e.req("GET", base+".json?SortBy=VoiceUrl", &e.root, nil), 400, codeInvalidParameter, "")

	r := e.req("GET", base+"?PageSize=2", &e.root, nil)
	if !strings.Contains(r.body, `<IncomingPhoneNumbers page="0" numpages="2" pagesize="2" total="4" start="0" end="1"`) ||
		strings.Count(r.body, "<IncomingPhoneNumber>") != 2 {
		t.Fatalf("XML list %.400s", r.body)
	}
}
