package badgerstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/patchbay/patchbay/switch/store"
)

// Client and registration keys (see the package doc for the layout style):
//
//	cl/<sid>                             Client
//	cl-login/<login>                     sid of the client (unique)
//	cl-acct/<acct>/<created>/<sid>       an account's clients, oldest first
//	reg/<login>/<contact>                Registration, with a Badger TTL
//
// Logins and contacts are path-escaped inside keys, so a '/' in either cannot
// make one client's prefix match another's.

func clientKey(sid string) string { return "cl/" + sid }

func clientLoginKey(login string) string { return "cl-login/" + url.PathEscape(login) }

func clientAccountPrefix(acct string) string { return "cl-acct/" + acct + "/" }

func clientAccountKey(c store.Client) string {
	return clientAccountPrefix(c.AccountSid) + timeKey(c.DateCreated) + "/" + c.Sid
}

func registrationPrefix(login string) string { return "reg/" + url.PathEscape(login) + "/" }

func registrationKey(login, contact string) string {
	return registrationPrefix(login) + url.PathEscape(contact)
}

// CreateClient stores a new client. It fails with store.ErrExists if the sid
// or the login is taken (logins are unique across accounts: one SIP domain).
func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.life.RUnlock()
	if c.Sid == "" || c.Login == "" {
		return errors.New("badgerstore: create client: empty sid or login")
	}
	s.catalogMu.Lock()
	defer s.catalogMu.Unlock()
	err := s.db.Update(func(txn *badger.Txn) error {
		taken, err := exists(txn, clientKey(c.Sid))
		if err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("sid: %w", store.ErrExists)
		}
		if err := claimLogin(txn, c); err != nil {
			return err
		}
		if err := set(txn, clientAccountKey(c), ""); err != nil {
			return err
		}
		return setJSON(txn, clientKey(c.Sid), c)
	})
	if err != nil {
		return fmt.Errorf("badgerstore: create client %s (%q): %w", c.Sid, c.Login, err)
	}
	return nil
}

// claimLogin points the unique login index at c, failing with
// store.ErrExists if another client holds the login.
func claimLogin(txn *badger.Txn, c store.Client) error {
	key := clientLoginKey(c.Login)
	owner, err := getString(txn, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return set(txn, key, c.Sid)
	case err != nil:
		return err
	case owner != c.Sid:
		return fmt.Errorf("login %q held by %s: %w", c.Login, owner, store.ErrExists)
	}
	return nil
}

// Client returns the client with that sid, or store.ErrNotFound.
func (s *Store) Client(ctx context.Context, sid string) (store.Client, error) {
	if err := s.enter(ctx); err != nil {
		return store.Client{}, err
	}
	defer s.life.RUnlock()
	var c store.Client
	err := s.db.View(func(txn *badger.Txn) error {
		return getJSON(txn, clientKey(sid), &c)
	})
	if err != nil {
		return store.Client{}, fmt.Errorf("badgerstore: client %s: %w", sid, err)
	}
	return c, nil
}

// ClientByLogin returns the client with that login (compared exactly: SIP
// user parts are case-sensitive), or store.ErrNotFound.
func (s *Store) ClientByLogin(ctx context.Context, login string) (store.Client, error) {
	if err := s.enter(ctx); err != nil {
		return store.Client{}, err
	}
	defer s.life.RUnlock()
	var c store.Client
	err := s.db.View(func(txn *badger.Txn) error {
		if login == "" {
			return store.ErrNotFound
		}
		sid, err := getString(txn, clientLoginKey(login))
		if err != nil {
			return err
		}
		return getJSON(txn, clientKey(sid), &c)
	})
	if err != nil {
		return store.Client{}, fmt.Errorf("badgerstore: client by login %q: %w", login, err)
	}
	return c, nil
}

// UpdateClient replaces an existing client (store.ErrNotFound if there is
// none). The API never changes Login; if it does change, the new login must
// be free (store.ErrExists otherwise), the index follows and the old login's
// registrations are dropped, since they authenticated as someone else.
func (s *Store) UpdateClient(ctx context.Context, c store.Client) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.life.RUnlock()
	if c.Login == "" {
		return errors.New("badgerstore: update client: empty login")
	}
	s.catalogMu.Lock()
	defer s.catalogMu.Unlock()
	err := s.db.Update(func(txn *badger.Txn) error {
		var old store.Client
		if err := getJSON(txn, clientKey(c.Sid), &old); err != nil {
			return err
		}
		if old.Login != c.Login {
			if err := claimLogin(txn, c); err != nil {
				return err
			}
			if err := del(txn, clientLoginKey(old.Login)); err != nil {
				return err
			}
			if err := deleteRegistrations(ctx, txn, old.Login); err != nil {
				return err
			}
		}
		if clientAccountKey(old) != clientAccountKey(c) {
			if err := del(txn, clientAccountKey(old)); err != nil {
				return err
			}
			if err := set(txn, clientAccountKey(c), ""); err != nil {
				return err
			}
		}
		return setJSON(txn, clientKey(c.Sid), c)
	})
	if err != nil {
		return fmt.Errorf("badgerstore: update client %s: %w", c.Sid, err)
	}
	return nil
}

