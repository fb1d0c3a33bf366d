package badgerstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/patchbay/patchbay/switch/store"
)

const (
	callPrefix     = "call/"
	callLivePrefix = "call-live/"
)

func callKey(sid string) string { return callPrefix + sid }

func callLiveKey(sid string) string { return callLivePrefix + sid }

func callAccountPrefix(acct string) string { return "call-acct/" + acct + "/" }

func callAccountKey(acct string, created time.Time, sid string) string {
	return callAccountPrefix(acct) + timeKey(created) + "/" + sid
}

// callIndexed holds the fields of a stored call that its indexes depend on;
// PutCall decodes only these from the previous version.
type callIndexed struct {
	AccountSid  string
	DateCreated time.Time
	Status      string
}

// PutCall creates or replaces a call record and, in the same transaction,
// keeps its account index and its live-call index in step with it.
func (s *Store) PutCall(ctx context.Context, c store.Call) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.life.RUnlock()
	if c.Sid == "" || c.AccountSid == "" {
		return errors.New("badgerstore: put call: empty sid or account sid")
	}
	value, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("badgerstore: put call %s: encode: %w", c.Sid, err)
	}
	m := s.recordLocks.lock(callKey(c.Sid))
	defer m.Unlock()
	err = s.db.Update(func(txn *badger.Txn) error {
		var old callIndexed
		err := getJSON(txn, callKey(c.Sid), &old)
		found := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		acctKey := callAccountKey(c.AccountSid, c.DateCreated, c.Sid)
		if oldKey := callAccountKey(old.AccountSid, old.DateCreated, c.Sid); !found || oldKey != acctKey {
			if found {
				if err := del(txn, oldKey); err != nil {
					return err
				}
			}
			if err := set(txn, acctKey, ""); err != nil {
				return err
			}
		}
		wasLive, live := found && !store.Ended(old.Status), !store.Ended(c.Status)
		if live && !wasLive {
			if err := set(txn, callLiveKey(c.Sid), ""); err != nil {
				return err
			}
		}
		if wasLive && !live {
			if err := del(txn, callLiveKey(c.Sid)); err != nil {
				return err
			}
		}
		if err := txn.Set([]byte(callKey(c.Sid)), value); err != nil {
			return fmt.Errorf("set call: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("badgerstore: put call %s: %w", c.Sid, err)
	}
	return nil
}

// Call returns the call with that sid, or store.ErrNotFound.
func (s *Store) Call(ctx context.Context, sid string) (store.Call, error) {
	if err := s.enter(ctx); err != nil {
		return store.Call{}, err
	}
	defer s.life.RUnlock()
	var c store.Call
	err := s.db.View(func(txn *badger.Txn) error {
		return getJSON(txn, callKey(sid), &c)
	})
	if err != nil {
		return store.Call{}, fmt.Errorf("badgerstore: call %s: %w", sid, err)
	}
	return c, nil
}

// ListCalls returns one page of the calls matching f in the order s, and how
// many match in all. Only the calls of f.AccountSids are read (every call when
// it is empty); they are filtered and sorted in memory.
func (s *Store) ListCalls(ctx context.Context, f store.CallFilter, srt store.CallSort, p store.Page) ([]store.Call, int, error) {
	if err := s.enter(ctx); err != nil {
		return nil, 0, err
	}
	defer s.life.RUnlock()
	order, err := callOrder(srt)
	if err != nil {
		return nil, 0, fmt.Errorf("badgerstore: list calls: %w", err)
	}
	keep := newCallFilter(f)
	var matched []store.Call
	err = s.db.View(func(txn *badger.Txn) error {
		var err error
		matched, err = listByAccount(ctx, txn, accountIndex{kind: "call", allPrefix: callPrefix, accountPrefix: callAccountPrefix, key: callKey}, f.AccountSids, keep)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("badgerstore: list calls: %w", err)
	}
	// Sort pointers: a Call is a few hundred bytes to swap.
	refs := make([]*store.Call, len(matched))
	for i := range matched {
		refs[i] = &matched[i]
	}
	slices.SortFunc(refs, order)
	page := pageOf(refs, p)
	calls := make([]store.Call, len(page))
	for i, c := range page {
		calls[i] = *c
	}
	return calls, len(matched), nil
}

// newCallFilter returns a predicate for the non-account parts of f.
func newCallFilter(f store.CallFilter) func(c *store.Call) bool {
	var to, from, status likePattern
	if f.To != "" {
		to = compileLike("%" + f.To)
	}
	if f.From != "" {
		from = compileLike("%" + f.From)
	}
	if f.Status != "" {
		status = compileLike(f.Status)
	}
	return func(c *store.Call) bool {
		switch {
		case to != nil && !to.match(c.To),
			from != nil && !from.match(c.From),
			status != nil && !status.match(c.Status),
			f.ParentCallSid != "" && c.ParentCallSid != f.ParentCallSid,
			f.ConferenceSid != "" && c.ConferenceSid != f.ConferenceSid,
			// A call that has not started (ended) has no start (end) time and,
			// as a SQL NULL would, fails a bound on it.
			!f.StartedOnOrAfter.IsZero() && (c.StartTime.IsZero() || c.StartTime.Before(f.StartedOnOrAfter)),
			!f.EndedBefore.IsZero() && (c.EndTime.IsZero() || !c.EndTime.Before(f.EndedBefore)):
			return false
		}
		return true
	}
}

// callOrder returns the comparison for srt. An empty field is the default,
// DateCreated newest first. Other fields break ties newest first, then by sid,
// so paging is stable.
func callOrder(srt store.CallSort) (func(a, b *store.Call) int, error) {
	field := srt.Field
	desc := srt.Descending
	if field == "" {
		field, desc = "DateCreated", true
	}
	var primary func(a, b *store.Call) int
	switch strings.ToLower(field) {
	case "datecreated":
		primary = func(a, b *store.Call) int {
			if c := a.DateCreated.Compare(b.DateCreated); c != 0 {
				return c
			}
			return strings.Compare(a.Sid, b.Sid)
		}
	case "from":
		primary = func(a, b *store.Call) int { return strings.Compare(a.From, b.From) }
	case "to":
		primary = func(a, b *store.Call) int { return strings.Compare(a.To, b.To) }
	case "direction":
		primary = func(a, b *store.Call) int { return strings.Compare(a.Direction, b.Direction) }
	case "status":
		primary = func(a, b *store.Call) int { return strings.Compare(a.Status, b.Status) }
	case "duration":
		primary = func(a, b *store.Call) int { return cmp.Compare(a.Duration, b.Duration) }
	case "price":
		primary = func(a, b *store.Call) int { return comparePrice(a.Price, b.Price) }
	default:
		return nil, fmt.Errorf("unknown sort field %q", srt.Field)
	}
	return func(a, b *store.Call) int {
		c := primary(a, b)
		if desc {
			c = -c
		}
		if c != 0 {
			return c
		}
		if c := b.DateCreated.Compare(a.DateCreated); c != 0 {
			return c
		}
		return strings.Compare(b.Sid, a.Sid)
	}, nil
}

// comparePrice orders prices numerically, as the database column does; a
// missing or unparsable price sorts before every number, as a NULL does.
func comparePrice(a, b string) int {
	fa, errA := strconv.ParseFloat(strings.TrimSpace(a), 64)
	fb, errB := strconv.ParseFloat(strings.TrimSpace(b), 64)
	switch {
	case errA != nil && errB != nil:
		return strings.Compare(a, b)
	case errA != nil:
		return -1
	case errB != nil:
		return 1
	}
	return cmp.Compare(fa, fb)
}

// LiveCalls returns every call whose status has not ended, in sid order.
func (s *Store) LiveCalls(ctx context.Context) ([]store.Call, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.life.RUnlock()
	var calls []store.Call
	err := s.db.View(func(txn *badger.Txn) error {
		var sids []string
		err := scanKeys(ctx, txn, callLivePrefix, false, func(_, sid string) (bool, error) {
			sids = append(sids, sid)
			return true, nil
		})
		if err != nil {
			return err
		}
		calls = make([]store.Call, len(sids))
		for i, sid := range sids {
			if err := getJSON(txn, callKey(sid), &calls[i]); err != nil {
				return fmt.Errorf("call %s: %w", sid, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badgerstore: live calls: %w", err)
	}
	return calls, nil
}
