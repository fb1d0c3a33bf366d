package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/patchbay/patchbay/switch/calls"
	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

// Conferences and Participants (restcomm-resources.md §4 with decision 15).
//
// Conferences are read-only records written by the switch. A participant is
// a call record of the conference's account whose ConferenceSid is the
// conference; the list shows the ones in progress, as upstream. Rooms are
// namespaced by account (`<AccountSid>:<room>`), so a conference's calls are
// always its account's, which lets every participant query read that one
// account's calls.
//
// Deviations from upstream, all fixes of accidents (decision 10):
//   - an authorisation failure is 403, not 401 (decision 15);
//   - JSON conference_sid is the call's conference, not its parent call;
//   - GET and POST of a participant check that the call is in the
//     conference of the path (upstream served any call);
//   - POST without Mute is a 400, not an implicit unmute (decisions 6, 15),
//     and its answer shows the participant after the change, not before;
//   - the participant list is paged like every list (upstream always sent
//     the whole set whatever Page and PageSize said).
//
// The participant's end-conference flag: upstream spells the key
// end_conference_on_enter (XML EndConferenceOnEnter), a typo for what the
// flag means. Clients written for Restcomm read the typo, so it stays, and
// the correct end_conference_on_exit (EndConferenceOnExit) follows it with
// the same value. Both keys are emitted rather than one renamed, because an
// added key breaks no client and a renamed one breaks every existing one.

// conferenceSidParam validates the {ConferenceSid} path segment.
func conferenceSidParam(c *fiber.Ctx) (string, error) {
	v := c.Params("conference")
	if !sid.Valid(v, sid.Conference) {
		return "", malformedSid("ConferenceSid", v)
	}
	return v, nil
}

// ownConference loads the conference in the path and checks it belongs to
// the URL account: malformed 400, unknown 404, another account's 403.
func (s *Server) ownConference(c *fiber.Ctx, acct store.Account) (store.Conference, error) {
	cfSid, err := conferenceSidParam(c)
	if err != nil {
		return store.Conference{}, err
	}
	cf, err := s.store.Conference(c.UserContext(), cfSid)
	if errors.Is(err, store.ErrNotFound) {
		return cf, notFound("conference")
	}
	if err != nil {
		return cf, fmt.Errorf("load conference %s: %w", cfSid, err)
	}
	if cf.AccountSid != acct.Sid {
		return cf, forbidden("The conference does not belong to this account.")
	}
	return cf, nil
}

// inConference reports whether call is a participant record of cf.
func inConference(call store.Call, cf store.Conference) bool {
	return call.ConferenceSid == cf.Sid && call.AccountSid == cf.AccountSid
}

// parseConferenceQuery reads the Conferences list filters (§4.2).
func (s *Server) parseConferenceQuery(c *fiber.Ctx, acct store.Account) (store.ConferenceFilter, error) {
	f := store.ConferenceFilter{
		AccountSids:  []string{acct.Sid},
		Status:       c.Query("Status"),
		FriendlyName: c.Query("FriendlyName"),
	}
	if v := c.Query("DateCreated"); v != "" {
		day, err := parseDay("DateCreated", v, s.loc)
		if err != nil {
			return f, err
		}
		f.CreatedOnOrAfter = day
	}
	if v := c.Query("DateUpdated"); v != "" {
		day, err := parseDay("DateUpdated", v, s.loc)
		if err != nil {
			return f, err
		}
		// Upstream: date_updated <= date + 1 day, i.e. the whole given day.
		f.UpdatedBefore = day.AddDate(0, 0, 1)
	}
	return f, nil
}

