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

func newRecording(acct, callSid string, duration float64, created time.Time) store.Recording {
	return store.Recording{
		Sid:         sid.New(sid.Recording),
		AccountSid:  acct,
		CallSid:     callSid,
		Duration:    duration,
		APIVersion:  "2012-04-24",
		DateCreated: created,
		DateUpdated: created,
	}
}

func recordingSids(list []store.Recording) []string {
	out := make([]string, len(list))
	for i, r := range list {
		out[i] = r.Sid
	}
	return out
}

func TestRecordingsAddGetDelete(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		acct := sid.New(sid.Account)
		r := newRecording(acct, sid.New(sid.Call), 14.70275, at(0))
		if err := s.AddRecording(ctx, r); err != nil {
			t.Fatalf("AddRecording: %v", err)
		}
		got, err := s.Recording(ctx, r.Sid)
		if err != nil || !reflect.DeepEqual(got, r) {
			t.Fatalf("Recording = %+v, %v; want %+v", got, err, r)
		}
		if err := s.AddRecording(ctx, r); !errors.Is(err, store.ErrExists) {
			t.Errorf("AddRecording(same sid) = %v, want ErrExists", err)
		}
		if _, err := s.Recording(ctx, sid.New(sid.Recording)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Recording(unknown) = %v, want ErrNotFound", err)
		}
		if err := s.AddRecording(ctx, store.Recording{Sid: sid.New(sid.Recording)}); err == nil {
			t.Error("AddRecording without an account sid succeeded")
		}
		if err := s.AddRecording(ctx, store.Recording{AccountSid: acct}); err == nil {
			t.Error("AddRecording without a sid succeeded")
		}

		keep := newRecording(acct, r.CallSid, 1, at(1))
		if err := s.AddRecording(ctx, keep); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteRecording(ctx, r.Sid); err != nil {
			t.Fatalf("DeleteRecording: %v", err)
		}
		if _, err := s.Recording(ctx, r.Sid); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Recording after delete = %v, want ErrNotFound", err)
		}
		if err := s.DeleteRecording(ctx, r.Sid); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second DeleteRecording = %v, want ErrNotFound", err)
		}
		// The index entry went with the record; the other recording stays.
		for _, f := range []store.RecordingFilter{{AccountSids: []string{acct}}, {}} {
			list, total, err := s.ListRecordings(ctx, f, store.RecordingSort{}, store.Page{Limit: 10})
			if err != nil || total != 1 || !slices.Equal(recordingSids(list), []string{keep.Sid}) {
				t.Errorf("ListRecordings(%+v) after delete = %v (total %d), %v; want only %s", f, recordingSids(list), total, err, keep.Sid)
			}
		}
		// A sid can be reused once deleted.
		if err := s.AddRecording(ctx, r); err != nil {
			t.Errorf("AddRecording after delete: %v", err)
		}
	})
}

