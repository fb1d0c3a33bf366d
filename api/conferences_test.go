package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/calls"
	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

// muteCalls is a calls.Controller that records Modify requests and applies
// Mute to the stored call, as the switch does for a call in progress.
type muteCalls struct {
	mu   sync.Mutex
	reqs []calls.ModifyRequest
	err  error
	st   store.Store
}

func (m *muteCalls) Create(context.Context, calls.CreateRequest) ([]store.Call, error) {
	return nil, errors.New("muteCalls: Create not expected")
}

func (m *muteCalls) Modify(ctx context.Context, r calls.ModifyRequest) (calls.Modified, error) {
	m.mu.Lock()
	m.reqs = append(m.reqs, r)
	err := m.err
	m.mu.Unlock()
	if err != nil {
		return calls.Modified{}, err
	}
	c, err := m.st.Call(ctx, r.CallSid)
	if err != nil {
		return calls.Modified{}, calls.ErrUnknownCall
	}
	if r.Mute != nil {
		c.Muted = *r.Mute
		c.DateUpdated = c.DateUpdated.Add(time.Second)
		if err := m.st.PutCall(ctx, c); err != nil {
			return calls.Modified{}, err
		}
	}
	return calls.Modified{Call: c}, nil
}

func (m *muteCalls) requests() []calls.ModifyRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.reqs)
}

// confEnv is an env whose switch is a muteCalls.
func newConfEnv(t *testing.T) (*env, *muteCalls) {
	t.Helper()
	e := newEnv(t)
	mc := &muteCalls{st: e.st}
	e.srv.calls = mc
	return e, mc
}

func (e *env) putConference(acct, name, status string, created, updated time.Time) store.Conference {
	e.t.Helper()
	cf := store.Conference{
		Sid: sid.New(sid.Conference), AccountSid: acct, FriendlyName: name, Status: status,
		APIVersion: "2012-04-24", DateCreated: created, DateUpdated: updated,
	}
	if err := e.st.PutConference(context.Background(), cf); err != nil {
		e.t.Fatalf("put conference: %v", err)
	}
	return cf
}

// participant stores a call of cf's account in cf with status.
func (e *env) participant(cf store.Conference, status string, created time.Time) store.Call {
	e.t.Helper()
	c := testCall(cf.AccountSid, "alice", "room")
	c.Status = status
	c.ConferenceSid = cf.Sid
	c.DateCreated, c.DateUpdated = created, created
	return e.putCall(c)
}

func confBase(acct string) string { return "/2012-04-24/Accounts/" + acct + "/Conferences" }

func TestConferenceRepresentation(t *testing.T) {
	e, _ := newConfEnv(t)
	cf := e.putConference(e.root.Sid, "sales", store.ConferenceModeratorPresent, testNow(), testNow().Add(time.Minute))
	base := confBase(e.root.Sid)
	item := base + "/" + cf.Sid
	wantJSON := `{"sid":"` + cf.Sid + `","date_created":"Thu, 28 Jun 2018 16:56:33 +0300","date_updated":"Thu, 28 Jun 2018 16:57:33 +0300",` +
		`"account_sid":"` + e.root.Sid + `","status":"RUNNING_MODERATOR_PRESENT","api_version":"2012-04-24","friendly_name":"sales",` +
		`"uri":"` + item + `.json","subresource_uris":{"participants":"` + item + `/Participants.json"}}`
	for _, tc := range []struct {
		path    string
		headers []string
	}{
		{item + ".json", nil},
		{"/restcomm" + item + ".json", nil},
		{base + ".json/" + cf.Sid, nil},
		{"/restcomm" + item, []string{"Accept", "application/json"}},
	} {
		r := e.req("GET", tc.path, &e.root, nil, tc.headers...)
		if r.status != http.StatusOK || r.body != wantJSON {
			t.Errorf("GET %s: %d %s\nwant %s", tc.path, r.status, r.body, wantJSON)
		}
	}
	wantXML := `<RestcommResponse><Conference><Sid>` + cf.Sid + `</Sid><DateCreated>Thu, 28 Jun 2018 16:56:33 +0300</DateCreated>` +
		`<DateUpdated>Thu, 28 Jun 2018 16:57:33 +0300</DateUpdated><AccountSid>` + e.root.Sid + `</AccountSid>` +
		`<Status>RUNNING_MODERATOR_PRESENT</Status><ApiVersion>2012-04-24</ApiVersion><FriendlyName>sales</FriendlyName>` +
		`<Uri>` + item + `</Uri><SubresourceUris><Participants>` + item + `/Participants</Participants></SubresourceUris></Conference></RestcommResponse>`
	for _, p := range []string{item, "/restcomm" + item} {
		r := e.req("GET", p, &e.root, nil)
		if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "application/xml") || !strings.HasSuffix(r.body, wantXML) {
			t.Errorf("GET %s: %d %s\nwant %s", p, r.status, r.body, wantXML)
		}
	}
}

