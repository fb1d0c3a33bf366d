package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

// TestCallListPagingWorkedExample is restcomm-calls.md §2.5's example:
// 448 calls, PageSize 50.
func TestCallListPagingWorkedExample(t *testing.T) {
	e := newEnv(t)
	base := testNow()
	for i := range 448 {
		c := testCall(e.root.Sid, "a", "b")
		c.DateCreated = base.Add(time.Duration(i) * time.Second)
		e.putCall(c)
	}
	uri := "/2012-04-24/Accounts/" + e.root.Sid + "/Calls"
	cases := []struct {
		page       string
		start, end string
		items      int
		prev       string
		next       bool
	}{
		{"0", "0", "49", 50, "null", true},
		{"2", "100", "149", 50, uri + "?Page=1&PageSize=50", true},
		{"8", "400", "448", 48, uri + "?Page=7&PageSize=50", false},
	}
	for _, tc := range cases {
		r := e.req("GET", "/restcomm"+uri+".json?PageSize=50&Page="+tc.page, &e.root, nil)
		if r.status != http.StatusOK {
			t.Fatalf("page %s: %d %s", tc.page, r.status, r.body)
		}
		m := r.json(t)
		calls, _ := m["calls"].([]any)
		if m["num_pages"] != float64(8) || m["total"] != float64(448) || m["page_size"] != float64(50) ||
			m["start"] != tc.start || m["end"] != tc.end || len(calls) != tc.items {
			t.Fatalf("page %s: num_pages %v total %v start %v end %v items %d", tc.page, m["num_pages"], m["total"], m["start"], m["end"], len(calls))
		}
		if m["uri"] != uri || m["first_page_uri"] != uri+"?Page=0&PageSize=50" || m["last_page_uri"] != uri+"?Page=8&PageSize=50" ||
			m["previous_page_uri"] != tc.prev {
			t.Fatalf("page %s: uris %v %v %v %v", tc.page, m["uri"], m["first_page_uri"], m["last_page_uri"], m["previous_page_uri"])
		}
		next, _ := m["next_page_uri"].(string)
		if tc.next {
			last := calls[len(calls)-1].(map[string]any)["sid"].(string)
			want := uri + "?Page=" + itoa(atoi(t, tc.page)+1) + "&PageSize=50&AfterSid=" + last
			if next != want {
				t.Fatalf("page %s: next %q, want %q", tc.page, next, want)
			}
		} else if next != "null" {
			t.Fatalf("last page: next %q", next)
		}
	}
	// Default order: newest first.
	m := e.req("GET", uri+".json?PageSize=2", &e.root, nil).json(t)
	first := m["calls"].([]any)[0].(map[string]any)
	if first["date_created"] != (&Server{loc: testZone}).restDate(base.Add(447*time.Second)) {
		t.Fatalf("first call is not the newest: %v", first["date_created"])
	}

	// XML carries the real total (decision 8), with the page attributes.
	r := e.req("GET", uri+"?PageSize=50&Page=8", &e.root, nil)
	if !strings.Contains(r.body, `<Calls page="8" numpages="8" pagesize="50" total="448" start="400" end="448" uri="`+uri+`"`) ||
		strings.Count(r.body, "<Call>") != 48 {
		t.Fatalf("XML page: %.300s", r.body)
	}
	wantError(t, e.req("GET", uri+".json?PageSize=50&Page=9", &e.root, nil), http.StatusBadRequest, codeInvalidParameter, "")
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestCallListEmpty(t *testing.T) {
	e := newEnv(t)
	m := e.req("GET", "/2012-04-24/Accounts/"+e.root.Sid+"/Calls.json", &e.root, nil).json(t)
	if m["total"] != float64(0) || m["num_pages"] != float64(0) || m["start"] != "0" || m["end"] != "0" ||
		m["next_page_uri"] != "null" || len(m["calls"].([]any)) != 0 {
		t.Fatalf("empty list %v", m)
	}
}

func TestCallListParameterErrors(t *testing.T) {
	e := newEnv(t)
	uri := "/2012-04-24/Accounts/" + e.root.Sid + "/Calls"
	for _, q := range []string{
		"PageSize=abc", "PageSize=-1", "PageSize=0", "PageSize=1001", "Page=-1", "Page=x",
		"SortBy=:asc", "SortBy=DateCreated:up", "SortBy=Bogus", "SortBy=Duration:",
		"StartTime=yesterday", "EndTime=2024-13-01", "StartTime=2024-02-30",
		"ParentCallSid=CA1", "ConferenceSid=nope",
	} {
		for _, suffix := range []string{".json", ""} {
			r := e.req("GET", uri+suffix+"?"+q, &e.root, nil)
			if r.status != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400", q, r.status)
				continue
			}
			code := codeInvalidParameter
			if strings.HasPrefix(q, "ParentCallSid") || strings.HasPrefix(q, "ConferenceSid") {
				code = codeMalformedSid
			}
			wantError(t, r, http.StatusBadRequest, code, "")
		}
	}
	// Sort field and direction are case-insensitive; PageSize 1000 is allowed.
	for _, q := range []string{"SortBy=duration:DESC", "SortBy=From", "PageSize=1000", "StartTime=2024-01-05T10:00:00"} {
		if r := e.req("GET", uri+".json?"+q, &e.root, nil); r.status != http.StatusOK {
			t.Errorf("%s: status %d %s", q, r.status, r.body)
		}
	}
}

