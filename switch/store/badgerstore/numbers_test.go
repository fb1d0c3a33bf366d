package badgerstore

import (
	"errors"
	"reflect"
	"testing"

	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

func newNumber(acct, number string, minute int) store.PhoneNumber {
	return store.PhoneNumber{
		Sid:          sid.New(sid.PhoneNumber),
		AccountSid:   acct,
		PhoneNumber:  number,
		FriendlyName: number,
		VoiceURL:     "http://127.0.0.1:8090/" + number,
		VoiceMethod:  "POST",
		APIVersion:   "2012-04-24",
		DateCreated:  at(minute),
		DateUpdated:  at(minute),
	}
}

func TestPhoneNumbersCRUD(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		acct, other := sid.New(sid.Account), sid.New(sid.Account)
		late := newNumber(acct, "+15125550002", 20)
		early := newNumber(acct, "+15125550001", 10)
		foreign := newNumber(other, "+15125550003", 0)
		for _, n := range []store.PhoneNumber{late, early, foreign} {
			if err := s.CreatePhoneNumber(ctx, n); err != nil {
				t.Fatalf("CreatePhoneNumber(%s): %v", n.PhoneNumber, err)
			}
		}
		if err := s.CreatePhoneNumber(ctx, newNumber(other, "+15125550001", 30)); !errors.Is(err, store.ErrExists) {
			t.Errorf("CreatePhoneNumber(duplicate number) error = %v, want ErrExists", err)
		}
		got, err := s.PhoneNumber(ctx, early.Sid)
		if err != nil || !reflect.DeepEqual(got, early) {
			t.Errorf("PhoneNumber = %+v, %v; want %+v", got, err, early)
		}

		list, err := s.PhoneNumbers(ctx, acct)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].Sid != early.Sid || list[1].Sid != late.Sid {
			t.Errorf("PhoneNumbers = %+v, want [early late]", list)
		}

		early.VoiceURL = "http://127.0.0.1:8090/changed"
		if err := s.UpdatePhoneNumber(ctx, early); err != nil {
			t.Fatalf("UpdatePhoneNumber: %v", err)
		}
		if got, _ := s.PhoneNumber(ctx, early.Sid); got.VoiceURL != early.VoiceURL {
			t.Errorf("VoiceURL after update = %q", got.VoiceURL)
		}
		if m, err := s.MatchPhoneNumber(ctx, "+15125550001"); err != nil || m.VoiceURL != early.VoiceURL {
			t.Errorf("MatchPhoneNumber after update = %+v, %v", m, err)
		}

		// Renumbering onto a taken number fails; onto a free one moves the index.
		taken := early
		taken.PhoneNumber = late.PhoneNumber
		if err := s.UpdatePhoneNumber(ctx, taken); !errors.Is(err, store.ErrExists) {
			t.Errorf("UpdatePhoneNumber(taken number) error = %v, want ErrExists", err)
		}
		early.PhoneNumber = "^7.*$"
		if err := s.UpdatePhoneNumber(ctx, early); err != nil {
			t.Fatalf("UpdatePhoneNumber(renumber): %v", err)
		}
		if _, err := s.MatchPhoneNumber(ctx, "+15125550001"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("old number still matches: %v", err)
		}
		if m, err := s.MatchPhoneNumber(ctx, "7000"); err != nil || m.Sid != early.Sid {
			t.Errorf("renumbered pattern: match = %s, %v; want %s", m.Sid, err, early.Sid)
		}

		if err := s.DeletePhoneNumber(ctx, early.Sid); err != nil {
			t.Fatalf("DeletePhoneNumber: %v", err)
		}
		if _, err := s.PhoneNumber(ctx, early.Sid); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("PhoneNumber after delete error = %v, want ErrNotFound", err)
		}
		if _, err := s.MatchPhoneNumber(ctx, "7000"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted pattern still matches: %v", err)
		}
		if list, _ := s.PhoneNumbers(ctx, acct); len(list) != 1 || list[0].Sid != late.Sid {
			t.Errorf("PhoneNumbers after delete = %+v", list)
		}
		if err := s.DeletePhoneNumber(ctx, early.Sid); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeletePhoneNumber twice error = %v, want ErrNotFound", err)
		}
		// The number string is free again.
		if err := s.CreatePhoneNumber(ctx, newNumber(other, "^7.*$", 40)); err != nil {
			t.Errorf("re-creating a deleted number: %v", err)
		}
		if err := s.UpdatePhoneNumber(ctx, newNumber(acct, "555", 0)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UpdatePhoneNumber(unknown) error = %v, want ErrNotFound", err)
		}
	})
}