func TestConferenceErrors(t *testing.T) {
	e, _ := newConfEnv(t)
	child := e.subAccount(e.root, roleDeveloper)
	sibling := e.subAccount(e.root, roleDeveloper)
	own := e.putConference(child.Sid, "room", store.ConferenceCompleted, testNow(), testNow())
	foreign := e.putConference(sibling.Sid, "room", store.ConferenceCompleted, testNow(), testNow())
	base := confBase(child.Sid)

	if r := e.req("GET", base+"/"+own.Sid+".json", &child, nil); r.status != http.StatusOK {
		t.Fatalf("own conference: %d %s", r.status, r.body)
	}
	// The parent reads its child's conference through the child's URL.
	if r := e.req("GET", base+"/"+own.Sid+".json", &e.root, nil); r.status != http.StatusOK {
		t.Fatalf("parent reading child's conference: %d %s", r.status, r.body)
	}
	wantError(t, e.req("GET", base+"/"+sid.New(sid.Conference)+".json", &child, nil), 404, codeNotFound, "The requested conference was not found.")
	// Decision 15: 403, not upstream's 401, both for a conference of another
	// account and for an account outside the caller's tree.
	wantError(t, e.req("GET", base+"/"+foreign.Sid+".json", &child, nil), 403, codeForbidden, "The conference does not belong to this account.")
	wantError(t, e.req("GET", confBase(sibling.Sid)+".json", &child, nil), 403, codeForbidden, "")
	wantError(t, e.req("GET", confBase(sibling.Sid)+"/"+foreign.Sid, &child, nil), 403, codeForbidden, "")
	wantError(t, e.req("GET", base+"/"+foreign.Sid+"/Participants.json", &child, nil), 403, codeForbidden, "")
	wantError(t, e.req("GET", base+"/CFnope.json", &child, nil), 400, codeMalformedSid, `ConferenceSid "CFnope" is not a valid sid.`)
	wantError(t, e.req("GET", base+"/"+sid.New(sid.Call)+".json", &child, nil), 400, codeMalformedSid, "")
	wantError(t, e.req("GET", base+".json", nil, nil), 401, codeUnauthenticated, "")

	for _, m := range []string{"POST", "PUT", "DELETE"} {
		wantError(t, e.req(m, base+".json", &child, url.Values{"FriendlyName": {"x"}}), 405, codeMethodNotAllowed, "")
		wantError(t, e.req(m, base+"/"+own.Sid, &child, url.Values{"Status": {"COMPLETED"}}), 405, codeMethodNotAllowed, "")
		wantError(t, e.req(m, base+"/"+own.Sid+"/Participants.json", &child, url.Values{"Mute": {"true"}}), 405, codeMethodNotAllowed, "")
	}
	for _, m := range []string{"PUT", "DELETE"} {
		wantError(t, e.req(m, base+"/"+own.Sid+"/Participants/"+sid.New(sid.Call)+".json", &child, nil), 405, codeMethodNotAllowed, "")
	}
	if got, _ := e.st.Conference(t.Context(), own.Sid); got.Status != own.Status || got.FriendlyName != own.FriendlyName || !got.DateUpdated.Equal(own.DateUpdated) {
		t.Fatalf("refused requests changed the conference: %+v", got)
	}
}

