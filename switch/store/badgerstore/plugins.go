package badgerstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"github.com/dgraph-io/badger/v4"

	"github.com/patchbay/patchbay/switch/store"
)

// Plugin and decision keys (see the package doc for the layout style):
//
//	pl/<sid>                     Plugin
//	pl-name/<acct>/<name>        sid of the plugin (unique per account; name order)
//	plmod/<hash>                 size of the module bytes: present once they are complete
//	plmod-chunk/<hash>/<index>   the module bytes, in chunks, shared by every plugin with that hash
//	plmod-ref/<hash>/<sid>       plugins using those bytes
//	dec/<call>/<seq>             Decision, seq counting the call's decisions from 0
//
// Plugin names are [A-Za-z0-9_-] (the API checks it), hashes hex, so no
// key part can contain a '/'. A plugin, its name index and its module
// reference change in one transaction, under catalogMu. A call's decisions
// are numbered under the call's record lock, so they list in the order they
// were added even when the clock stands still.
//
// Why chunks: a module (megabytes) does not fit one Badger value in memory
// mode (values are capped at the 1 KiB value threshold there) nor one
// transaction (15 % of the memtable), so its chunks are written by a
// WriteBatch before the transaction that publishes plmod/<hash>, and
// deleted by one after the transaction that drops it. Chunks left behind
// by a crash in between are unreferenced garbage that the next upload of
// the same bytes overwrites.

const (
	pluginPrefix       = "pl/"
	pluginNamePrefix   = "pl-name/"
	pluginModulePrefix = "plmod/"
)

func pluginKey(sid string) string { return pluginPrefix + sid }

func pluginNameAccountPrefix(acct string) string { return pluginNamePrefix + acct + "/" }

func pluginNameKey(acct, name string) string { return pluginNameAccountPrefix(acct) + name }

func pluginModuleKey(hash string) string { return pluginModulePrefix + hash }

func pluginChunkPrefix(hash string) string { return "plmod-chunk/" + hash + "/" }

func pluginModuleRefPrefix(hash string) string { return "plmod-ref/" + hash + "/" }

func pluginModuleRefKey(hash, sid string) string { return pluginModuleRefPrefix(hash) + sid }

func decisionPrefix(callSid string) string { return "dec/" + callSid + "/" }

// PutPlugin creates or replaces the plugin p.Sid and stores module under
// p.Hash unless it is there already. The hash is checked against the bytes,
// so a wrong one cannot make two plugins share the wrong module. Another
// plugin of the account with p.Name gives store.ErrExists.
func (s *Store) PutPlugin(ctx context.Context, p store.Plugin, module []byte) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.life.RUnlock()
	if p.Sid == "" || p.AccountSid == "" || p.Name == "" {
		return errors.New("badgerstore: put plugin: empty sid, account sid or name")
	}
	if sum := sha256.Sum256(module); hex.EncodeToString(sum[:]) != p.Hash {
		return fmt.Errorf("badgerstore: put plugin %s: hash %q is not the sha256 of the module", p.Sid, p.Hash)
	}
	s.catalogMu.Lock()
	defer s.catalogMu.Unlock()
	wrote, err := s.writeModule(p.Hash, module)
	if err != nil {
		return fmt.Errorf("badgerstore: put plugin %s: %w", p.Sid, err)
	}
	var dropped string
	err = s.db.Update(func(txn *badger.Txn) error {
		owner, err := getString(txn, pluginNameKey(p.AccountSid, p.Name))
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		case owner != p.Sid:
			return fmt.Errorf("name %q held by %s: %w", p.Name, owner, store.ErrExists)
		}
		var old store.Plugin
		err = getJSON(txn, pluginKey(p.Sid), &old)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		default:
			if old.AccountSid != p.AccountSid || old.Name != p.Name {
				if err := del(txn, pluginNameKey(old.AccountSid, old.Name)); err != nil {
					return err
				}
			}
			if old.Hash != p.Hash {
				if dropped, err = dropModuleRef(ctx, txn, old.Hash, old.Sid); err != nil {
					return err
				}
			}
		}
		if wrote {
			if err := set(txn, pluginModuleKey(p.Hash), strconv.Itoa(len(module))); err != nil {
				return err
			}
		}
		if err := set(txn, pluginModuleRefKey(p.Hash, p.Sid), ""); err != nil {
			return err
		}
		if err := set(txn, pluginNameKey(p.AccountSid, p.Name), p.Sid); err != nil {
			return err
		}
		return setJSON(txn, pluginKey(p.Sid), p)
	})
	if err != nil {
		if wrote {
			s.deleteChunks(p.Hash)
		}
		return fmt.Errorf("badgerstore: put plugin %s (%s/%s): %w", p.Sid, p.AccountSid, p.Name, err)
	}
	if dropped != "" {
		s.deleteChunks(dropped)
	}
	return nil
}

