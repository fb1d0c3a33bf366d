package rcmlwasm

import (
	"container/list"
	"sync"

	"github.com/patchbay/patchbay/plugins/rcml"
	"github.com/patchbay/patchbay/plugins/rcml/guest/wire"
)

// cacheKey is the sha256 of the module hash and the encoded document.
type cacheKey [32]byte

// answer is what the guest said about one document: a plan, shared by every
// caller and never modified, or a deterministic error it reported.
type answer struct {
	plan    *rcml.Plan
	failure *wire.Failure
	size    int64 // estimated memory, what the cache counts (footprint)
}

// result is the answer as Handle returns it; an error is rebuilt each time so
// that no two callers share one.
func (a *answer) result() (*rcml.Plan, error) {
	if a.failure != nil {
		return nil, a.failure.Err()
	}
	return a.plan, nil
}

// flight is a guest run that callers asking for the same document wait for.
type flight struct {
	done chan struct{} // closed once ans and err are set
	ans  *answer
	err  error // a sandbox failure; ans is nil then
}

// planCache is an LRU of answers bounded by entries and bytes, and the set of
// guest runs in flight. Its methods are safe for concurrent use.
type planCache struct {
	maxEntries int
	maxBytes   int64

	mu       sync.Mutex
	lru      list.List // of *cacheEntry, most recently used at the front
	entries  map[cacheKey]*list.Element
	inflight map[cacheKey]*flight
	bytes    int64

	hits, misses, coalesced, evictions uint64
}

type cacheEntry struct {
	key cacheKey
	ans *answer
}

func newPlanCache(maxEntries int, maxBytes int64) *planCache {
	return &planCache{
		maxEntries: maxEntries,
		maxBytes:   maxBytes,
		entries:    map[cacheKey]*list.Element{},
		inflight:   map[cacheKey]*flight{},
	}
}

// lookup returns the cached answer for key, or the flight to wait for, or
// (lead true) a new flight the caller must run and then finish.
func (c *planCache) lookup(key cacheKey) (ans *answer, f *flight, lead bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		c.lru.MoveToFront(e)
		c.hits++
		return e.Value.(*cacheEntry).ans, nil, false
	}
	if f, ok := c.inflight[key]; ok {
		c.coalesced++
		return nil, f, false
	}
	c.misses++
	f = &flight{done: make(chan struct{})}
	c.inflight[key] = f
	return nil, f, true
}

// finish ends the flight for key with the guest's answer (cached) or a
// sandbox failure (not cached) and wakes its waiters.
func (c *planCache) finish(key cacheKey, f *flight, ans *answer, err error) {
	f.ans, f.err = ans, err
	c.mu.Lock()
	delete(c.inflight, key)
	if ans != nil && c.maxEntries > 0 && ans.size <= c.maxBytes {
		c.entries[key] = c.lru.PushFront(&cacheEntry{key: key, ans: ans})
		c.bytes += ans.size
		for c.lru.Len() > c.maxEntries || c.bytes > c.maxBytes {
			c.evictOldest()
		}
	}
	c.mu.Unlock()
	close(f.done)
}

func (c *planCache) evictOldest() {
	e := c.lru.Back()
	ce := c.lru.Remove(e).(*cacheEntry)
	delete(c.entries, ce.key)
	c.bytes -= ce.ans.size
	c.evictions++
}

// cacheStats is the cache's part of Stats.
func (c *planCache) stats() (s Stats) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{
		Hits: c.hits, Misses: c.misses, Coalesced: c.coalesced, Evictions: c.evictions,
		Entries: c.lru.Len(), Bytes: c.bytes,
	}
}
