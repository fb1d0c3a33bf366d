package registrar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/patchbay/patchbay/switch/store"
)

// HandleRegister answers a REGISTER (a sipgo RequestHandler). It responds
// inside the transaction and returns; it never blocks on anything but the
// store, bounded by Config.StoreTimeout.
//
// Answers: 401 with one WWW-Authenticate per algorithm when the request has
// no credentials for the domain (stale=true when its nonce is old, reused or
// from before a restart but the password was right); 403 for a wrong
// password, an unknown or disabled client, an inactive account, or a digest
// username that is not the To user; 400 for a malformed request; 423 with
// Min-Expires for a binding shorter than MinExpires; 200 listing every
// current binding with its remaining expires.
//
// The registered user is the To user; the To host is not checked, because
// the digest realm must already be the SIP domain for the HA1 to match.
func (r *Registrar) HandleRegister(req *sip.Request, tx sip.ServerTransaction) {
	ctx, cancel := context.WithTimeout(context.Background(), r.storeTimeout)
	defer cancel()
	r.respond(tx, r.register(ctx, req))
}

func (r *Registrar) register(ctx context.Context, req *sip.Request) *sip.Response {
	to := req.To()
	if to == nil || to.Address.User == "" {
		return newResponse(req, sip.StatusBadRequest, "Missing To user")
	}
	login := to.Address.User
	log := r.log.With("method", "REGISTER", "login", login, "source", req.Source(), "call_id", callID(req))

	auth, err := r.authenticate(ctx, req, "Authorization", login)
	if err != nil {
		log.Warn("registrar: authentication failed on the store", "err", err)
		return newResponse(req, sip.StatusInternalServerError, "Server Internal Error")
	}
	switch auth.verdict {
	case verdictMissing, verdictStale:
		res := newResponse(req, sip.StatusUnauthorized, "Unauthorized")
		for _, c := range r.challenges(auth.verdict == verdictStale) {
			res.AppendHeader(sip.NewHeader("WWW-Authenticate", c))
		}
		return res
	case verdictMalformed:
		log.Info("registrar: malformed credentials", "reason", auth.reason)
		return newResponse(req, sip.StatusBadRequest, "Malformed Authorization")
	case verdictBad:
		log.Info("registrar: REGISTER refused", "reason", auth.reason)
		return newResponse(req, sip.StatusForbidden, "Forbidden")
	}
	client := auth.client
	if refusal, err := r.checkActive(ctx, client); err != nil {
		log.Warn("registrar: account lookup failed", "err", err)
		return newResponse(req, sip.StatusInternalServerError, "Server Internal Error")
	} else if refusal != "" {
		log.Info("registrar: REGISTER refused", "reason", refusal)
		return newResponse(req, sip.StatusForbidden, refusal)
	}

	changes, res := r.parseBindings(req)
	if res != nil {
		return res
	}
	if res := r.apply(ctx, req, client, changes, log); res != nil {
		return res
	}
	bindings, err := r.Lookup(ctx, login)
	if err != nil {
		log.Warn("registrar: list bindings failed", "err", err)
		return newResponse(req, sip.StatusInternalServerError, "Server Internal Error")
	}
	ok := newResponse(req, sip.StatusOK, "OK")
	now := r.now()
	for _, b := range bindings {
		left := max(int(b.Expires.Sub(now).Round(time.Second)/time.Second), 1)
		ok.AppendHeader(sip.NewHeader("Contact", "<"+b.Contact+">;expires="+strconv.Itoa(left)))
	}
	ok.AppendHeader(sip.NewHeader("Date", now.UTC().Format(time.RFC1123)))
	return ok
}

// checkActive returns why client may not authenticate ("" if it may): a
// disabled client, or an account that is not active.
func (r *Registrar) checkActive(ctx context.Context, c store.Client) (string, error) {
	if c.Status != store.ClientEnabled {
		return "Client is disabled", nil
	}
	acct, err := r.store.Account(ctx, c.AccountSid)
	if errors.Is(err, store.ErrNotFound) {
		return "Account is not ACTIVE", nil
	}
	if err != nil {
		return "", fmt.Errorf("load account %s: %w", c.AccountSid, err)
	}
	if acct.Status != store.AccountActive {
		return "Account is not ACTIVE", nil
	}
	return "", nil
}

// bindingChange is one Contact of a REGISTER: register (expires > 0) or
// remove (expires 0) that contact. all marks "Contact: *".
type bindingChange struct {
	contact string
	expires time.Duration
	all     bool
}

