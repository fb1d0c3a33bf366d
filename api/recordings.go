package api

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

// Recordings (restcomm-resources.md §5). The switch writes each recording
// as <RecordingsDir>/<RE sid>.wav and then adds its record; this resource
// lists, shows, downloads and deletes them.
//
// Deliberately stricter than upstream, whose .wav download needs no
// credentials and ignores the account in the path: every route here,
// the download included, needs the credentials of the URL account or an
// ancestor, and a recording is reached only through its own account's URL.
// A recording of any other account answers 404 like an unknown one, so
// other tenants' recording sids cannot be probed. The sid is checked to be
// an RE sid (alphanumerics only) before it names a file, so a path cannot
// leave the recordings directory.

// mimeWAV is upstream's Content-Type for a recording's audio.
const mimeWAV = "audio/x-wav"

// recordingSortFields are the SortBy fields of the Recordings list.
func recordingSortFields() []string { return []string{"DateCreated", "Duration", "CallSid"} }

// parseRecordingQuery reads the Recordings list filters and order (§5.3).
func (s *Server) parseRecordingQuery(c *fiber.Ctx, acct store.Account) (store.RecordingFilter, store.RecordingSort, error) {
	f := store.RecordingFilter{
		AccountSids: []string{acct.Sid},
		CallSid:     c.Query("CallSid"),
	}
	order := store.RecordingSort{Field: "DateCreated", Descending: true}
	if v := c.Query("StartTime"); v != "" {
		day, err := parseDay("StartTime", v, s.loc)
		if err != nil {
			return f, order, err
		}
		f.CreatedOnOrAfter = day
	}
	if v := c.Query("EndTime"); v != "" {
		day, err := parseDay("EndTime", v, s.loc)
		if err != nil {
			return f, order, err
		}
		// Upstream: date_created <= date + 1 day, i.e. the whole given day.
		f.CreatedBefore = day.AddDate(0, 0, 1)
	}
	spec, given, err := parseSortBy(c.Query("SortBy"), recordingSortFields())
	if err != nil {
		return f, order, err
	}
	if given {
		order = store.RecordingSort{Field: spec.field, Descending: spec.descending}
	}
	if c.Query("SubAccounts") == "true" {
		subs, err := s.descendants(c.UserContext(), acct.Sid)
		if err != nil {
			return f, order, err
		}
		f.AccountSids = append(f.AccountSids, subs...)
	}
	return f, order, nil
}

func (s *Server) listRecordings(c *fiber.Ctx, acct store.Account) error {
	pr, err := parsePageRequest(c)
	if err != nil {
		return err
	}
	f, order, err := s.parseRecordingQuery(c, acct)
	if err != nil {
		return err
	}
	page, total, err := s.store.ListRecordings(c.UserContext(), f, order, store.Page{Offset: pr.offset(), Limit: pr.size})
	if err != nil {
		return fmt.Errorf("list recordings of %s: %w", acct.Sid, err)
	}
	if err := pr.check(total); err != nil {
		return err
	}
	if wantsJSON(c) {
		lastSid := ""
		if len(page) > 0 {
			lastSid = page[len(page)-1].Sid
		}
		// Unlike Calls, upstream's Recordings list uri is the request path
		// as the client sent it (with /restcomm and .json when given).
		w := pr.window(requestPath(c), total, len(page), lastSid)
		out := recordingListJSON{pageJSON: w.json(), Recordings: make([]recordingJSON, 0, len(page))}
		for _, r := range page {
			out.Recordings = append(out.Recordings, s.recordingJSON(r))
		}
		return sendJSON(c, out)
	}
	// Upstream's XML list carries no paging attributes.
	return sendXML(c, s.recordingListXML(page))
}

// listCallRecordings renders a call's recordings, oldest first, without
// paging (a call has a handful): a bare JSON array, as upstream. The call
// must be the URL account's own; any other answers 404 like an unknown one,
// as the call's Decisions do.
func (s *Server) listCallRecordings(c *fiber.Ctx, acct store.Account) error {
	callSid, err := s.ownCallSid(c, acct)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	// A validated call sid holds no LIKE wildcard, so this is an exact match.
	f := store.RecordingFilter{AccountSids: []string{acct.Sid}, CallSid: callSid}
	all, _, err := s.store.ListRecordings(ctx, f, store.RecordingSort{Field: "DateCreated"}, store.Page{Limit: math.MaxInt})
	if err != nil {
		return fmt.Errorf("list recordings of call %s: %w", callSid, err)
	}
	if wantsJSON(c) {
		out := make([]recordingJSON, 0, len(all))
		for _, r := range all {
			out = append(out, s.recordingJSON(r))
		}
		return sendJSON(c, out)
	}
	return sendXML(c, s.recordingListXML(all))
}

// ownRecording loads the recording in the path and checks it belongs to
// the URL account: malformed 400; unknown or another account's 404.
func (s *Server) ownRecording(c *fiber.Ctx, acct store.Account) (store.Recording, error) {
	ref := c.Params("recording")
	if !sid.Valid(ref, sid.Recording) {
		return store.Recording{}, malformedSid("RecordingSid", ref)
	}
	r, err := s.store.Recording(c.UserContext(), ref)
	if errors.Is(err, store.ErrNotFound) || (err == nil && r.AccountSid != acct.Sid) {
		return store.Recording{}, notFound("recording")
	}
	if err != nil {
		return store.Recording{}, fmt.Errorf("load recording %s: %w", ref, err)
	}
	return r, nil
}

func (s *Server) getRecording(c *fiber.Ctx, acct store.Account) error {
	r, err := s.ownRecording(c, acct)
	if err != nil {
		return err
	}
	return render(c,
		func() any { return s.recordingJSON(r) },
		func() any { return recordingEnvelope{Recording: s.recordingXML(r)} })
}

