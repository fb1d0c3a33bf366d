// Package badgerstore implements store.Store on Badger, an embedded
// key-value store.
//
// # Layout
//
// Records are JSON values under keys namespaced by kind; secondary indexes are
// empty-valued keys whose last path segment is the record's sid (or id), so a
// prefix scan in key order yields the records in index order:
//
//	acct/<sid>                           Account
//	acct-email/<lower-cased email>       sid of the account (unique)
//	acct-child/<parent>/<created>/<sid>  children of an account, oldest first
//	pn/<sid>                             PhoneNumber
//	pn-num/<phone number>                sid of the number (unique)
//	pn-acct/<acct>/<created>/<sid>       an account's numbers, oldest first
//	pn-pat/<sid>                         numbers that are patterns; value: the pattern
//	call/<sid>                           Call
//	call-acct/<acct>/<created>/<sid>     an account's calls (scanned newest first)
//	call-live/<sid>                      calls whose status has not ended
//	notif/<sid>                          Notification
//	notif-acct/<acct>/<created>/<sid>    an account's notifications
//	outbox/<id>                          OutboxItem
//	outbox-due/<next attempt>/<id>       the outbox by next attempt
//
// <created> and <next attempt> are zero-padded Unix nanoseconds, so byte order
// is time order. A record and its indexes always change in one transaction.
//
// # Durability
//
// Writes are not fsynced by default: a committed write sits in Badger's
// memory-mapped write-ahead log and value log, that is in the kernel's page
// cache, which outlives a crash of this process (the kernel writes it back
// later). Only a kernel crash or a power loss can lose it, and for call records
// that is an accepted risk: an fsync costs ~0.25 ms per commit on our disks and
// a call writes a record at every state transition. Enqueue is the exception,
// it syncs after its commit: a pending callback is a promise to a customer's
// application and must survive a restart of the machine too.
// Options.SyncWrites makes every commit synced.
//
// # Concurrency
//
// Badger runs without conflict detection (it costs throughput we do not need),
// so transactions that read before they write are serialised by the store
// itself: accounts and numbers under one mutex (their unique indexes span
// records; writes are rare), calls, notifications and outbox items under a
// lock striped by sid, which is enough because their indexes depend only on the
// record's own previous version.
package badgerstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/patchbay/patchbay/switch/store"
)

var _ store.Store = (*Store)(nil)

// ErrClosed is returned by every method of a Store after Close.
var ErrClosed = errors.New("badgerstore: closed")

// defaultGCInterval is how often the value log is garbage-collected. Values
// above the 1 KiB threshold (large call records) live in the value log, and
// call records are rewritten at every transition, so stale versions pile up.
const defaultGCInterval = 10 * time.Minute

// gcDiscardRatio is the share of a value log file that must be garbage before
// it is rewritten (Badger's recommended 0.5: write amplification of 2).
const gcDiscardRatio = 0.5

// Options configures Open. The zero value opens an on-disk store in the
// current directory; set Dir or InMemory.
type Options struct {
	// Dir is the data directory, created if missing. Ignored when InMemory.
	Dir string
	// InMemory keeps everything in memory (tests); nothing survives Close.
	InMemory bool
	// Logger receives Badger's warnings and errors (its INFO level is chatty
	// and is dropped). Nil discards them.
	Logger *slog.Logger
	// SyncWrites fsyncs every commit, not only Enqueue's. See the package
	// documentation for why the default is false.
	SyncWrites bool
	// GCInterval is how often the value log is garbage-collected; zero means
	// every 10 minutes. Unused when InMemory.
	GCInterval time.Duration
}

// Store is a store.Store backed by Badger. Its methods are safe for
// concurrent use. Close it to flush and stop its background goroutine.
type Store struct {
	db         *badger.DB
	log        *slog.Logger
	syncWrites bool

	// catalogMu serialises writes to accounts and phone numbers.
	catalogMu sync.Mutex
	// recordLocks serialises writes to one call, notification or outbox item.
	recordLocks stripedLocks

	// lastOutboxNanos is the time part of the newest generated outbox id;
	// ids are strictly increasing even when the clock is not.
	lastOutboxNanos atomic.Int64

	// life is held shared by every operation and exclusively by Close, so
	// Close waits for operations in flight and later ones get ErrClosed
	// instead of touching a closed Badger (whose iterators panic).
	life   sync.RWMutex
	closed bool

	stopGC chan struct{}
	gcDone chan struct{}
}

