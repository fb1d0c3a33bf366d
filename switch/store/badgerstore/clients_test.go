package badgerstore

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

func newClient(acct, login string, minute int) store.Client {
	return store.Client{
		Sid:                 sid.New(sid.Client),
		AccountSid:          acct,
		Login:               login,
		FriendlyName:        login,
		Status:              store.ClientEnabled,
		VoiceMethod:         "POST",
		VoiceFallbackMethod: "POST",
		APIVersion:          "2012-04-24",
		HA1MD5:              "00112233445566778899aabbccddeeff",
		DateCreated:         at(minute),
		DateUpdated:         at(minute),
	}
}

func TestClientsCRUD(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		acct, other := sid.New(sid.Account), sid.New(sid.Account)
		bob := newClient(acct, "bob", 20)
		alice := newClient(acct, "alice", 10)
		carol := newClient(other, "carol", 0)
		for _, c := range []store.Client{bob, alice, carol} {
			if err := s.CreateClient(ctx, c); err != nil {
				t.Fatalf("CreateClient(%s): %v", c.Login, err)
			}
		}
		// Logins are unique across accounts, and case-sensitive.
		if err := s.CreateClient(ctx, newClient(other, "alice", 30)); !errors.Is(err, store.ErrExists) {
			t.Errorf("CreateClient(duplicate login) error = %v, want ErrExists", err)
		}
		if err := s.CreateClient(ctx, newClient(other, "Alice", 30)); err != nil {
			t.Errorf("CreateClient(Alice) = %v; logins differing in case are different users", err)
		}
		got, err := s.Client(ctx, alice.Sid)
		if err != nil || !reflect.DeepEqual(got, alice) {
			t.Errorf("Client = %+v, %v; want %+v", got, err, alice)
		}
		got, err = s.ClientByLogin(ctx, "alice")
		if err != nil || got.Sid != alice.Sid {
			t.Errorf("ClientByLogin(alice) = %s, %v; want %s", got.Sid, err, alice.Sid)
		}
		if _, err := s.ClientByLogin(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ClientByLogin(nobody) error = %v, want ErrNotFound", err)
		}

		list, err := s.Clients(ctx, acct)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].Sid != alice.Sid || list[1].Sid != bob.Sid {
			t.Errorf("Clients = %+v, want [alice bob]", list)
		}

		alice.HA1MD5 = "ffeeddccbbaa99887766554433221100"
		alice.Status = store.ClientDisabled
		if err := s.UpdateClient(ctx, alice); err != nil {
			t.Fatalf("UpdateClient: %v", err)
		}
		if got, _ := s.ClientByLogin(ctx, "alice"); got.HA1MD5 != alice.HA1MD5 || got.Status != store.ClientDisabled {
			t.Errorf("after update = %+v", got)
		}
		taken := alice
		taken.Login = "bob"
		if err := s.UpdateClient(ctx, taken); !errors.Is(err, store.ErrExists) {
			t.Errorf("UpdateClient(taken login) error = %v, want ErrExists", err)
		}
		if err := s.UpdateClient(ctx, newClient(acct, "ghost", 0)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UpdateClient(unknown) error = %v, want ErrNotFound", err)
		}

		if err := s.DeleteClient(ctx, alice.Sid); err != nil {
			t.Fatalf("DeleteClient: %v", err)
		}
		if _, err := s.Client(ctx, alice.Sid); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Client after delete error = %v", err)
		}
		if err := s.DeleteClient(ctx, alice.Sid); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second DeleteClient error = %v, want ErrNotFound", err)
		}
		// The login is free again.
		if err := s.CreateClient(ctx, newClient(other, "alice", 40)); err != nil {
			t.Errorf("re-create alice after delete: %v", err)
		}
		if list, _ := s.Clients(ctx, acct); len(list) != 1 || list[0].Sid != bob.Sid {
			t.Errorf("Clients after delete = %+v, want [bob]", list)
		}
	})
}

func newRegistration(login, contact string, expires time.Time) store.Registration {
	return store.Registration{
		Login: login, Contact: contact, Source: "127.0.0.1:5090", Transport: "UDP",
		Expires: expires, UserAgent: "test", CallID: "cid-" + contact, CSeq: 1,
		DateUpdated: time.Now().UTC(),
	}
}