// listSids returns the sids of a JSON list under key.
func listSids(t *testing.T, m map[string]any, key string) []string {
	t.Helper()
	items, ok := m[key].([]any)
	if !ok {
		t.Fatalf("no %q array in %v", key, m)
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, it.(map[string]any)["sid"].(string))
	}
	return out
}

func TestConferenceListPagingAndFilters(t *testing.T) {
	e, _ := newConfEnv(t)
	other := e.subAccount(e.root, roleDeveloper)
	day := func(d, h int) time.Time { return time.Date(2024, 3, d, h, 0, 0, 0, testZone) }
	// Oldest first; the list answers newest first.
	c1 := e.putConference(e.root.Sid, "sales", store.ConferenceCompleted, day(1, 9), day(1, 23))
	c2 := e.putConference(e.root.Sid, "sales", store.ConferenceCompleted, day(2, 9), day(3, 1))
	c3 := e.putConference(e.root.Sid, "support", store.ConferenceModeratorAbsent, day(3, 9), day(3, 9))
	c4 := e.putConference(e.root.Sid, "support", store.ConferenceInitializing, day(4, 0), day(4, 0))
	c5 := e.putConference(e.root.Sid, "sales", store.ConferenceModeratorPresent, day(5, 9), day(5, 9))
	e.putConference(other.Sid, "sales", store.ConferenceModeratorPresent, day(5, 10), day(5, 10))
	base := confBase(e.root.Sid)

	r := e.req("GET", base+".json?PageSize=2", &e.root, nil)
	m := r.json(t)
	if r.status != http.StatusOK || !slices.Equal(listSids(t, m, "conferences"), []string{c5.Sid, c4.Sid}) {
		t.Fatalf("page 0: %d %s", r.status, r.body)
	}
	// Upstream's arithmetic (as Calls): num_pages is the last page's index.
	if m["page"] != 0.0 || m["num_pages"] != 2.0 || m["page_size"] != 2.0 || m["total"] != 5.0 || m["start"] != "0" || m["end"] != "1" ||
		m["uri"] != base || m["first_page_uri"] != base+"?Page=0&PageSize=2" || m["previous_page_uri"] != "null" ||
		m["next_page_uri"] != base+"?Page=1&PageSize=2&AfterSid="+c4.Sid || m["last_page_uri"] != base+"?Page=2&PageSize=2" {
		t.Errorf("paging fields %s", r.body)
	}
	r = e.req("GET", base+".json?PageSize=2&Page=2", &e.root, nil)
	m = r.json(t)
	if !slices.Equal(listSids(t, m, "conferences"), []string{c1.Sid}) || m["start"] != "4" || m["end"] != "5" || m["next_page_uri"] != "null" ||
		m["previous_page_uri"] != base+"?Page=1&PageSize=2" {
		t.Errorf("last page: %s", r.body)
	}
	wantError(t, e.req("GET", base+".json?PageSize=2&Page=3", &e.root, nil), 400, codeInvalidParameter, "")
	wantError(t, e.req("GET", base+".json?PageSize=0", &e.root, nil), 400, codeInvalidParameter, "")
	wantError(t, e.req("GET", base+".json?Page=x", &e.root, nil), 400, codeInvalidParameter, "")

	// XML: <Conferences> with paging attributes, total the real total (decision 8).
	r = e.req("GET", "/restcomm"+base+"?PageSize=2&Page=1", &e.root, nil)
	if r.status != http.StatusOK ||
		!strings.Contains(r.body, `<RestcommResponse><Conferences page="1" numpages="2" pagesize="2" total="5" start="2" end="3" uri="`+base+`"`) ||
		strings.Count(r.body, "<Conference>") != 2 || !strings.Contains(r.body, "<Sid>"+c3.Sid+"</Sid>") || !strings.Contains(r.body, "<Sid>"+c2.Sid+"</Sid>") {
		t.Errorf("XML page: %s", r.body)
	}

	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{c5.Sid, c4.Sid, c3.Sid, c2.Sid, c1.Sid}},
		{"Status=COMPLETED", []string{c2.Sid, c1.Sid}},
		{"Status=RUNNING%25", []string{c5.Sid, c4.Sid, c3.Sid}},
		{"Status=running%25", nil}, // LIKE on upper-case values is case-sensitive
		{"FriendlyName=sales", []string{c5.Sid, c2.Sid, c1.Sid}},
		{"FriendlyName=sup%25", []string{c4.Sid, c3.Sid}},
		{"DateCreated=2024-03-03", []string{c5.Sid, c4.Sid, c3.Sid}},                        // on or after that day
		{"DateUpdated=2024-03-02", []string{c1.Sid}},                                        // up to the end of that day
		{"DateUpdated=2024-03-03", []string{c3.Sid, c2.Sid, c1.Sid}},                        // the whole day counts
		{"DateCreated=2024-03-02&DateUpdated=2024-03-04", []string{c4.Sid, c3.Sid, c2.Sid}}, // both bounds
		{"FriendlyName=sales&Status=RUNNING_%25", []string{c5.Sid}},
	} {
		r := e.req("GET", base+".json?"+tc.query, &e.root, nil)
		if r.status != http.StatusOK {
			t.Errorf("%s: %d %s", tc.query, r.status, r.body)
			continue
		}
		m := r.json(t)
		if got := listSids(t, m, "conferences"); !slices.Equal(got, tc.want) && len(got)+len(tc.want) > 0 {
			t.Errorf("%s: got %v, want %v", tc.query, got, tc.want)
		}
		if m["total"] != float64(len(tc.want)) {
			t.Errorf("%s: total %v, want %d", tc.query, m["total"], len(tc.want))
		}
	}
	wantError(t, e.req("GET", base+".json?DateCreated=yesterday", &e.root, nil), 400, codeInvalidParameter, "")
	wantError(t, e.req("GET", base+".json?DateUpdated=2024-13-01", &e.root, nil), 400, codeInvalidParameter, "")

	// An empty list is a list, not an error.
	r = e.req("GET", confBase(e.subAccount(e.root, roleDeveloper).Sid)+".json", &e.root, nil)
	if m := r.json(t); r.status != http.StatusOK || len(listSids(t, m, "conferences")) != 0 || m["total"] != 0.0 {
		t.Errorf("empty list: %d %s", r.status, r.body)
	}
}

