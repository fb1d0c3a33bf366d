package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

func (e *env) notification(account, callSid string, code int, text string, created time.Time) store.Notification {
	e.t.Helper()
	n := store.Notification{
		Sid: sid.New(sid.Notification), AccountSid: account, CallSid: callSid, APIVersion: "2012-04-24",
		ErrorCode: code, MoreInfo: "/restcomm/errors/" + itoa(code) + ".html", MessageText: text,
		MessageDate: created, RequestURL: "http://127.0.0.1/app.xml", RequestMethod: "POST",
		DateCreated: created, DateUpdated: created,
	}
	if err := e.st.AddNotification(context.Background(), n); err != nil {
		e.t.Fatalf("add notification: %v", err)
	}
	return n
}

func TestNotifications(t *testing.T) {
	e := newEnv(t)
	sub := e.subAccount(e.root, roleDeveloper)
	call := e.putCall(testCall(e.root.Sid, "a", "b"))
	day := func(d int) time.Time { return time.Date(2024, 3, d, 9, 0, 0, 0, testZone) }
	n1 := e.notification(e.root.Sid, call.Sid, 21402, "URL Not Found", day(1))
	n2 := e.notification(e.root.Sid, "", 11005, "Account not active", day(2))
	n3 := e.notification(sub.Sid, "", 12400, "Parse error", day(3))

	base := "/2012-04-24/Accounts/" + e.root.Sid + "/Notifications"
	sids := func(path string) string {
		t.Helper()
		r := e.req("GET", path, &e.root, nil)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		var out []string
		for _, it := range r.json(t)["notifications"].([]any) {
			out = append(out, it.(map[string]any)["sid"].(string))
		}
		return strings.Join(out, ",")
	}
	for path, want := range map[string]string{
		base + ".json":                       n2.Sid + "," + n1.Sid,
		base + ".json?SubAccounts=true":      n3.Sid + "," + n2.Sid + "," + n1.Sid,
		base + ".json?ErrorCode=21402":       n1.Sid,
		base + ".json?MessageText=active":    n2.Sid,
		base + ".json?StartTime=2024-03-02":  n2.Sid,
		base + ".json?EndTime=2024-03-01":    n1.Sid,
		base + ".json?SortBy=ErrorCode:asc":  n2.Sid + "," + n1.Sid,
		base + ".json?RequestUrl=%25app.xml": n2.Sid + "," + n1.Sid,
		"/2012-04-24/Accounts/" + e.root.Sid + "/Calls/" + call.Sid + "/Notifications.json": n1.Sid,
	} {
		if got := sids(path); got != want {
			t.Errorf("%s: got %s, want %s", path, got, want)
		}
	}
	for _, q := range []string{"ErrorCode=x", "SortBy=Nope", "StartTime=never", "PageSize=0", "Page=5"} {
		wantError(t, e.req("GET", base+".json?"+q, &e.root, nil), 400, codeInvalidParameter, "")
	}

	r := e.req("GET", base+"/"+n1.Sid+".json", &e.root, nil)
	m := r.json(t)
	if m["call_sid"] != call.Sid || m["error_code"] != float64(21402) || m["log"] != float64(0) ||
		m["message_date"] != "2024-03-01T09:00:00.000+03:00" || m["uri"] != base+"/"+n1.Sid+".json" {
		t.Fatalf("notification %s", r.body)
	}
	if r := e.req("GET", base+"/"+n2.Sid+".json", &e.root, nil); strings.Contains(r.body, "call_sid") {
		t.Fatalf("call_sid must be omitted when empty: %s", r.body)
	}
	r = e.req("GET", base+"/"+n1.Sid, &e.root, nil)
	if !strings.Contains(r.body, "<RestcommResponse><Notification><Sid>"+n1.Sid+"</Sid>") || !strings.Contains(r.body, "<ErrorCode>21402</ErrorCode>") {
		t.Fatalf("XML notification %s", r.body)
	}
	r = e.req("GET", base, &e.root, nil)
	if !strings.Contains(r.body, "<RestcommResponse><Notifications><Notification>") || strings.Count(r.body, "<Notification>") != 2 {
		t.Fatalf("XML list %s", r.body)
	}
	wantError(t, e.req("GET", base+"/"+n3.Sid+".json", &e.root, nil), 403, codeForbidden, "")
	wantError(t, e.req("GET", base+"/"+sid.New(sid.Notification)+".json", &e.root, nil), 404, codeNotFound, "")
	wantError(t, e.req("GET", base+"/NO1.json", &e.root, nil), 400, codeMalformedSid, "")
}
