package badgerstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

func TestDataSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	root := newAccount("", "root@example.com", 0)
	child := newAccount(root.Sid, "child@example.com", 1)
	number := newNumber(child.Sid, "+15125550100", 2)
	pattern := newNumber(child.Sid, "^8.*", 3)
	live := newCall(child.Sid, at(4), store.StatusInProgress)
	ended := newCall(child.Sid, at(5), store.StatusCompleted)
	note := store.Notification{Sid: sid.New(sid.Notification), AccountSid: child.Sid, ErrorCode: 11005, DateCreated: at(6)}
	for _, err := range []error{
		s.CreateAccount(ctx, root),
		s.CreateAccount(ctx, child),
		s.CreatePhoneNumber(ctx, number),
		s.CreatePhoneNumber(ctx, pattern),
		s.PutCall(ctx, live),
		s.PutCall(ctx, ended),
		s.AddNotification(ctx, note),
		s.Enqueue(ctx, newItem(live.Sid, at(7))),
		s.Enqueue(ctx, newItem(ended.Sid, at(8))),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	before, err := s.Due(ctx, at(100), 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openStore(t, Options{Dir: dir})
	if a, err := s.AccountByEmail(ctx, "CHILD@example.com"); err != nil || !reflect.DeepEqual(a, child) {
		t.Errorf("AccountByEmail after reopen = %+v, %v", a, err)
	}
	if kids, err := s.ChildAccounts(ctx, root.Sid); err != nil || len(kids) != 1 || kids[0].Sid != child.Sid {
		t.Errorf("ChildAccounts after reopen = %v, %v", kids, err)
	}
	if n, err := s.MatchPhoneNumber(ctx, "5125550100"); err != nil || n.Sid != number.Sid {
		t.Errorf("MatchPhoneNumber after reopen = %+v, %v", n, err)
	}
	if n, err := s.MatchPhoneNumber(ctx, "8000"); err != nil || n.Sid != pattern.Sid {
		t.Errorf("pattern after reopen = %+v, %v", n, err)
	}
	if c, err := s.Call(ctx, ended.Sid); err != nil || !reflect.DeepEqual(c, ended) {
		t.Errorf("Call after reopen = %+v, %v", c, err)
	}
	assertLive(t, s, live.Sid)
	if list, total, err := s.ListCalls(ctx, store.CallFilter{AccountSids: []string{child.Sid}}, store.CallSort{}, store.Page{Limit: 10}); err != nil || total != 2 || !slices.Equal(sidsOf(list), []string{ended.Sid, live.Sid}) {
		t.Errorf("ListCalls after reopen = %v (total %d), %v", sidsOf(list), total, err)
	}
	if n, err := s.Notification(ctx, note.Sid); err != nil || n.ErrorCode != 11005 {
		t.Errorf("Notification after reopen = %+v, %v", n, err)
	}
	after, err := s.Due(ctx, at(100), 10)
	if err != nil || !reflect.DeepEqual(after, before) {
		t.Errorf("outbox after reopen = %+v, %v; want %+v", after, err, before)
	}
	// New ids sort after the ones from the previous run.
	if err := s.Enqueue(ctx, newItem(live.Sid, at(9))); err != nil {
		t.Fatal(err)
	}
	ids := dueIDs(t, s, at(100), 10)
	if len(ids) != 3 || !slices.IsSorted(ids) || ids[2] <= before[1].ID {
		t.Errorf("ids after reopen %v do not continue after %s", ids, before[1].ID)
	}
}

func TestSyncWritesStore(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, SyncWrites: true})
	if err != nil {
		t.Fatal(err)
	}
	c := newCall(sid.New(sid.Account), at(0), store.StatusRinging)
	if err := s.PutCall(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if err := s.Enqueue(t.Context(), newItem(c.Sid, at(0))); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, Options{Dir: dir})
	if _, err := s.Call(t.Context(), c.Sid); err != nil {
		t.Errorf("synced call lost: %v", err)
	}
	if ids := dueIDs(t, s, at(0), 1); len(ids) != 1 {
		t.Errorf("synced outbox item lost: %v", ids)
	}
}

