package api

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

// notificationScanLimit bounds how many notifications one list request reads.
// The store filters only by account, call and code, so the other filters and
// the sort run here over at most this many records per account.
const notificationScanLimit = 10_000

func (s *Server) listNotifications(c *fiber.Ctx, acct store.Account) error {
	return s.notificationList(c, acct, "", apiRoot+"/Accounts/"+acct.Sid+"/Notifications")
}

func (s *Server) listCallNotifications(c *fiber.Ctx, acct store.Account) error {
	callSid, err := callSidParam(c)
	if err != nil {
		return err
	}
	return s.notificationList(c, acct, callSid, apiRoot+"/Accounts/"+acct.Sid+"/Calls/"+c.Params("call")+"/Notifications")
}

// notificationQuery is a parsed Notifications list request (resources §6.1);
// the filters the store cannot apply are returned beside it as predicates.
type notificationQuery struct {
	filter store.NotificationFilter // what the store filters
	sort   sortSpec
}

func (s *Server) parseNotificationQuery(c *fiber.Ctx) (notificationQuery, []func(store.Notification) bool, error) {
	var q notificationQuery
	var keep []func(store.Notification) bool
	if v := c.Query("ErrorCode"); v != "" {
		code, err := strconv.Atoi(v)
		if err != nil || code <= 0 {
			return q, nil, badParam("ErrorCode must be a positive integer, not %q.", v)
		}
		q.filter.ErrorCode = code
	}
	if v := c.Query("StartTime"); v != "" {
		day, err := parseDay("StartTime", v, s.loc)
		if err != nil {
			return q, nil, err
		}
		keep = append(keep, func(n store.Notification) bool { return !n.DateCreated.Before(day) })
	}
	if v := c.Query("EndTime"); v != "" {
		day, err := parseDay("EndTime", v, s.loc)
		if err != nil {
			return q, nil, err
		}
		end := day.AddDate(0, 0, 1)
		keep = append(keep, func(n store.Notification) bool { return n.DateCreated.Before(end) })
	}
	if v := c.Query("RequestUrl"); v != "" {
		keep = append(keep, func(n store.Notification) bool { return likeMatch(v, n.RequestURL) })
	}
	if v := c.Query("MessageText"); v != "" {
		keep = append(keep, func(n store.Notification) bool { return strings.Contains(n.MessageText, v) })
	}
	spec, given, err := parseSortBy(c.Query("SortBy"), []string{"DateCreated", "Log", "ErrorCode", "CallSid", "MessageText"})
	if err != nil {
		return q, nil, err
	}
	if !given {
		spec = sortSpec{field: "DateCreated", descending: true}
	}
	q.sort = spec
	return q, keep, nil
}

func (s *Server) notificationList(c *fiber.Ctx, acct store.Account, callSid, uri string) error {
	pr, err := parsePageRequest(c)
	if err != nil {
		return err
	}
	q, keep, err := s.parseNotificationQuery(c)
	if err != nil {
		return err
	}
	q.filter.CallSid = callSid
	ctx := c.UserContext()
	accounts := []string{acct.Sid}
	if c.Query("SubAccounts") == "true" {
		subs, err := s.descendants(ctx, acct.Sid)
		if err != nil {
			return err
		}
		accounts = append(accounts, subs...)
	}
	var matched []store.Notification
	for _, a := range accounts {
		f := q.filter
		f.AccountSid = a
		got, err := s.readNotifications(ctx, f)
		if err != nil {
			return err
		}
		for _, n := range got {
			ok := true
			for _, k := range keep {
				ok = ok && k(n)
			}
			if ok {
				matched = append(matched, n)
			}
		}
	}
	sortNotifications(matched, q.sort)
	total := len(matched)
	if err := pr.check(total); err != nil {
		return err
	}
	page := matched[min(pr.offset(), total):min(pr.offset()+pr.size, total)]
	if wantsJSON(c) {
		lastSid := ""
		if len(page) > 0 {
			lastSid = page[len(page)-1].Sid
		}
		out := notificationListJSON{pageJSON: pr.window(uri, total, len(page), lastSid).json(), Notifications: make([]notificationJSON, 0, len(page))}
		for _, n := range page {
			out.Notifications = append(out.Notifications, s.notificationJSON(n))
		}
		return sendJSON(c, out)
	}
	// Upstream's XML list carries no paging attributes.
	env := notificationListEnvelope{}
	for _, n := range page {
		env.List.Items = append(env.List.Items, s.notificationXML(n))
	}
	return sendXML(c, env)
}

// readNotifications reads every notification matching f, newest first, up
// to notificationScanLimit.
func (s *Server) readNotifications(ctx context.Context, f store.NotificationFilter) ([]store.Notification, error) {
	const batch = 500
	var out []store.Notification
	for len(out) < notificationScanLimit {
		got, total, err := s.store.ListNotifications(ctx, f, store.Page{Offset: len(out), Limit: batch})
		if err != nil {
			return nil, fmt.Errorf("list notifications of %s: %w", f.AccountSid, err)
		}
		out = append(out, got...)
		if len(got) == 0 || len(out) >= total {
			break
		}
	}
	return out, nil
}

