package badgerstore

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

func newConference(acct, name, status string, created time.Time) store.Conference {
	return store.Conference{
		Sid:          sid.New(sid.Conference),
		AccountSid:   acct,
		FriendlyName: name,
		Status:       status,
		APIVersion:   "2012-04-24",
		DateCreated:  created,
		DateUpdated:  created,
	}
}

func conferenceSids(list []store.Conference) []string {
	out := make([]string, len(list))
	for i, c := range list {
		out[i] = c.Sid
	}
	return out
}

func TestPutConference(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		acct := sid.New(sid.Account)
		c := newConference(acct, "room", store.ConferenceInitializing, at(0))
		if err := s.PutConference(ctx, c); err != nil {
			t.Fatalf("PutConference: %v", err)
		}
		got, err := s.Conference(ctx, c.Sid)
		if err != nil || !reflect.DeepEqual(got, c) {
			t.Fatalf("Conference = %+v, %v; want %+v", got, err, c)
		}
		if _, err := s.Conference(ctx, sid.New(sid.Conference)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Conference(unknown) error = %v, want ErrNotFound", err)
		}

		c.Status = store.ConferenceCompleted
		c.DateUpdated = at(5)
		if err := s.PutConference(ctx, c); err != nil {
			t.Fatal(err)
		}
		got, _ = s.Conference(ctx, c.Sid)
		if got.Status != store.ConferenceCompleted || !got.DateUpdated.Equal(at(5)) {
			t.Errorf("after update: %+v", got)
		}
		// Updates did not duplicate the account index entry.
		list, total, err := s.ListConferences(ctx, store.ConferenceFilter{AccountSids: []string{acct}}, store.Page{Limit: 10})
		if err != nil || total != 1 || len(list) != 1 || list[0].Status != store.ConferenceCompleted {
			t.Errorf("ListConferences after update = %+v, total %d, %v; want the one updated record", list, total, err)
		}

		// A record moved to another account (or re-dated) leaves the old index.
		other := sid.New(sid.Account)
		c.AccountSid = other
		c.DateCreated = at(1)
		if err := s.PutConference(ctx, c); err != nil {
			t.Fatal(err)
		}
		if _, total, _ := s.ListConferences(ctx, store.ConferenceFilter{AccountSids: []string{acct}}, store.Page{Limit: 10}); total != 0 {
			t.Errorf("old account still lists the conference (total %d)", total)
		}
		if _, total, _ := s.ListConferences(ctx, store.ConferenceFilter{AccountSids: []string{other}}, store.Page{Limit: 10}); total != 1 {
			t.Errorf("new account lists %d conferences, want 1", total)
		}

		if err := s.PutConference(ctx, store.Conference{Sid: sid.New(sid.Conference)}); err == nil {
			t.Error("PutConference without an account sid succeeded")
		}
		if err := s.PutConference(ctx, store.Conference{AccountSid: acct}); err == nil {
			t.Error("PutConference without a sid succeeded")
		}
	})
}

func TestListConferencesFilters(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		a, b, c := sid.New(sid.Account), sid.New(sid.Account), sid.New(sid.Account)
		a1 := newConference(a, "sales", store.ConferenceCompleted, at(0))
		a1.DateUpdated = at(10)
		a2 := newConference(a, "sales", store.ConferenceModeratorPresent, at(20))
		a2.DateUpdated = at(25)
		a3 := newConference(a, "support_1", store.ConferenceModeratorAbsent, at(30))
		a3.DateUpdated = at(30)
		b1 := newConference(b, "Sales", store.ConferenceInitializing, at(40))
		c1 := newConference(c, "sales", store.ConferenceInitializing, at(50))
		for _, cf := range []store.Conference{a1, a2, a3, b1, c1} {
			if err := s.PutConference(ctx, cf); err != nil {
				t.Fatal(err)
			}
		}
		all := store.Page{Limit: 100}
		cases := []struct {
			name string
			f    store.ConferenceFilter
			want []string
		}{
			{"one account, newest first", store.ConferenceFilter{AccountSids: []string{a}}, []string{a3.Sid, a2.Sid, a1.Sid}},
			{"two accounts, duplicates ignored", store.ConferenceFilter{AccountSids: []string{b, a, b, ""}}, []string{b1.Sid, a3.Sid, a2.Sid, a1.Sid}},
			{"every account", store.ConferenceFilter{}, []string{c1.Sid, b1.Sid, a3.Sid, a2.Sid, a1.Sid}},
			{"status exact", store.ConferenceFilter{AccountSids: []string{a}, Status: store.ConferenceCompleted}, []string{a1.Sid}},
			{"status LIKE prefix", store.ConferenceFilter{AccountSids: []string{a}, Status: "RUNNING%"}, []string{a3.Sid, a2.Sid}},
			{"status is case-sensitive", store.ConferenceFilter{AccountSids: []string{a}, Status: "completed"}, nil},
			{"status is anchored", store.ConferenceFilter{AccountSids: []string{a}, Status: "RUNNING"}, nil},
			{"name exact, case-sensitive", store.ConferenceFilter{AccountSids: []string{a, b}, FriendlyName: "sales"}, []string{a2.Sid, a1.Sid}},
			{"name with '_' and '%'", store.ConferenceFilter{AccountSids: []string{a}, FriendlyName: "sup_ort%"}, []string{a3.Sid}},
			{"created on or after (inclusive)", store.ConferenceFilter{AccountSids: []string{a}, CreatedOnOrAfter: at(20)}, []string{a3.Sid, a2.Sid}},
			{"updated before (exclusive)", store.ConferenceFilter{AccountSids: []string{a}, UpdatedBefore: at(25)}, []string{a1.Sid}},
			{"updated before, boundary excluded", store.ConferenceFilter{AccountSids: []string{a}, UpdatedBefore: at(10)}, nil},
			{"all filters combined", store.ConferenceFilter{AccountSids: []string{a, b}, Status: "RUNNING%", FriendlyName: "%ales", CreatedOnOrAfter: at(1), UpdatedBefore: at(45)}, []string{b1.Sid, a2.Sid}},
			{"unknown account", store.ConferenceFilter{AccountSids: []string{sid.New(sid.Account)}}, nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				list, total, err := s.ListConferences(ctx, tc.f, all)
				if err != nil {
					t.Fatal(err)
				}
				got := conferenceSids(list)
				if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
					t.Errorf("got %v, want %v", got, tc.want)
				}
				if total != len(tc.want) {
					t.Errorf("total = %d, want %d", total, len(tc.want))
				}
			})
		}
	})
}

