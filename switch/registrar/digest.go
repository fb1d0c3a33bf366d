package registrar

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/patchbay/patchbay/switch/store"
)

// Digest algorithms a challenge can offer (RFC 8760 names).
const (
	AlgorithmMD5    = "MD5"
	AlgorithmSHA256 = "SHA-256"
)

// HA1 returns the stored forms of a client's password: the digest HA1
// ("login:realm:password") under MD5 and under SHA-256, hex-encoded. The
// realm is the SIP domain, so changing the domain invalidates every client's
// password (the clients must then be given their password again).
func HA1(login, domain, password string) (md5Hex, sha256Hex string) {
	a1 := login + ":" + domain + ":" + password
	m := md5.Sum([]byte(a1))
	s := sha256.Sum256([]byte(a1))
	return hex.EncodeToString(m[:]), hex.EncodeToString(s[:])
}

// verdict is the outcome of checking a request's digest credentials.
type verdict int

const (
	// verdictMissing: no credentials for our realm; challenge.
	verdictMissing verdict = iota
	// verdictOK: the credentials are valid.
	verdictOK
	// verdictStale: the response is right but its nonce is not fresh (too
	// old, from before a restart, or already used); challenge with stale=true.
	verdictStale
	// verdictBad: unknown user, wrong password, unsupported parameters.
	verdictBad
	// verdictMalformed: the credentials header cannot be parsed.
	verdictMalformed
)

func (v verdict) String() string {
	switch v {
	case verdictMissing:
		return "missing"
	case verdictOK:
		return "ok"
	case verdictStale:
		return "stale"
	case verdictBad:
		return "bad"
	case verdictMalformed:
		return "malformed"
	}
	return "verdict(" + strconv.Itoa(int(v)) + ")"
}

// authResult is what authenticate found.
type authResult struct {
	verdict verdict
	client  store.Client // set when verdict is verdictOK
	reason  string       // why, for the log
}

// authenticate checks the digest credentials in header (Authorization or
// Proxy-Authorization) of req for the client named login. A store failure
// is returned as an error; everything else is a verdict.
func (r *Registrar) authenticate(ctx context.Context, req *sip.Request, header, login string) (authResult, error) {
	cred, found, err := credentialsFor(req, header, r.domain)
	if err != nil {
		return authResult{verdict: verdictMalformed, reason: err.Error()}, nil
	}
	if !found {
		return authResult{verdict: verdictMissing, reason: "no credentials for realm " + r.domain}, nil
	}
	switch {
	case cred.Username != login:
		return authResult{verdict: verdictBad, reason: fmt.Sprintf("username %q is not the user %q", cred.Username, login)}, nil
	case cred.URI == "":
		return authResult{verdict: verdictBad, reason: "no uri"}, nil
	case cred.Userhash:
		return authResult{verdict: verdictBad, reason: "userhash is not supported"}, nil
	case cred.QOP != "" && cred.QOP != "auth":
		return authResult{verdict: verdictBad, reason: "qop " + cred.QOP + " is not supported"}, nil
	case cred.QOP == "auth" && (cred.Cnonce == "" || cred.Nc <= 0):
		return authResult{verdict: verdictBad, reason: "qop=auth without cnonce or nc"}, nil
	}
	c, err := r.store.ClientByLogin(ctx, login)
	if errors.Is(err, store.ErrNotFound) {
		return authResult{verdict: verdictBad, reason: "no client " + login}, nil
	}
	if err != nil {
		return authResult{}, fmt.Errorf("registrar: load client %q: %w", login, err)
	}
	var ha1 string
	switch strings.ToUpper(cred.Algorithm) {
	case "", AlgorithmMD5:
		ha1 = c.HA1MD5
	case AlgorithmSHA256:
		ha1 = c.HA1SHA256
	default:
		return authResult{verdict: verdictBad, reason: "algorithm " + cred.Algorithm + " is not supported"}, nil
	}
	if ha1 == "" {
		return authResult{verdict: verdictBad, reason: "no stored secret for algorithm " + cred.Algorithm}, nil
	}
	want, err := expectedResponse(cred, req.Method.String(), ha1)
	if err != nil {
		return authResult{verdict: verdictBad, reason: err.Error()}, nil
	}
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(cred.Response)), []byte(want)) != 1 {
		return authResult{verdict: verdictBad, reason: "wrong response (password)"}, nil
	}
	now := r.now()
	if !r.nonces.fresh(cred.Nonce, now) {
		return authResult{verdict: verdictStale, reason: "nonce expired or not issued by this process"}, nil
	}
	replayKey := strings.Join([]string{cred.Nonce, cred.Cnonce, strconv.Itoa(cred.Nc), want}, "\x00")
	if !r.nonces.firstUse(replayKey, now) {
		return authResult{verdict: verdictStale, reason: "response already used"}, nil
	}
	return authResult{verdict: verdictOK, client: c}, nil
}

// credentialsFor returns the digest credentials of req's header for realm.
// A UA may send several (one per realm it knows); others are ignored.
func credentialsFor(req *sip.Request, header, realm string) (*digest.Credentials, bool, error) {
	for _, h := range req.GetHeaders(header) {
		v := h.Value()
		if !digest.IsDigest(v) {
			continue
		}
		cred, err := digest.ParseCredentials(v)
		if err != nil {
			return nil, false, fmt.Errorf("parse %s: %w", header, err)
		}
		if cred.Realm == realm {
			return cred, true, nil
		}
	}
	return nil, false, nil
}

// expectedResponse computes the digest response (RFC 7616 / RFC 2617, qop
// auth or none) that cred should carry for method and the stored ha1.
func expectedResponse(cred *digest.Credentials, method, ha1 string) (string, error) {
	chal := &digest.Challenge{Realm: cred.Realm, Nonce: cred.Nonce, Algorithm: strings.ToUpper(cred.Algorithm)}
	if cred.QOP != "" {
		chal.QOP = []string{cred.QOP}
	}
	out, err := digest.Digest(chal, digest.Options{
		Method: method, URI: cred.URI, Username: cred.Username,
		A1: ha1, Cnonce: cred.Cnonce, Count: cred.Nc,
	})
	if err != nil {
		return "", fmt.Errorf("compute digest: %w", err)
	}
	return out.Response, nil
}

// challenges returns one challenge header value per configured algorithm,
// all with the same fresh nonce, in the configured order of preference.
func (r *Registrar) challenges(stale bool) []string {
	nonce := r.nonces.issue(r.now())
	out := make([]string, 0, len(r.algorithms))
	for _, alg := range r.algorithms {
		c := digest.Challenge{Realm: r.domain, Nonce: nonce, Algorithm: alg, QOP: []string{"auth"}, Stale: stale}
		out = append(out, c.String())
	}
	return out
}