// Chunk sizes of module bytes. In memory mode Badger refuses values over
// the value threshold that Open sets (WithValueThreshold(1 << 10)), and one
// of exactly the threshold passes that check but then panics in Badger's
// write to the memtable (it takes the value-log path, which memory mode
// lacks): hence one byte less. On disk a value may be as large as a value
// log file (32 MiB); 1 MiB keeps a chunk's read cheap.
const (
	memoryChunkBytes = 1<<10 - 1
	diskChunkBytes   = 1 << 20
)

// writeModule writes module's chunks unless plmod/<hash> says they are
// complete already; wrote tells whether it did, in which case the caller
// publishes plmod/<hash>. Called under catalogMu.
func (s *Store) writeModule(hash string, module []byte) (wrote bool, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		stored, err := exists(txn, pluginModuleKey(hash))
		wrote = !stored
		return err
	})
	if err != nil || !wrote {
		return false, err
	}
	chunk := diskChunkBytes
	if s.db.Opts().InMemory {
		chunk = memoryChunkBytes
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for i := 0; i*chunk < len(module); i++ {
		part := module[i*chunk : min((i+1)*chunk, len(module))]
		if err := wb.Set([]byte(pluginChunkPrefix(hash)+padInt(int64(i))), part); err != nil {
			return false, fmt.Errorf("write module %s: %w", hash, err)
		}
	}
	if err := wb.Flush(); err != nil {
		return false, fmt.Errorf("write module %s: %w", hash, err)
	}
	return true, nil
}

// deleteChunks removes the chunks of a module no plugin uses any more. A
// failure leaves garbage, not an inconsistency, so it is only logged.
// Called under catalogMu.
func (s *Store) deleteChunks(hash string) {
	var keys []string
	err := s.db.View(func(txn *badger.Txn) error {
		return scanKeys(context.Background(), txn, pluginChunkPrefix(hash), false, func(key, _ string) (bool, error) {
			keys = append(keys, key)
			return true, nil
		})
	})
	if err == nil {
		wb := s.db.NewWriteBatch()
		defer wb.Cancel()
		for _, k := range keys {
			if err = wb.Delete([]byte(k)); err != nil {
				break
			}
		}
		if err == nil {
			err = wb.Flush()
		}
	}
	if err != nil {
		s.log.Warn("badgerstore: deleting the chunks of an unused plugin module failed", "hash", hash, "err", err)
	}
}

// dropModuleRef removes sid's reference to the module hash and, with its
// last reference, plmod/<hash>; it then returns hash, whose chunks the
// caller deletes once the transaction committed.
func dropModuleRef(ctx context.Context, txn *badger.Txn, hash, sid string) (string, error) {
	if err := del(txn, pluginModuleRefKey(hash, sid)); err != nil {
		return "", err
	}
	used := false
	err := scanKeys(ctx, txn, pluginModuleRefPrefix(hash), false, func(_, other string) (bool, error) {
		// The deletion above is visible to this transaction's reads.
		used = other != sid
		return !used, nil
	})
	if err != nil || used {
		return "", err
	}
	return hash, del(txn, pluginModuleKey(hash))
}

// Plugin returns the account's plugin called name, or store.ErrNotFound.
func (s *Store) Plugin(ctx context.Context, accountSid, name string) (store.Plugin, error) {
	if err := s.enter(ctx); err != nil {
		return store.Plugin{}, err
	}
	defer s.life.RUnlock()
	var p store.Plugin
	err := s.db.View(func(txn *badger.Txn) error {
		if accountSid == "" || name == "" {
			return store.ErrNotFound
		}
		sid, err := getString(txn, pluginNameKey(accountSid, name))
		if err != nil {
			return err
		}
		return getJSON(txn, pluginKey(sid), &p)
	})
	if err != nil {
		return store.Plugin{}, fmt.Errorf("badgerstore: plugin %s/%s: %w", accountSid, name, err)
	}
	return p, nil
}

// Plugins lists an account's plugins in name order.
func (s *Store) Plugins(ctx context.Context, accountSid string) ([]store.Plugin, error) {
	if accountSid == "" {
		return []store.Plugin{}, nil
	}
	return s.listPlugins(ctx, pluginNameAccountPrefix(accountSid))
}

// AllPlugins lists every account's plugins, grouped by account.
func (s *Store) AllPlugins(ctx context.Context) ([]store.Plugin, error) {
	return s.listPlugins(ctx, pluginNamePrefix)
}