func TestClose(t *testing.T) {
	// A short GC interval makes the collector run while the store is used;
	// Close must stop it (Close waits for it, so returning proves it ended).
	s, err := Open(Options{Dir: t.TempDir(), GCInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	c := newCall(sid.New(sid.Account), at(0), store.StatusRinging)
	c.URL = "http://127.0.0.1:8090/" + strings.Repeat("x", 2048) // above the value threshold: goes to the value log
	for i := range 200 {
		c.Duration = i
		if err := s.PutCall(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-s.gcDone:
	default:
		t.Error("GC goroutine still running after Close")
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close error = %v, want ErrClosed", err)
	}
	if _, err := s.Call(ctx, c.Sid); !errors.Is(err, ErrClosed) {
		t.Errorf("Call after Close error = %v, want ErrClosed", err)
	}
	if _, err := s.LiveCalls(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("LiveCalls after Close error = %v, want ErrClosed", err)
	}
}

func TestCanceledContext(t *testing.T) {
	s := openStore(t, Options{InMemory: true})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.PutCall(ctx, newCall(sid.New(sid.Account), at(0), store.StatusRinging)); !errors.Is(err, context.Canceled) {
		t.Errorf("PutCall(canceled) error = %v, want context.Canceled", err)
	}
	if _, _, err := s.ListCalls(ctx, store.CallFilter{}, store.CallSort{}, store.Page{Limit: 1}); !errors.Is(err, context.Canceled) {
		t.Errorf("ListCalls(canceled) error = %v, want context.Canceled", err)
	}
}

func TestConcurrentWriters(t *testing.T) {
	s := openStore(t, Options{Dir: t.TempDir()})
	ctx := t.Context()
	acct := sid.New(sid.Account)
	const writers, callsEach = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers*4)
	for w := range writers {
		wg.Go(func() {
			for i := range callsEach {
				c := newCall(acct, at(w*callsEach+i), store.StatusRinging)
				for _, status := range []string{store.StatusRinging, store.StatusInProgress, store.StatusCompleted} {
					c.Status = status
					if err := s.PutCall(ctx, c); err != nil {
						errs <- err
						return
					}
				}
				// Every other call stays live.
				if i%2 == 0 {
					c.Status = store.StatusInProgress
					if err := s.PutCall(ctx, c); err != nil {
						errs <- err
						return
					}
				}
			}
			if err := s.Enqueue(ctx, newItem(sid.New(sid.Call), at(0))); err != nil {
				errs <- err
			}
		})
	}
	// All writers race for the same number: exactly one wins.
	var created sync.Map
	for w := range writers {
		wg.Go(func() {
			n := newNumber(acct, "+15125550199", w)
			err := s.CreatePhoneNumber(ctx, n)
			switch {
			case err == nil:
				created.Store(n.Sid, true)
			case !errors.Is(err, store.ErrExists):
				errs <- err
			}
		})
	}
	// Writers racing on one call sid keep its indexes consistent.
	shared := newCall(acct, at(9999), store.StatusRinging)
	for w := range writers {
		wg.Go(func() {
			c := shared
			c.Status = []string{store.StatusRinging, store.StatusCompleted}[w%2]
			if err := s.PutCall(ctx, c); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	winners := 0
	created.Range(func(_, _ any) bool { winners++; return true })
	if winners != 1 {
		t.Errorf("%d writers created the same number, want 1", winners)
	}
	live, err := s.LiveCalls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantLive := writers * callsEach / 2
	final, err := s.Call(ctx, shared.Sid)
	if err != nil {
		t.Fatal(err)
	}
	if !store.Ended(final.Status) {
		wantLive++
	}
	if len(live) != wantLive {
		t.Errorf("%d live calls, want %d", len(live), wantLive)
	}
	for _, c := range live {
		if store.Ended(c.Status) {
			t.Errorf("live index holds ended call %s (%s)", c.Sid, c.Status)
		}
	}
	_, total, err := s.ListCalls(ctx, store.CallFilter{AccountSids: []string{acct}}, store.CallSort{}, store.Page{})
	if err != nil || total != writers*callsEach+1 {
		t.Errorf("account lists %d calls, %v; want %d", total, err, writers*callsEach+1)
	}
	if ids := dueIDs(t, s, at(0), 100); len(ids) != writers {
		t.Errorf("%d outbox items, want %d", len(ids), writers)
	}
}

// recordingHandler keeps the messages of the records it handles.
type recordingHandler struct {
	mu   sync.Mutex
	msgs []string
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs = append(h.msgs, fmt.Sprintf("%s %s", r.Level, r.Message))
	return nil
}

func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }

func (h *recordingHandler) WithGroup(string) slog.Handler { return h }

func TestBadgerLoggerKeepsWarningsOnly(t *testing.T) {
	h := &recordingHandler{}
	l := badgerLogger{log: slog.New(h)}
	l.Infof("opening %s\n", "db")
	l.Debugf("detail")
	l.Warningf("slow %d\n", 3)
	l.Errorf("broken")
	want := []string{"WARN slow 3", "ERROR broken"}
	if !slices.Equal(h.msgs, want) {
		t.Errorf("logged %q, want %q", h.msgs, want)
	}
}