// parseBindings reads the Contact and Expires headers (RFC 3261 §10.3 steps
// 6 and 7). It checks every contact before anything is changed, so a
// request is applied whole or not at all. A nil response means go on.
func (r *Registrar) parseBindings(req *sip.Request) ([]bindingChange, *sip.Response) {
	def := r.defExpires
	explicitHeader := false
	if h := req.GetHeader("Expires"); h != nil {
		secs, err := parseExpires(h.Value())
		if err != nil {
			return nil, newResponse(req, sip.StatusBadRequest, "Bad Expires")
		}
		def, explicitHeader = secs, true
	}
	headers := req.GetHeaders("Contact")
	var changes []bindingChange
	for _, h := range headers {
		c, ok := h.(*sip.ContactHeader)
		if !ok {
			return nil, newResponse(req, sip.StatusBadRequest, "Bad Contact")
		}
		if c.Address.Wildcard {
			// "*" removes every binding, and only with Expires: 0 and alone.
			if len(headers) != 1 || !explicitHeader || def != 0 {
				return nil, newResponse(req, sip.StatusBadRequest, "Wildcard Contact needs Expires: 0 and no other Contact")
			}
			return []bindingChange{{all: true}}, nil
		}
		exp := def
		if v, ok := c.Params.Get("expires"); ok {
			secs, err := parseExpires(v)
			if err != nil {
				return nil, newResponse(req, sip.StatusBadRequest, "Bad Contact expires")
			}
			exp = secs
		}
		if exp != 0 && exp < r.minExpires {
			res := newResponse(req, sip.StatusIntervalToBrief, "Interval Too Brief")
			res.AppendHeader(sip.NewHeader("Min-Expires", strconv.Itoa(int(r.minExpires/time.Second))))
			return nil, res
		}
		changes = append(changes, bindingChange{contact: c.Address.String(), expires: min(exp, r.maxExpires)})
	}
	return changes, nil
}

// parseExpires reads a delta-seconds value.
func parseExpires(v string) (time.Duration, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("expires %q: %w", v, err)
	}
	return time.Duration(n) * time.Second, nil
}

// apply makes the binding changes. A REGISTER older than the one that last
// refreshed a contact (same Call-ID, CSeq not higher: RFC 3261 §10.3 step 7,
// which matters because sipgo does not keep message order) is refused with
// 500 rather than undoing the newer one.
func (r *Registrar) apply(ctx context.Context, req *sip.Request, c store.Client, changes []bindingChange, log *slog.Logger) *sip.Response {
	if len(changes) == 0 {
		return nil // a query: just list the bindings
	}
	current, err := r.store.Registrations(ctx, c.Login)
	if err != nil {
		log.Warn("registrar: list bindings failed", "err", err)
		return newResponse(req, sip.StatusInternalServerError, "Server Internal Error")
	}
	if changes[0].all {
		for _, b := range current {
			if err := r.store.DeleteRegistration(ctx, c.Login, b.Contact); err != nil && !errors.Is(err, store.ErrNotFound) {
				log.Warn("registrar: remove binding failed", "contact", b.Contact, "err", err)
				return newResponse(req, sip.StatusInternalServerError, "Server Internal Error")
			}
		}
		return nil
	}
	cid := callID(req)
	var cseq uint32
	if h := req.CSeq(); h != nil {
		cseq = h.SeqNo
	}
	byContact := make(map[string]store.Registration, len(current))
	for _, b := range current {
		byContact[b.Contact] = b
	}
	for _, ch := range changes {
		if old, ok := byContact[ch.contact]; ok && old.CallID == cid && cseq <= old.CSeq {
			return newResponse(req, sip.StatusInternalServerError, "Out of order REGISTER")
		}
	}
	now := r.now()
	ua := ""
	if h := req.GetHeader("User-Agent"); h != nil {
		ua = h.Value()
	}
	for _, ch := range changes {
		if ch.expires == 0 {
			if err := r.store.DeleteRegistration(ctx, c.Login, ch.contact); err != nil && !errors.Is(err, store.ErrNotFound) {
				log.Warn("registrar: remove binding failed", "contact", ch.contact, "err", err)
				return newResponse(req, sip.StatusInternalServerError, "Server Internal Error")
			}
			continue
		}
		b := store.Registration{
			Login: c.Login, AccountSid: c.AccountSid, Contact: ch.contact,
			Source: req.Source(), Transport: req.Transport(),
			Expires: now.Add(ch.expires), UserAgent: ua, CallID: cid, CSeq: cseq, DateUpdated: now,
		}
		if err := r.store.PutRegistration(ctx, b); err != nil {
			log.Warn("registrar: store binding failed", "contact", ch.contact, "err", err)
			return newResponse(req, sip.StatusInternalServerError, "Server Internal Error")
		}
	}
	return nil
}

func callID(req *sip.Request) string {
	if h := req.CallID(); h != nil {
		return h.Value()
	}
	return ""
}