func TestCallListFiltersAndSort(t *testing.T) {
	e := newEnv(t)
	sub := e.subAccount(e.root, roleDeveloper)
	mk := func(acct, from, to, status string, dur int, start time.Time) store.Call {
		c := testCall(acct, from, to)
		c.Status, c.Duration, c.StartTime, c.EndTime = status, dur, start, start.Add(time.Minute)
		return e.putCall(c)
	}
	day := func(d int) time.Time { return time.Date(2024, 1, d, 12, 0, 0, 0, testZone) }
	a := mk(e.root.Sid, "alice", "+15551234", store.StatusCompleted, 30, day(1))
	b := mk(e.root.Sid, "bob", "+15559999", store.StatusBusy, 0, day(2))
	c := mk(e.root.Sid, "carol", "client:dan", store.StatusCompleted, 10, day(3))
	d := mk(sub.Sid, "dave", "+15551234", store.StatusCompleted, 5, day(4))
	child := testCall(e.root.Sid, "alice", "x")
	child.ParentCallSid = a.Sid
	child.Duration = 99
	e.putCall(child)

	uri := "/2012-04-24/Accounts/" + e.root.Sid + "/Calls.json?"
	sids := func(q string) []string {
		t.Helper()
		r := e.req("GET", uri+q, &e.root, nil)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", q, r.status, r.body)
		}
		var out []string
		for _, it := range r.json(t)["calls"].([]any) {
			out = append(out, it.(map[string]any)["sid"].(string))
		}
		return out
	}
	same := func(q string, got []string, want ...string) {
		t.Helper()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: got %v, want %v", q, got, want)
		}
	}
	q := "To=1234&SortBy=Duration"
	same(q, sids(q), a.Sid)
	q = "To=1234&SubAccounts=true&SortBy=Duration:asc"
	same(q, sids(q), d.Sid, a.Sid)
	q = "Status=busy"
	same(q, sids(q), b.Sid)
	q = "From=%25o%25&SortBy=Duration:desc" // LIKE '%%o%': bob, carol
	same(q, sids(q), c.Sid, b.Sid)
	q = "StartTime=2024-01-02&EndTime=2024-01-03&SortBy=Duration"
	same(q, sids(q), b.Sid, c.Sid)
	q = "ParentCallSid=" + a.Sid
	same(q, sids(q), child.Sid)
	q = "ParentCallSid=ID" + strings.Repeat("0", 32) + "-" + a.Sid
	same(q, sids(q), child.Sid)
	q = "ConferenceSid=" + sid.New(sid.Conference)
	same(q, sids(q))
	q = "SortBy=Duration:desc&PageSize=2"
	same(q, sids(q), child.Sid, a.Sid)
}

func TestCallListReverse(t *testing.T) {
	e := newEnv(t)
	older := testCall(e.root.Sid, "a", "b")
	older.DateCreated = testNow().Add(-time.Hour)
	e.putCall(older)
	newer := e.putCall(testCall(e.root.Sid, "a", "b"))
	uri := "/2012-04-24/Accounts/" + e.root.Sid + "/Calls.json"
	first := func(q string) string {
		return e.req("GET", uri+q, &e.root, nil).json(t)["calls"].([]any)[0].(map[string]any)["sid"].(string)
	}
	if first("") != newer.Sid || first("?Reverse=true") != newer.Sid {
		t.Error("default and Reverse=true must be newest first")
	}
	if first("?Reverse=false") != older.Sid {
		t.Error("Reverse=false must be oldest first")
	}
	if first("?Reverse=false&SortBy=DateCreated:desc") != newer.Sid {
		t.Error("SortBy must win over Reverse")
	}
}
