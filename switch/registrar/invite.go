package registrar

import (
	"context"
	"errors"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/patchbay/patchbay/switch/store"
)

// AuthenticateInvite decides whether an INVITE may go on, from the caller's
// point of view. Call it first in the INVITE handler:
//
//	client, ok := reg.AuthenticateInvite(req, tx)
//	if !ok {
//		return // already answered (407, 403, 400 or 500)
//	}
//	if client.Sid == "" { /* not a client: route to numbers and clients only */ }
//
// A caller is a client when the From host is the SIP domain and the From
// user is a client's login (restcomm-resources.md §3.5). Such an INVITE must
// carry a valid Proxy-Authorization for that login; otherwise it is answered
// 407 with one Proxy-Authenticate per algorithm (stale=true when only the
// nonce was stale; a wrong response is re-challenged, as upstream) and false
// is returned. An authenticated client whose account is not active, or who
// is disabled, gets 403. On success the client is returned with true.
//
// Any other caller is not challenged (carriers and unknown UAs never are):
// it gets a zero Client and true, and the caller must only route it to this
// switch's own numbers and clients, never dial out on its behalf.
func (r *Registrar) AuthenticateInvite(req *sip.Request, tx sip.ServerTransaction) (store.Client, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), r.storeTimeout)
	defer cancel()
	c, res := r.authenticateInvite(ctx, req)
	if res != nil {
		r.respond(tx, res)
		return store.Client{}, false
	}
	return c, true
}

func (r *Registrar) authenticateInvite(ctx context.Context, req *sip.Request) (store.Client, *sip.Response) {
	from := req.From()
	if from == nil || from.Address.User == "" || !r.isDomain(from.Address.Host) {
		return store.Client{}, nil
	}
	login := from.Address.User
	log := r.log.With("method", "INVITE", "login", login, "source", req.Source(), "call_id", callID(req))
	if _, err := r.store.ClientByLogin(ctx, login); errors.Is(err, store.ErrNotFound) {
		return store.Client{}, nil
	} else if err != nil {
		log.Warn("registrar: client lookup failed", "err", err)
		return store.Client{}, newResponse(req, sip.StatusInternalServerError, "Server Internal Error")
	}
	auth, err := r.authenticate(ctx, req, "Proxy-Authorization", login)
	if err != nil {
		log.Warn("registrar: authentication failed on the store", "err", err)
		return store.Client{}, newResponse(req, sip.StatusInternalServerError, "Server Internal Error")
	}
	switch auth.verdict {
	case verdictOK:
	case verdictMalformed:
		log.Info("registrar: malformed credentials", "reason", auth.reason)
		return store.Client{}, newResponse(req, sip.StatusBadRequest, "Malformed Proxy-Authorization")
	default:
		if auth.verdict == verdictBad {
			log.Info("registrar: INVITE credentials refused", "reason", auth.reason)
		}
		res := newResponse(req, sip.StatusProxyAuthRequired, "Proxy Authentication Required")
		for _, c := range r.challenges(auth.verdict == verdictStale) {
			res.AppendHeader(sip.NewHeader("Proxy-Authenticate", c))
		}
		return store.Client{}, res
	}
	refusal, err := r.checkActive(ctx, auth.client)
	if err != nil {
		log.Warn("registrar: account lookup failed", "err", err)
		return store.Client{}, newResponse(req, sip.StatusInternalServerError, "Server Internal Error")
	}
	if refusal != "" {
		log.Info("registrar: INVITE refused", "reason", refusal)
		return store.Client{}, newResponse(req, sip.StatusForbidden, refusal)
	}
	return auth.client, nil
}

// isDomain reports whether host names the SIP domain: compared without case,
// and a trailing dot on either side is ignored (as upstream's lookup).
func (r *Registrar) isDomain(host string) bool {
	return strings.EqualFold(strings.TrimSuffix(host, "."), strings.TrimSuffix(r.domain, "."))
}