// Open opens (or creates) the store described by opts.
func Open(opts Options) (*Store, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	dir := opts.Dir
	if opts.InMemory {
		dir = ""
	}
	// Tuned for a switch process (shared/notes/libraries.md §5): Badger's
	// defaults hold ~86 MiB at open and grow to hundreds of MiB under load.
	bo := badger.DefaultOptions(dir).
		WithInMemory(opts.InMemory).
		WithSyncWrites(opts.SyncWrites).
		WithMemTableSize(4 << 20).
		WithNumMemtables(2).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(4).
		WithBlockCacheSize(4 << 20).
		WithIndexCacheSize(4 << 20).
		WithValueLogFileSize(32 << 20).
		WithNumCompactors(2).
		WithBaseTableSize(1 << 20).
		WithValueThreshold(1 << 10).
		WithMetricsEnabled(false).
		WithDetectConflicts(false).
		WithLogger(badgerLogger{log: logger.With("component", "badger")})
	db, err := badger.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("badgerstore: open %q: %w", dir, err)
	}
	s := &Store{
		db:          db,
		log:         logger,
		syncWrites:  opts.SyncWrites,
		recordLocks: newStripedLocks(),
		stopGC:      make(chan struct{}),
		gcDone:      make(chan struct{}),
	}
	if err := s.loadLastOutboxID(); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	if opts.InMemory {
		close(s.gcDone)
	} else {
		interval := opts.GCInterval
		if interval <= 0 {
			interval = defaultGCInterval
		}
		go s.runGC(interval)
	}
	return s, nil
}

// Close stops the value-log garbage collector, waits for operations in
// flight, and closes Badger, which flushes its memtables to disk. Later calls
// return ErrClosed.
func (s *Store) Close() error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.closed = true
	close(s.stopGC)
	<-s.gcDone
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("badgerstore: close: %w", err)
	}
	return nil
}

// runGC garbage-collects the value log every interval until Close.
func (s *Store) runGC(interval time.Duration) {
	defer close(s.gcDone)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stopGC:
			return
		case <-t.C:
			s.collectValueLog()
		}
	}
}

// collectValueLog rewrites value log files until one has too little garbage.
// Each round is bounded by the number of files, so Close never waits long.
func (s *Store) collectValueLog() {
	for {
		select {
		case <-s.stopGC:
			return
		default:
		}
		err := s.db.RunValueLogGC(gcDiscardRatio)
		switch {
		case err == nil:
			continue
		case errors.Is(err, badger.ErrNoRewrite), errors.Is(err, badger.ErrRejected):
			return
		default:
			s.log.Warn("badgerstore: value log GC failed", "err", err)
			return
		}
	}
}

// enter starts an operation: it fails if ctx is done or the store is closed.
// On success the caller must call s.life.RUnlock when done.
func (s *Store) enter(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.life.RLock()
	if s.closed {
		s.life.RUnlock()
		return ErrClosed
	}
	return nil
}

// commitSynced makes everything committed so far durable on disk.
func (s *Store) commitSynced() error {
	if s.syncWrites {
		return nil // already synced at commit
	}
	if err := s.db.Sync(); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	return nil
}

// badgerLogger adapts Badger's printf-style logger to slog, at WARN and above.
type badgerLogger struct{ log *slog.Logger }

func (l badgerLogger) Errorf(format string, args ...any) {
	l.emit(slog.LevelError, format, args)
}

func (l badgerLogger) Warningf(format string, args ...any) {
	l.emit(slog.LevelWarn, format, args)
}

// Infof drops the message: Badger logs every compaction and flush at INFO.
func (badgerLogger) Infof(string, ...any) {}

// Debugf drops the message.
func (badgerLogger) Debugf(string, ...any) {}

