package badgerstore

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

func TestPutCallAndLiveIndex(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		acct := sid.New(sid.Account)
		c := newCall(acct, at(0), store.StatusRinging)
		c.StatusCallbackEvents = []string{"initiated", "completed"}
		if err := s.PutCall(ctx, c); err != nil {
			t.Fatalf("PutCall: %v", err)
		}
		got, err := s.Call(ctx, c.Sid)
		if err != nil || !reflect.DeepEqual(got, c) {
			t.Fatalf("Call = %+v, %v; want %+v", got, err, c)
		}
		if _, err := s.Call(ctx, sid.New(sid.Call)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Call(unknown) error = %v, want ErrNotFound", err)
		}
		assertLive(t, s, c.Sid)

		c.Status = store.StatusInProgress
		c.AnswerTime = at(1)
		if err := s.PutCall(ctx, c); err != nil {
			t.Fatal(err)
		}
		assertLive(t, s, c.Sid)

		c.Status = store.StatusCompleted
		c.EndTime = at(3)
		c.Duration = 120
		if err := s.PutCall(ctx, c); err != nil {
			t.Fatal(err)
		}
		assertLive(t, s)
		got, _ = s.Call(ctx, c.Sid)
		if got.Status != store.StatusCompleted || got.Duration != 120 {
			t.Errorf("after completion: status %q duration %d", got.Status, got.Duration)
		}
		// Updates did not duplicate the account index entry.
		if list, total, err := s.ListCalls(ctx, store.CallFilter{AccountSids: []string{acct}}, store.CallSort{}, store.Page{Limit: 10}); err != nil || total != 1 || len(list) != 1 {
			t.Errorf("ListCalls after updates = %d items, total %d, %v; want 1", len(list), total, err)
		}

		// A record moved to another account leaves the old account's list.
		other := sid.New(sid.Account)
		c.AccountSid = other
		if err := s.PutCall(ctx, c); err != nil {
			t.Fatal(err)
		}
		if _, total, _ := s.ListCalls(ctx, store.CallFilter{AccountSids: []string{acct}}, store.CallSort{}, store.Page{Limit: 10}); total != 0 {
			t.Errorf("old account still lists the call (total %d)", total)
		}
		if _, total, _ := s.ListCalls(ctx, store.CallFilter{AccountSids: []string{other}}, store.CallSort{}, store.Page{Limit: 10}); total != 1 {
			t.Errorf("new account lists %d calls, want 1", total)
		}

		if err := s.PutCall(ctx, store.Call{Sid: sid.New(sid.Call)}); err == nil {
			t.Error("PutCall without an account sid succeeded")
		}
	})
}

func assertLive(t *testing.T, s *Store, want ...string) {
	t.Helper()
	live, err := s.LiveCalls(t.Context())
	if err != nil {
		t.Fatalf("LiveCalls: %v", err)
	}
	got := sidsOf(live)
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if len(got) != len(want) || !slices.Equal(got, want) {
		t.Errorf("LiveCalls = %v, want %v", got, want)
	}
}

