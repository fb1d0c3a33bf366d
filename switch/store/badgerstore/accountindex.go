package badgerstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
)

// accountIndex describes a kind of record kept under its own key and listed
// through a per-account index: calls, conferences and recordings.
type accountIndex struct {
	kind          string // for errors: "call"
	allPrefix     string // the prefix of every record's key
	accountPrefix func(acct string) string
	key           func(sid string) string
}

// listByAccount reads in txn the records of accounts (every record when
// accounts is empty; empty and repeated sids are skipped) and returns those
// keep accepts, unsorted: callers filter and sort in memory.
func listByAccount[T any](ctx context.Context, txn *badger.Txn, idx accountIndex, accounts []string, keep func(*T) bool) ([]T, error) {
	var sids []string
	collect := func(_, sid string) (bool, error) {
		sids = append(sids, sid)
		return true, nil
	}
	if len(accounts) == 0 {
		if err := scanKeys(ctx, txn, idx.allPrefix, false, collect); err != nil {
			return nil, err
		}
	}
	for i, acct := range accounts {
		if acct == "" || slices.Contains(accounts[:i], acct) {
			continue
		}
		if err := scanKeys(ctx, txn, idx.accountPrefix(acct), false, collect); err != nil {
			return nil, err
		}
	}
	var matched []T
	for i, sid := range sids {
		if i%256 == 255 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		var r T
		if err := getJSON(txn, idx.key(sid), &r); err != nil {
			return nil, fmt.Errorf("%s %s: %w", idx.kind, sid, err)
		}
		if keep(&r) {
			matched = append(matched, r)
		}
	}
	return matched, nil
}
