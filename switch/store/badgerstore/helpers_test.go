package badgerstore

import (
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

// at returns a test time m minutes after a fixed base, in UTC so that
// records survive the JSON round trip unchanged (reflect.DeepEqual).
func at(m int) time.Time { return time.Date(2026, 3, 1, 12, m, 0, 0, time.UTC) }

// eachStore runs fn against an in-memory store and an on-disk one.
func eachStore(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Helper()
	for _, name := range []string{"memory", "disk"} {
		t.Run(name, func(t *testing.T) {
			opts := Options{InMemory: name == "memory"}
			if !opts.InMemory {
				opts.Dir = t.TempDir()
			}
			s := openStore(t, opts)
			fn(t, s)
		})
	}
}

// openStore opens a store that is closed when the test ends (unless the test
// closed it itself).
func openStore(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newCall(acct string, created time.Time, status string) store.Call {
	return store.Call{
		Sid:          sid.New(sid.Call),
		AccountSid:   acct,
		To:           "+15125550100",
		From:         "alice",
		Status:       status,
		Direction:    store.DirectionInbound,
		APIVersion:   "2012-04-24",
		DateCreated:  created,
		DateUpdated:  created,
		Duration:     -1,
		RingDuration: -1,
		Price:        "0.00",
		PriceUnit:    "USD",
		URL:          "http://127.0.0.1:8090/app.xml",
		Method:       "POST",
	}
}

func sidsOf(calls []store.Call) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c.Sid
	}
	return out
}
