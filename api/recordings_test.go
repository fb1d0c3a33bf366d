package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

const testPublicURL = "https://pbx.example.com:8443"

// newRecEnv is an env whose server has a recordings directory and a
// public URL, set through Config as the server wires them.
func newRecEnv(t *testing.T) (*env, string) {
	t.Helper()
	e := newEnv(t)
	dir := filepath.Join(t.TempDir(), "recordings")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{
		Store: e.st, Calls: e.calls,
		Logger:        slog.New(slog.DiscardHandler),
		Now:           testNow,
		Location:      testZone,
		PublicURL:     testPublicURL + "/",
		RecordingsDir: dir,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.srv = srv
	return e, dir
}

// recording stores a recording row of account for callSid.
func (e *env) recording(account, callSid string, duration float64, created time.Time) store.Recording {
	e.t.Helper()
	r := store.Recording{
		Sid: sid.New(sid.Recording), AccountSid: account, CallSid: callSid, Duration: duration,
		APIVersion: "2012-04-24", DateCreated: created, DateUpdated: created,
	}
	if err := e.st.AddRecording(context.Background(), r); err != nil {
		e.t.Fatalf("add recording: %v", err)
	}
	return r
}

// wavFile writes audio for r into dir as the switch does and returns it.
func wavFile(t *testing.T, dir string, r store.Recording) []byte {
	t.Helper()
	audio := []byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data\x00\x00\x00\x00" + r.Sid)
	if err := os.WriteFile(store.RecordingPath(dir, r.Sid), audio, 0o644); err != nil {
		t.Fatal(err)
	}
	return audio
}

func recBase(acct string) string { return "/2012-04-24/Accounts/" + acct + "/Recordings" }

func TestRecordingRepresentation(t *testing.T) {
	e, _ := newRecEnv(t)
	call := e.putCall(testCall(e.root.Sid, "a", "b"))
	r := e.recording(e.root.Sid, call.Sid, 14.70275, testNow())
	whole := e.recording(e.root.Sid, "", 1, testNow().Add(time.Minute))
	item := recBase(e.root.Sid) + "/" + r.Sid
	fileURI := testPublicURL + "/restcomm" + item + ".wav"

	wantJSON := `{"sid":"` + r.Sid + `","date_created":"Thu, 28 Jun 2018 16:56:33 +0300","date_updated":"Thu, 28 Jun 2018 16:56:33 +0300",` +
		`"account_sid":"` + e.root.Sid + `","call_sid":"` + call.Sid + `","duration":"14.70275","api_version":"2012-04-24",` +
		`"uri":"` + item + `.json","file_uri":"` + fileURI + `"}`
	for _, path := range []string{item + ".json", "/restcomm" + item + ".json"} {
		got := e.req("GET", path, &e.root, nil)
		if got.status != http.StatusOK || got.body != wantJSON {
			t.Errorf("GET %s = %d\n%s\nwant\n%s", path, got.status, got.body, wantJSON)
		}
	}
	if got := e.req("GET", item, &e.root, nil, "Accept", "application/json"); got.body != wantJSON {
		t.Errorf("Accept: json gave %s", got.body)
	}

	wantXML := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<RestcommResponse><Recording><Sid>` + r.Sid + `</Sid>` +
		`<DateCreated>Thu, 28 Jun 2018 16:56:33 +0300</DateCreated><DateUpdated>Thu, 28 Jun 2018 16:56:33 +0300</DateUpdated>` +
		`<AccountSid>` + e.root.Sid + `</AccountSid><CallSid>` + call.Sid + `</CallSid><Duration>14.70275</Duration>` +
		`<ApiVersion>2012-04-24</ApiVersion><Uri>` + item + `</Uri><FileUri>` + fileURI + `</FileUri></Recording></RestcommResponse>`
	if got := e.req("GET", "/restcomm"+item, &e.root, nil); got.status != http.StatusOK || got.body != wantXML {
		t.Errorf("XML = %d\n%s\nwant\n%s", got.status, got.body, wantXML)
	}

	// A whole number of seconds keeps its fraction, as upstream's Double does;
	// a recording that is not about a call omits call_sid.
	m := e.req("GET", recBase(e.root.Sid)+"/"+whole.Sid+".json", &e.root, nil).json(t)
	if m["duration"] != "1.0" {
		t.Errorf("duration = %#v, want the string \"1.0\"", m["duration"])
	}
	if _, ok := m["call_sid"]; ok {
		t.Errorf("call_sid present for a recording without a call: %v", m)
	}
	for d, want := range map[float64]string{0.5: "0.5", 3: "3.0", 60.125: "60.125", 0: "0.0"} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestRecordingsPagingVector(t *testing.T) {
	e, _ := newRecEnv(t)
	base := time.Date(2024, 3, 1, 9, 0, 0, 0, testZone)
	var newestFirst []string
	for i := range 34 {
		r := e.recording(e.root.Sid, "", float64(i+1), base.Add(time.Duration(i)*time.Minute))
		newestFirst = append([]string{r.Sid}, newestFirst...)
	}
	listPath := "/restcomm" + recBase(e.root.Sid) + ".json"
	for _, tc := range []struct {
		page, items    int
		start, end     string
		prev, nextPage string
	}{
		{0, 10, "0", "9", "null", "1"},
		{1, 10, "10", "19", "0", "2"},
		{2, 10, "20", "29", "1", "3"},
		{3, 4, "30", "34", "2", ""},
	} {
		r := e.req("GET", listPath+"?PageSize=10&Page="+itoa(tc.page), &e.root, nil)
		if r.status != http.StatusOK {
			t.Fatalf("page %d: %d %s", tc.page, r.status, r.body)
		}
		m := r.json(t)
		items := m["recordings"].([]any)
		if len(items) != tc.items || m["start"] != tc.start || m["end"] != tc.end ||
			m["page"] != float64(tc.page) || m["num_pages"] != float64(3) || m["page_size"] != float64(10) || m["total"] != float64(34) {
			t.Errorf("page %d: %d items, start %v end %v page %v num_pages %v page_size %v total %v",
				tc.page, len(items), m["start"], m["end"], m["page"], m["num_pages"], m["page_size"], m["total"])
		}
		for i, it := range items {
			if got, want := it.(map[string]any)["sid"], newestFirst[tc.page*10+i]; got != want {
				t.Errorf("page %d item %d = %v, want %v (newest first)", tc.page, i, got, want)
			}
		}
		// The list uri is the request path as sent (decision of upstream's
		// Recordings endpoint, unlike Calls).
		if m["uri"] != listPath || m["first_page_uri"] != listPath+"?Page=0&PageSize=10" || m["last_page_uri"] != listPath+"?Page=3&PageSize=10" {
			t.Errorf("page %d uris: %v %v %v", tc.page, m["uri"], m["first_page_uri"], m["last_page_uri"])
		}
		wantPrev := "null"
		if tc.prev != "null" {
			wantPrev = listPath + "?Page=" + tc.prev + "&PageSize=10"
		}
		wantNext := "null"
		if tc.nextPage != "" {
			wantNext = listPath + "?Page=" + tc.nextPage + "&PageSize=10&AfterSid=" + newestFirst[tc.page*10+9]
		}
		if m["previous_page_uri"] != wantPrev || m["next_page_uri"] != wantNext {
			t.Errorf("page %d: previous %v next %v; want %v, %v", tc.page, m["previous_page_uri"], m["next_page_uri"], wantPrev, wantNext)
		}
	}
	if m := e.req("GET", recBase(e.root.Sid)+".json?PageSize=10", &e.root, nil).json(t); m["uri"] != recBase(e.root.Sid)+".json" {
		t.Errorf("uri without /restcomm = %v", m["uri"])
	}
	wantError(t, e.req("GET", listPath+"?PageSize=10&Page=4", &e.root, nil), 400, codeInvalidParameter, "")

	// XML: the records without paging attributes.
	r := e.req("GET", "/restcomm"+recBase(e.root.Sid)+"?PageSize=10&Page=3", &e.root, nil)
	if !strings.Contains(r.body, "<RestcommResponse><Recordings><Recording><Sid>"+newestFirst[30]+"</Sid>") ||
		strings.Count(r.body, "<Recording>") != 4 || strings.Contains(r.body, "page=") {
		t.Errorf("XML list page 3: %s", r.body)
	}
	r = e.req("GET", recBase(e.root.Sid)+"?CallSid=nothing", &e.root, nil)
	if r.status != http.StatusOK || !strings.HasSuffix(r.body, "<RestcommResponse><Recordings></Recordings></RestcommResponse>") {
		t.Errorf("empty XML list: %d %s", r.status, r.body)
	}
}

func TestRecordingsListFilters(t *testing.T) {
	e, _ := newRecEnv(t)
	sub := e.subAccount(e.root, roleDeveloper)
	day := func(d int) time.Time { return time.Date(2024, 3, d, 9, 0, 0, 0, testZone) }
	callA, callB := "CA1111aaaa0000000000000000000000aa", "CA2222bbbb0000000000000000000000bb"
	r1 := e.recording(e.root.Sid, callA, 5, day(1))
	r2 := e.recording(e.root.Sid, callB, 2.5, day(2))
	r3 := e.recording(e.root.Sid, callA, 9, day(3))
	s1 := e.recording(sub.Sid, callB, 1, day(4))

	base := recBase(e.root.Sid)
	sids := func(path string) string {
		t.Helper()
		r := e.req("GET", path, &e.root, nil)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		var out []string
		for _, it := range r.json(t)["recordings"].([]any) {
			out = append(out, it.(map[string]any)["sid"].(string))
		}
		return strings.Join(out, ",")
	}
	for path, want := range map[string]string{
		base + ".json":                                         r3.Sid + "," + r2.Sid + "," + r1.Sid,
		base + ".json?SubAccounts=true":                        s1.Sid + "," + r3.Sid + "," + r2.Sid + "," + r1.Sid,
		base + ".json?CallSid=" + callA:                        r3.Sid + "," + r1.Sid,
		base + ".json?CallSid=CA2222%25":                       r2.Sid,
		base + ".json?CallSid=CA2222%25&SubAccounts=true":      s1.Sid + "," + r2.Sid,
		base + ".json?CallSid=CA2222":                          "",
		base + ".json?StartTime=2024-03-02":                    r3.Sid + "," + r2.Sid,
		base + ".json?EndTime=2024-03-02":                      r2.Sid + "," + r1.Sid,
		base + ".json?StartTime=2024-03-02&EndTime=2024-03-02": r2.Sid,
		base + ".json?SortBy=Duration":                         r2.Sid + "," + r1.Sid + "," + r3.Sid,
		base + ".json?SortBy=Duration:desc":                    r3.Sid + "," + r1.Sid + "," + r2.Sid,
		base + ".json?SortBy=callsid:ASC":                      r3.Sid + "," + r1.Sid + "," + r2.Sid,
		base + ".json?SortBy=DateCreated:asc":                  r1.Sid + "," + r2.Sid + "," + r3.Sid,
		"/restcomm" + recBase(sub.Sid) + ".json":               s1.Sid,
	} {
		if got := sids(path); got != want {
			t.Errorf("%s: got %s, want %s", path, got, want)
		}
	}
	for _, q := range []string{"SortBy=Price", "SortBy=:asc", "SortBy=Duration:up", "StartTime=never", "EndTime=2024-13-01", "StartTime=2024-02-30", "PageSize=0", "Page=-1", "Page=1"} {
		wantError(t, e.req("GET", base+".json?"+q, &e.root, nil), 400, codeInvalidParameter, "")
	}
	wantError(t, e.req("GET", base+"?SortBy=Nope", &e.root, nil), 400, codeInvalidParameter, "")
}

func TestCallRecordings(t *testing.T) {
	e, _ := newRecEnv(t)
	sub := e.subAccount(e.root, roleDeveloper)
	call := e.putCall(testCall(e.root.Sid, "a", "b"))
	other := e.putCall(testCall(e.root.Sid, "a", "c"))
	subCall := e.putCall(testCall(sub.Sid, "a", "d"))
	first := e.recording(e.root.Sid, call.Sid, 2, testNow())
	second := e.recording(e.root.Sid, call.Sid, 3, testNow().Add(time.Minute))
	e.recording(e.root.Sid, other.Sid, 4, testNow())
	e.recording(sub.Sid, subCall.Sid, 5, testNow())

	path := "/2012-04-24/Accounts/" + e.root.Sid + "/Calls/" + call.Sid + "/Recordings"
	for _, p := range []string{path + ".json", "/restcomm" + path + ".json"} {
		r := e.req("GET", p, &e.root, nil)
		if r.status != http.StatusOK || !strings.HasPrefix(r.body, "[{") {
			t.Fatalf("GET %s = %d %s; want a bare JSON array", p, r.status, r.body)
		}
		want := `[` + mustJSON(t, e.srv.recordingJSON(first)) + `,` + mustJSON(t, e.srv.recordingJSON(second)) + `]`
		if r.body != want {
			t.Errorf("GET %s =\n%s\nwant (oldest first)\n%s", p, r.body, want)
		}
	}
	r := e.req("GET", path, &e.root, nil)
	if !strings.Contains(r.body, "<RestcommResponse><Recordings><Recording><Sid>"+first.Sid+"</Sid>") || strings.Count(r.body, "<Recording>") != 2 {
		t.Errorf("XML per-call list: %s", r.body)
	}
	noRec := e.putCall(testCall(e.root.Sid, "a", "e"))
	if r := e.req("GET", "/2012-04-24/Accounts/"+e.root.Sid+"/Calls/"+noRec.Sid+"/Recordings.json", &e.root, nil); r.status != http.StatusOK || r.body != "[]" {
		t.Errorf("call without recordings = %d %s, want []", r.status, r.body)
	}
	// The sub-account's call through its own URL works for the parent; through
	// the parent's URL it is unknown, as is a call that does not exist.
	if r := e.req("GET", "/2012-04-24/Accounts/"+sub.Sid+"/Calls/"+subCall.Sid+"/Recordings.json", &e.root, nil); r.status != http.StatusOK || strings.Count(r.body, `"sid"`) != 1 {
		t.Errorf("child's call via child URL = %d %s", r.status, r.body)
	}
	wantError(t, e.req("GET", "/2012-04-24/Accounts/"+e.root.Sid+"/Calls/"+subCall.Sid+"/Recordings.json", &e.root, nil), 404, codeNotFound, "The requested call was not found.")
	wantError(t, e.req("GET", "/2012-04-24/Accounts/"+e.root.Sid+"/Calls/"+sid.New(sid.Call)+"/Recordings.json", &e.root, nil), 404, codeNotFound, "")
	wantError(t, e.req("GET", "/2012-04-24/Accounts/"+e.root.Sid+"/Calls/CAbad/Recordings.json", &e.root, nil), 400, codeMalformedSid, "")
	wantError(t, e.req("GET", "/2012-04-24/Accounts/"+e.root.Sid+"/Calls/"+call.Sid+"/Recordings.json", &sub, nil), 403, codeForbidden, "")
}

func TestRecordingDownload(t *testing.T) {
	e, dir := newRecEnv(t)
	sub := e.subAccount(e.root, roleDeveloper)
	sibling := e.subAccount(e.root, roleDeveloper)
	r := e.recording(sub.Sid, "", 1.5, testNow())
	audio := wavFile(t, dir, r)
	wav := recBase(sub.Sid) + "/" + r.Sid + ".wav"

	for _, who := range []*store.Account{&sub, &e.root} {
		for _, p := range []string{wav, "/restcomm" + wav} {
			got := e.req("GET", p, who, nil)
			if got.status != http.StatusOK || got.header.Get("Content-Type") != "audio/x-wav" || got.body != string(audio) {
				t.Errorf("GET %s as %s = %d %q, %d bytes; want 200 audio/x-wav with the file's %d bytes",
					p, who.Sid, got.status, got.header.Get("Content-Type"), len(got.body), len(audio))
			}
		}
	}
	// The file_uri the resource shows is the path that serves the audio.
	m := e.req("GET", recBase(sub.Sid)+"/"+r.Sid+".json", &sub, nil).json(t)
	if m["file_uri"] != testPublicURL+"/restcomm"+wav {
		t.Errorf("file_uri = %v, want %s", m["file_uri"], testPublicURL+"/restcomm"+wav)
	}

	// Credentials: none, another tree, or the right tree through the wrong account.
	wantError(t, e.req("GET", wav, nil, nil), 401, codeUnauthenticated, "")
	wantError(t, e.req("GET", wav, &sibling, nil), 403, codeForbidden, "")
	ownURL := recBase(e.root.Sid) + "/" + r.Sid + ".wav"
	wantError(t, e.req("GET", ownURL, &e.root, nil), 404, codeNotFound, "The requested recording was not found.")
	wantError(t, e.req("GET", recBase(sibling.Sid)+"/"+r.Sid+".wav", &sibling, nil), 404, codeNotFound, "")
	wantError(t, e.req("GET", recBase(sibling.Sid)+"/"+r.Sid+".json", &sibling, nil), 404, codeNotFound, "")

	// A row without its file, and a file without a row.
	noFile := e.recording(sub.Sid, "", 2, testNow())
	wantError(t, e.req("GET", recBase(sub.Sid)+"/"+noFile.Sid+".wav", &sub, nil), 404, codeNotFound, "The requested recording file was not found.")
	stray := store.Recording{Sid: sid.New(sid.Recording), AccountSid: sub.Sid}
	wavFile(t, dir, stray)
	wantError(t, e.req("GET", recBase(sub.Sid)+"/"+stray.Sid+".wav", &sub, nil), 404, codeNotFound, "The requested recording was not found.")
	// A directory where the file should be is not served.
	dirRec := e.recording(sub.Sid, "", 2, testNow())
	if err := os.Mkdir(store.RecordingPath(dir, dirRec.Sid), 0o755); err != nil {
		t.Fatal(err)
	}
	wantError(t, e.req("GET", recBase(sub.Sid)+"/"+dirRec.Sid+".wav", &sub, nil), 404, codeNotFound, "")
}

func TestRecordingSidsCannotLeaveTheDirectory(t *testing.T) {
	e, dir := newRecEnv(t)
	// A file beside the recordings directory that a traversal would reach.
	secret := []byte("not a recording")
	if err := os.WriteFile(filepath.Join(filepath.Dir(dir), "secret.wav"), secret, 0o644); err != nil {
		t.Fatal(err)
	}
	base := recBase(e.root.Sid) + "/"
	for _, ref := range []string{
		"..%2Fsecret", "..%2fsecret", "%2E%2E%2Fsecret", "..%5Csecret", "RE..%2F..%2Fsecret",
		"RE0123456789abcdef0123456789abcde%2F", "RE0123456789abcdef0123456789abcd..", "RE0123456789abcdef0123456789abcdef0",
		"CA0123456789abcdef0123456789abcdef", "RE0123456789abcdef0123456789abcde_",
	} {
		for _, method := range []string{"GET", "DELETE"} {
			for _, suffix := range []string{".wav", ".json", ""} {
				r := e.req(method, base+ref+suffix, &e.root, nil)
				if r.status == http.StatusOK || r.status < 400 || strings.Contains(r.body, string(secret)) {
					t.Errorf("%s %s%s = %d %q; want refused", method, ref, suffix, r.status, r.body)
				}
			}
		}
		wantError(t, e.req("GET", base+ref+".wav", &e.root, nil), 400, codeMalformedSid, "")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "secret.wav")); err != nil {
		t.Errorf("the file beside the directory is gone: %v", err)
	}
	// Only .wav is served; other suffixes are not sids.
	rec := e.recording(e.root.Sid, "", 1, testNow())
	wavFile(t, dir, rec)
	wantError(t, e.req("GET", base+rec.Sid+".mp3", &e.root, nil), 400, codeMalformedSid, "")
}

func TestRecordingDelete(t *testing.T) {
	e, dir := newRecEnv(t)
	sub := e.subAccount(e.root, roleDeveloper)
	sibling := e.subAccount(e.root, roleDeveloper)
	r := e.recording(sub.Sid, "", 3, testNow())
	wavFile(t, dir, r)
	kept := e.recording(sub.Sid, "", 4, testNow())
	keptAudio := wavFile(t, dir, kept)
	item := recBase(sub.Sid) + "/" + r.Sid

	// Refused: another tree, the right recording through another account.
	wantError(t, e.req("DELETE", item, &sibling, nil), 403, codeForbidden, "")
	wantError(t, e.req("DELETE", recBase(e.root.Sid)+"/"+r.Sid, &e.root, nil), 404, codeNotFound, "")
	wantError(t, e.req("DELETE", recBase(sibling.Sid)+"/"+r.Sid+".json", &sibling, nil), 404, codeNotFound, "")
	if _, err := os.Stat(store.RecordingPath(dir, r.Sid)); err != nil {
		t.Fatalf("a refused DELETE removed the file: %v", err)
	}

	got := e.req("DELETE", "/restcomm"+item+".json", &e.root, nil)
	if got.status != http.StatusOK || got.body != "" {
		t.Fatalf("DELETE = %d %q, want 200 with an empty body", got.status, got.body)
	}
	if _, err := e.st.Recording(context.Background(), r.Sid); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("row after DELETE: %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(store.RecordingPath(dir, r.Sid)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file after DELETE: %v, want it gone", err)
	}
	wantError(t, e.req("GET", item+".json", &sub, nil), 404, codeNotFound, "")
	wantError(t, e.req("GET", item+".wav", &sub, nil), 404, codeNotFound, "")
	wantError(t, e.req("DELETE", item, &sub, nil), 404, codeNotFound, "")
	wantError(t, e.req("DELETE", recBase(sub.Sid)+"/RE1", &sub, nil), 400, codeMalformedSid, "")
	wantError(t, e.req("POST", recBase(sub.Sid)+"/"+kept.Sid, &sub, nil), 405, codeMethodNotAllowed, "")
	wantError(t, e.req("PUT", recBase(sub.Sid)+".json", &sub, nil), 405, codeMethodNotAllowed, "")

	// The other recording is untouched.
	if b, err := os.ReadFile(store.RecordingPath(dir, kept.Sid)); err != nil || string(b) != string(keptAudio) {
		t.Errorf("other recording's file: %v", err)
	}
	if m := e.req("GET", recBase(sub.Sid)+".json", &sub, nil).json(t); m["total"] != float64(1) {
		t.Errorf("list after DELETE: total %v, want 1", m["total"])
	}

	// A row whose file is already gone is still deleted.
	noFile := e.recording(sub.Sid, "", 1, testNow())
	if got := e.req("DELETE", recBase(sub.Sid)+"/"+noFile.Sid, &sub, nil); got.status != http.StatusOK {
		t.Errorf("DELETE without a file = %d %s", got.status, got.body)
	}
	if _, err := e.st.Recording(context.Background(), noFile.Sid); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("row without file after DELETE: %v", err)
	}
}

func TestRecordingsWithoutDirectory(t *testing.T) {
	e := newEnv(t) // no RecordingsDir, no PublicURL
	r := e.recording(e.root.Sid, "", 2, testNow())
	item := recBase(e.root.Sid) + "/" + r.Sid
	m := e.req("GET", item+".json", &e.root, nil).json(t)
	if m["file_uri"] != "/restcomm"+item+".wav" {
		t.Errorf("file_uri without a public URL = %v", m["file_uri"])
	}
	wantError(t, e.req("GET", item+".wav", &e.root, nil), 404, codeNotFound, "The requested recording file was not found.")
	if got := e.req("DELETE", item, &e.root, nil); got.status != http.StatusOK {
		t.Fatalf("DELETE = %d %s", got.status, got.body)
	}
	if _, err := e.st.Recording(context.Background(), r.Sid); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("row after DELETE: %v", err)
	}
}

// mustJSON encodes v as the API does.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimRight(b.String(), "\n")
}