func TestParticipantsList(t *testing.T) {
	e, _ := newConfEnv(t)
	cf := e.putConference(e.root.Sid, "room", store.ConferenceModeratorPresent, testNow(), testNow())
	otherConf := e.putConference(e.root.Sid, "room2", store.ConferenceModeratorAbsent, testNow(), testNow())
	p1 := e.participant(cf, store.StatusInProgress, testNow())
	p1.Muted, p1.StartConferenceOnEnter, p1.EndConferenceOnExit = true, true, true
	e.putCall(p1)
	p2 := e.participant(cf, store.StatusInProgress, testNow().Add(time.Second))
	p2.OnHold = true
	e.putCall(p2)
	e.participant(cf, store.StatusCompleted, testNow().Add(2*time.Second)) // left
	e.participant(otherConf, store.StatusInProgress, testNow())            // elsewhere
	e.putCall(testCall(e.root.Sid, "bob", "carol"))                        // in no conference
	base := confBase(e.root.Sid) + "/" + cf.Sid + "/Participants"

	r := e.req("GET", base+".json", &e.root, nil)
	m := r.json(t)
	if r.status != http.StatusOK || !slices.Equal(listSids(t, m, "calls"), []string{p2.Sid, p1.Sid}) {
		t.Fatalf("participants: %d %s", r.status, r.body)
	}
	if m["total"] != 2.0 || m["num_pages"] != 0.0 || m["page_size"] != 50.0 || m["uri"] != base || m["end"] != "2" {
		t.Errorf("paging fields: %s", r.body)
	}
	wantP1 := `{"sid":"` + p1.Sid + `","conference_sid":"` + cf.Sid + `","date_created":"Thu, 28 Jun 2018 16:56:33 +0300",` +
		`"date_updated":"Thu, 28 Jun 2018 16:56:33 +0300","account_sid":"` + e.root.Sid + `","muted":true,"hold":false,` +
		`"start_conference_on_enter":true,"end_conference_on_enter":true,"end_conference_on_exit":true,` +
		`"uri":"/2012-04-24/Accounts/` + e.root.Sid + `/Calls/` + p1.Sid + `.json"}`
	if !strings.Contains(r.body, wantP1) {
		t.Errorf("participant JSON: %s\nwant %s", r.body, wantP1)
	}
	if !strings.Contains(r.body, `"muted":false,"hold":true,"start_conference_on_enter":false,"end_conference_on_enter":false,"end_conference_on_exit":false`) {
		t.Errorf("second participant's flags: %s", r.body)
	}

	// Paged like every list.
	r = e.req("GET", "/restcomm"+base+".json?PageSize=1&Page=1", &e.root, nil)
	if m := r.json(t); !slices.Equal(listSids(t, m, "calls"), []string{p1.Sid}) || m["total"] != 2.0 {
		t.Errorf("page 1: %s", r.body)
	}
	// num_pages is total/size (upstream's quirk), so Page=2 is an empty last page and Page=3 is beyond.
	if r := e.req("GET", base+".json?PageSize=1&Page=2", &e.root, nil); r.status != http.StatusOK || len(listSids(t, r.json(t), "calls")) != 0 {
		t.Errorf("page 2: %d %s", r.status, r.body)
	}
	wantError(t, e.req("GET", base+".json?PageSize=1&Page=3", &e.root, nil), 400, codeInvalidParameter, "")

	// XML: <Calls> of <Call>, the conference fields only.
	r = e.req("GET", "/restcomm"+base, &e.root, nil)
	wantCall := `<Call><Sid>` + p1.Sid + `</Sid><ConferenceSid>` + cf.Sid + `</ConferenceSid><DateCreated>Thu, 28 Jun 2018 16:56:33 +0300</DateCreated>` +
		`<DateUpdated>Thu, 28 Jun 2018 16:56:33 +0300</DateUpdated><AccountSid>` + e.root.Sid + `</AccountSid><Muted>true</Muted><Hold>false</Hold>` +
		`<StartConferenceOnEnter>true</StartConferenceOnEnter><EndConferenceOnEnter>true</EndConferenceOnEnter>` +
		`<EndConferenceOnExit>true</EndConferenceOnExit><Uri>/2012-04-24/Accounts/` + e.root.Sid + `/Calls/` + p1.Sid + `</Uri></Call>`
	if r.status != http.StatusOK || !strings.Contains(r.body, `<RestcommResponse><Calls page="0" numpages="0" pagesize="50" total="2"`) ||
		!strings.Contains(r.body, wantCall) || strings.Count(r.body, "<Call>") != 2 {
		t.Errorf("XML participants: %s\nwant %s", r.body, wantCall)
	}

	// A completed conference has nobody in progress.
	done := e.putConference(e.root.Sid, "room", store.ConferenceCompleted, testNow(), testNow())
	e.participant(done, store.StatusCompleted, testNow())
	r = e.req("GET", confBase(e.root.Sid)+"/"+done.Sid+"/Participants.json", &e.root, nil)
	if m := r.json(t); r.status != http.StatusOK || len(listSids(t, m, "calls")) != 0 || m["total"] != 0.0 {
		t.Errorf("completed conference: %d %s", r.status, r.body)
	}
	wantError(t, e.req("GET", confBase(e.root.Sid)+"/"+sid.New(sid.Conference)+"/Participants.json", &e.root, nil), 404, codeNotFound, "")
	wantError(t, e.req("GET", confBase(e.root.Sid)+"/CF1/Participants.json", &e.root, nil), 400, codeMalformedSid, "")
}