func (l badgerLogger) emit(level slog.Level, format string, args []any) {
	ctx := context.Background()
	if !l.log.Enabled(ctx, level) {
		return
	}
	l.log.Log(ctx, level, strings.TrimSpace(fmt.Sprintf(format, args...)))
}

// stripedLocks is a fixed set of mutexes picked by hashing a key: writers of
// the same key always meet on the same mutex, writers of different keys
// rarely do.
type stripedLocks struct {
	seed  maphash.Seed
	locks [64]sync.Mutex
}

func newStripedLocks() stripedLocks {
	return stripedLocks{seed: maphash.MakeSeed()}
}

func (l *stripedLocks) lock(key string) *sync.Mutex {
	m := &l.locks[maphash.String(l.seed, key)%uint64(len(l.locks))]
	m.Lock()
	return m
}

// getJSON decodes the value at key into v, or returns store.ErrNotFound.
func getJSON(txn *badger.Txn, key string, v any) error {
	item, err := txn.Get([]byte(key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("get %s: %w", key, err)
	}
	return item.Value(func(b []byte) error {
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("decode %s: %w", key, err)
		}
		return nil
	})
}

// setJSON stores v, JSON-encoded, at key.
func setJSON(txn *badger.Txn, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	if err := txn.Set([]byte(key), b); err != nil {
		return fmt.Errorf("set %s: %w", key, err)
	}
	return nil
}

// exists reports whether key is present.
func exists(txn *badger.Txn, key string) (bool, error) {
	_, err := txn.Get([]byte(key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("get %s: %w", key, err)
	}
	return true, nil
}

// getString returns the value at key as a string, or store.ErrNotFound.
func getString(txn *badger.Txn, key string) (string, error) {
	item, err := txn.Get([]byte(key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return "", store.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("get %s: %w", key, err)
	}
	b, err := item.ValueCopy(nil)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", key, err)
	}
	return string(b), nil
}

func set(txn *badger.Txn, key, value string) error {
	if err := txn.Set([]byte(key), []byte(value)); err != nil {
		return fmt.Errorf("set %s: %w", key, err)
	}
	return nil
}

func del(txn *badger.Txn, key string) error {
	if err := txn.Delete([]byte(key)); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// scanKeys calls fn with the last path segment of every key under prefix, in
// key order (reverse order when reverse is set), until fn returns false or an
// error. Values are not read.
func scanKeys(ctx context.Context, txn *badger.Txn, prefix string, reverse bool, fn func(key, last string) (bool, error)) error {
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Reverse = reverse
	opts.Prefix = []byte(prefix)
	it := txn.NewIterator(opts)
	defer it.Close()
	start := []byte(prefix)
	if reverse {
		// The greatest key with this prefix sorts before prefix+0xFF.
		start = append(start, 0xFF)
	}
	n := 0
	for it.Seek(start); it.Valid(); it.Next() {
		if n++; n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		key := string(it.Item().Key())
		more, err := fn(key, key[strings.LastIndexByte(key, '/')+1:])
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// timeKey renders t as fixed-width Unix nanoseconds so that key order is time
// order. Times before 1970 (including the zero time) sort as 1970.
func timeKey(t time.Time) string {
	var n int64
	if !t.IsZero() && t.After(time.Unix(0, 0)) {
		n = t.UnixNano()
	}
	return padInt(n)
}

// padInt renders a non-negative n as 19 zero-padded digits (int64's width).
func padInt(n int64) string {
	const width = 19
	s := strconv.FormatInt(n, 10)
	if len(s) >= width {
		return s
	}
	return strings.Repeat("0", width-len(s)) + s
}

// pageOf returns the p.Offset..p.Offset+p.Limit slice of items (empty when
// Limit is not positive, so a caller can ask for the total alone).
func pageOf[T any](items []T, p store.Page) []T {
	off := max(p.Offset, 0)
	if off >= len(items) || p.Limit <= 0 {
		return []T{}
	}
	end := min(off+p.Limit, len(items))
	// A copy, so the caller does not pin the whole list.
	return slices.Clone(items[off:end])
}