func (s *Server) listConferences(c *fiber.Ctx, acct store.Account) error {
	pr, err := parsePageRequest(c)
	if err != nil {
		return err
	}
	f, err := s.parseConferenceQuery(c, acct)
	if err != nil {
		return err
	}
	page, total, err := s.store.ListConferences(c.UserContext(), f, store.Page{Offset: pr.offset(), Limit: pr.size})
	if err != nil {
		return fmt.Errorf("list conferences of %s: %w", acct.Sid, err)
	}
	if err := pr.check(total); err != nil {
		return err
	}
	lastSid := ""
	if len(page) > 0 {
		lastSid = page[len(page)-1].Sid
	}
	w := pr.window(apiRoot+"/Accounts/"+acct.Sid+"/Conferences", total, len(page), lastSid)
	if wantsJSON(c) {
		out := conferenceListJSON{pageJSON: w.json(), Conferences: make([]conferenceJSON, 0, len(page))}
		for _, cf := range page {
			out.Conferences = append(out.Conferences, s.conferenceJSON(cf))
		}
		return sendJSON(c, out)
	}
	env := conferenceListEnvelope{}
	env.Conferences.pageXML = w.xml()
	for _, cf := range page {
		env.Conferences.Conferences = append(env.Conferences.Conferences, s.conferenceXML(cf))
	}
	return sendXML(c, env)
}

func (s *Server) getConference(c *fiber.Ctx, acct store.Account) error {
	cf, err := s.ownConference(c, acct)
	if err != nil {
		return err
	}
	return render(c,
		func() any { return s.conferenceJSON(cf) },
		func() any { return conferenceEnvelope{Conference: s.conferenceXML(cf)} })
}

// listParticipants lists the conference's calls that are in progress, in
// the Calls list's default order (newest first) and paging.
func (s *Server) listParticipants(c *fiber.Ctx, acct store.Account) error {
	pr, err := parsePageRequest(c)
	if err != nil {
		return err
	}
	cf, err := s.ownConference(c, acct)
	if err != nil {
		return err
	}
	f := store.CallFilter{AccountSids: []string{cf.AccountSid}, ConferenceSid: cf.Sid, Status: store.StatusInProgress}
	order := store.CallSort{Field: "DateCreated", Descending: true}
	page, total, err := s.store.ListCalls(c.UserContext(), f, order, store.Page{Offset: pr.offset(), Limit: pr.size})
	if err != nil {
		return fmt.Errorf("list participants of %s: %w", cf.Sid, err)
	}
	if err := pr.check(total); err != nil {
		return err
	}
	lastSid := ""
	if len(page) > 0 {
		lastSid = page[len(page)-1].Sid
	}
	w := pr.window(conferenceURI(cf)+"/Participants", total, len(page), lastSid)
	if wantsJSON(c) {
		out := participantListJSON{pageJSON: w.json(), Calls: make([]participantJSON, 0, len(page))}
		for _, call := range page {
			out.Calls = append(out.Calls, s.participantJSON(call))
		}
		return sendJSON(c, out)
	}
	env := participantListEnvelope{}
	env.Calls.pageXML = w.xml()
	for _, call := range page {
		env.Calls.Calls = append(env.Calls.Calls, s.participantXML(call))
	}
	return sendXML(c, env)
}

// getParticipant renders a call of the conference, in progress or not; a
// call that is not (and never was) in it is answered as unknown.
func (s *Server) getParticipant(c *fiber.Ctx, acct store.Account) error {
	callSid, err := callSidParam(c)
	if err != nil {
		return err
	}
	cf, err := s.ownConference(c, acct)
	if err != nil {
		return err
	}
	call, err := s.store.Call(c.UserContext(), callSid)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("participant")
	}
	if err != nil {
		return fmt.Errorf("load call %s: %w", callSid, err)
	}
	if !inConference(call, cf) {
		return notFound("participant")
	}
	return s.renderParticipant(c, call)
}

// parseMute reads the one parameter of a participant update. Absent is a
// 400: with nothing else to change, the request would do nothing.
func parseMute(c *fiber.Ctx) (bool, error) {
	mute, err := boolParam("Mute", form(c, "Mute"))
	if err != nil {
		return false, err
	}
	if mute == nil {
		return false, &apiError{status: http.StatusBadRequest, code: codeBadRequest, message: "Nothing to modify: give Mute."}
	}
	return *mute, nil
}

