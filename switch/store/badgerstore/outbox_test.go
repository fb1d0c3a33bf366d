package badgerstore

import (
	"errors"
	"net/url"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

func newItem(callSid string, next time.Time) store.OutboxItem {
	return store.OutboxItem{
		AccountSid:  sid.New(sid.Account),
		CallSid:     callSid,
		URL:         "http://127.0.0.1:8090/status",
		Method:      "POST",
		Params:      url.Values{"CallSid": {callSid}, "CallStatus": {"completed"}},
		NextAttempt: next,
		CreatedAt:   next,
	}
}

func idsOf(items []store.OutboxItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}

// dueIDs returns the ids Due reports at now, failing the test on error.
func dueIDs(t *testing.T, s *Store, now time.Time, limit int) []string {
	t.Helper()
	items, err := s.Due(t.Context(), now, limit)
	if err != nil {
		t.Fatalf("Due: %v", err)
	}
	return idsOf(items)
}

func TestOutbox(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		// Enqueued in this order; the second is due earliest but the first
		// enqueued comes first.
		nexts := []time.Time{at(2), at(1), at(3), at(10)}
		var ids []string
		for _, next := range nexts {
			if err := s.Enqueue(ctx, newItem(sid.New(sid.Call), next)); err != nil {
				t.Fatalf("Enqueue: %v", err)
			}
		}
		all, err := s.Due(ctx, at(100), 100)
		if err != nil {
			t.Fatal(err)
		}
		ids = idsOf(all)
		if len(ids) != 4 || !slices.IsSorted(ids) {
			t.Fatalf("generated ids %v are not 4 increasing ids", ids)
		}
		for i, it := range all {
			if !it.NextAttempt.Equal(nexts[i]) {
				t.Errorf("item %d: NextAttempt %v, want %v (enqueue order)", i, it.NextAttempt, nexts[i])
			}
		}

		if got := dueIDs(t, s, at(2), 10); !slices.Equal(got, ids[:2]) {
			t.Errorf("Due(at 2) = %v, want %v", got, ids[:2])
		}
		if got := dueIDs(t, s, at(3), 2); !slices.Equal(got, ids[:2]) {
			t.Errorf("Due(at 3, limit 2) = %v, want %v", got, ids[:2])
		}
		if got := dueIDs(t, s, at(0), 10); len(got) != 0 {
			t.Errorf("Due before anything = %v, want none", got)
		}
		if got := dueIDs(t, s, at(100), 0); len(got) != 0 {
			t.Errorf("Due(limit 0) = %v, want none", got)
		}

		// A failed attempt moves the first item past the others.
		first := all[0]
		first.Attempts = 1
		first.LastError = "503 Service Unavailable"
		first.NextAttempt = at(5)
		if err := s.Reschedule(ctx, first); err != nil {
			t.Fatalf("Reschedule: %v", err)
		}
		if got := dueIDs(t, s, at(3), 10); !slices.Equal(got, ids[1:3]) {
			t.Errorf("Due(at 3) after reschedule = %v, want %v", got, ids[1:3])
		}
		due, err := s.Due(ctx, at(5), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(due) != 3 || !reflect.DeepEqual(due[0], first) {
			t.Errorf("Due(at 5)[0] = %+v, want the rescheduled %+v", due, first)
		}

		if err := s.Done(ctx, ids[1]); err != nil {
			t.Fatalf("Done: %v", err)
		}
		if got := dueIDs(t, s, at(100), 10); !slices.Equal(got, []string{ids[0], ids[2], ids[3]}) {
			t.Errorf("Due after Done = %v", got)
		}
		if err := s.Done(ctx, ids[1]); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Done twice error = %v, want ErrNotFound", err)
		}
		gone := all[1]
		if err := s.Reschedule(ctx, gone); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Reschedule(done item) error = %v, want ErrNotFound", err)
		}

		// A caller-chosen id is kept, and must be unique.
		own := newItem(sid.New(sid.Call), at(0))
		own.ID = "custom-1"
		if err := s.Enqueue(ctx, own); err != nil {
			t.Fatal(err)
		}
		if err := s.Enqueue(ctx, own); !errors.Is(err, store.ErrExists) {
			t.Errorf("Enqueue(same id) error = %v, want ErrExists", err)
		}
		if got := dueIDs(t, s, at(0), 10); !slices.Equal(got, []string{"custom-1"}) {
			t.Errorf("Due(at 0) = %v, want [custom-1]", got)
		}
	})
}

func TestOutboxIDsIncreaseWhenClockIsEqual(t *testing.T) {
	s := openStore(t, Options{InMemory: true})
	// Far in the future, as if the clock had stepped back since.
	s.lastOutboxNanos.Store(time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	a, b := s.nextOutboxID(), s.nextOutboxID()
	if !(a < b) || len(a) != len(b) {
		t.Errorf("ids %q then %q are not increasing", a, b)
	}
}
