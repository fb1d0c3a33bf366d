package switchboard

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/patchbay/patchbay/plugins/rcml"
	"github.com/patchbay/patchbay/switch/call"
	"github.com/patchbay/patchbay/switch/calls"
)

var _ call.BranchSpawner = (*Switchboard)(nil)

// SpawnBranches resolves one <Dial> noun to SIP destinations (a number goes
// to the outbound proxy, a client rings every registered contact, a SIP URI
// is called as given) and starts a child leg for each.
func (s *Switchboard) SpawnBranches(parent *call.Call, spec call.BranchSpec) ([]*call.Call, error) {
	t := spec.Target
	type dest struct {
		uri  sip.Uri
		user string
	}
	var dests []dest
	switch t.Kind {
	case rcml.TargetNumber:
		if s.proxy == nil {
			return nil, calls.ErrNoOutboundProxy
		}
		u := *s.proxy.Clone()
		u.User = t.To
		dests = append(dests, dest{u, t.To})
	case rcml.TargetSip:
		var u sip.Uri
		raw := t.To
		if !strings.HasPrefix(raw, "sip:") && !strings.HasPrefix(raw, "sips:") {
			raw = "sip:" + raw
		}
		if err := sip.ParseUri(raw, &u); err != nil || u.Host == "" {
			return nil, fmt.Errorf("%w: %q is not a SIP URI", calls.ErrBadTarget, t.To)
		}
		dests = append(dests, dest{u, u.User})
	case rcml.TargetClient:
		if s.clients == nil {
			return nil, calls.ErrClientNotRegistered
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		regs, err := s.clients.Lookup(ctx, t.To)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("looking up client %s: %w", t.To, err)
		}
		for _, r := range regs {
			var u sip.Uri
			if err := sip.ParseUri(r.Contact, &u); err != nil {
				continue
			}
			dests = append(dests, dest{u, t.To})
		}
		if len(dests) == 0 {
			return nil, calls.ErrClientNotRegistered
		}
	default:
		return nil, fmt.Errorf("%w: unknown noun %q", calls.ErrBadTarget, t.Kind)
	}
	var kids []*call.Call
	for _, d := range dests {
		req := calls.CreateRequest{
			AccountSid:           parent.AccountSid(),
			From:                 spec.From,
			To:                   d.user,
			Headers:              t.Headers,
			StatusCallback:       t.StatusCallback,
			StatusCallbackMethod: t.StatusCallbackMethod,
			StatusCallbackEvents: t.StatusCallbackEvents,
			TimeoutSeconds:       spec.TimeoutSeconds,
			Username:             t.Username,
			Password:             t.Password,
		}
		c, _, err := call.NewBranch(&s.deps, call.BranchParams{
			Parent: parent, ParentAccountSid: parent.AccountSid(),
			Out:       call.OutboundParams{Req: req, Target: d.uri, ToUser: d.user, Dialer: s.dialer},
			ScreenURL: t.URL, ScreenMethod: t.Method,
		})
		if err != nil {
			s.log.Warn("cannot start a dial branch", "parent", parent.Sid(), "to", d.uri.String(), "err", err)
			continue
		}
		if !s.admit(c) {
			c.Abort()
			return kids, calls.ErrShuttingDown
		}
		kids = append(kids, c)
	}
	if len(kids) == 0 {
		return nil, fmt.Errorf("no branch could be started for %s %s", t.Kind, t.To)
	}
	return kids, nil
}