func TestListRecordingsFilters(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		a, b, c := sid.New(sid.Account), sid.New(sid.Account), sid.New(sid.Account)
		callA, callB := "CA"+"aaaa0000000000000000000000000001", "CA"+"bbbb0000000000000000000000000002"
		a1 := newRecording(a, callA, 3.5, at(0))
		a2 := newRecording(a, callA, 1.25, at(20))
		a3 := newRecording(a, callB, 9, at(30))
		b1 := newRecording(b, callB, 2, at(40))
		c1 := newRecording(c, callA, 4, at(50))
		for _, r := range []store.Recording{a1, a2, a3, b1, c1} {
			if err := s.AddRecording(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		cases := []struct {
			name string
			f    store.RecordingFilter
			want []string
		}{
			{"one account, newest first", store.RecordingFilter{AccountSids: []string{a}}, []string{a3.Sid, a2.Sid, a1.Sid}},
			{"two accounts, duplicates ignored", store.RecordingFilter{AccountSids: []string{b, a, b, ""}}, []string{b1.Sid, a3.Sid, a2.Sid, a1.Sid}},
			{"every account", store.RecordingFilter{}, []string{c1.Sid, b1.Sid, a3.Sid, a2.Sid, a1.Sid}},
			{"call sid exact", store.RecordingFilter{AccountSids: []string{a}, CallSid: callA}, []string{a2.Sid, a1.Sid}},
			{"call sid is anchored", store.RecordingFilter{AccountSids: []string{a}, CallSid: "CAaaaa"}, nil},
			{"call sid LIKE prefix", store.RecordingFilter{AccountSids: []string{a, b}, CallSid: "CAbbbb%"}, []string{b1.Sid, a3.Sid}},
			{"call sid LIKE with '_'", store.RecordingFilter{AccountSids: []string{a}, CallSid: "CA_bbb%"}, []string{a3.Sid}},
			{"call sid is case-sensitive", store.RecordingFilter{AccountSids: []string{a}, CallSid: "CAAAAA%"}, nil},
			{"created on or after (inclusive)", store.RecordingFilter{AccountSids: []string{a}, CreatedOnOrAfter: at(20)}, []string{a3.Sid, a2.Sid}},
			{"created before (exclusive)", store.RecordingFilter{AccountSids: []string{a}, CreatedBefore: at(30)}, []string{a2.Sid, a1.Sid}},
			{"both bounds", store.RecordingFilter{AccountSids: []string{a, b, c}, CreatedOnOrAfter: at(1), CreatedBefore: at(41)}, []string{b1.Sid, a3.Sid, a2.Sid}},
			{"unknown account", store.RecordingFilter{AccountSids: []string{sid.New(sid.Account)}}, nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				list, total, err := s.ListRecordings(ctx, tc.f, store.RecordingSort{}, store.Page{Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				got := recordingSids(list)
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

func TestListRecordingsSortAndPage(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		acct := sid.New(sid.Account)
		r0 := newRecording(acct, "CA2", 5, at(0))
		r1 := newRecording(acct, "CA1", 2.5, at(1))
		r2 := newRecording(acct, "CA3", 5, at(2))
		r3 := newRecording(acct, "CA1", 0.75, at(3))
		for _, r := range []store.Recording{r0, r1, r2, r3} {
			if err := s.AddRecording(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		f := store.RecordingFilter{AccountSids: []string{acct}}
		cases := []struct {
			sort store.RecordingSort
			want []string
		}{
			{store.RecordingSort{}, []string{r3.Sid, r2.Sid, r1.Sid, r0.Sid}},
			{store.RecordingSort{Field: "DateCreated"}, []string{r0.Sid, r1.Sid, r2.Sid, r3.Sid}},
			{store.RecordingSort{Field: "DateCreated", Descending: true}, []string{r3.Sid, r2.Sid, r1.Sid, r0.Sid}},
			// Ties (5 s, CA1) fall back to newest first, whatever the direction.
			{store.RecordingSort{Field: "Duration"}, []string{r3.Sid, r1.Sid, r2.Sid, r0.Sid}},
			{store.RecordingSort{Field: "Duration", Descending: true}, []string{r2.Sid, r0.Sid, r1.Sid, r3.Sid}},
			{store.RecordingSort{Field: "callsid"}, []string{r3.Sid, r1.Sid, r0.Sid, r2.Sid}},
			{store.RecordingSort{Field: "CallSid", Descending: true}, []string{r2.Sid, r0.Sid, r3.Sid, r1.Sid}},
		}
		for _, tc := range cases {
			list, total, err := s.ListRecordings(ctx, f, tc.sort, store.Page{Limit: 10})
			if err != nil || total != 4 || !slices.Equal(recordingSids(list), tc.want) {
				t.Errorf("sort %+v = %v (total %d), %v; want %v", tc.sort, recordingSids(list), total, err, tc.want)
			}
		}
		if _, _, err := s.ListRecordings(ctx, f, store.RecordingSort{Field: "Price"}, store.Page{Limit: 10}); err == nil {
			t.Error("unknown sort field accepted")
		}

		var paged []string
		for off := 0; off < 4; off += 3 {
			page, total, err := s.ListRecordings(ctx, f, store.RecordingSort{}, store.Page{Offset: off, Limit: 3})
			if err != nil || total != 4 {
				t.Fatalf("page at %d: total %d, %v", off, total, err)
			}
			paged = append(paged, recordingSids(page)...)
		}
		if want := cases[0].want; !slices.Equal(paged, want) {
			t.Errorf("pages = %v, want %v", paged, want)
		}
		page, total, err := s.ListRecordings(ctx, f, store.RecordingSort{}, store.Page{Offset: 50, Limit: 3})
		if err != nil || total != 4 || len(page) != 0 {
			t.Errorf("page past the end = %d items, total %d, %v; want none, total 4", len(page), total, err)
		}
	})
}

func TestRecordingsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Dir: dir})
	acct := sid.New(sid.Account)
	r := newRecording(acct, sid.New(sid.Call), 2.5, at(0))
	if err := s.AddRecording(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recording(t.Context(), r.Sid); !errors.Is(err, ErrClosed) {
		t.Errorf("Recording after Close = %v, want ErrClosed", err)
	}
	s = openStore(t, Options{Dir: dir})
	got, err := s.Recording(t.Context(), r.Sid)
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("Recording after reopen = %+v, %v; want %+v", got, err, r)
	}
	list, total, err := s.ListRecordings(t.Context(), store.RecordingFilter{AccountSids: []string{acct}}, store.RecordingSort{}, store.Page{Limit: 10})
	if err != nil || total != 1 || !slices.Equal(recordingSids(list), []string{r.Sid}) {
		t.Fatalf("ListRecordings after reopen = %v (total %d), %v", recordingSids(list), total, err)
	}
}

func TestRecordingsCanceledContext(t *testing.T) {
	s := openStore(t, Options{InMemory: true})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.AddRecording(ctx, newRecording(sid.New(sid.Account), "CA1", 1, at(0))); !errors.Is(err, context.Canceled) {
		t.Errorf("AddRecording(canceled) = %v", err)
	}
	if _, _, err := s.ListRecordings(ctx, store.RecordingFilter{}, store.RecordingSort{}, store.Page{Limit: 1}); !errors.Is(err, context.Canceled) {
		t.Errorf("ListRecordings(canceled) = %v", err)
	}
	if err := s.DeleteRecording(ctx, sid.New(sid.Recording)); !errors.Is(err, context.Canceled) {
		t.Errorf("DeleteRecording(canceled) = %v", err)
	}
}
