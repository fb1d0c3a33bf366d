package badgerstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/patchbay/patchbay/switch/store"
)

func numberKey(sid string) string { return "pn/" + sid }

func numberValueKey(number string) string { return "pn-num/" + number }

func numberAccountPrefix(acct string) string { return "pn-acct/" + acct + "/" }

func numberAccountKey(n store.PhoneNumber) string {
	return numberAccountPrefix(n.AccountSid) + timeKey(n.DateCreated) + "/" + n.Sid
}

const numberPatternPrefix = "pn-pat/"

func numberPatternKey(sid string) string { return numberPatternPrefix + sid }

// CreatePhoneNumber stores a new number. It fails with store.ErrExists if the
// sid or the PhoneNumber string is taken.
func (s *Store) CreatePhoneNumber(ctx context.Context, n store.PhoneNumber) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.life.RUnlock()
	if n.Sid == "" || n.PhoneNumber == "" {
		return errors.New("badgerstore: create phone number: empty sid or number")
	}
	s.catalogMu.Lock()
	defer s.catalogMu.Unlock()
	err := s.db.Update(func(txn *badger.Txn) error {
		taken, err := exists(txn, numberKey(n.Sid))
		if err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("sid: %w", store.ErrExists)
		}
		if err := claimNumber(txn, n); err != nil {
			return err
		}
		if err := set(txn, numberAccountKey(n), ""); err != nil {
			return err
		}
		if isPattern(n.PhoneNumber) {
			if err := set(txn, numberPatternKey(n.Sid), n.PhoneNumber); err != nil {
				return err
			}
		}
		return setJSON(txn, numberKey(n.Sid), n)
	})
	if err != nil {
		return fmt.Errorf("badgerstore: create phone number %s (%q): %w", n.Sid, n.PhoneNumber, err)
	}
	return nil
}

// claimNumber points the unique PhoneNumber index at n, failing with
// store.ErrExists if another record holds the string.
func claimNumber(txn *badger.Txn, n store.PhoneNumber) error {
	key := numberValueKey(n.PhoneNumber)
	owner, err := getString(txn, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return set(txn, key, n.Sid)
	case err != nil:
		return err
	case owner != n.Sid:
		return fmt.Errorf("number %q held by %s: %w", n.PhoneNumber, owner, store.ErrExists)
	}
	return nil
}

// PhoneNumber returns the number with that sid, or store.ErrNotFound.
func (s *Store) PhoneNumber(ctx context.Context, sid string) (store.PhoneNumber, error) {
	if err := s.enter(ctx); err != nil {
		return store.PhoneNumber{}, err
	}
	defer s.life.RUnlock()
	var n store.PhoneNumber
	err := s.db.View(func(txn *badger.Txn) error {
		return getJSON(txn, numberKey(sid), &n)
	})
	if err != nil {
		return store.PhoneNumber{}, fmt.Errorf("badgerstore: phone number %s: %w", sid, err)
	}
	return n, nil
}

// UpdatePhoneNumber replaces an existing number (store.ErrNotFound if there is
// none). The API never changes PhoneNumber, but if it does change, the new
// string must be free (store.ErrExists otherwise) and the indexes follow.
func (s *Store) UpdatePhoneNumber(ctx context.Context, n store.PhoneNumber) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.life.RUnlock()
	if n.PhoneNumber == "" {
		return errors.New("badgerstore: update phone number: empty number")
	}
	s.catalogMu.Lock()
	defer s.catalogMu.Unlock()
	err := s.db.Update(func(txn *badger.Txn) error {
		var old store.PhoneNumber
		if err := getJSON(txn, numberKey(n.Sid), &old); err != nil {
			return err
		}
		if old.PhoneNumber != n.PhoneNumber {
			if err := claimNumber(txn, n); err != nil {
				return err
			}
			if err := del(txn, numberValueKey(old.PhoneNumber)); err != nil {
				return err
			}
			if err := del(txn, numberPatternKey(n.Sid)); err != nil {
				return err
			}
			if isPattern(n.PhoneNumber) {
				if err := set(txn, numberPatternKey(n.Sid), n.PhoneNumber); err != nil {
					return err
				}
			}
		}
		if numberAccountKey(old) != numberAccountKey(n) {
			if err := del(txn, numberAccountKey(old)); err != nil {
				return err
			}
			if err := set(txn, numberAccountKey(n), ""); err != nil {
				return err
			}
		}
		return setJSON(txn, numberKey(n.Sid), n)
	})
	if err != nil {
		return fmt.Errorf("badgerstore: update phone number %s: %w", n.Sid, err)
	}
	return nil
}