// DeleteClient removes a client, its indexes and its registrations, or
// returns store.ErrNotFound.
func (s *Store) DeleteClient(ctx context.Context, sid string) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.life.RUnlock()
	s.catalogMu.Lock()
	defer s.catalogMu.Unlock()
	err := s.db.Update(func(txn *badger.Txn) error {
		var old store.Client
		if err := getJSON(txn, clientKey(sid), &old); err != nil {
			return err
		}
		for _, key := range []string{clientLoginKey(old.Login), clientAccountKey(old), clientKey(sid)} {
			if err := del(txn, key); err != nil {
				return err
			}
		}
		return deleteRegistrations(ctx, txn, old.Login)
	})
	if err != nil {
		return fmt.Errorf("badgerstore: delete client %s: %w", sid, err)
	}
	return nil
}

// Clients lists an account's clients, oldest first.
func (s *Store) Clients(ctx context.Context, accountSid string) ([]store.Client, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.life.RUnlock()
	var clients []store.Client
	err := s.db.View(func(txn *badger.Txn) error {
		if accountSid == "" {
			return nil
		}
		var sids []string
		err := scanKeys(ctx, txn, clientAccountPrefix(accountSid), false, func(_, sid string) (bool, error) {
			sids = append(sids, sid)
			return true, nil
		})
		if err != nil {
			return err
		}
		clients = make([]store.Client, len(sids))
		for i, sid := range sids {
			if err := getJSON(txn, clientKey(sid), &clients[i]); err != nil {
				return fmt.Errorf("client %s: %w", sid, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badgerstore: clients of %s: %w", accountSid, err)
	}
	return clients, nil
}

// ttlSlack is added to a binding's Badger TTL: Badger keeps expiry in whole
// seconds and drops a key up to a second early, so the TTL only garbage-
// collects and Registrations itself compares Expires with the clock.
const ttlSlack = 2 * time.Second

// PutRegistration creates or replaces the binding of r.Login to r.Contact.
// It expires by itself at r.Expires; one already expired is deleted instead.
func (s *Store) PutRegistration(ctx context.Context, r store.Registration) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.life.RUnlock()
	if r.Login == "" || r.Contact == "" {
		return errors.New("badgerstore: put registration: empty login or contact")
	}
	key := registrationKey(r.Login, r.Contact)
	err := s.db.Update(func(txn *badger.Txn) error {
		ttl := time.Until(r.Expires)
		if ttl <= 0 {
			return del(txn, key)
		}
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("encode %s: %w", key, err)
		}
		if err := txn.SetEntry(badger.NewEntry([]byte(key), b).WithTTL(ttl + ttlSlack)); err != nil {
			return fmt.Errorf("set %s: %w", key, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("badgerstore: put registration %q -> %q: %w", r.Login, r.Contact, err)
	}
	return nil
}

// DeleteRegistration removes the binding of login to contact, or returns
// store.ErrNotFound if there is none (or it has expired).
func (s *Store) DeleteRegistration(ctx context.Context, login, contact string) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.life.RUnlock()
	key := registrationKey(login, contact)
	err := s.db.Update(func(txn *badger.Txn) error {
		found, err := exists(txn, key)
		if err != nil {
			return err
		}
		if !found {
			return store.ErrNotFound
		}
		return del(txn, key)
	})
	if err != nil {
		return fmt.Errorf("badgerstore: delete registration %q -> %q: %w", login, contact, err)
	}
	return nil
}

// Registrations returns login's bindings that have not expired by the wall
// clock, most recently refreshed first.
func (s *Store) Registrations(ctx context.Context, login string) ([]store.Registration, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.life.RUnlock()
	now := time.Now()
	var regs []store.Registration
	err := s.db.View(func(txn *badger.Txn) error {
		if login == "" {
			return nil
		}
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte(registrationPrefix(login))
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(opts.Prefix); it.Valid(); it.Next() {
			var r store.Registration
			err := it.Item().Value(func(b []byte) error { return json.Unmarshal(b, &r) })
			if err != nil {
				return fmt.Errorf("decode %s: %w", it.Item().Key(), err)
			}
			if r.Expires.After(now) {
				regs = append(regs, r)
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("badgerstore: registrations of %q: %w", login, err)
	}
	sort.SliceStable(regs, func(i, j int) bool { return regs[i].DateUpdated.After(regs[j].DateUpdated) })
	return regs, nil
}

// deleteRegistrations removes every binding of login inside txn.
func deleteRegistrations(ctx context.Context, txn *badger.Txn, login string) error {
	var keys []string
	err := scanKeys(ctx, txn, registrationPrefix(login), false, func(key, _ string) (bool, error) {
		keys = append(keys, key)
		return true, nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := del(txn, k); err != nil {
			return err
		}
	}
	return nil
}