// callFixture stores calls of two accounts (and a third that is never asked
// for) and returns them by name.
func callFixture(t *testing.T, s *Store) (acct1, acct2 string, calls map[string]store.Call) {
	t.Helper()
	acct1, acct2 = sid.New(sid.Account), sid.New(sid.Account)
	stranger := sid.New(sid.Account)
	calls = map[string]store.Call{}
	add := func(name, acct string, minute int, mod func(c *store.Call)) {
		c := newCall(acct, at(minute), store.StatusCompleted)
		c.StartTime = at(minute)
		c.EndTime = at(minute).Add(time.Minute)
		mod(&c)
		if err := s.PutCall(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		calls[name] = c
	}
	add("a", acct1, 1, func(c *store.Call) {
		c.To, c.From, c.Duration, c.Price, c.Direction = "+15126001000", "bob", 30, "0.10", store.DirectionOutboundAPI
	})
	add("b", acct1, 2, func(c *store.Call) {
		c.To, c.From, c.Duration, c.Price = "15126002000", "alice", 30, "2.5"
	})
	add("c", acct1, 3, func(c *store.Call) {
		c.To, c.From, c.Duration, c.Price, c.Status = "alice", "+15126001000", -1, "", store.StatusInProgress
		c.EndTime = time.Time{}
	})
	add("d", acct2, 4, func(c *store.Call) {
		c.To, c.From, c.Duration, c.Price, c.Status = "1234", "carol", 5, "10.00", store.StatusNoAnswer
		c.ParentCallSid = calls["a"].Sid
		c.Direction = store.DirectionOutboundDial
	})
	add("e", acct2, 5, func(c *store.Call) {
		c.To, c.From, c.Duration, c.Price, c.Status = "1234", "dave", 30, "0.10", store.StatusCompleted
		c.ConferenceSid = "CF00000000000000000000000000000001"
	})
	add("f", acct1, 6, func(c *store.Call) {
		c.To, c.From, c.Duration, c.Price, c.Status = "+15126001000", "bob", 0, "0.00", store.StatusQueued
		c.StartTime, c.EndTime = time.Time{}, time.Time{}
	})
	add("x", stranger, 7, func(c *store.Call) { c.To = "1234" })
	return acct1, acct2, calls
}

func TestListCallsFilters(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		acct1, acct2, calls := callFixture(t, s)
		both := []string{acct1, acct2}
		names := func(list []store.Call) []string {
			byName := map[string]string{}
			for name, c := range calls {
				byName[c.Sid] = name
			}
			var out []string
			for _, c := range list {
				out = append(out, byName[c.Sid])
			}
			return out
		}
		for _, tc := range []struct {
			name string
			f    store.CallFilter
			want []string // default order: newest first
		}{
			{"one account", store.CallFilter{AccountSids: []string{acct2}}, []string{"e", "d"}},
			{"two accounts", store.CallFilter{AccountSids: both}, []string{"f", "e", "d", "c", "b", "a"}},
			{"duplicate account", store.CallFilter{AccountSids: []string{acct2, acct2}}, []string{"e", "d"}},
			{"to suffix", store.CallFilter{AccountSids: both, To: "1000"}, []string{"f", "a"}},
			{"to is not a prefix match", store.CallFilter{AccountSids: both, To: "1512"}, nil},
			{"to with %", store.CallFilter{AccountSids: both, To: "1512600%"}, []string{"f", "b", "a"}},
			{"to with _", store.CallFilter{AccountSids: both, To: "12_4"}, []string{"e", "d"}},
			{"to exact string", store.CallFilter{AccountSids: both, To: "alice"}, []string{"c"}},
			{"from suffix", store.CallFilter{AccountSids: both, From: "ob"}, []string{"f", "a"}},
			{"from case-sensitive", store.CallFilter{AccountSids: both, From: "BOB"}, nil},
			{"status exact", store.CallFilter{AccountSids: both, Status: "completed"}, []string{"e", "b", "a"}},
			{"status is not a suffix match", store.CallFilter{AccountSids: both, Status: "pleted"}, nil},
			{"status with %", store.CallFilter{AccountSids: both, Status: "%n%"}, []string{"d", "c"}},
			{"started on or after", store.CallFilter{AccountSids: both, StartedOnOrAfter: at(3)}, []string{"e", "d", "c"}},
			{"ended before (exclusive)", store.CallFilter{AccountSids: both, EndedBefore: at(4).Add(time.Minute)}, []string{"b", "a"}},
			{"parent", store.CallFilter{AccountSids: both, ParentCallSid: calls["a"].Sid}, []string{"d"}},
			{"conference", store.CallFilter{AccountSids: both, ConferenceSid: "CF00000000000000000000000000000001"}, []string{"e"}},
			{"no account: every call", store.CallFilter{To: "1234"}, []string{"x", "e", "d"}},
		} {
			list, total, err := s.ListCalls(t.Context(), tc.f, store.CallSort{}, store.Page{Limit: 100})
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				continue
			}
			if got := names(list); !slices.Equal(got, tc.want) || total != len(tc.want) {
				t.Errorf("%s: got %v (total %d), want %v", tc.name, got, total, tc.want)
			}
		}
	})
}

