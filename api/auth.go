package api

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

const (
	localPrincipal = "patchbay.principal"
	roleAdmin      = "Administrator"
	roleDeveloper  = "Developer"
	// maxAccountDepth bounds the account tree (decision 11: no fixed limit
	// beyond a sane maximum). It also bounds every walk up the tree, so a
	// corrupt parent cycle cannot loop forever.
	maxAccountDepth = 16
)

// authenticate checks HTTP Basic credentials: the username is an AccountSid
// or an account e-mail, the password the AuthToken (decision 11: nothing
// else). A valid but non-active account is refused with 403.
func (s *Server) authenticate(c *fiber.Ctx) error {
	user, pass, ok := basicCredentials(c.Get(fiber.HeaderAuthorization))
	if !ok {
		return unauthenticated()
	}
	acct, err := s.accountByLogin(c.UserContext(), user)
	if errors.Is(err, store.ErrNotFound) {
		return unauthenticated()
	}
	if err != nil {
		return fmt.Errorf("authenticate %q: %w", user, err)
	}
	if subtle.ConstantTimeCompare([]byte(pass), []byte(acct.AuthToken)) != 1 || acct.AuthToken == "" {
		return unauthenticated()
	}
	if acct.Status != store.AccountActive {
		return &apiError{status: http.StatusForbidden, code: codeAccountNotActive, message: "Provided Account is not active"}
	}
	c.Locals(localPrincipal, acct)
	return c.Next()
}

func unauthenticated() *apiError {
	return &apiError{status: http.StatusUnauthorized, code: codeUnauthenticated, message: "Authentication required: HTTP Basic with AccountSid and AuthToken."}
}

func basicCredentials(header string) (user, pass string, ok bool) {
	const prefix = "basic "
	if len(header) < len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(header[len(prefix):]))
	if err != nil {
		return "", "", false
	}
	user, pass, ok = strings.Cut(string(raw), ":")
	return user, pass, ok && user != ""
}

func (s *Server) accountByLogin(ctx context.Context, login string) (store.Account, error) {
	if strings.Contains(login, "@") {
		return s.store.AccountByEmail(ctx, strings.ToLower(login))
	}
	if !sid.Valid(login, sid.Account) {
		return store.Account{}, store.ErrNotFound
	}
	return s.store.Account(ctx, login)
}

// principal returns the authenticated account set by authenticate.
func principal(c *fiber.Ctx) store.Account {
	a, _ := c.Locals(localPrincipal).(store.Account)
	return a
}

// topLevel reports whether a is a top-level account (upstream's super-admin:
// no parent and active).
func topLevel(a store.Account) bool { return a.ParentSid == "" && a.Status == store.AccountActive }

// urlAccount resolves the {AccountSid} path segment (a sid, or an e-mail on
// the Accounts resource itself) and checks that the authenticated account
// is that account or one of its ancestors. Malformed → 400, unknown → 404,
// outside the caller's tree → 403.
func (s *Server) urlAccount(c *fiber.Ctx, param string, allowEmail bool) (store.Account, error) {
	ref := c.Params(param)
	ctx := c.UserContext()
	var (
		acct store.Account
		err  error
	)
	switch {
	case allowEmail && strings.Contains(ref, "@"):
		acct, err = s.store.AccountByEmail(ctx, strings.ToLower(ref))
	case sid.Valid(ref, sid.Account):
		acct, err = s.store.Account(ctx, ref)
	default:
		return store.Account{}, malformedSid("AccountSid", ref)
	}
	if errors.Is(err, store.ErrNotFound) {
		return store.Account{}, notFound("account")
	}
	if err != nil {
		return store.Account{}, fmt.Errorf("load account %s: %w", ref, err)
	}
	me := principal(c)
	inTree, err := s.isAncestorOrSelf(ctx, me.Sid, acct)
	if err != nil {
		return store.Account{}, err
	}
	if !inTree {
		return store.Account{}, forbidden("The authenticated account may not access this account.")
	}
	return acct, nil
}

// isAncestorOrSelf reports whether ancestor is a or one of a's ancestors.
func (s *Server) isAncestorOrSelf(ctx context.Context, ancestor string, a store.Account) (bool, error) {
	cur := a
	for range maxAccountDepth + 1 {
		if cur.Sid == ancestor {
			return true, nil
		}
		if cur.ParentSid == "" {
			return false, nil
		}
		parent, err := s.store.Account(ctx, cur.ParentSid)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("load parent account %s: %w", cur.ParentSid, err)
		}
		cur = parent
	}
	return false, nil
}

// depth is the number of ancestors of a (0 for a top-level account).
func (s *Server) depth(ctx context.Context, a store.Account) (int, error) {
	n := 0
	for cur := a; cur.ParentSid != ""; n++ {
		if n > maxAccountDepth {
			return n, nil
		}
		parent, err := s.store.Account(ctx, cur.ParentSid)
		if err != nil {
			return 0, fmt.Errorf("load parent account %s: %w", cur.ParentSid, err)
		}
		cur = parent
	}
	return n, nil
}

// descendants returns the sids of every account below root, breadth first.
func (s *Server) descendants(ctx context.Context, root string) ([]string, error) {
	var out []string
	level := []string{root}
	for d := 0; d < maxAccountDepth && len(level) > 0; d++ {
		var next []string
		for _, p := range level {
			kids, err := s.store.ChildAccounts(ctx, p)
			if err != nil {
				return nil, fmt.Errorf("list children of %s: %w", p, err)
			}
			for _, k := range kids {
				next = append(next, k.Sid)
			}
		}
		out = append(out, next...)
		level = next
	}
	return out, nil
}

// withAccount wraps a handler of a resource below /Accounts/{AccountSid}.
func (s *Server) withAccount(h func(c *fiber.Ctx, acct store.Account) error) fiber.Handler {
	return func(c *fiber.Ctx) error {
		acct, err := s.urlAccount(c, "account", false)
		if err != nil {
			return err
		}
		return h(c, acct)
	}
}
