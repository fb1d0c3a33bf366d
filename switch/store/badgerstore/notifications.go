package badgerstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"

	"github.com/patchbay/patchbay/switch/store"
)

const notificationPrefix = "notif/"

func notificationKey(sid string) string { return notificationPrefix + sid }

func notificationAccountPrefix(acct string) string { return "notif-acct/" + acct + "/" }

func notificationAccountKey(n store.Notification) string {
	return notificationAccountPrefix(n.AccountSid) + timeKey(n.DateCreated) + "/" + n.Sid
}

// AddNotification stores a new notification; a sid already present gives
// store.ErrExists.
func (s *Store) AddNotification(ctx context.Context, n store.Notification) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.life.RUnlock()
	if n.Sid == "" || n.AccountSid == "" {
		return errors.New("badgerstore: add notification: empty sid or account sid")
	}
	m := s.recordLocks.lock(notificationKey(n.Sid))
	defer m.Unlock()
	err := s.db.Update(func(txn *badger.Txn) error {
		taken, err := exists(txn, notificationKey(n.Sid))
		if err != nil {
			return err
		}
		if taken {
			return store.ErrExists
		}
		if err := set(txn, notificationAccountKey(n), ""); err != nil {
			return err
		}
		return setJSON(txn, notificationKey(n.Sid), n)
	})
	if err != nil {
		return fmt.Errorf("badgerstore: add notification %s: %w", n.Sid, err)
	}
	return nil
}

// Notification returns the notification with that sid, or store.ErrNotFound.
func (s *Store) Notification(ctx context.Context, sid string) (store.Notification, error) {
	if err := s.enter(ctx); err != nil {
		return store.Notification{}, err
	}
	defer s.life.RUnlock()
	var n store.Notification
	err := s.db.View(func(txn *badger.Txn) error {
		return getJSON(txn, notificationKey(sid), &n)
	})
	if err != nil {
		return store.Notification{}, fmt.Errorf("badgerstore: notification %s: %w", sid, err)
	}
	return n, nil
}

// ListNotifications returns one page of the notifications matching f, newest
// first, and how many match in all. With an AccountSid only that account's
// notifications are read.
func (s *Store) ListNotifications(ctx context.Context, f store.NotificationFilter, p store.Page) ([]store.Notification, int, error) {
	if err := s.enter(ctx); err != nil {
		return nil, 0, err
	}
	defer s.life.RUnlock()
	var matched []store.Notification
	err := s.db.View(func(txn *badger.Txn) error {
		var sids []string
		collect := func(_, sid string) (bool, error) {
			sids = append(sids, sid)
			return true, nil
		}
		prefix := notificationPrefix
		if f.AccountSid != "" {
			prefix = notificationAccountPrefix(f.AccountSid)
		}
		if err := scanKeys(ctx, txn, prefix, false, collect); err != nil {
			return err
		}
		for _, sid := range sids {
			var n store.Notification
			if err := getJSON(txn, notificationKey(sid), &n); err != nil {
				return fmt.Errorf("notification %s: %w", sid, err)
			}
			if matchNotification(f, &n) {
				matched = append(matched, n)
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("badgerstore: list notifications: %w", err)
	}
	slices.SortStableFunc(matched, func(a, b store.Notification) int {
		if c := b.DateCreated.Compare(a.DateCreated); c != 0 {
			return c
		}
		return strings.Compare(b.Sid, a.Sid)
	})
	return pageOf(matched, p), len(matched), nil
}

func matchNotification(f store.NotificationFilter, n *store.Notification) bool {
	switch {
	case f.AccountSid != "" && n.AccountSid != f.AccountSid,
		f.CallSid != "" && n.CallSid != f.CallSid,
		f.Log != nil && n.Log != *f.Log,
		f.ErrorCode != 0 && n.ErrorCode != f.ErrorCode:
		return false
	}
	return true
}
