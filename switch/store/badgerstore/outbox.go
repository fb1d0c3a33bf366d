package badgerstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/patchbay/patchbay/switch/store"
)

const (
	outboxPrefix    = "outbox/"
	outboxDuePrefix = "outbox-due/"
)

func outboxKey(id string) string { return outboxPrefix + id }

func outboxDueKey(it store.OutboxItem) string {
	return outboxDuePrefix + timeKey(it.NextAttempt) + "/" + it.ID
}

// Enqueue adds it to the outbox and syncs the store to disk before returning,
// so the callback survives a crash of the machine, not only of the process.
// An empty ID is filled with a new one: 19 digits of Unix nanoseconds, strictly
// increasing within the store, so IDs sort in enqueue order. A given ID that is
// already queued gives store.ErrExists.
func (s *Store) Enqueue(ctx context.Context, it store.OutboxItem) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.life.RUnlock()
	if it.ID == "" {
		it.ID = s.nextOutboxID()
	}
	if strings.Contains(it.ID, "/") {
		return fmt.Errorf("badgerstore: enqueue: id %q contains '/'", it.ID)
	}
	m := s.recordLocks.lock(outboxKey(it.ID))
	defer m.Unlock()
	err := s.db.Update(func(txn *badger.Txn) error {
		taken, err := exists(txn, outboxKey(it.ID))
		if err != nil {
			return err
		}
		if taken {
			return store.ErrExists
		}
		if err := set(txn, outboxDueKey(it), ""); err != nil {
			return err
		}
		return setJSON(txn, outboxKey(it.ID), it)
	})
	if err == nil {
		err = s.commitSynced()
	}
	if err != nil {
		return fmt.Errorf("badgerstore: enqueue %s: %w", it.ID, err)
	}
	return nil
}

// nextOutboxID returns a new outbox id, later than every id generated before
// (or found at Open), even if the clock stepped back.
func (s *Store) nextOutboxID() string {
	for {
		last := s.lastOutboxNanos.Load()
		next := max(time.Now().UnixNano(), last+1)
		if s.lastOutboxNanos.CompareAndSwap(last, next) {
			return padInt(next)
		}
	}
}

// loadLastOutboxID seeds the id generator from the newest generated id in the
// outbox, so ids stay increasing across a restart with a clock set back.
func (s *Store) loadLastOutboxID() error {
	err := s.db.View(func(txn *badger.Txn) error {
		return scanKeys(context.Background(), txn, outboxPrefix, true, func(_, id string) (bool, error) {
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil || len(id) != len(padInt(0)) {
				return true, nil // an id the caller chose; keep looking
			}
			s.lastOutboxNanos.Store(n)
			return false, nil
		})
	})
	if err != nil {
		return fmt.Errorf("badgerstore: read outbox ids: %w", err)
	}
	return nil
}

// Due returns up to limit items whose NextAttempt is not after now, oldest
// (first enqueued) first.
func (s *Store) Due(ctx context.Context, now time.Time, limit int) ([]store.OutboxItem, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.life.RUnlock()
	if limit <= 0 {
		return []store.OutboxItem{}, nil
	}
	var items []store.OutboxItem
	err := s.db.View(func(txn *badger.Txn) error {
		// The due index is in NextAttempt order, so the scan stops at the
		// first item not yet due; the due ones are then put in ID order.
		bound := outboxDuePrefix + timeKey(now) + "/\xff"
		var ids []string
		err := scanKeys(ctx, txn, outboxDuePrefix, false, func(key, id string) (bool, error) {
			if key > bound {
				return false, nil
			}
			ids = append(ids, id)
			return true, nil
		})
		if err != nil {
			return err
		}
		slices.Sort(ids)
		ids = ids[:min(limit, len(ids))]
		items = make([]store.OutboxItem, len(ids))
		for i, id := range ids {
			if err := getJSON(txn, outboxKey(id), &items[i]); err != nil {
				return fmt.Errorf("outbox item %s: %w", id, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badgerstore: due outbox items: %w", err)
	}
	return items, nil
}

// Reschedule replaces a queued item (its attempts, next attempt and last
// error), or returns store.ErrNotFound. It is not synced: if a power loss
// undoes it, the item is only retried sooner than planned.
func (s *Store) Reschedule(ctx context.Context, it store.OutboxItem) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.life.RUnlock()
	m := s.recordLocks.lock(outboxKey(it.ID))
	defer m.Unlock()
	err := s.db.Update(func(txn *badger.Txn) error {
		var old store.OutboxItem
		if err := getJSON(txn, outboxKey(it.ID), &old); err != nil {
			return err
		}
		if oldKey := outboxDueKey(old); oldKey != outboxDueKey(it) {
			if err := del(txn, oldKey); err != nil {
				return err
			}
			if err := set(txn, outboxDueKey(it), ""); err != nil {
				return err
			}
		}
		return setJSON(txn, outboxKey(it.ID), it)
	})
	if err != nil {
		return fmt.Errorf("badgerstore: reschedule %s: %w", it.ID, err)
	}
	return nil
}

// Done removes an item, or returns store.ErrNotFound. It is not synced: if a
// power loss undoes it, the callback is delivered again (at least once).
func (s *Store) Done(ctx context.Context, id string) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.life.RUnlock()
	m := s.recordLocks.lock(outboxKey(id))
	defer m.Unlock()
	err := s.db.Update(func(txn *badger.Txn) error {
		var old store.OutboxItem
		if err := getJSON(txn, outboxKey(id), &old); err != nil {
			return err
		}
		if err := del(txn, outboxDueKey(old)); err != nil {
			return err
		}
		return del(txn, outboxKey(id))
	})
	if err != nil {
		return fmt.Errorf("badgerstore: done %s: %w", id, err)
	}
	return nil
}
