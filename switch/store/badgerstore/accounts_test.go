package badgerstore

import (
	"errors"
	"reflect"
	"testing"

	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

func newAccount(parent, email string, minute int) store.Account {
	return store.Account{
		Sid:          sid.New(sid.Account),
		ParentSid:    parent,
		FriendlyName: email,
		EmailAddress: email,
		Status:       store.AccountActive,
		Role:         "Developer",
		Type:         "Full",
		AuthToken:    sid.Token(),
		DateCreated:  at(minute),
		DateUpdated:  at(minute),
	}
}

func TestAccounts(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		root := newAccount("", "Admin@Example.com", 0)
		if err := s.CreateAccount(ctx, root); err != nil {
			t.Fatalf("CreateAccount: %v", err)
		}
		got, err := s.Account(ctx, root.Sid)
		if err != nil || !reflect.DeepEqual(got, root) {
			t.Fatalf("Account = %+v, %v; want %+v", got, err, root)
		}
		if _, err := s.Account(ctx, sid.New(sid.Account)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Account(unknown) error = %v, want ErrNotFound", err)
		}

		got, err = s.AccountByEmail(ctx, "admin@EXAMPLE.com")
		if err != nil || got.Sid != root.Sid {
			t.Errorf("AccountByEmail(other case) = %s, %v; want %s", got.Sid, err, root.Sid)
		}
		if _, err := s.AccountByEmail(ctx, "nobody@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AccountByEmail(unknown) error = %v, want ErrNotFound", err)
		}

		dupSid := newAccount("", "other@example.com", 1)
		dupSid.Sid = root.Sid
		if err := s.CreateAccount(ctx, dupSid); !errors.Is(err, store.ErrExists) {
			t.Errorf("CreateAccount(same sid) error = %v, want ErrExists", err)
		}
		if err := s.CreateAccount(ctx, newAccount("", "ADMIN@example.com", 1)); !errors.Is(err, store.ErrExists) {
			t.Errorf("CreateAccount(same email, other case) error = %v, want ErrExists", err)
		}
		// The failed creations left nothing behind.
		if _, err := s.AccountByEmail(ctx, "other@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("email of a rejected account is indexed: %v", err)
		}
	})
}

func TestUpdateAccountMovesIndexes(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		root := newAccount("", "root@example.com", 0)
		other := newAccount("", "other@example.com", 0)
		child := newAccount(root.Sid, "child@example.com", 1)
		for _, a := range []store.Account{root, other, child} {
			if err := s.CreateAccount(ctx, a); err != nil {
				t.Fatalf("CreateAccount: %v", err)
			}
		}

		taken := child
		taken.EmailAddress = "Other@example.com"
		if err := s.UpdateAccount(ctx, taken); !errors.Is(err, store.ErrExists) {
			t.Fatalf("UpdateAccount(taken email) error = %v, want ErrExists", err)
		}

		child.EmailAddress = "renamed@example.com"
		child.ParentSid = other.Sid
		child.Status = store.AccountSuspended
		if err := s.UpdateAccount(ctx, child); err != nil {
			t.Fatalf("UpdateAccount: %v", err)
		}
		if _, err := s.AccountByEmail(ctx, "child@example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("old email still found: %v", err)
		}
		got, err := s.AccountByEmail(ctx, "renamed@example.com")
		if err != nil || !reflect.DeepEqual(got, child) {
			t.Errorf("AccountByEmail(new) = %+v, %v; want %+v", got, err, child)
		}
		if kids, err := s.ChildAccounts(ctx, root.Sid); err != nil || len(kids) != 0 {
			t.Errorf("ChildAccounts(old parent) = %d, %v; want none", len(kids), err)
		}
		if kids, err := s.ChildAccounts(ctx, other.Sid); err != nil || len(kids) != 1 || kids[0].Sid != child.Sid {
			t.Errorf("ChildAccounts(new parent) = %v, %v; want [%s]", kids, err, child.Sid)
		}

		if err := s.UpdateAccount(ctx, newAccount("", "ghost@example.com", 0)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UpdateAccount(unknown) error = %v, want ErrNotFound", err)
		}
	})
}

func TestChildAccountsOldestFirst(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		root := newAccount("", "root@example.com", 0)
		if err := s.CreateAccount(ctx, root); err != nil {
			t.Fatal(err)
		}
		// Created out of order, and a grandchild that must not be listed.
		c3 := newAccount(root.Sid, "c3@example.com", 30)
		c1 := newAccount(root.Sid, "c1@example.com", 10)
		c2 := newAccount(root.Sid, "c2@example.com", 20)
		grandchild := newAccount(c1.Sid, "g@example.com", 5)
		for _, a := range []store.Account{c3, c1, c2, grandchild} {
			if err := s.CreateAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		kids, err := s.ChildAccounts(ctx, root.Sid)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, k := range kids {
			got = append(got, k.Sid)
		}
		want := []string{c1.Sid, c2.Sid, c3.Sid}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ChildAccounts = %v, want %v", got, want)
		}
		if kids, err := s.ChildAccounts(ctx, ""); err != nil || len(kids) != 0 {
			t.Errorf(`ChildAccounts("") = %v, %v; want none`, kids, err)
		}
	})
}
