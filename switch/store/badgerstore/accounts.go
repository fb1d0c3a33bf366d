package badgerstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"

	"github.com/patchbay/patchbay/switch/store"
)

func accountKey(sid string) string { return "acct/" + sid }

func accountEmailKey(email string) string { return "acct-email/" + strings.ToLower(email) }

func accountChildPrefix(parent string) string { return "acct-child/" + parent + "/" }

func accountChildKey(a store.Account) string {
	return accountChildPrefix(a.ParentSid) + timeKey(a.DateCreated) + "/" + a.Sid
}

// CreateAccount stores a new account. It fails with store.ErrExists if the sid
// or the (case-insensitive) e-mail address is taken.
func (s *Store) CreateAccount(ctx context.Context, a store.Account) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.life.RUnlock()
	if a.Sid == "" {
		return errors.New("badgerstore: create account: empty sid")
	}
	s.catalogMu.Lock()
	defer s.catalogMu.Unlock()
	err := s.db.Update(func(txn *badger.Txn) error {
		taken, err := exists(txn, accountKey(a.Sid))
		if err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("sid: %w", store.ErrExists)
		}
		if err := claimEmail(txn, a); err != nil {
			return err
		}
		if a.ParentSid != "" {
			if err := set(txn, accountChildKey(a), ""); err != nil {
				return err
			}
		}
		return setJSON(txn, accountKey(a.Sid), a)
	})
	if err != nil {
		return fmt.Errorf("badgerstore: create account %s: %w", a.Sid, err)
	}
	return nil
}

// claimEmail points a's e-mail index at a, failing with store.ErrExists if
// another account holds the address.
func claimEmail(txn *badger.Txn, a store.Account) error {
	if a.EmailAddress == "" {
		return nil
	}
	key := accountEmailKey(a.EmailAddress)
	owner, err := getString(txn, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return set(txn, key, a.Sid)
	case err != nil:
		return err
	case owner != a.Sid:
		return fmt.Errorf("email %q: %w", a.EmailAddress, store.ErrExists)
	}
	return nil
}

// Account returns the account with that sid, or store.ErrNotFound.
func (s *Store) Account(ctx context.Context, sid string) (store.Account, error) {
	if err := s.enter(ctx); err != nil {
		return store.Account{}, err
	}
	defer s.life.RUnlock()
	var a store.Account
	err := s.db.View(func(txn *badger.Txn) error {
		return getJSON(txn, accountKey(sid), &a)
	})
	if err != nil {
		return store.Account{}, fmt.Errorf("badgerstore: account %s: %w", sid, err)
	}
	return a, nil
}

// AccountByEmail returns the account with that e-mail address, compared
// case-insensitively, or store.ErrNotFound.
func (s *Store) AccountByEmail(ctx context.Context, email string) (store.Account, error) {
	if err := s.enter(ctx); err != nil {
		return store.Account{}, err
	}
	defer s.life.RUnlock()
	var a store.Account
	err := s.db.View(func(txn *badger.Txn) error {
		if email == "" {
			return store.ErrNotFound
		}
		sid, err := getString(txn, accountEmailKey(email))
		if err != nil {
			return err
		}
		return getJSON(txn, accountKey(sid), &a)
	})
	if err != nil {
		return store.Account{}, fmt.Errorf("badgerstore: account by email %q: %w", email, err)
	}
	return a, nil
}

// UpdateAccount replaces an existing account (store.ErrNotFound if there is
// none), moving its e-mail and parent indexes if those changed. A new e-mail
// address held by another account gives store.ErrExists.
func (s *Store) UpdateAccount(ctx context.Context, a store.Account) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.life.RUnlock()
	s.catalogMu.Lock()
	defer s.catalogMu.Unlock()
	err := s.db.Update(func(txn *badger.Txn) error {
		var old store.Account
		if err := getJSON(txn, accountKey(a.Sid), &old); err != nil {
			return err
		}
		if !strings.EqualFold(old.EmailAddress, a.EmailAddress) {
			if err := claimEmail(txn, a); err != nil {
				return err
			}
			if old.EmailAddress != "" {
				if err := del(txn, accountEmailKey(old.EmailAddress)); err != nil {
					return err
				}
			}
		}
		if accountChildKey(old) != accountChildKey(a) {
			if old.ParentSid != "" {
				if err := del(txn, accountChildKey(old)); err != nil {
					return err
				}
			}
			if a.ParentSid != "" {
				if err := set(txn, accountChildKey(a), ""); err != nil {
					return err
				}
			}
		}
		return setJSON(txn, accountKey(a.Sid), a)
	})
	if err != nil {
		return fmt.Errorf("badgerstore: update account %s: %w", a.Sid, err)
	}
	return nil
}

// ChildAccounts lists the direct children of parentSid, oldest first.
func (s *Store) ChildAccounts(ctx context.Context, parentSid string) ([]store.Account, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.life.RUnlock()
	var children []store.Account
	err := s.db.View(func(txn *badger.Txn) error {
		if parentSid == "" {
			return nil // top-level accounts are nobody's children
		}
		var sids []string
		err := scanKeys(ctx, txn, accountChildPrefix(parentSid), false, func(_, sid string) (bool, error) {
			sids = append(sids, sid)
			return true, nil
		})
		if err != nil {
			return err
		}
		children = make([]store.Account, len(sids))
		for i, sid := range sids {
			if err := getJSON(txn, accountKey(sid), &children[i]); err != nil {
				return fmt.Errorf("child %s: %w", sid, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badgerstore: children of %s: %w", parentSid, err)
	}
	return children, nil
}