func TestParticipantGet(t *testing.T) {
	e, _ := newConfEnv(t)
	child := e.subAccount(e.root, roleDeveloper)
	cf := e.putConference(child.Sid, "room", store.ConferenceModeratorPresent, testNow(), testNow())
	other := e.putConference(child.Sid, "room2", store.ConferenceModeratorPresent, testNow(), testNow())
	in := e.participant(cf, store.StatusInProgress, testNow())
	left := e.participant(cf, store.StatusCompleted, testNow())
	elsewhere := e.participant(other, store.StatusInProgress, testNow())
	plain := e.putCall(testCall(child.Sid, "bob", "carol"))
	base := confBase(child.Sid) + "/" + cf.Sid + "/Participants/"

	r := e.req("GET", base+in.Sid+".json", &child, nil)
	if m := r.json(t); r.status != http.StatusOK || m["sid"] != in.Sid || m["conference_sid"] != cf.Sid || m["muted"] != false {
		t.Fatalf("participant: %d %s", r.status, r.body)
	}
	// One that has left is still the conference's record.
	if r := e.req("GET", "/restcomm"+base+left.Sid, &child, nil); r.status != http.StatusOK || !strings.Contains(r.body, "<ConferenceSid>"+cf.Sid+"</ConferenceSid>") {
		t.Errorf("participant that left: %d %s", r.status, r.body)
	}
	// Upstream served any call here; a call of another conference or of
	// none is not this conference's participant.
	wantError(t, e.req("GET", base+elsewhere.Sid+".json", &child, nil), 404, codeNotFound, "The requested participant was not found.")
	wantError(t, e.req("GET", base+plain.Sid+".json", &child, nil), 404, codeNotFound, "")
	wantError(t, e.req("GET", base+sid.New(sid.Call)+".json", &child, nil), 404, codeNotFound, "")
	wantError(t, e.req("GET", base+"CAshort.json", &child, nil), 400, codeMalformedSid, "")
	// Upstream's clustered call sid form is accepted.
	clustered := "ID" + strings.Repeat("a", 32) + "-" + in.Sid
	if r := e.req("GET", base+clustered+".json", &child, nil); r.status != http.StatusOK {
		t.Errorf("clustered sid: %d %s", r.status, r.body)
	}
	wantError(t, e.req("GET", confBase(e.root.Sid)+"/"+cf.Sid+"/Participants/"+in.Sid+".json", &e.root, nil), 403, codeForbidden, "")
}