func TestRegistrations(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		later := time.Now().Add(time.Hour).UTC()
		r1 := newRegistration("alice", "sip:alice@127.0.0.1:5090", later)
		r2 := newRegistration("alice", "sip:alice@127.0.0.1:5091;transport=tcp", later)
		r2.DateUpdated = r1.DateUpdated.Add(time.Second)
		// A login that is a prefix of another must not see its bindings.
		other := newRegistration("alice/x", "sip:x@127.0.0.1:5092", later)
		for _, r := range []store.Registration{r1, r2, other} {
			if err := s.PutRegistration(ctx, r); err != nil {
				t.Fatalf("PutRegistration: %v", err)
			}
		}
		regs, err := s.Registrations(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if len(regs) != 2 || !reflect.DeepEqual(regs[0], r2) || !reflect.DeepEqual(regs[1], r1) {
			t.Fatalf("Registrations = %+v, want [r2 r1] (newest refresh first)", regs)
		}

		// Refreshing a contact replaces its binding rather than adding one.
		r1.CSeq = 2
		r1.DateUpdated = r2.DateUpdated.Add(time.Second)
		if err := s.PutRegistration(ctx, r1); err != nil {
			t.Fatal(err)
		}
		regs, _ = s.Registrations(ctx, "alice")
		if len(regs) != 2 || regs[0].Contact != r1.Contact || regs[0].CSeq != 2 {
			t.Fatalf("after refresh = %+v", regs)
		}

		// Already expired: Put deletes; and an expired binding is not listed.
		if err := s.PutRegistration(ctx, newRegistration("alice", r2.Contact, time.Now().Add(-time.Second))); err != nil {
			t.Fatal(err)
		}
		if regs, _ := s.Registrations(ctx, "alice"); len(regs) != 1 || regs[0].Contact != r1.Contact {
			t.Fatalf("after expiring r2 = %+v", regs)
		}

		if err := s.DeleteRegistration(ctx, "alice", r1.Contact); err != nil {
			t.Fatalf("DeleteRegistration: %v", err)
		}
		if err := s.DeleteRegistration(ctx, "alice", r1.Contact); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second DeleteRegistration error = %v, want ErrNotFound", err)
		}
		if regs, _ := s.Registrations(ctx, "alice"); len(regs) != 0 {
			t.Errorf("after delete = %+v", regs)
		}
		if regs, _ := s.Registrations(ctx, "alice/x"); len(regs) != 1 {
			t.Errorf("alice/x = %+v, want its one binding", regs)
		}
	})
}

// TestRegistrationExpires proves a binding disappears once its time is up,
// with nothing deleting it.
func TestRegistrationExpires(t *testing.T) {
	s := openStore(t, Options{InMemory: true})
	ctx := t.Context()
	r := newRegistration("bob", "sip:bob@127.0.0.1:5090", time.Now().Add(300*time.Millisecond))
	if err := s.PutRegistration(ctx, r); err != nil {
		t.Fatal(err)
	}
	if regs, _ := s.Registrations(ctx, "bob"); len(regs) != 1 {
		t.Fatalf("fresh binding not listed: %+v", regs)
	}
	time.Sleep(400 * time.Millisecond)
	if regs, _ := s.Registrations(ctx, "bob"); len(regs) != 0 {
		t.Fatalf("expired binding still listed: %+v", regs)
	}
}

func TestDeleteClientDropsRegistrations(t *testing.T) {
	s := openStore(t, Options{InMemory: true})
	ctx := t.Context()
	c := newClient(sid.New(sid.Account), "dave", 0)
	if err := s.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRegistration(ctx, newRegistration("dave", "sip:dave@127.0.0.1:5090", time.Now().Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteClient(ctx, c.Sid); err != nil {
		t.Fatal(err)
	}
	if regs, _ := s.Registrations(ctx, "dave"); len(regs) != 0 {
		t.Fatalf("registrations outlived their client: %+v", regs)
	}
}
