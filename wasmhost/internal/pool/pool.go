// Package pool keeps bounded groups of reusable items (guest instances) and
// evicts the least recently used idle ones when their total size goes over
// a budget shared by all groups.
//
// One Budget serves a whole host; each module has a Group. A Group hands an
// item to one user at a time: Get takes one of its slots, Put gives it back.
package pool

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// ErrClosed is returned by Get on a closed Group.
var ErrClosed = errors.New("pool: closed")

// Item is what a group holds.
type Item interface {
	// Bytes is the memory the item holds while idle.
	Bytes() int64
	// Close releases the item. It is called once, without locks held.
	Close()
}

// Budget is the memory all idle items of its groups may hold. Its zero value
// is not usable; use NewBudget.
type Budget struct {
	mu    sync.Mutex
	limit int64
	bytes int64
	lru   list.List // of *idle; front is the most recently used
}

type idle struct {
	group *Group
	item  Item
	bytes int64
	elem  *list.Element
}

// NewBudget returns a budget of limit bytes for idle items; limit ≤ 0 means
// no limit.
func NewBudget(limit int64) *Budget { return &Budget{limit: limit} }

// IdleBytes is the memory held by idle items now.
func (b *Budget) IdleBytes() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bytes
}

// Group is the pool of one module.
type Group struct {
	budget *Budget
	slots  chan struct{} // one token per item in use or being made
	create func(context.Context) (Item, error)
	idle   []*idle // stack, guarded by budget.mu
	closed bool    // guarded by budget.mu
}

// NewGroup returns a group of at most size items, made by create on demand.
func (b *Budget) NewGroup(size int, create func(context.Context) (Item, error)) *Group {
	return &Group{budget: b, slots: make(chan struct{}, size), create: create}
}

// Get returns an idle item or makes one. When all slots are taken it waits
// for a free one until ctx ends or, if wait > 0, for at most wait (then the
// error wraps context.DeadlineExceeded). The caller owns the item until it
// calls Put.
//
// wait exists so that the common case, a free slot, costs no timer: a
// caller bounding only the wait would otherwise derive a context with a
// deadline on every call.
func (g *Group) Get(ctx context.Context, wait time.Duration) (Item, error) {
	select {
	case g.slots <- struct{}{}:
	default:
		if err := g.waitForSlot(ctx, wait); err != nil {
			return nil, err
		}
	}
	b := g.budget
	b.mu.Lock()
	if g.closed {
		b.mu.Unlock()
		<-g.slots
		return nil, ErrClosed
	}
	if n := len(g.idle); n > 0 {
		e := g.idle[n-1]
		g.idle[n-1] = nil
		g.idle = g.idle[:n-1]
		b.lru.Remove(e.elem)
		b.bytes -= e.bytes
		b.mu.Unlock()
		return e.item, nil
	}
	b.mu.Unlock()
	it, err := g.create(ctx)
	if err != nil {
		<-g.slots
		return nil, err
	}
	return it, nil
}

func (g *Group) waitForSlot(ctx context.Context, wait time.Duration) error {
	var expired <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		expired = t.C
	}
	select {
	case g.slots <- struct{}{}:
		return nil
	case <-expired:
		return fmt.Errorf("pool: no free instance within %v: %w", wait, context.DeadlineExceeded)
	case <-ctx.Done():
		return fmt.Errorf("pool: waiting for a free instance: %w", ctx.Err())
	}
}

// Put gives back an item got from Get. A broken item (trapped, timed out)
// is closed; a healthy one becomes idle, and the least recently used idle
// items of any group are closed while the budget is exceeded.
func (g *Group) Put(it Item, healthy bool) {
	defer func() { <-g.slots }()
	if !healthy {
		it.Close()
		return
	}
	b := g.budget
	e := &idle{group: g, item: it, bytes: it.Bytes()}
	b.mu.Lock()
	if g.closed {
		b.mu.Unlock()
		it.Close()
		return
	}
	e.elem = b.lru.PushFront(e)
	g.idle = append(g.idle, e)
	b.bytes += e.bytes
	var victims []Item
	for b.limit > 0 && b.bytes > b.limit {
		v := b.lru.Back().Value.(*idle)
		v.group.removeIdleLocked(v)
		victims = append(victims, v.item)
	}
	b.mu.Unlock()
	for _, v := range victims {
		v.Close()
	}
}

// removeIdleLocked takes e out of the group and the budget; b.mu is held.
func (g *Group) removeIdleLocked(e *idle) {
	if i := slices.Index(g.idle, e); i >= 0 {
		// slices.Delete clears the vacated slot, so the closed item is
		// not kept alive by the backing array.
		g.idle = slices.Delete(g.idle, i, i+1)
	}
	g.budget.lru.Remove(e.elem)
	g.budget.bytes -= e.bytes
}

// Counts reports the items in use (or being made) and idle.
func (g *Group) Counts() (inUse, idle int) {
	g.budget.mu.Lock()
	defer g.budget.mu.Unlock()
	return len(g.slots), len(g.idle)
}

// Close closes the idle items; items in use are closed when they are put
// back, and Get fails from now on.
func (g *Group) Close() {
	b := g.budget
	b.mu.Lock()
	g.closed = true
	victims := make([]Item, 0, len(g.idle))
	for len(g.idle) > 0 {
		e := g.idle[len(g.idle)-1]
		g.removeIdleLocked(e)
		victims = append(victims, e.item)
	}
	b.mu.Unlock()
	for _, v := range victims {
		v.Close()
	}
}

// CloseIdle closes the group's idle items (their memory is wanted back);
// the group stays usable and makes new items on demand.
func (g *Group) CloseIdle() {
	b := g.budget
	b.mu.Lock()
	victims := make([]Item, 0, len(g.idle))
	for len(g.idle) > 0 {
		e := g.idle[len(g.idle)-1]
		g.removeIdleLocked(e)
		victims = append(victims, e.item)
	}
	b.mu.Unlock()
	for _, v := range victims {
		v.Close()
	}
}
