package api

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

// BootstrapEmail is the e-mail address of the bootstrap account. It lets a
// restart find the account again when no sid was configured, and it can be
// used as the Basic-auth username.
const BootstrapEmail = "administrator@patchbay.invalid"

// Errors returned by EnsureBootstrapAccount.
var (
	// ErrNotTopLevel: the configured bootstrap sid names a sub-account.
	ErrNotTopLevel = errors.New("api: bootstrap account is not a top-level account")
	// ErrMalformedSid: the configured bootstrap sid is not an AccountSid.
	ErrMalformedSid = errors.New("api: malformed sid")
)

// EnsureBootstrapAccount makes sure the top-level Administrator account
// exists and returns it, with created true when it was made now.
//
// With sid empty, the account is looked up by BootstrapEmail and created with
// a fresh sid if absent. With token empty, an existing account keeps its
// token and a new one gets a random token; a non-empty token is the
// configured secret and replaces the stored one, so the operator's setting
// always works.
func EnsureBootstrapAccount(ctx context.Context, st store.Store, accountSid, token string) (store.Account, bool, error) {
	if accountSid != "" && !sid.Valid(accountSid, sid.Account) {
		return store.Account{}, false, fmt.Errorf("bootstrap account sid %q: %w", accountSid, ErrMalformedSid)
	}
	var (
		a   store.Account
		err error
	)
	if accountSid == "" {
		a, err = st.AccountByEmail(ctx, BootstrapEmail)
	} else {
		a, err = st.Account(ctx, accountSid)
	}
	switch {
	case err == nil:
		if a.ParentSid != "" {
			return store.Account{}, false, fmt.Errorf("bootstrap account %s: %w", a.Sid, ErrNotTopLevel)
		}
		if token == "" || token == a.AuthToken {
			return a, false, nil
		}
		a.AuthToken = token
		a.DateUpdated = time.Now()
		if err := st.UpdateAccount(ctx, a); err != nil {
			return store.Account{}, false, fmt.Errorf("set bootstrap account token: %w", err)
		}
		return a, false, nil
	case !errors.Is(err, store.ErrNotFound):
		return store.Account{}, false, fmt.Errorf("look up bootstrap account: %w", err)
	}

	if accountSid == "" {
		accountSid = sid.New(sid.Account)
	}
	if token == "" {
		token = sid.Token()
	}
	email := BootstrapEmail
	if _, err := st.AccountByEmail(ctx, email); err == nil {
		// Another account (an earlier bootstrap under a different sid) holds
		// the address; e-mails are unique, so this one goes without.
		email = ""
	}
	now := time.Now()
	a = store.Account{
		Sid:          accountSid,
		FriendlyName: "Administrator",
		EmailAddress: email,
		Status:       store.AccountActive,
		Role:         roleAdmin,
		Type:         "Full",
		AuthToken:    token,
		DateCreated:  now,
		DateUpdated:  now,
	}
	if err := st.CreateAccount(ctx, a); err != nil {
		return store.Account{}, false, fmt.Errorf("create bootstrap account: %w", err)
	}
	return a, true, nil
}