func TestParticipantMute(t *testing.T) {
	e, mc := newConfEnv(t)
	child := e.subAccount(e.root, roleDeveloper)
	cf := e.putConference(child.Sid, "room", store.ConferenceModeratorPresent, testNow(), testNow())
	p := e.participant(cf, store.StatusInProgress, testNow())
	path := confBase(child.Sid) + "/" + cf.Sid + "/Participants/" + p.Sid

	r := e.req("POST", path+".json", &child, url.Values{"Mute": {"true"}})
	if m := r.json(t); r.status != http.StatusOK || m["muted"] != true || m["sid"] != p.Sid || m["conference_sid"] != cf.Sid ||
		m["date_updated"] != "Thu, 28 Jun 2018 16:56:34 +0300" {
		t.Fatalf("mute: %d %s", r.status, r.body)
	}
	reqs := mc.requests()
	want := calls.ModifyRequest{AccountSid: child.Sid, RequesterSid: child.Sid, CallSid: p.Sid}
	if len(reqs) != 1 || reqs[0].Mute == nil || !*reqs[0].Mute {
		t.Fatalf("requests %+v, want one Mute=true", reqs)
	}
	got := reqs[0]
	got.Mute = nil
	if got != want {
		t.Errorf("request %+v, want %+v with Mute", got, want)
	}

	// The parent acts through the child's URL: it is the requester. XML answer.
	r = e.req("POST", "/restcomm"+path, &e.root, url.Values{"Mute": {"FALSE"}})
	if r.status != http.StatusOK || !strings.Contains(r.body, "<Muted>false</Muted>") {
		t.Fatalf("unmute: %d %s", r.status, r.body)
	}
	reqs = mc.requests()
	if last := reqs[len(reqs)-1]; last.Mute == nil || *last.Mute || last.RequesterSid != e.root.Sid || last.AccountSid != child.Sid {
		t.Errorf("unmute request %+v", last)
	}

	// Refused before the switch is asked.
	before := len(mc.requests())
	wantError(t, e.req("POST", path+".json", &child, url.Values{}), 400, codeBadRequest, "Nothing to modify: give Mute.")
	wantError(t, e.req("POST", path+".json", &child, url.Values{"Url": {"http://127.0.0.1/x.xml"}}), 400, codeBadRequest, "")
	wantError(t, e.req("POST", path+".json", &child, url.Values{"Mute": {"yes"}}), 400, codeInvalidParameter, `Mute must be true or false, not "yes".`)
	wantError(t, e.req("POST", confBase(child.Sid)+"/"+cf.Sid+"/Participants/CAbad.json", &child, url.Values{"Mute": {"true"}}), 400, codeMalformedSid, "")
	wantError(t, e.req("POST", confBase(child.Sid)+"/CFbad/Participants/"+p.Sid+".json", &child, url.Values{"Mute": {"true"}}), 400, codeMalformedSid, "")
	unknown := confBase(child.Sid) + "/" + cf.Sid + "/Participants/" + sid.New(sid.Call) + ".json"
	wantError(t, e.req("POST", unknown, &child, url.Values{"Mute": {"true"}}), 406, codeUnknownCall, "The requested call was not found.")
	elsewhere := e.participant(e.putConference(child.Sid, "b", store.ConferenceModeratorPresent, testNow(), testNow()), store.StatusInProgress, testNow())
	wantError(t, e.req("POST", confBase(child.Sid)+"/"+cf.Sid+"/Participants/"+elsewhere.Sid+".json", &child, url.Values{"Mute": {"true"}}), 406, codeUnknownCall, "")
	ended := e.participant(cf, store.StatusCompleted, testNow())
	wantError(t, e.req("POST", confBase(child.Sid)+"/"+cf.Sid+"/Participants/"+ended.Sid+".json", &child, url.Values{"Mute": {"true"}}), 410, codeCallCompleted, "Call is already completed.")
	wantError(t, e.req("POST", confBase(child.Sid)+"/"+sid.New(sid.Conference)+"/Participants/"+p.Sid+".json", &child, url.Values{"Mute": {"true"}}), 404, codeNotFound, "")
	sibling := e.subAccount(e.root, roleDeveloper)
	wantError(t, e.req("POST", confBase(sibling.Sid)+"/"+cf.Sid+"/Participants/"+p.Sid+".json", &child, url.Values{"Mute": {"true"}}), 403, codeForbidden, "")
	if n := len(mc.requests()); n != before {
		t.Fatalf("%d refused requests reached the switch", n-before)
	}

	// The switch's own answers map like LCM's.
	for _, tc := range []struct {
		err          error
		status, code int
	}{
		{calls.ErrCallEnded, 410, codeCallCompleted},
		{calls.ErrUnknownCall, 406, codeUnknownCall},
		{&calls.DeniedError{Plugin: "gate", Reason: "no muting"}, 403, codePolicyDenied},
		{calls.ErrShuttingDown, 503, codeUnavailable},
		{errors.New("actor unreachable"), 500, codeInternal},
	} {
		mc.mu.Lock()
		mc.err = tc.err
		mc.mu.Unlock()
		wantError(t, e.req("POST", path+".json", &child, url.Values{"Mute": {"true"}}), tc.status, tc.code, "")
	}
}
