package api

import (
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/patchbay/patchbay/switch/store"
)

// listCallDecisions renders every policy decision taken for a call, in the
// order taken: a bare JSON array or <Decisions>, without paging (a call
// has a handful). Only the call's own account (or an ancestor, through the
// call's account URL) may read them; a call of any other account answers
// 404 like an unknown one, so call sids of other tenants cannot be probed.
func (s *Server) listCallDecisions(c *fiber.Ctx, acct store.Account) error {
	callSid, err := s.ownCallSid(c, acct)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	all, err := s.store.Decisions(ctx, callSid)
	if err != nil {
		return fmt.Errorf("list decisions of %s: %w", callSid, err)
	}
	if wantsJSON(c) {
		out := make([]decisionJSON, 0, len(all))
		for _, d := range all {
			out = append(out, s.decisionJSON(d))
		}
		return sendJSON(c, out)
	}
	env := decisionListEnvelope{}
	for _, d := range all {
		env.List.Decisions = append(env.List.Decisions, s.decisionXML(d))
	}
	return sendXML(c, env)
}

// decisionJSON is one JSON Decision; empty optional keys are omitted.
type decisionJSON struct {
	Sid              string `json:"sid"`
	DateCreated      string `json:"date_created"`
	AccountSid       string `json:"account_sid"`
	CallSid          string `json:"call_sid"`
	Hook             string `json:"hook"`
	Plugin           string `json:"plugin"`
	PluginAccountSid string `json:"plugin_account_sid"`
	Hash             string `json:"hash"`
	Verdict          string `json:"verdict"`
	Reason           string `json:"reason,omitempty"`
	RewriteURL       string `json:"rewrite_url,omitempty"`
	RewriteMethod    string `json:"rewrite_method,omitempty"`
	Error            string `json:"error,omitempty"`
	FailMode         string `json:"fail_mode,omitempty"`
	LatencyMicros    int64  `json:"latency_micros"`
}

func (s *Server) decisionJSON(d store.Decision) decisionJSON {
	return decisionJSON{
		Sid: d.Sid, DateCreated: s.restDate(d.DateCreated), AccountSid: d.AccountSid, CallSid: d.CallSid,
		Hook: d.Hook, Plugin: d.Plugin, PluginAccountSid: d.PluginAccountSid, Hash: d.Hash,
		Verdict: d.Verdict, Reason: d.Reason, RewriteURL: d.RewriteURL, RewriteMethod: d.RewriteMethod,
		Error: d.Error, FailMode: d.FailMode, LatencyMicros: d.LatencyMicros,
	}
}

// decisionXML is the XML <Decision>; empty optional elements are omitted.
type decisionXML struct {
	XMLName          struct{} `xml:"Decision"`
	Sid              string   `xml:"Sid"`
	DateCreated      string   `xml:"DateCreated"`
	AccountSid       string   `xml:"AccountSid"`
	CallSid          string   `xml:"CallSid"`
	Hook             string   `xml:"Hook"`
	Plugin           string   `xml:"Plugin"`
	PluginAccountSid string   `xml:"PluginAccountSid"`
	Hash             string   `xml:"Hash"`
	Verdict          string   `xml:"Verdict"`
	Reason           string   `xml:"Reason,omitempty"`
	RewriteURL       string   `xml:"RewriteUrl,omitempty"`
	RewriteMethod    string   `xml:"RewriteMethod,omitempty"`
	Error            string   `xml:"Error,omitempty"`
	FailMode         string   `xml:"FailMode,omitempty"`
	LatencyMicros    int64    `xml:"LatencyMicros"`
}

func (s *Server) decisionXML(d store.Decision) decisionXML {
	return decisionXML{
		Sid: d.Sid, DateCreated: s.restDate(d.DateCreated), AccountSid: d.AccountSid, CallSid: d.CallSid,
		Hook: d.Hook, Plugin: d.Plugin, PluginAccountSid: d.PluginAccountSid, Hash: d.Hash,
		Verdict: d.Verdict, Reason: d.Reason, RewriteURL: d.RewriteURL, RewriteMethod: d.RewriteMethod,
		Error: d.Error, FailMode: d.FailMode, LatencyMicros: d.LatencyMicros,
	}
}

type decisionListEnvelope struct {
	XMLName struct{} `xml:"RestcommResponse"`
	List    struct {
		Decisions []decisionXML `xml:"Decision"`
	} `xml:"Decisions"`
}

// ownCallSid is the call sid of the path, if that call is the URL account's
// own. Any other call answers 404 like an unknown one, so that call sids of
// other tenants cannot be probed through a call's sub-resources.
func (s *Server) ownCallSid(c *fiber.Ctx, acct store.Account) (string, error) {
	callSid, err := callSidParam(c)
	if err != nil {
		return "", err
	}
	call, err := s.store.Call(c.UserContext(), callSid)
	if errors.Is(err, store.ErrNotFound) || (err == nil && call.AccountSid != acct.Sid) {
		return "", notFound("call")
	}
	if err != nil {
		return "", fmt.Errorf("load call %s: %w", callSid, err)
	}
	return callSid, nil
}