func TestMatchPhoneNumberCascade(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		acct := sid.New(sid.Account)
		numbers := map[string]store.PhoneNumber{}
		for i, n := range []string{
			"+15125551234", // E.164 as provisioned
			"1234",         // short extension
			"^1.*",         // would match "1234", but exact hits win
			"^9",           // short pattern
			"^91[0-9]{2}$", // longer pattern, tried first
			"*9[0-9]",      // leading '*' is a literal star
			"+1800.*",      // leading '+' is a literal plus
			"5555|4444",    // alternation (upstream issues #2197, #2245)
			"[0-9",         // does not compile; must not break matching
			"*",            // catch-all
			"+4930123",     // only reachable with '+' added
			"+15125559999", // reachable from national forms
			"2345#",        // a literal number with '#': is a pattern of itself
		} {
			pn := newNumber(acct, n, i)
			if err := s.CreatePhoneNumber(ctx, pn); err != nil {
				t.Fatalf("CreatePhoneNumber(%q): %v", n, err)
			}
			numbers[n] = pn
		}
		for _, tc := range []struct{ dialed, want string }{
			{"+15125551234", "+15125551234"}, // exact
			{"5125551234", "+15125551234"},   // US E.164 from 10 digits
			{"15125551234", "+15125551234"},  // US E.164 from 11 digits
			{"4930123", "+4930123"},          // '+' added
			{"+1234", "1234"},                // '+' removed
			{"1234", "1234"},                 // exact beats the pattern "^1.*"
			{"1999", "^1.*"},                 // pattern
			{"9123", "^91[0-9]{2}$"},         // longest pattern first
			{"9555", "^9"},                   // the shorter one still matches others
			{"*97", "*9[0-9]"},               // star code
			{"18005550000", "+1800.*"},       // pattern found in the E.164 candidate
			{"4444", "5555|4444"},            // alternation
			{"2345#", "2345#"},               // exact match on a string with '#'
			{"alice", "*"},                   // not digits: no patterns, catch-all
			{"5550000", "*"},                 // nothing else: catch-all
		} {
			got, err := s.MatchPhoneNumber(ctx, tc.dialed)
			if err != nil {
				t.Errorf("MatchPhoneNumber(%q): %v", tc.dialed, err)
				continue
			}
			if got.Sid != numbers[tc.want].Sid {
				t.Errorf("MatchPhoneNumber(%q) = %q, want %q", tc.dialed, got.PhoneNumber, tc.want)
			}
		}

		if err := s.DeletePhoneNumber(ctx, numbers["*"].Sid); err != nil {
			t.Fatal(err)
		}
		for _, dialed := range []string{"5550000", "alice", ""} {
			if got, err := s.MatchPhoneNumber(ctx, dialed); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("MatchPhoneNumber(%q) without catch-all = %q, %v; want ErrNotFound", dialed, got.PhoneNumber, err)
			}
		}
	})
}

func TestCandidateNumbers(t *testing.T) {
	for _, tc := range []struct {
		dialed string
		want   []string
	}{
		{"5125551234", []string{"5125551234", "+15125551234", "+5125551234"}},
		{"15125551234", []string{"15125551234", "+15125551234"}},
		{"+15125551234", []string{"+15125551234", "15125551234"}},
		{"1234", []string{"1234", "+1234"}},
		{"*97", []string{"*97", "+*97"}},
		{"(512) 555-1234", []string{"(512) 555-1234", "+15125551234", "+(512) 555-1234"}},
		{"", []string{}},
	} {
		if got := candidateNumbers(tc.dialed); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("candidateNumbers(%q) = %q, want %q", tc.dialed, got, tc.want)
		}
	}
}

func TestIsPattern(t *testing.T) {
	for n, want := range map[string]bool{
		"*": false, "+15125551234": false, "1234": false, "alice": false,
		"^1.*": true, "*97": true, "12#": true, "5|4": true, `\d+`: true, "[0-9]": true, "1$": true,
	} {
		if got := isPattern(n); got != want {
			t.Errorf("isPattern(%q) = %v, want %v", n, got, want)
		}
	}
}
