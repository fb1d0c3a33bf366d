package badgerstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/patchbay/patchbay/switch/store"
)

// Recording keys (see the package doc for the layout style):
//
//	rec/<sid>                          Recording
//	rec-acct/<acct>/<created>/<sid>    an account's recordings
//
// A recording is written once and only ever deleted, so its index entry
// is derived from the record itself; both change in one transaction under
// the recording's record lock.

const recordingPrefix = "rec/"

func recordingKey(sid string) string { return recordingPrefix + sid }

func recordingAccountPrefix(acct string) string { return "rec-acct/" + acct + "/" }

func recordingAccountKey(acct string, created time.Time, sid string) string {
	return recordingAccountPrefix(acct) + timeKey(created) + "/" + sid
}

// AddRecording stores a new recording and its account index entry; a sid
// already present gives store.ErrExists.
func (s *Store) AddRecording(ctx context.Context, r store.Recording) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.life.RUnlock()
	if r.Sid == "" || r.AccountSid == "" {
		return errors.New("badgerstore: add recording: empty sid or account sid")
	}
	m := s.recordLocks.lock(recordingKey(r.Sid))
	defer m.Unlock()
	err := s.db.Update(func(txn *badger.Txn) error {
		taken, err := exists(txn, recordingKey(r.Sid))
		if err != nil {
			return err
		}
		if taken {
			return store.ErrExists
		}
		if err := set(txn, recordingAccountKey(r.AccountSid, r.DateCreated, r.Sid), ""); err != nil {
			return err
		}
		return setJSON(txn, recordingKey(r.Sid), r)
	})
	if err != nil {
		return fmt.Errorf("badgerstore: add recording %s: %w", r.Sid, err)
	}
	return nil
}

// Recording returns the recording with that sid, or store.ErrNotFound.
func (s *Store) Recording(ctx context.Context, sid string) (store.Recording, error) {
	if err := s.enter(ctx); err != nil {
		return store.Recording{}, err
	}
	defer s.life.RUnlock()
	var r store.Recording
	err := s.db.View(func(txn *badger.Txn) error {
		return getJSON(txn, recordingKey(sid), &r)
	})
	if err != nil {
		return store.Recording{}, fmt.Errorf("badgerstore: recording %s: %w", sid, err)
	}
	return r, nil
}

// DeleteRecording removes the recording and its index entry, or returns
// store.ErrNotFound.
func (s *Store) DeleteRecording(ctx context.Context, sid string) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.life.RUnlock()
	m := s.recordLocks.lock(recordingKey(sid))
	defer m.Unlock()
	err := s.db.Update(func(txn *badger.Txn) error {
		var r store.Recording
		if err := getJSON(txn, recordingKey(sid), &r); err != nil {
			return err
		}
		if err := del(txn, recordingAccountKey(r.AccountSid, r.DateCreated, sid)); err != nil {
			return err
		}
		return del(txn, recordingKey(sid))
	})
	if err != nil {
		return fmt.Errorf("badgerstore: delete recording %s: %w", sid, err)
	}
	return nil
}

// ListRecordings returns one page of the recordings matching f in the
// order srt, and how many match in all. Only the recordings of
// f.AccountSids are read (every one when it is empty); they are filtered
// and sorted in memory.
func (s *Store) ListRecordings(ctx context.Context, f store.RecordingFilter, srt store.RecordingSort, p store.Page) ([]store.Recording, int, error) {
	if err := s.enter(ctx); err != nil {
		return nil, 0, err
	}
	defer s.life.RUnlock()
	order, err := recordingOrder(srt)
	if err != nil {
		return nil, 0, fmt.Errorf("badgerstore: list recordings: %w", err)
	}
	keep := newRecordingFilter(f)
	var matched []store.Recording
	err = s.db.View(func(txn *badger.Txn) error {
		var err error
		matched, err = listByAccount(ctx, txn, accountIndex{kind: "recording", allPrefix: recordingPrefix, accountPrefix: recordingAccountPrefix, key: recordingKey}, f.AccountSids, keep)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("badgerstore: list recordings: %w", err)
	}
	slices.SortFunc(matched, order)
	return pageOf(matched, p), len(matched), nil
}

// newRecordingFilter returns a predicate for the non-account parts of f.
func newRecordingFilter(f store.RecordingFilter) func(r *store.Recording) bool {
	var call likePattern
	if f.CallSid != "" {
		call = compileLike(f.CallSid)
	}
	return func(r *store.Recording) bool {
		switch {
		case call != nil && !call.match(r.CallSid),
			!f.CreatedOnOrAfter.IsZero() && r.DateCreated.Before(f.CreatedOnOrAfter),
			!f.CreatedBefore.IsZero() && !r.DateCreated.Before(f.CreatedBefore):
			return false
		}
		return true
	}
}

// recordingOrder returns the comparison for srt. An empty field is the
// default, DateCreated newest first. Other fields break ties newest first,
// then by sid, so paging is stable.
func recordingOrder(srt store.RecordingSort) (func(a, b store.Recording) int, error) {
	field, desc := srt.Field, srt.Descending
	if field == "" {
		field, desc = "DateCreated", true
	}
	var primary func(a, b store.Recording) int
	switch strings.ToLower(field) {
	case "datecreated":
		primary = func(a, b store.Recording) int {
			if c := a.DateCreated.Compare(b.DateCreated); c != 0 {
				return c
			}
			return strings.Compare(a.Sid, b.Sid)
		}
	case "duration":
		primary = func(a, b store.Recording) int { return cmp.Compare(a.Duration, b.Duration) }
	case "callsid":
		primary = func(a, b store.Recording) int { return strings.Compare(a.CallSid, b.CallSid) }
	default:
		return nil, fmt.Errorf("unknown sort field %q", srt.Field)
	}
	return func(a, b store.Recording) int {
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
