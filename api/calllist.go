package api

import (
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

// callSortFields are the SortBy fields of the Calls list.
func callSortFields() []string {
	return []string{"DateCreated", "From", "To", "Direction", "Status", "Duration", "Price"}
}

// parseCallQuery reads the Calls list filters and order (restcomm-calls.md §2.5).
func (s *Server) parseCallQuery(c *fiber.Ctx, acct store.Account) (store.CallFilter, store.CallSort, error) {
	f := store.CallFilter{
		AccountSids: []string{acct.Sid},
		To:          c.Query("To"),
		From:        c.Query("From"),
		Status:      c.Query("Status"),
	}
	if v := c.Query("StartTime"); v != "" {
		day, err := parseDay("StartTime", v, s.loc)
		if err != nil {
			return f, store.CallSort{}, err
		}
		f.StartedOnOrAfter = day
	}
	if v := c.Query("EndTime"); v != "" {
		day, err := parseDay("EndTime", v, s.loc)
		if err != nil {
			return f, store.CallSort{}, err
		}
		// Upstream: end_time <= date + 1 day, i.e. the whole given day.
		f.EndedBefore = day.AddDate(0, 0, 1)
	}
	if v := c.Query("ParentCallSid"); v != "" {
		if !validCallSid(v) {
			return f, store.CallSort{}, malformedSid("ParentCallSid", v)
		}
		f.ParentCallSid = sid.CanonicalCall(v)
	}
	if v := c.Query("ConferenceSid"); v != "" {
		if !sid.Valid(v, sid.Conference) {
			return f, store.CallSort{}, malformedSid("ConferenceSid", v)
		}
		f.ConferenceSid = v
	}
	if c.Query("SubAccounts") == "true" {
		subs, err := s.descendants(c.UserContext(), acct.Sid)
		if err != nil {
			return f, store.CallSort{}, err
		}
		f.AccountSids = append(f.AccountSids, subs...)
	}

	order := store.CallSort{Field: "DateCreated", Descending: true}
	spec, given, err := parseSortBy(c.Query("SortBy"), callSortFields())
	if err != nil {
		return f, order, err
	}
	switch {
	case given:
		order = store.CallSort{Field: spec.field, Descending: spec.descending}
	case c.Query("Reverse") != "":
		// Legacy console parameter, honoured only without SortBy.
		order.Descending = c.Query("Reverse") == "true"
	}
	return f, order, nil
}

func (s *Server) listCalls(c *fiber.Ctx, acct store.Account) error {
	pr, err := parsePageRequest(c)
	if err != nil {
		return err
	}
	f, order, err := s.parseCallQuery(c, acct)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	page, total, err := s.store.ListCalls(ctx, f, order, store.Page{Offset: pr.offset(), Limit: pr.size})
	if err != nil {
		return fmt.Errorf("list calls of %s: %w", acct.Sid, err)
	}
	if err := pr.check(total); err != nil {
		return err
	}
	lastSid := ""
	if len(page) > 0 {
		lastSid = page[len(page)-1].Sid
	}
	w := pr.window(apiRoot+"/Accounts/"+acct.Sid+"/Calls", total, len(page), lastSid)
	if wantsJSON(c) {
		out := callListJSON{pageJSON: w.json(), Calls: make([]callJSON, 0, len(page))}
		for _, call := range page {
			out.Calls = append(out.Calls, s.callJSON(call))
		}
		return sendJSON(c, out)
	}
	env := callListEnvelope{}
	env.Calls.pageXML = w.xml()
	for _, call := range page {
		env.Calls.Calls = append(env.Calls.Calls, s.callXML(call))
	}
	return sendXML(c, env)
}
