// Package registrar authenticates Patchbay's SIP clients and keeps where
// they can be reached.
//
// HandleRegister is a sipgo REGISTER handler (RFC 3261 §10.3): it challenges
// with 401 and WWW-Authenticate, checks the digest against the client's
// stored HA1 (MD5 or SHA-256, qop=auth or none), and then adds, refreshes or
// removes the client's bindings (several contacts per client, each with its
// own expiry). AuthenticateInvite challenges an INVITE from a client with 407
// and Proxy-Authenticate. Lookup returns the live contacts to ring.
//
// # Security
//
// Nothing a request says about its sender is trusted until its digest
// response checks out against the client's secret: the digest username must
// be the registered (To) or calling (From) user, the realm must be the SIP
// domain, and the nonce must be one this process issued less than
// NonceLifetime ago and not used before with the same response. A request
// that fails any of this never creates a binding and, for an INVITE, never
// reaches the call logic: AuthenticateInvite has already answered it and
// returns false, so the caller returns without dialling anywhere.
//
// Nonces carry their issue time and an HMAC made with a secret drawn at New,
// so the registrar holds no per-challenge state; only accepted responses are
// remembered (bounded) to refuse replays.
package registrar

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/patchbay/patchbay/switch/store"
)

// Store is the part of store.Store the registrar uses.
type Store interface {
	ClientByLogin(ctx context.Context, login string) (store.Client, error)
	Account(ctx context.Context, sid string) (store.Account, error)
	PutRegistration(ctx context.Context, r store.Registration) error
	DeleteRegistration(ctx context.Context, login, contact string) error
	Registrations(ctx context.Context, login string) ([]store.Registration, error)
}

var _ Store = store.Store(nil)

// Config configures New. Store, Domain and Logger are required; every other
// field has a default.
type Config struct {
	// Store holds clients and their bindings.
	Store Store
	// Domain is the SIP domain, used as the digest realm. Client HA1s are
	// computed with it (see HA1).
	Domain string
	// Logger receives one line per refused request and per store failure.
	Logger *slog.Logger
	// Now is the clock for expiries and nonces. Default time.Now.
	Now func() time.Time
	// MinExpires is the shortest binding accepted; a shorter non-zero
	// request is answered 423 Interval Too Brief. Default 60 s.
	MinExpires time.Duration
	// MaxExpires caps every binding's lifetime. Default 3600 s.
	MaxExpires time.Duration
	// DefaultExpires applies when a REGISTER gives no expiry. Default
	// 3600 s, capped at MaxExpires.
	DefaultExpires time.Duration
	// NonceLifetime is how long a challenge's nonce is accepted; an older
	// one gets a new challenge with stale=true. Default 5 minutes.
	NonceLifetime time.Duration
	// Algorithms are offered in challenges, one header each, in this order
	// (many UAs answer only the first). Default MD5 then SHA-256. Responses
	// in either algorithm are accepted whatever is offered.
	Algorithms []string
	// StoreTimeout bounds the store work of one request. Default 5 s.
	StoreTimeout time.Duration
	// ReplayCacheSize bounds how many accepted responses are remembered
	// against replay. Default 65536.
	ReplayCacheSize int
}

// ErrConfig is returned by New for a missing or invalid Config field.
var ErrConfig = errors.New("registrar: invalid config")

// Registrar handles REGISTER and authenticates INVITEs from clients. It is
// safe for concurrent use; create it with New.
type Registrar struct {
	store        Store
	domain       string
	log          *slog.Logger
	now          func() time.Time
	minExpires   time.Duration
	maxExpires   time.Duration
	defExpires   time.Duration
	algorithms   []string
	storeTimeout time.Duration
	nonces       *nonces
}

// New builds a Registrar from cfg, applying defaults.
func New(cfg Config) (*Registrar, error) {
	switch {
	case cfg.Store == nil:
		return nil, fmt.Errorf("%w: Store is required", ErrConfig)
	case cfg.Domain == "":
		return nil, fmt.Errorf("%w: Domain is required", ErrConfig)
	case cfg.Logger == nil:
		return nil, fmt.Errorf("%w: Logger is required", ErrConfig)
	}
	r := &Registrar{
		store:        cfg.Store,
		domain:       cfg.Domain,
		log:          cfg.Logger,
		now:          cfg.Now,
		minExpires:   orDefault(cfg.MinExpires, 60*time.Second),
		maxExpires:   orDefault(cfg.MaxExpires, time.Hour),
		defExpires:   orDefault(cfg.DefaultExpires, time.Hour),
		algorithms:   append([]string(nil), cfg.Algorithms...),
		storeTimeout: orDefault(cfg.StoreTimeout, 5*time.Second),
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.minExpires > r.maxExpires {
		return nil, fmt.Errorf("%w: MinExpires %v above MaxExpires %v", ErrConfig, r.minExpires, r.maxExpires)
	}
	r.defExpires = min(r.defExpires, r.maxExpires)
	if len(r.algorithms) == 0 {
		r.algorithms = []string{AlgorithmMD5, AlgorithmSHA256}
	}
	for _, a := range r.algorithms {
		if a != AlgorithmMD5 && a != AlgorithmSHA256 {
			return nil, fmt.Errorf("%w: algorithm %q (want %s or %s)", ErrConfig, a, AlgorithmMD5, AlgorithmSHA256)
		}
	}
	limit := cfg.ReplayCacheSize
	if limit <= 0 {
		limit = 1 << 16
	}
	r.nonces = newNonces(orDefault(cfg.NonceLifetime, 5*time.Minute), limit)
	return r, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Domain is the SIP domain (digest realm) the registrar serves.
func (r *Registrar) Domain() string { return r.domain }

// Lookup returns the live bindings of the client with login, most recently
// refreshed first: the contacts to ring when the client is called. No
// binding is not an error (an empty slice).
func (r *Registrar) Lookup(ctx context.Context, login string) ([]store.Registration, error) {
	regs, err := r.store.Registrations(ctx, login)
	if err != nil {
		return nil, fmt.Errorf("registrar: bindings of %q: %w", login, err)
	}
	now := r.now()
	live := regs[:0]
	for _, b := range regs {
		if b.Expires.After(now) {
			live = append(live, b)
		}
	}
	return live, nil
}

// respond sends a response built by the handlers, logging a failure to send
// (the transaction is gone; nothing else can be done).
func (r *Registrar) respond(tx sip.ServerTransaction, res *sip.Response) {
	if err := tx.Respond(res); err != nil {
		r.log.Debug("registrar: respond failed", "code", res.StatusCode, "err", err)
	}
}

// newResponse builds a response to req with a To tag, as RFC 3261 §8.2.6.2
// requires of every final response.
func newResponse(req *sip.Request, code int, reason string) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	if to := res.To(); to != nil {
		if _, ok := to.Params.Get("tag"); !ok {
			to.Params.Add("tag", randomTag())
		}
	}
	return res
}

func randomTag() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand does not fail on supported platforms
	return hex.EncodeToString(b[:])
}
