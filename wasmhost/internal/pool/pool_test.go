package pool

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type fakeItem struct {
	bytes  int64
	busy   atomic.Bool
	closed atomic.Int32
}

func (f *fakeItem) Bytes() int64 { return f.bytes }
func (f *fakeItem) Close()       { f.closed.Add(1) }

type maker struct {
	made []*fakeItem
	mu   sync.Mutex
	size int64
}

func (m *maker) create(context.Context) (Item, error) {
	it := &fakeItem{bytes: m.size}
	m.mu.Lock()
	m.made = append(m.made, it)
	m.mu.Unlock()
	return it, nil
}

func TestReusesIdleAndDiscardsBroken(t *testing.T) {
	m := &maker{size: 10}
	g := NewBudget(0).NewGroup(2, m.create)
	ctx := context.Background()
	a, _ := g.Get(ctx, 0)
	g.Put(a, true)
	b, _ := g.Get(ctx, 0)
	if a != b {
		t.Fatal("idle item not reused")
	}
	g.Put(b, false)
	if b.(*fakeItem).closed.Load() != 1 {
		t.Fatal("broken item not closed")
	}
	c, _ := g.Get(ctx, 0)
	if c == b {
		t.Fatal("broken item handed out again")
	}
	g.Put(c, true)
	if len(m.made) != 2 {
		t.Fatalf("made %d items, want 2", len(m.made))
	}
}

func TestGetWaitsForASlotUntilCtxEnds(t *testing.T) {
	m := &maker{size: 1}
	g := NewBudget(0).NewGroup(1, m.create)
	a, _ := g.Get(context.Background(), 0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := g.Get(ctx, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get on a full group = %v, want DeadlineExceeded", err)
	}
	g.Put(a, true)
	if _, err := g.Get(context.Background(), 0); err != nil {
		t.Fatalf("Get after Put: %v", err)
	}
}

func TestBudgetEvictsLeastRecentlyUsedAcrossGroups(t *testing.T) {
	budget := NewBudget(25)
	m1, m2 := &maker{size: 10}, &maker{size: 10}
	g1, g2 := budget.NewGroup(2, m1.create), budget.NewGroup(2, m2.create)
	ctx := context.Background()
	a, _ := g1.Get(ctx, 0)
	b, _ := g2.Get(ctx, 0)
	c, _ := g2.Get(ctx, 0)
	g1.Put(a, true) // oldest
	g2.Put(b, true)
	g2.Put(c, true) // 30 > 25: a goes
	if a.(*fakeItem).closed.Load() != 1 || b.(*fakeItem).closed.Load() != 0 {
		t.Fatal("the least recently used idle item was not the one evicted")
	}
	if got := budget.IdleBytes(); got != 20 {
		t.Fatalf("IdleBytes = %d, want 20", got)
	}
	if _, idle := g1.Counts(); idle != 0 {
		t.Fatalf("g1 still lists %d idle", idle)
	}
}

func TestCloseClosesIdleNowAndInUseOnPut(t *testing.T) {
	m := &maker{size: 1}
	g := NewBudget(0).NewGroup(2, m.create)
	ctx := context.Background()
	a, _ := g.Get(ctx, 0)
	b, _ := g.Get(ctx, 0)
	g.Put(a, true)
	g.Close()
	if a.(*fakeItem).closed.Load() != 1 {
		t.Fatal("idle item not closed by Close")
	}
	g.Put(b, true)
	if b.(*fakeItem).closed.Load() != 1 {
		t.Fatal("item put back after Close not closed")
	}
	if _, err := g.Get(ctx, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close = %v", err)
	}
}

// TestHammer runs many goroutines through a small group and checks that an
// item is never handed to two users at once, the group never exceeds its
// size, and every item is closed exactly once by the end.
func TestHammer(t *testing.T) {
	const size = 3
	m := &maker{size: 1}
	budget := NewBudget(2)
	g := budget.NewGroup(size, m.create)
	var inUse, peak atomic.Int32
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := range 200 {
				it, err := g.Get(context.Background(), 0)
				if err != nil {
					t.Error(err)
					return
				}
				f := it.(*fakeItem)
				if !f.busy.CompareAndSwap(false, true) {
					t.Error("item handed out twice")
				}
				n := inUse.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				if f.closed.Load() != 0 {
					t.Error("closed item handed out")
				}
				inUse.Add(-1)
				f.busy.Store(false)
				g.Put(it, (w+i)%7 != 0)
			}
		})
	}
	wg.Wait()
	g.Close()
	if peak.Load() > size {
		t.Fatalf("peak in use %d > size %d", peak.Load(), size)
	}
	for i, it := range m.made {
		if c := it.closed.Load(); c != 1 {
			t.Fatalf("item %d closed %d times", i, c)
		}
	}
	if budget.IdleBytes() != 0 {
		t.Fatalf("IdleBytes after Close = %d", budget.IdleBytes())
	}
}

// TestEvictedItemsAreNotRetained checks that a group forgets the items it
// evicted or closed, so their memory can be collected.
func TestEvictedItemsAreNotRetained(t *testing.T) {
	m := &maker{size: 10}
	g := NewBudget(1).NewGroup(1, m.create)
	it, _ := g.Get(context.Background(), 0)
	g.Put(it, true) // over the budget: evicted at once
	g.budget.mu.Lock()
	defer g.budget.mu.Unlock()
	for _, e := range g.idle[:cap(g.idle)] {
		if e != nil {
			t.Fatal("an evicted item is still referenced by the group")
		}
	}
}

func TestCloseIdleKeepsGroupUsable(t *testing.T) {
	m := &maker{size: 10}
	b := NewBudget(0)
	g := b.NewGroup(2, m.create)
	ctx := context.Background()
	it1, _ := g.Get(ctx, 0)
	it2, _ := g.Get(ctx, 0)
	g.Put(it1, true)
	g.CloseIdle()
	if it1.(*fakeItem).closed.Load() != 1 || it2.(*fakeItem).closed.Load() != 0 {
		t.Fatal("CloseIdle must close the idle item only")
	}
	if _, idle := g.Counts(); idle != 0 || b.IdleBytes() != 0 {
		t.Fatalf("idle %d, bytes %d after CloseIdle", idle, b.IdleBytes())
	}
	g.Put(it2, true)
	it3, err := g.Get(ctx, 0)
	if err != nil || it3 != it2 || len(m.made) != 2 {
		t.Fatalf("Get after CloseIdle: %v %v (made %d)", it3, err, len(m.made))
	}
}

func TestGetWaitsAtMostItsWait(t *testing.T) {
	m := &maker{size: 1}
	g := NewBudget(0).NewGroup(1, m.create)
	a, _ := g.Get(context.Background(), 0)
	if _, err := g.Get(context.Background(), 20*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get on a full group with a wait = %v, want DeadlineExceeded", err)
	}
	got := make(chan error, 1)
	go func() {
		_, err := g.Get(context.Background(), time.Minute)
		got <- err
	}()
	g.Put(a, true)
	if err := <-got; err != nil {
		t.Fatalf("Get waiting while the slot was given back: %v", err)
	}
	// A free slot needs no wait at all.
	g2 := NewBudget(0).NewGroup(1, m.create)
	if _, err := g2.Get(context.Background(), time.Nanosecond); err != nil {
		t.Fatalf("Get on a free group = %v", err)
	}
}
