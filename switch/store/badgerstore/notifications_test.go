package badgerstore

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

func TestNotifications(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		acct, other := sid.New(sid.Account), sid.New(sid.Account)
		call := sid.New(sid.Call)
		add := func(acct, call string, log, code, minute int) store.Notification {
			n := store.Notification{
				Sid: sid.New(sid.Notification), AccountSid: acct, CallSid: call,
				APIVersion: "2012-04-24", Log: log, ErrorCode: code,
				MoreInfo: "/restcomm/errors/11005.html", MessageText: "boom",
				MessageDate: at(minute), DateCreated: at(minute), DateUpdated: at(minute),
			}
			if err := s.AddNotification(ctx, n); err != nil {
				t.Fatalf("AddNotification: %v", err)
			}
			return n
		}
		n1 := add(acct, call, 0, 11005, 1)
		n2 := add(acct, "", 1, 13321, 2)
		n3 := add(acct, call, 1, 11005, 3)
		n4 := add(other, call, 0, 11005, 4)

		got, err := s.Notification(ctx, n2.Sid)
		if err != nil || !reflect.DeepEqual(got, n2) {
			t.Errorf("Notification = %+v, %v; want %+v", got, err, n2)
		}
		if _, err := s.Notification(ctx, sid.New(sid.Notification)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Notification(unknown) error = %v, want ErrNotFound", err)
		}
		if err := s.AddNotification(ctx, n1); !errors.Is(err, store.ErrExists) {
			t.Errorf("AddNotification(same sid) error = %v, want ErrExists", err)
		}

		warning := 1
		for _, tc := range []struct {
			name string
			f    store.NotificationFilter
			p    store.Page
			want []string
			n    int
		}{
			{"account, newest first", store.NotificationFilter{AccountSid: acct}, store.Page{Limit: 10}, []string{n3.Sid, n2.Sid, n1.Sid}, 3},
			{"every account", store.NotificationFilter{}, store.Page{Limit: 10}, []string{n4.Sid, n3.Sid, n2.Sid, n1.Sid}, 4},
			{"call", store.NotificationFilter{AccountSid: acct, CallSid: call}, store.Page{Limit: 10}, []string{n3.Sid, n1.Sid}, 2},
			{"log", store.NotificationFilter{AccountSid: acct, Log: &warning}, store.Page{Limit: 10}, []string{n3.Sid, n2.Sid}, 2},
			{"error code", store.NotificationFilter{ErrorCode: 11005}, store.Page{Limit: 10}, []string{n4.Sid, n3.Sid, n1.Sid}, 3},
			{"page", store.NotificationFilter{AccountSid: acct}, store.Page{Offset: 1, Limit: 1}, []string{n2.Sid}, 3},
		} {
			list, total, err := s.ListNotifications(ctx, tc.f, tc.p)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			var sids []string
			for _, n := range list {
				sids = append(sids, n.Sid)
			}
			if !slices.Equal(sids, tc.want) || total != tc.n {
				t.Errorf("%s: got %v (total %d), want %v (total %d)", tc.name, sids, total, tc.want, tc.n)
			}
		}
	})
}
