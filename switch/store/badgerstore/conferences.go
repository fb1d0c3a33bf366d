package badgerstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/patchbay/patchbay/switch/store"
)

// Conference keys (see the package doc for the layout style):
//
//	cf/<sid>                          Conference
//	cf-acct/<acct>/<created>/<sid>    an account's conferences
//
// A conference and its account index change in one transaction, under the
// conference's record lock: the index depends only on the record's own
// previous version (its account and creation time).

const conferencePrefix = "cf/"

func conferenceKey(sid string) string { return conferencePrefix + sid }

func conferenceAccountPrefix(acct string) string { return "cf-acct/" + acct + "/" }

func conferenceAccountKey(acct string, created time.Time, sid string) string {
	return conferenceAccountPrefix(acct) + timeKey(created) + "/" + sid
}

// conferenceIndexed holds the fields of a stored conference that its index
// depends on; PutConference decodes only these from the previous version.
type conferenceIndexed struct {
	AccountSid  string
	DateCreated time.Time
}

// PutConference creates or replaces a conference record and, in the same
// transaction, keeps its account index in step with it.
func (s *Store) PutConference(ctx context.Context, c store.Conference) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.life.RUnlock()
	if c.Sid == "" || c.AccountSid == "" {
		return errors.New("badgerstore: put conference: empty sid or account sid")
	}
	m := s.recordLocks.lock(conferenceKey(c.Sid))
	defer m.Unlock()
	err := s.db.Update(func(txn *badger.Txn) error {
		var old conferenceIndexed
		err := getJSON(txn, conferenceKey(c.Sid), &old)
		found := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		acctKey := conferenceAccountKey(c.AccountSid, c.DateCreated, c.Sid)
		if oldKey := conferenceAccountKey(old.AccountSid, old.DateCreated, c.Sid); !found || oldKey != acctKey {
			if found {
				if err := del(txn, oldKey); err != nil {
					return err
				}
			}
			if err := set(txn, acctKey, ""); err != nil {
				return err
			}
		}
		return setJSON(txn, conferenceKey(c.Sid), c)
	})
	if err != nil {
		return fmt.Errorf("badgerstore: put conference %s: %w", c.Sid, err)
	}
	return nil
}

// Conference returns the conference with that sid, or store.ErrNotFound.
func (s *Store) Conference(ctx context.Context, sid string) (store.Conference, error) {
	if err := s.enter(ctx); err != nil {
		return store.Conference{}, err
	}
	defer s.life.RUnlock()
	var c store.Conference
	err := s.db.View(func(txn *badger.Txn) error {
		return getJSON(txn, conferenceKey(sid), &c)
	})
	if err != nil {
		return store.Conference{}, fmt.Errorf("badgerstore: conference %s: %w", sid, err)
	}
	return c, nil
}

// ListConferences returns one page of the conferences matching f, newest
// first (ties by sid, so paging is stable), and how many match in all. Only
// the conferences of f.AccountSids are read (every one when it is empty);
// they are filtered and sorted in memory.
func (s *Store) ListConferences(ctx context.Context, f store.ConferenceFilter, p store.Page) ([]store.Conference, int, error) {
	if err := s.enter(ctx); err != nil {
		return nil, 0, err
	}
	defer s.life.RUnlock()
	keep := newConferenceFilter(f)
	var matched []store.Conference
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		matched, err = listByAccount(ctx, txn, accountIndex{kind: "conference", allPrefix: conferencePrefix, accountPrefix: conferenceAccountPrefix, key: conferenceKey}, f.AccountSids, keep)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("badgerstore: list conferences: %w", err)
	}
	slices.SortFunc(matched, func(a, b store.Conference) int {
		if c := b.DateCreated.Compare(a.DateCreated); c != 0 {
			return c
		}
		return strings.Compare(b.Sid, a.Sid)
	})
	return pageOf(matched, p), len(matched), nil
}

// newConferenceFilter returns a predicate for the non-account parts of f.
func newConferenceFilter(f store.ConferenceFilter) func(c *store.Conference) bool {
	var status, name likePattern
	if f.Status != "" {
		status = compileLike(f.Status)
	}
	if f.FriendlyName != "" {
		name = compileLike(f.FriendlyName)
	}
	return func(c *store.Conference) bool {
		switch {
		case status != nil && !status.match(c.Status),
			name != nil && !name.match(c.FriendlyName),
			!f.CreatedOnOrAfter.IsZero() && c.DateCreated.Before(f.CreatedOnOrAfter),
			!f.UpdatedBefore.IsZero() && !c.DateUpdated.Before(f.UpdatedBefore):
			return false
		}
		return true
	}
}