// listPlugins reads the plugins whose name index lies under prefix.
func (s *Store) listPlugins(ctx context.Context, prefix string) ([]store.Plugin, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.life.RUnlock()
	plugins := []store.Plugin{}
	err := s.db.View(func(txn *badger.Txn) error {
		var keys []string
		err := scanKeys(ctx, txn, prefix, false, func(key, _ string) (bool, error) {
			keys = append(keys, key)
			return true, nil
		})
		if err != nil {
			return err
		}
		for _, key := range keys {
			sid, err := getString(txn, key)
			if err != nil {
				return err
			}
			var p store.Plugin
			if err := getJSON(txn, pluginKey(sid), &p); err != nil {
				return fmt.Errorf("plugin %s: %w", sid, err)
			}
			plugins = append(plugins, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badgerstore: list plugins under %s: %w", prefix, err)
	}
	return plugins, nil
}

// DeletePlugin removes the account's plugin called name (store.ErrNotFound
// if there is none) and its module bytes unless another plugin uses them.
func (s *Store) DeletePlugin(ctx context.Context, accountSid, name string) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.life.RUnlock()
	s.catalogMu.Lock()
	defer s.catalogMu.Unlock()
	var dropped string
	err := s.db.Update(func(txn *badger.Txn) error {
		sid, err := getString(txn, pluginNameKey(accountSid, name))
		if err != nil {
			return err
		}
		var p store.Plugin
		if err := getJSON(txn, pluginKey(sid), &p); err != nil {
			return err
		}
		if err := del(txn, pluginNameKey(accountSid, name)); err != nil {
			return err
		}
		if err := del(txn, pluginKey(sid)); err != nil {
			return err
		}
		dropped, err = dropModuleRef(ctx, txn, p.Hash, sid)
		return err
	})
	if err != nil {
		return fmt.Errorf("badgerstore: delete plugin %s/%s: %w", accountSid, name, err)
	}
	if dropped != "" {
		s.deleteChunks(dropped)
	}
	return nil
}

// PluginModule returns a copy of the module bytes stored under hash, or
// store.ErrNotFound.
func (s *Store) PluginModule(ctx context.Context, hash string) ([]byte, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.life.RUnlock()
	var module []byte
	err := s.db.View(func(txn *badger.Txn) error {
		size, err := getString(txn, pluginModuleKey(hash))
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(size)
		if err != nil {
			return fmt.Errorf("module size %q: %w", size, err)
		}
		module = make([]byte, 0, n)
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte(pluginChunkPrefix(hash))
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(opts.Prefix); it.Valid(); it.Next() {
			err := it.Item().Value(func(part []byte) error {
				module = append(module, part...)
				return nil
			})
			if err != nil {
				return fmt.Errorf("read module chunk: %w", err)
			}
		}
		if len(module) != n {
			return fmt.Errorf("module has %d bytes in its chunks, %d expected", len(module), n)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badgerstore: plugin module %s: %w", hash, err)
	}
	return module, nil
}

// AddDecision appends a decision to its call's audit.
func (s *Store) AddDecision(ctx context.Context, d store.Decision) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	defer s.life.RUnlock()
	if d.Sid == "" || d.CallSid == "" {
		return errors.New("badgerstore: add decision: empty sid or call sid")
	}
	prefix := decisionPrefix(d.CallSid)
	m := s.recordLocks.lock(prefix)
	defer m.Unlock()
	err := s.db.Update(func(txn *badger.Txn) error {
		var n int64
		err := scanKeys(ctx, txn, prefix, false, func(string, string) (bool, error) {
			n++
			return true, nil
		})
		if err != nil {
			return err
		}
		return setJSON(txn, prefix+padInt(n), d)
	})
	if err != nil {
		return fmt.Errorf("badgerstore: add decision %s for %s: %w", d.Sid, d.CallSid, err)
	}
	return nil
}

// Decisions lists a call's decisions in the order they were added (empty,
// not an error, for a call without any).
func (s *Store) Decisions(ctx context.Context, callSid string) ([]store.Decision, error) {
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.life.RUnlock()
	decisions := []store.Decision{}
	err := s.db.View(func(txn *badger.Txn) error {
		if callSid == "" {
			return nil
		}
		var keys []string
		err := scanKeys(ctx, txn, decisionPrefix(callSid), false, func(key, _ string) (bool, error) {
			keys = append(keys, key)
			return true, nil
		})
		if err != nil {
			return err
		}
		for _, key := range keys {
			var d store.Decision
			if err := getJSON(txn, key, &d); err != nil {
				return err
			}
			decisions = append(decisions, d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badgerstore: decisions of %s: %w", callSid, err)
	}
	return decisions, nil
}
