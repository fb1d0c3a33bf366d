package webhook

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mathrand "math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/patchbay/patchbay/switch/store"
)

// Errors of the Outbox. Match them with errors.Is.
var (
	// ErrInvalidCallback: Enqueue was given an item whose URL or method cannot be sent.
	ErrInvalidCallback = errors.New("webhook: invalid callback")
	// ErrAlreadyRunning: Run was called while another Run of the same Outbox had not returned.
	ErrAlreadyRunning = errors.New("webhook: outbox already running")
)

const (
	// scanLimit bounds one read of due items. Items waiting behind an earlier
	// callback of their call are moved out of the due set (see merge), so
	// this many is plenty to keep every worker busy.
	scanLimit = 256
	// startupScanLimit bounds the read of all pending items when Run starts.
	startupScanLimit = 100_000
	// storeTimeout bounds the store writes that record an attempt.
	storeTimeout = 5 * time.Second
	// drainLimit is how much of a callback's response is read so that the
	// connection can be reused; the content is ignored.
	drainLimit = 64 << 10
)

// OutboxStats counts what an Outbox did since it was made.
type OutboxStats struct {
	Delivered uint64 // answered with a 2xx
	Retried   uint64 // failed attempts that were rescheduled
	Abandoned uint64 // given up after too many attempts or too long
}

// Outbox delivers HTTP callbacks (call-progress and application status
// callbacks) durably: an item is written to the store before Enqueue returns
// and stays there until an application answered it with a 2xx or the Outbox
// gave up on it. Failed attempts are retried with exponential backoff and
// jitter. Items of one call are delivered in enqueue order, one at a time; a
// later item never overtakes an earlier undelivered one. Items of different
// calls are delivered concurrently by a bounded number of workers.
//
// Delivery is at least once: a request cut short by a crash or by the end of
// Run is sent again later. Enqueue is safe for concurrent use; items of one
// call must be enqueued by one goroutine (the call's owner), in order.
type Outbox struct {
	store  store.Store
	client *http.Client
	log    *slog.Logger
	now    func() time.Time

	workers        int
	backoffFirst   time.Duration
	backoffMax     time.Duration
	maxAttempts    int
	maxAge         time.Duration
	requestTimeout time.Duration
	pollInterval   time.Duration

	wake    chan struct{} // capacity 1: a pending wake-up is never lost, extra ones merge
	running atomic.Bool
	ids     idSource

	delivered, retried, abandoned atomic.Uint64
}