func TestListCallsSortAndPage(t *testing.T) {
	s := openStore(t, Options{InMemory: true})
	acct1, acct2, calls := callFixture(t, s)
	f := store.CallFilter{AccountSids: []string{acct1, acct2}}
	byName := map[string]string{}
	for name, c := range calls {
		byName[c.Sid] = name
	}
	for _, tc := range []struct {
		sort store.CallSort
		want []string
	}{
		{store.CallSort{}, []string{"f", "e", "d", "c", "b", "a"}},
		{store.CallSort{Field: "DateCreated"}, []string{"a", "b", "c", "d", "e", "f"}},
		{store.CallSort{Field: "DateCreated", Descending: true}, []string{"f", "e", "d", "c", "b", "a"}},
		// Ties broken by date_created DESC.
		{store.CallSort{Field: "Duration"}, []string{"c", "f", "d", "e", "b", "a"}},
		{store.CallSort{Field: "Duration", Descending: true}, []string{"e", "b", "a", "d", "f", "c"}},
		{store.CallSort{Field: "From"}, []string{"c", "b", "f", "a", "d", "e"}},
		{store.CallSort{Field: "To"}, []string{"f", "a", "e", "d", "b", "c"}},
		{store.CallSort{Field: "Status"}, []string{"e", "b", "a", "c", "d", "f"}},
		{store.CallSort{Field: "Direction", Descending: true}, []string{"d", "a", "f", "e", "c", "b"}},
		// Numeric, not lexical ("10.00" > "2.5"); a missing price sorts first.
		{store.CallSort{Field: "Price"}, []string{"c", "f", "e", "a", "b", "d"}},
	} {
		list, total, err := s.ListCalls(t.Context(), f, tc.sort, store.Page{Limit: 100})
		if err != nil {
			t.Fatalf("%+v: %v", tc.sort, err)
		}
		var got []string
		for _, c := range list {
			got = append(got, byName[c.Sid])
		}
		if !slices.Equal(got, tc.want) || total != 6 {
			t.Errorf("sort %+v: got %v (total %d), want %v", tc.sort, got, total, tc.want)
		}
	}
	if _, _, err := s.ListCalls(t.Context(), f, store.CallSort{Field: "Bogus"}, store.Page{Limit: 1}); err == nil {
		t.Error("unknown sort field accepted")
	}

	for _, tc := range []struct {
		page store.Page
		want []string
	}{
		{store.Page{Offset: 0, Limit: 4}, []string{"f", "e", "d", "c"}},
		{store.Page{Offset: 4, Limit: 4}, []string{"b", "a"}},
		{store.Page{Offset: 6, Limit: 4}, nil},
		{store.Page{Offset: 2, Limit: 0}, nil},
		{store.Page{Offset: -3, Limit: 1}, []string{"f"}},
	} {
		list, total, err := s.ListCalls(t.Context(), f, store.CallSort{}, tc.page)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range list {
			got = append(got, byName[c.Sid])
		}
		if !slices.Equal(got, tc.want) || total != 6 {
			t.Errorf("page %+v: got %v (total %d), want %v, total 6", tc.page, got, total, tc.want)
		}
	}
}

func TestLikePattern(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"%", "", true},
		{"%", "anything", true},
		{"abc", "abc", true},
		{"abc", "abcd", false},
		{"a_c", "abc", true},
		{"a_c", "ac", false},
		{"%1000", "+15126001000", true},
		{"%1000", "+15126001000x", false},
		{"%1512600%", "+15126001000", true},
		{"a%b%c", "aXbYbZc", true},
		{"a%b%c", "aXcYb", false},
		{"%aab", "aaaab", true},
		{"_%_", "ab", true},
		{"_%_", "a", false},
		{"é_", "éü", true}, // '_' is one character, not one byte
	} {
		if got := compileLike(tc.pattern).match(tc.s); got != tc.want {
			t.Errorf("LIKE %q on %q = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

// TestListCallsReadsOnlyTheAccounts proves ListCalls never decodes another
// account's records: one of those is made undecodable, and listing the
// fixture accounts still works while listing everything fails.
func TestListCallsReadsOnlyTheAccounts(t *testing.T) {
	s := openStore(t, Options{InMemory: true})
	acct1, acct2, calls := callFixture(t, s)
	err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set([]byte(callKey(calls["x"].Sid)), []byte("{not json"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, total, err := s.ListCalls(t.Context(), store.CallFilter{AccountSids: []string{acct1, acct2}}, store.CallSort{}, store.Page{Limit: 10}); err != nil || total != 6 {
		t.Errorf("ListCalls(fixture accounts) = total %d, %v; want 6, nil", total, err)
	}
	if _, _, err := s.ListCalls(t.Context(), store.CallFilter{}, store.CallSort{}, store.Page{Limit: 10}); err == nil {
		t.Error("ListCalls(every account) decoded a corrupt record without error")
	}
}