// downloadRecording streams the recording's audio. A record whose file is
// missing (or a switch without a recordings directory) answers 404.
func (s *Server) downloadRecording(c *fiber.Ctx, acct store.Account) error {
	r, err := s.ownRecording(c, acct)
	if err != nil {
		return err
	}
	if s.recordingsDir == "" {
		return notFound("recording file")
	}
	path := store.RecordingPath(s.recordingsDir, r.Sid)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return notFound("recording file")
	}
	if err != nil {
		return fmt.Errorf("open recording %s: %w", r.Sid, err)
	}
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		_ = f.Close()
		if err == nil {
			return notFound("recording file")
		}
		return fmt.Errorf("stat recording %s: %w", r.Sid, err)
	}
	c.Set(fiber.HeaderContentType, mimeWAV)
	// fasthttp closes f once the body is sent (or the connection fails).
	c.Response().SetBodyStream(f, int(info.Size()))
	return nil
}

// deleteRecording removes the audio file, then the record: a failure in
// between leaves a record without audio, which a repeated DELETE clears,
// never audio that no record points at. 200 with an empty body, as upstream.
func (s *Server) deleteRecording(c *fiber.Ctx, acct store.Account) error {
	r, err := s.ownRecording(c, acct)
	if err != nil {
		return err
	}
	if s.recordingsDir != "" {
		err := os.Remove(store.RecordingPath(s.recordingsDir, r.Sid))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove audio of recording %s: %w", r.Sid, err)
		}
	}
	err = s.store.DeleteRecording(c.UserContext(), r.Sid)
	if errors.Is(err, store.ErrNotFound) {
		// Deleted concurrently by another request.
		return notFound("recording")
	}
	if err != nil {
		return fmt.Errorf("delete recording %s: %w", r.Sid, err)
	}
	c.Status(http.StatusOK)
	return nil
}

// requestPath is the path of the request as the client sent it, without
// the query string.
func requestPath(c *fiber.Ctx) string {
	p, _, _ := strings.Cut(c.OriginalURL(), "?")
	return p
}

func recordingURI(r store.Recording) string {
	return apiRoot + "/Accounts/" + r.AccountSid + "/Recordings/" + r.Sid
}

// formatDuration renders seconds as upstream does (Java's Double.toString
// for the values recordings have): the shortest decimal that reads back
// as the same number, always with a fractional part ("1.0", "14.70275").
func formatDuration(d float64) string {
	if math.IsNaN(d) || math.IsInf(d, 0) {
		return "0.0"
	}
	v := strconv.FormatFloat(d, 'f', -1, 64)
	if !strings.Contains(v, ".") {
		v += ".0"
	}
	return v
}

// recordingJSON is the JSON Recording (§5.4): duration is a string, as
// upstream sends it; call_sid is omitted when empty, as upstream omits nulls.
type recordingJSON struct {
	Sid         string `json:"sid"`
	DateCreated string `json:"date_created"`
	DateUpdated string `json:"date_updated"`
	AccountSid  string `json:"account_sid"`
	CallSid     string `json:"call_sid,omitempty"`
	Duration    string `json:"duration"`
	APIVersion  string `json:"api_version"`
	URI         string `json:"uri"`
	FileURI     string `json:"file_uri"`
}

func (s *Server) recordingJSON(r store.Recording) recordingJSON {
	return recordingJSON{
		Sid: r.Sid, DateCreated: s.restDate(r.DateCreated), DateUpdated: s.restDate(r.DateUpdated),
		AccountSid: r.AccountSid, CallSid: r.CallSid, Duration: formatDuration(r.Duration),
		APIVersion: apiVersion(r.APIVersion), URI: recordingURI(r) + jsonSuffix,
		FileURI: store.RecordingFileURL(s.publicURL, r.AccountSid, r.Sid),
	}
}

type recordingXML struct {
	XMLName     struct{} `xml:"Recording"`
	Sid         string   `xml:"Sid"`
	DateCreated string   `xml:"DateCreated"`
	DateUpdated string   `xml:"DateUpdated"`
	AccountSid  string   `xml:"AccountSid"`
	CallSid     string   `xml:"CallSid,omitempty"`
	Duration    string   `xml:"Duration"`
	APIVersion  string   `xml:"ApiVersion"`
	URI         string   `xml:"Uri"`
	FileURI     string   `xml:"FileUri"`
}

func (s *Server) recordingXML(r store.Recording) recordingXML {
	return recordingXML{
		Sid: r.Sid, DateCreated: s.restDate(r.DateCreated), DateUpdated: s.restDate(r.DateUpdated),
		AccountSid: r.AccountSid, CallSid: r.CallSid, Duration: formatDuration(r.Duration),
		APIVersion: apiVersion(r.APIVersion), URI: recordingURI(r),
		FileURI: store.RecordingFileURL(s.publicURL, r.AccountSid, r.Sid),
	}
}

func (s *Server) recordingListXML(rs []store.Recording) recordingListEnvelope {
	env := recordingListEnvelope{}
	for _, r := range rs {
		env.List.Items = append(env.List.Items, s.recordingXML(r))
	}
	return env
}

type recordingEnvelope struct {
	XMLName   struct{}     `xml:"RestcommResponse"`
	Recording recordingXML `xml:"Recording"`
}

type recordingListEnvelope struct {
	XMLName struct{} `xml:"RestcommResponse"`
	List    struct {
		Items []recordingXML `xml:"Recording"`
	} `xml:"Recordings"`
}

type recordingListJSON struct {
	pageJSON
	Recordings []recordingJSON `json:"recordings"`
}