// modifyParticipant mutes or unmutes a participant through the switch. An
// unknown call, or one that is not in this conference, is 406 and an ended
// one 410, as for Live Call Modification.
func (s *Server) modifyParticipant(c *fiber.Ctx, acct store.Account) error {
	callSid, err := callSidParam(c)
	if err != nil {
		return err
	}
	// Both sids are checked before the body, as LCM does; ownConference
	// checks the conference's again when it loads it.
	if _, err := conferenceSidParam(c); err != nil {
		return err
	}
	mute, err := parseMute(c)
	if err != nil {
		return err
	}
	cf, err := s.ownConference(c, acct)
	if err != nil {
		return err
	}
	call, err := s.store.Call(c.UserContext(), callSid)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("modify participant %s: %w", callSid, calls.ErrUnknownCall)
	}
	if err != nil {
		return fmt.Errorf("load call %s: %w", callSid, err)
	}
	if !inConference(call, cf) {
		return fmt.Errorf("modify participant %s: not in conference %s: %w", callSid, cf.Sid, calls.ErrUnknownCall)
	}
	if store.Ended(call.Status) {
		return fmt.Errorf("modify participant %s (%s): %w", callSid, call.Status, calls.ErrCallEnded)
	}
	updated, err := s.calls.Modify(c.UserContext(), calls.ModifyRequest{
		AccountSid:   acct.Sid,
		RequesterSid: principal(c).Sid,
		CallSid:      callSid,
		Mute:         &mute,
	})
	if err != nil {
		return fmt.Errorf("modify participant %s: %w", callSid, err)
	}
	return s.renderParticipant(c, updated.Call)
}

func (s *Server) renderParticipant(c *fiber.Ctx, call store.Call) error {
	return render(c,
		func() any { return s.participantJSON(call) },
		func() any { return participantEnvelope{Call: s.participantXML(call)} })
}

func conferenceURI(cf store.Conference) string {
	return apiRoot + "/Accounts/" + cf.AccountSid + "/Conferences/" + cf.Sid
}

// conferenceJSON is the JSON Conference (§4.2), keys in upstream's order.
type conferenceJSON struct {
	Sid             string          `json:"sid"`
	DateCreated     string          `json:"date_created,omitempty"`
	DateUpdated     string          `json:"date_updated,omitempty"`
	AccountSid      string          `json:"account_sid"`
	Status          string          `json:"status"`
	APIVersion      string          `json:"api_version"`
	FriendlyName    string          `json:"friendly_name,omitempty"`
	URI             string          `json:"uri"`
	SubresourceURIs orderedURIsJSON `json:"subresource_uris"`
}

func (s *Server) conferenceJSON(cf store.Conference) conferenceJSON {
	uri := conferenceURI(cf)
	return conferenceJSON{
		Sid: cf.Sid, DateCreated: s.restDate(cf.DateCreated), DateUpdated: s.restDate(cf.DateUpdated),
		AccountSid: cf.AccountSid, Status: cf.Status, APIVersion: apiVersion(cf.APIVersion),
		FriendlyName: cf.FriendlyName, URI: uri + jsonSuffix,
		SubresourceURIs: orderedURIsJSON{{"participants", uri + "/Participants" + jsonSuffix}},
	}
}

// conferenceXML is the XML <Conference>, children in upstream's order.
type conferenceXML struct {
	XMLName         struct{} `xml:"Conference"`
	Sid             string   `xml:"Sid"`
	DateCreated     string   `xml:"DateCreated"`
	DateUpdated     string   `xml:"DateUpdated"`
	AccountSid      string   `xml:"AccountSid"`
	Status          string   `xml:"Status"`
	APIVersion      string   `xml:"ApiVersion"`
	FriendlyName    string   `xml:"FriendlyName"`
	URI             string   `xml:"Uri"`
	SubresourceURIs struct {
		Participants string `xml:"Participants"`
	} `xml:"SubresourceUris"`
}

func (s *Server) conferenceXML(cf store.Conference) conferenceXML {
	uri := conferenceURI(cf)
	x := conferenceXML{
		Sid: cf.Sid, DateCreated: s.restDate(cf.DateCreated), DateUpdated: s.restDate(cf.DateUpdated),
		AccountSid: cf.AccountSid, Status: cf.Status, APIVersion: apiVersion(cf.APIVersion),
		FriendlyName: cf.FriendlyName, URI: uri,
	}
	x.SubresourceURIs.Participants = uri + "/Participants"
	return x
}