func TestListConferencesPaging(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		acct := sid.New(sid.Account)
		var want []string // newest first
		for i := range 7 {
			cf := newConference(acct, "room", store.ConferenceCompleted, at(i))
			if err := s.PutConference(ctx, cf); err != nil {
				t.Fatal(err)
			}
			want = append([]string{cf.Sid}, want...)
		}
		// Two records created at the same instant still page in a stable order.
		same := newConference(acct, "room", store.ConferenceCompleted, at(3))
		if err := s.PutConference(ctx, same); err != nil {
			t.Fatal(err)
		}
		full, total, err := s.ListConferences(ctx, store.ConferenceFilter{AccountSids: []string{acct}}, store.Page{Limit: 100})
		if err != nil || total != 8 || len(full) != 8 {
			t.Fatalf("full list: %d items, total %d, %v", len(full), total, err)
		}
		if !slices.Contains(conferenceSids(full), same.Sid) {
			t.Fatal("tied record missing")
		}
		withoutTie := slices.DeleteFunc(conferenceSids(full), func(s string) bool { return s == same.Sid })
		if !slices.Equal(withoutTie, want) {
			t.Errorf("order = %v, want %v (plus the tie)", withoutTie, want)
		}
		var paged []string
		for off := 0; off < 8; off += 3 {
			page, total, err := s.ListConferences(ctx, store.ConferenceFilter{AccountSids: []string{acct}}, store.Page{Offset: off, Limit: 3})
			if err != nil || total != 8 {
				t.Fatalf("page at %d: total %d, %v", off, total, err)
			}
			paged = append(paged, conferenceSids(page)...)
		}
		if !slices.Equal(paged, conferenceSids(full)) {
			t.Errorf("pages = %v, want %v", paged, conferenceSids(full))
		}
		page, total, err := s.ListConferences(ctx, store.ConferenceFilter{AccountSids: []string{acct}}, store.Page{Offset: 50, Limit: 3})
		if err != nil || total != 8 || len(page) != 0 {
			t.Errorf("page past the end = %d items, total %d, %v; want none, total 8", len(page), total, err)
		}
		page, total, err = s.ListConferences(ctx, store.ConferenceFilter{AccountSids: []string{acct}}, store.Page{})
		if err != nil || total != 8 || len(page) != 0 {
			t.Errorf("zero limit = %d items, total %d, %v; want the total alone", len(page), total, err)
		}
	})
}

func TestConferencesSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Dir: dir})
	acct := sid.New(sid.Account)
	old := newConference(acct, "room", store.ConferenceCompleted, at(0))
	cur := newConference(acct, "room", store.ConferenceModeratorAbsent, at(1))
	for _, cf := range []store.Conference{old, cur} {
		if err := s.PutConference(t.Context(), cf); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Conference(t.Context(), cur.Sid); !errors.Is(err, ErrClosed) {
		t.Errorf("Conference after Close = %v, want ErrClosed", err)
	}
	s = openStore(t, Options{Dir: dir})
	got, err := s.Conference(t.Context(), cur.Sid)
	if err != nil || !reflect.DeepEqual(got, cur) {
		t.Fatalf("Conference after reopen = %+v, %v; want %+v", got, err, cur)
	}
	list, total, err := s.ListConferences(t.Context(), store.ConferenceFilter{AccountSids: []string{acct}}, store.Page{Limit: 10})
	if err != nil || total != 2 || !slices.Equal(conferenceSids(list), []string{cur.Sid, old.Sid}) {
		t.Fatalf("ListConferences after reopen = %v (total %d), %v", conferenceSids(list), total, err)
	}
}

func TestConferencesCanceledContext(t *testing.T) {
	s := openStore(t, Options{InMemory: true})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.PutConference(ctx, newConference(sid.New(sid.Account), "r", store.ConferenceInitializing, at(0))); !errors.Is(err, context.Canceled) {
		t.Errorf("PutConference(canceled) = %v", err)
	}
	if _, _, err := s.ListConferences(ctx, store.ConferenceFilter{}, store.Page{Limit: 1}); !errors.Is(err, context.Canceled) {
		t.Errorf("ListConferences(canceled) = %v", err)
	}
}