// DeletePhoneNumber removes a number and its indexes, or returns
// store.ErrNotFound.
func (s *Store) DeletePhoneNumber(ctx context.Context, sid string) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.life.RUnlock()
	s.catalogMu.Lock()
	defer s.catalogMu.Unlock()
	err := s.db.Update(func(txn *badger.Txn) error {
		var old store.PhoneNumber
		if err := getJSON(txn, numberKey(sid), &old); err != nil {
			return err
		}
		for _, key := range []string{
			numberValueKey(old.PhoneNumber), numberAccountKey(old), numberPatternKey(sid), numberKey(sid),
		} {
			if err := del(txn, key); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("badgerstore: delete phone number %s: %w", sid, err)
	}
	return nil
}

// PhoneNumbers lists an account's numbers, oldest first.
func (s *Store) PhoneNumbers(ctx context.Context, accountSid string) ([]store.PhoneNumber, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.life.RUnlock()
	var numbers []store.PhoneNumber
	err := s.db.View(func(txn *badger.Txn) error {
		if accountSid == "" {
			return nil
		}
		var sids []string
		err := scanKeys(ctx, txn, numberAccountPrefix(accountSid), false, func(_, sid string) (bool, error) {
			sids = append(sids, sid)
			return true, nil
		})
		if err != nil {
			return err
		}
		numbers = make([]store.PhoneNumber, len(sids))
		for i, sid := range sids {
			if err := getJSON(txn, numberKey(sid), &numbers[i]); err != nil {
				return fmt.Errorf("number %s: %w", sid, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badgerstore: phone numbers of %s: %w", accountSid, err)
	}
	return numbers, nil
}

// MatchPhoneNumber finds the number an inbound INVITE to the user part dialed
// routes to (restcomm-resources.md §2.6, without organisations: every number
// is reachable): an exact hit on one of the candidate strings (as dialled, its
// US E.164 form, the '+' toggled), else the first pattern, longest first,
// found in one of the candidates, else the catch-all "*". No match gives
// store.ErrNotFound.
func (s *Store) MatchPhoneNumber(ctx context.Context, dialed string) (store.PhoneNumber, error) {
	if err := s.enter(ctx); err != nil {
		return store.PhoneNumber{}, err
	}
	defer s.life.RUnlock()
	var n store.PhoneNumber
	err := s.db.View(func(txn *badger.Txn) error {
		candidates := candidateNumbers(dialed)
		for _, c := range candidates {
			sid, err := getString(txn, numberValueKey(c))
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			return getJSON(txn, numberKey(sid), &n)
		}
		if patternDialable(dialed) {
			sid, err := s.matchPattern(ctx, txn, candidates)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if err == nil {
				return getJSON(txn, numberKey(sid), &n)
			}
		}
		sid, err := getString(txn, numberValueKey(catchAll))
		if err != nil {
			return err
		}
		return getJSON(txn, numberKey(sid), &n)
	})
	if err != nil {
		return store.PhoneNumber{}, fmt.Errorf("badgerstore: match phone number %q: %w", dialed, err)
	}
	return n, nil
}

// matchPattern returns the sid of the first pattern number, longest first,
// found in one of the candidates, or store.ErrNotFound. A pattern that does
// not compile is logged and skipped: it was accepted verbatim at creation, as
// upstream does, and must not stop the other numbers from routing.
func (s *Store) matchPattern(ctx context.Context, txn *badger.Txn, candidates []string) (string, error) {
	var patterns []numberPattern
	opts := badger.DefaultIteratorOptions
	opts.Prefix = []byte(numberPatternPrefix)
	err := func() error {
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(opts.Prefix); it.Valid(); it.Next() {
			item := it.Item()
			v, err := item.ValueCopy(nil)
			if err != nil {
				return fmt.Errorf("read %s: %w", item.Key(), err)
			}
			key := string(item.Key())
			patterns = append(patterns, numberPattern{sid: key[len(numberPatternPrefix):], pattern: string(v)})
		}
		return ctx.Err()
	}()
	if err != nil {
		return "", err
	}
	sortPatterns(patterns)
	for _, p := range patterns {
		re, err := compilePattern(p.pattern)
		if err != nil {
			s.log.Warn("badgerstore: phone number pattern does not compile", "sid", p.sid, "pattern", p.pattern, "err", err)
			continue
		}
		for _, c := range candidates {
			if re.MatchString(c) {
				return p.sid, nil
			}
		}
	}
	return "", store.ErrNotFound
}