type conferenceEnvelope struct {
	XMLName    struct{}      `xml:"RestcommResponse"`
	Conference conferenceXML `xml:"Conference"`
}

type conferenceListJSON struct {
	pageJSON
	Conferences []conferenceJSON `json:"conferences"`
}

type conferenceListEnvelope struct {
	XMLName     struct{} `xml:"RestcommResponse"`
	Conferences struct {
		pageXML
		Conferences []conferenceXML `xml:"Conference"`
	} `xml:"Conferences"`
}

// participantJSON is the JSON participant (§4.3, decision 15). uri points
// at the call, as upstream. end_conference_on_enter is upstream's typo,
// kept for its clients; end_conference_on_exit is the same flag spelt right
// (see the comment at the top of this file).
type participantJSON struct {
	Sid                    string `json:"sid"`
	ConferenceSid          string `json:"conference_sid,omitempty"`
	DateCreated            string `json:"date_created,omitempty"`
	DateUpdated            string `json:"date_updated,omitempty"`
	AccountSid             string `json:"account_sid"`
	Muted                  bool   `json:"muted"`
	Hold                   bool   `json:"hold"`
	StartConferenceOnEnter bool   `json:"start_conference_on_enter"`
	EndConferenceOnEnter   bool   `json:"end_conference_on_enter"`
	EndConferenceOnExit    bool   `json:"end_conference_on_exit"`
	URI                    string `json:"uri"`
}

func (s *Server) participantJSON(c store.Call) participantJSON {
	return participantJSON{
		Sid: c.Sid, ConferenceSid: c.ConferenceSid,
		DateCreated: s.restDate(c.DateCreated), DateUpdated: s.restDate(c.DateUpdated),
		AccountSid: c.AccountSid, Muted: c.Muted, Hold: c.OnHold,
		StartConferenceOnEnter: c.StartConferenceOnEnter,
		EndConferenceOnEnter:   c.EndConferenceOnExit, EndConferenceOnExit: c.EndConferenceOnExit,
		URI: callURI(c) + jsonSuffix,
	}
}

// participantXML is the XML participant: a <Call> with the conference
// fields (upstream's elements, then EndConferenceOnExit).
type participantXML struct {
	XMLName                struct{} `xml:"Call"`
	Sid                    string   `xml:"Sid"`
	ConferenceSid          string   `xml:"ConferenceSid"`
	DateCreated            string   `xml:"DateCreated"`
	DateUpdated            string   `xml:"DateUpdated"`
	AccountSid             string   `xml:"AccountSid"`
	Muted                  string   `xml:"Muted"`
	Hold                   string   `xml:"Hold"`
	StartConferenceOnEnter string   `xml:"StartConferenceOnEnter"`
	EndConferenceOnEnter   string   `xml:"EndConferenceOnEnter"`
	EndConferenceOnExit    string   `xml:"EndConferenceOnExit"`
	URI                    string   `xml:"Uri"`
}

func (s *Server) participantXML(c store.Call) participantXML {
	return participantXML{
		Sid: c.Sid, ConferenceSid: c.ConferenceSid,
		DateCreated: s.restDate(c.DateCreated), DateUpdated: s.restDate(c.DateUpdated),
		AccountSid: c.AccountSid, Muted: strconv.FormatBool(c.Muted), Hold: strconv.FormatBool(c.OnHold),
		StartConferenceOnEnter: strconv.FormatBool(c.StartConferenceOnEnter),
		EndConferenceOnEnter:   strconv.FormatBool(c.EndConferenceOnExit),
		EndConferenceOnExit:    strconv.FormatBool(c.EndConferenceOnExit),
		URI:                    callURI(c),
	}
}

type participantEnvelope struct {
	XMLName struct{}       `xml:"RestcommResponse"`
	Call    participantXML `xml:"Call"`
}

type participantListJSON struct {
	pageJSON
	Calls []participantJSON `json:"calls"`
}

type participantListEnvelope struct {
	XMLName struct{} `xml:"RestcommResponse"`
	Calls   struct {
		pageXML
		Calls []participantXML `xml:"Call"`
	} `xml:"Calls"`
}