// NewOutbox returns an Outbox that keeps its items in st and sends them
// through client (nil: NewHTTPClient("dev")). Nothing is delivered until Run.
func NewOutbox(st store.Store, client *http.Client, opts ...OutboxOption) (*Outbox, error) {
	if st == nil {
		return nil, errors.New("webhook: nil store")
	}
	if client == nil {
		client = NewHTTPClient("")
	}
	o := &Outbox{
		store:          st,
		client:         client,
		log:            slog.New(slog.DiscardHandler),
		now:            time.Now,
		workers:        16,
		backoffFirst:   time.Second,
		backoffMax:     5 * time.Minute,
		maxAttempts:    20,
		maxAge:         24 * time.Hour,
		requestTimeout: 10 * time.Second,
		pollInterval:   5 * time.Second,
		wake:           make(chan struct{}, 1),
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// Stats returns the counters so far.
func (o *Outbox) Stats() OutboxStats {
	return OutboxStats{
		Delivered: o.delivered.Load(),
		Retried:   o.retried.Load(),
		Abandoned: o.abandoned.Load(),
	}
}

// Enqueue stores a callback and wakes the delivery loop. When it returns nil
// the item is durable. The Outbox fills in ID (when empty, with a value that
// sorts in enqueue order) and CreatedAt (when zero), normalises Method
// (empty means POST), and schedules the first attempt for now. Enqueue works
// whether or not Run is running; a stopped Outbox delivers at its next Run.
func (o *Outbox) Enqueue(ctx context.Context, it store.OutboxItem) error {
	method, err := normalizeMethod(it.Method)
	if err != nil {
		return fmt.Errorf("%w for call %s: %w", ErrInvalidCallback, it.CallSid, err)
	}
	if _, err := parseURL(it.URL); err != nil {
		return fmt.Errorf("%w for call %s: %s: %w", ErrInvalidCallback, it.CallSid, redact(it.URL), err)
	}
	now := o.now()
	if it.ID == "" {
		it.ID = o.ids.next(now)
	}
	if it.CreatedAt.IsZero() {
		it.CreatedAt = now
	}
	it.Method = method
	it.Params = cloneValues(it.Params)
	it.Attempts, it.NextAttempt, it.LastError = 0, now, ""
	if err := o.store.Enqueue(ctx, it); err != nil {
		return fmt.Errorf("webhook: enqueue callback %s for call %s: %w", it.ID, it.CallSid, err)
	}
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return nil
}

// Run delivers callbacks until ctx is cancelled, then cancels the requests
// in flight, waits for its workers and returns nil. Items whose request was
// cut short stay in the store unchanged. Only one Run may be active at a
// time; Run may be called again after it returned.
func (o *Outbox) Run(ctx context.Context) error {
	if !o.running.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	defer o.running.Store(false)
	l := &deliveryLoop{
		o:       o,
		queues:  make(map[string]*callQueue),
		results: make(chan deliveryResult, o.workers),
	}
	// Even if run panics, no worker outlives Run.
	defer l.wg.Wait()
	l.run(ctx)
	return nil
}

// callQueue is the delivery state of one call: its earliest undelivered item.
// Later items of the call stay in the store until the head is settled.
type callQueue struct {
	head     store.OutboxItem
	inFlight bool
}

type outcome int

const (
	outcomeDelivered outcome = iota
	outcomeRetry
	outcomeAbandoned
	outcomeStopped // Run ended during the request; nothing was recorded
)

type deliveryResult struct {
	key     string
	item    store.OutboxItem
	outcome outcome
}

// deliveryLoop is the state of one Run; only Run's goroutine touches it.
type deliveryLoop struct {
	o        *Outbox
	queues   map[string]*callQueue // by orderKey
	inFlight int
	results  chan deliveryResult // capacity o.workers, so a worker never blocks on it
	wg       sync.WaitGroup
}

func (l *deliveryLoop) run(ctx context.Context) {
	// Read every pending item first, including those waiting for a retry:
	// after a restart an earlier callback of a call may be waiting while a
	// later one is already due, and only a full read shows that.
	l.scan(ctx, l.o.now().AddDate(100, 0, 0), startupScanLimit)

	poll := time.NewTicker(l.o.pollInterval)
	defer poll.Stop()
	timer := time.NewTimer(l.o.pollInterval)
	defer timer.Stop()
	for {
		if wait, ok := l.dispatch(ctx); ok {
			timer.Reset(wait)
		} else {
			timer.Stop()
		}
		rescan := false
		select {
		case <-ctx.Done():
			l.wg.Wait()
			return
		case r := <-l.results:
			rescan = l.settle(r)
			for drained := false; !drained; {
				select {
				case r := <-l.results:
					rescan = l.settle(r) || rescan
				default:
					drained = true
				}
			}
		case <-l.o.wake:
			rescan = true
		case <-poll.C:
			rescan = true
		case <-timer.C:
		}
		if rescan {
			l.scan(ctx, l.o.now(), scanLimit)
		}
	}
}

// dispatch starts a delivery for every due head, as far as workers allow,
// and returns how long until the next waiting head is due (ok false when
// nothing waits). Due heads left over for lack of a worker are not counted:
// a finishing worker wakes the loop anyway.
func (l *deliveryLoop) dispatch(ctx context.Context) (wait time.Duration, ok bool) {
	now := l.o.now()
	var next time.Time
	for key, q := range l.queues {
		if q.inFlight {
			continue
		}
		if q.head.NextAttempt.After(now) {
			if next.IsZero() || q.head.NextAttempt.Before(next) {
				next = q.head.NextAttempt
			}
			continue
		}
		if l.inFlight >= l.o.workers {
			continue
		}
		q.inFlight = true
		l.inFlight++
		l.wg.Add(1)
		go func(key string, it store.OutboxItem) {
			defer l.wg.Done()
			l.results <- l.o.attempt(ctx, key, it)
		}(key, q.head)
	}
	if next.IsZero() {
		return 0, false
	}
	return next.Sub(now), true
}

// settle applies a worker's result and reports whether the store should be
// read again (the call's next item may now be due).
func (l *deliveryLoop) settle(r deliveryResult) bool {
	l.inFlight--
	q := l.queues[r.key]
	switch r.outcome {
	case outcomeDelivered, outcomeAbandoned:
		delete(l.queues, r.key)
		return true
	case outcomeRetry:
		q.head = r.item
	}
	q.inFlight = false
	return false
}

// scan reads items from the store and merges them into the call queues.
func (l *deliveryLoop) scan(ctx context.Context, until time.Time, limit int) {
	items, err := l.o.store.Due(ctx, until, limit)
	if err != nil {
		if ctx.Err() == nil {
			l.o.log.Error("outbox: read pending callbacks", slog.String("error", err.Error()))
		}
		return
	}
	// IDs sort in enqueue order; do not rely on the store's order.
	sort.Slice(items, func(i, j int) bool { return items[i].ID < items[j].ID })
	for _, it := range items {
		l.merge(ctx, it)
	}
}

func (l *deliveryLoop) merge(ctx context.Context, it store.OutboxItem) {
	key := orderKey(it)
	q, ok := l.queues[key]
	switch {
	case !ok:
		l.queues[key] = &callQueue{head: it}
	case it.ID == q.head.ID:
		// Known already; the in-memory copy is the current one.
	case it.ID < q.head.ID:
		// An earlier item than the one we took for the head: only possible
		// when the startup read was cut short. The displaced head comes back
		// in a later read and waits behind this one.
		if !q.inFlight {
			q.head = it
		}
	default:
		// A later item of a call whose head is undelivered waits. Moving its
		// time up to the head's keeps it out of the due set meanwhile (so
		// waiting items cannot fill a read) and keeps "later items are never
		// due before earlier ones" true in the store across a restart.
		if q.inFlight || !it.NextAttempt.Before(q.head.NextAttempt) {
			return
		}
		it.NextAttempt = q.head.NextAttempt
		if err := l.o.store.Reschedule(ctx, it); err != nil && ctx.Err() == nil {
			l.o.itemLogger(it).Error("outbox: hold callback behind earlier one", slog.String("error", err.Error()))
		}
	}
}

// orderKey groups the items that must be delivered in order: those of one
// call. An item with no call is its own group.
func orderKey(it store.OutboxItem) string {
	if it.CallSid != "" {
		return "call:" + it.CallSid
	}
	return "item:" + it.ID
}

// attempt sends one item and records the outcome in the store.
func (o *Outbox) attempt(ctx context.Context, key string, it store.OutboxItem) deliveryResult {
	reqCtx, cancel := context.WithTimeout(ctx, o.requestTimeout)
	permanent, err := o.send(reqCtx, it)
	cancel()
	if err != nil && ctx.Err() != nil {
		// Run is stopping: the failure says nothing about the application.
		return deliveryResult{key: key, item: it, outcome: outcomeStopped}
	}
	// Record the outcome even when Run is stopping meanwhile: a delivered item
	// left in the store would be sent twice.
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer scancel()
	log := o.itemLogger(it)
	if err == nil {
		if err := o.store.Done(sctx, it.ID); err != nil {
			log.Error("outbox: remove delivered callback", slog.String("error", err.Error()))
		}
		o.delivered.Add(1)
		log.Debug("callback delivered", slog.Int("attempt", it.Attempts+1))
		return deliveryResult{key: key, item: it, outcome: outcomeDelivered}
	}

	it.Attempts++
	it.LastError = err.Error()
	now := o.now()
	delay := o.backoff(it.Attempts)
	if permanent || it.Attempts >= o.maxAttempts || now.Add(delay).Sub(it.CreatedAt) > o.maxAge {
		if err := o.store.Done(sctx, it.ID); err != nil {
			log.Error("outbox: remove abandoned callback", slog.String("error", err.Error()))
		}
		o.abandoned.Add(1)
		log.Warn("callback abandoned",
			slog.Int("attempts", it.Attempts),
			slog.Duration("age", now.Sub(it.CreatedAt)),
			slog.String("error", it.LastError))
		return deliveryResult{key: key, item: it, outcome: outcomeAbandoned}
	}
	it.NextAttempt = now.Add(delay)
	if err := o.store.Reschedule(sctx, it); err != nil {
		log.Error("outbox: reschedule callback", slog.String("error", err.Error()))
	}
	o.retried.Add(1)
	log.Info("callback failed, will retry",
		slog.Int("attempts", it.Attempts),
		slog.Duration("retry_in", delay),
		slog.String("error", it.LastError))
	return deliveryResult{key: key, item: it, outcome: outcomeRetry}
}

// send makes one request. permanent is true when the item can never be sent
// (it came from the store with a URL or method Enqueue would have refused).
func (o *Outbox) send(ctx context.Context, it store.OutboxItem) (permanent bool, err error) {
	method, err := normalizeMethod(it.Method)
	if err != nil {
		return true, err
	}
	u, err := parseURL(it.URL)
	if err != nil {
		return true, err
	}
	req, err := newRequest(ctx, method, u, it.Params)
	if err != nil {
		return true, err
	}
	resp, err := o.client.Do(req)
	if err != nil {
		return false, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return false, &StatusError{StatusCode: resp.StatusCode}
	}
	return false, nil
}

// backoff is the delay after the given number of failed attempts: the first
// delay doubled per further attempt, capped, drawn from [d/2, d].
func (o *Outbox) backoff(attempts int) time.Duration {
	d := o.backoffFirst
	for i := 1; i < attempts && d < o.backoffMax; i++ {
		d *= 2
	}
	d = min(d, o.backoffMax)
	half := d / 2
	return half + time.Duration(mathrand.Int64N(int64(d-half)+1))
}

func (o *Outbox) itemLogger(it store.OutboxItem) *slog.Logger {
	return o.log.With(
		slog.String("account_sid", it.AccountSid),
		slog.String("call_sid", it.CallSid),
		slog.String("callback_id", it.ID),
		slog.String("method", it.Method),
		slog.String("url", redact(it.URL)))
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// idSource makes outbox item IDs: 16 hex digits of a strictly increasing
// nanosecond clock, so IDs sort in enqueue order within a process and across
// restarts, then 8 random hex digits so that nodes sharing a store do not collide.
type idSource struct {
	mu   sync.Mutex
	last int64
}

func (s *idSource) next(now time.Time) string {
	s.mu.Lock()
	n := max(now.UnixNano(), s.last+1)
	s.last = n
	s.mu.Unlock()
	var r [4]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails on supported platforms
	return fmt.Sprintf("%016x%x", uint64(n), r)
}