func sortNotifications(ns []store.Notification, spec sortSpec) {
	less := func(a, b store.Notification) int {
		switch spec.field {
		case "Log":
			return a.Log - b.Log
		case "ErrorCode":
			return a.ErrorCode - b.ErrorCode
		case "CallSid":
			return strings.Compare(a.CallSid, b.CallSid)
		case "MessageText":
			return strings.Compare(a.MessageText, b.MessageText)
		}
		return a.DateCreated.Compare(b.DateCreated)
	}
	sort.SliceStable(ns, func(i, j int) bool {
		d := less(ns[i], ns[j])
		if d == 0 && spec.field != "DateCreated" {
			// Upstream's secondary key: newest first.
			return ns[i].DateCreated.After(ns[j].DateCreated)
		}
		if spec.descending {
			return d > 0
		}
		return d < 0
	})
}

func (s *Server) getNotification(c *fiber.Ctx, acct store.Account) error {
	ref := c.Params("notification")
	if !sid.Valid(ref, sid.Notification) {
		return malformedSid("NotificationSid", ref)
	}
	n, err := s.store.Notification(c.UserContext(), ref)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("notification")
	}
	if err != nil {
		return fmt.Errorf("load notification %s: %w", ref, err)
	}
	if n.AccountSid != acct.Sid {
		return forbidden("The notification does not belong to this account.")
	}
	return render(c,
		func() any { return s.notificationJSON(n) },
		func() any { return notificationEnvelope{Notification: s.notificationXML(n)} })
}

func notificationURI(n store.Notification) string {
	return apiRoot + "/Accounts/" + n.AccountSid + "/Notifications/" + n.Sid
}

// notificationJSON is the JSON Notification (resources §6.2); call_sid is
// omitted when the notification is not about a call.
type notificationJSON struct {
	Sid              string `json:"sid"`
	DateCreated      string `json:"date_created"`
	DateUpdated      string `json:"date_updated"`
	AccountSid       string `json:"account_sid"`
	CallSid          string `json:"call_sid,omitempty"`
	APIVersion       string `json:"api_version"`
	Log              int    `json:"log"`
	ErrorCode        int    `json:"error_code"`
	MoreInfo         string `json:"more_info"`
	MessageText      string `json:"message_text"`
	MessageDate      string `json:"message_date"`
	RequestURL       string `json:"request_url"`
	RequestMethod    string `json:"request_method"`
	RequestVariables string `json:"request_variables"`
	ResponseHeaders  string `json:"response_headers"`
	ResponseBody     string `json:"response_body"`
	URI              string `json:"uri"`
}

func (s *Server) notificationJSON(n store.Notification) notificationJSON {
	return notificationJSON{
		Sid: n.Sid, DateCreated: s.restDate(n.DateCreated), DateUpdated: s.restDate(n.DateUpdated),
		AccountSid: n.AccountSid, CallSid: n.CallSid, APIVersion: apiVersion(n.APIVersion),
		Log: n.Log, ErrorCode: n.ErrorCode, MoreInfo: n.MoreInfo, MessageText: n.MessageText,
		MessageDate: s.isoDate(n.MessageDate), RequestURL: n.RequestURL, RequestMethod: n.RequestMethod,
		RequestVariables: n.RequestVariables, ResponseHeaders: n.ResponseHeaders, ResponseBody: n.ResponseBody,
		URI: notificationURI(n) + jsonSuffix,
	}
}

type notificationXML struct {
	XMLName          struct{} `xml:"Notification"`
	Sid              string   `xml:"Sid"`
	DateCreated      string   `xml:"DateCreated"`
	DateUpdated      string   `xml:"DateUpdated"`
	AccountSid       string   `xml:"AccountSid"`
	CallSid          string   `xml:"CallSid,omitempty"`
	APIVersion       string   `xml:"ApiVersion"`
	Log              int      `xml:"Log"`
	ErrorCode        int      `xml:"ErrorCode"`
	MoreInfo         string   `xml:"MoreInfo"`
	MessageText      string   `xml:"MessageText"`
	MessageDate      string   `xml:"MessageDate"`
	RequestURL       string   `xml:"RequestUrl"`
	RequestMethod    string   `xml:"RequestMethod"`
	RequestVariables string   `xml:"RequestVariables"`
	ResponseHeaders  string   `xml:"ResponseHeaders"`
	ResponseBody     string   `xml:"ResponseBody"`
	URI              string   `xml:"Uri"`
}

func (s *Server) notificationXML(n store.Notification) notificationXML {
	return notificationXML{
		Sid: n.Sid, DateCreated: s.restDate(n.DateCreated), DateUpdated: s.restDate(n.DateUpdated),
		AccountSid: n.AccountSid, CallSid: n.CallSid, APIVersion: apiVersion(n.APIVersion),
		Log: n.Log, ErrorCode: n.ErrorCode, MoreInfo: n.MoreInfo, MessageText: n.MessageText,
		MessageDate: s.isoDate(n.MessageDate), RequestURL: n.RequestURL, RequestMethod: n.RequestMethod,
		RequestVariables: n.RequestVariables, ResponseHeaders: n.ResponseHeaders, ResponseBody: n.ResponseBody,
		URI: notificationURI(n),
	}
}

type notificationEnvelope struct {
	XMLName      struct{}        `xml:"RestcommResponse"`
	Notification notificationXML `xml:"Notification"`
}

type notificationListEnvelope struct {
	XMLName struct{} `xml:"RestcommResponse"`
	List    struct {
		Items []notificationXML `xml:"Notification"`
	} `xml:"Notifications"`
}

type notificationListJSON struct {
	pageJSON
	Notifications []notificationJSON `json:"notifications"`
}
