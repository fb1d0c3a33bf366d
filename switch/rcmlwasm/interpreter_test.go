package rcmlwasm_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/plugins/rcml"
	"github.com/patchbay/patchbay/switch/rcmlwasm"
	"github.com/patchbay/patchbay/wasmhost"
)

func xmlDoc(body string) rcml.Document {
	return rcml.Document{Body: []byte(body), URL: docURL, ContentType: "text/xml"}
}

// TestCacheHit: the second parse of a document is the same plan, answered
// without invoking the guest; any difference in URL, content type or body
// is a new document.
func TestCacheHit(t *testing.T) {
	in := newInterpreter(t)
	ctx := context.Background()
	doc := xmlDoc(typicalDoc)
	first, err := in.Handle(ctx, doc)
	if err != nil {
		t.Fatal(err)
	}
	second, err := in.Handle(ctx, doc)
	if err != nil {
		t.Fatal(err)
	}
	if first != second {
		t.Fatal("a hit returned another plan")
	}
	if s := in.Stats(); s.Hits != 1 || s.Misses != 1 || s.Module.Invocations != 1 || s.Entries != 1 || s.Bytes == 0 {
		t.Fatalf("after a miss and a hit: %+v", s)
	}
	others := []rcml.Document{
		{Body: doc.Body, URL: docURL + "?v=2", ContentType: doc.ContentType},
		{Body: doc.Body, URL: docURL, ContentType: "application/xml"},
		{Body: []byte(typicalDoc + " "), URL: docURL, ContentType: doc.ContentType},
	}
	for _, d := range others {
		if _, err := in.Handle(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if s := in.Stats(); s.Hits != 1 || s.Misses != 4 || s.Module.Invocations != 4 {
		t.Fatalf("three other documents should each run the guest: %+v", s)
	}
}

// TestCacheKeepsErrors: the guest's answer about a bad document is cached
// too, and every caller gets its own error value.
func TestCacheKeepsErrors(t *testing.T) {
	in := newInterpreter(t)
	doc := xmlDoc("<Response>\n<Say>")
	_, err1 := in.Handle(context.Background(), doc)
	_, err2 := in.Handle(context.Background(), doc)
	var pe1, pe2 *rcml.ParseError
	if !errors.As(err1, &pe1) || !errors.As(err2, &pe2) || !errors.Is(err2, rcml.ErrMalformed) {
		t.Fatalf("errors %v, %v: want *rcml.ParseError of cause ErrMalformed", err1, err2)
	}
	if pe1 == pe2 {
		t.Fatal("two callers share one error value")
	}
	if s := in.Stats(); s.Hits != 1 || s.Module.Invocations != 1 {
		t.Fatalf("stats %+v: want the error answered from the cache", s)
	}
}

// TestCacheBounds: the LRU drops the least recently used plan beyond its
// entry and byte bounds.
func TestCacheBounds(t *testing.T) {
	ctx := context.Background()
	in := newInterpreter(t, rcmlwasm.WithCacheEntries(2))
	a, b, c := xmlDoc("<Say>a</Say>"), xmlDoc("<Say>b</Say>"), xmlDoc("<Say>c</Say>")
	for _, d := range []rcml.Document{a, b, a, c, a, b} { // c evicts b, then b evicts c
		if _, err := in.Handle(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if s := in.Stats(); s.Hits != 2 || s.Misses != 4 || s.Evictions != 2 || s.Entries != 2 {
		t.Fatalf("stats %+v: want hits 2, misses 4, evictions 2, entries 2", s)
	}

	one := in.Stats().Bytes / 2 // a, b and c encode to the same size
	small := newInterpreter(t, rcmlwasm.WithCacheBytes(one*3/2))
	for _, d := range []rcml.Document{a, b, a} {
		if _, err := small.Handle(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if s := small.Stats(); s.Hits != 0 || s.Entries != 1 || s.Bytes != one || s.Evictions != 2 {
		t.Fatalf("stats %+v: want one plan of %d bytes kept", s, one)
	}
}

// TestHostileDocuments: documents built to hurt the parser end in a typed
// error or a plan, within the budget, and leave the guest healthy.
func TestHostileDocuments(t *testing.T) {
	in := newInterpreter(t, rcmlwasm.WithCacheEntries(0))
	ctx := context.Background()
	huge := strings.Repeat("<Response><Say>x</Say></Response>", (2<<20)/34)
	deep := strings.Repeat("<a>", 20000)
	pauses := "<Response>" + strings.Repeat("<Pause/>", 4000) + "</Response>"
	attrs := "<Say " + strings.Repeat(`a="1" `, 10000) + ">x</Say>"
	cases := []struct {
		name    string
		doc     rcml.Document
		cause   error // nil: a plan
		invokes bool
	}{
		{"2 MiB", xmlDoc(huge), rcml.ErrDocumentTooLarge, false},
		{"just over the sandbox limit", xmlDoc(strings.Repeat(" ", rcmlwasm.MaxSandboxInput)), rcml.ErrDocumentTooLarge, false},
		{"20,000 levels deep", xmlDoc(deep), rcml.ErrTooDeep, true},
		{"plan over the output limit", xmlDoc(pauses), rcml.ErrDocumentTooLarge, true},
		{"10,000 attributes", xmlDoc(attrs), nil, true},
		{"2 MiB of audio", rcml.Document{Body: []byte(huge), URL: "https://cdn.example.com/a.wav", ContentType: "audio/wav"}, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := in.Stats().Module.Invocations
			p, err := in.Handle(ctx, c.doc)
			switch {
			case c.cause == nil && err != nil:
				t.Fatalf("want a plan, got %v", err)
			case c.cause != nil && !errors.Is(err, c.cause):
				t.Fatalf("got %v, want a *rcml.ParseError of cause %v", err, c.cause)
			case c.cause == nil && len(p.Verbs) != 1:
				t.Fatalf("plan %+v: want one verb", p)
			}
			var pe *rcml.ParseError
			if c.cause != nil && !errors.As(err, &pe) {
				t.Fatalf("%T is not a *rcml.ParseError", err)
			}
			if invoked := in.Stats().Module.Invocations > before; invoked != c.invokes {
				t.Fatalf("guest invoked: %v, want %v", invoked, c.invokes)
			}
		})
	}
	if s := in.Stats(); s.SandboxFailures != 0 {
		t.Fatalf("stats %+v: the guest failed", s)
	}
	if _, err := in.Handle(ctx, xmlDoc(typicalDoc)); err != nil {
		t.Fatalf("after the hostile documents: %v", err)
	}
}

// TestMisbehavingGuest: a guest that stalls, crashes, blows its memory or
// answers garbage gives a typed error for that document only; a stalled
// parse does not hold up others, and failures are not cached.
func TestMisbehavingGuest(t *testing.T) {
	budget := 2 * time.Second // long, so that "the others finished first" holds on a loaded machine
	in, err := rcmlwasm.New(context.Background(), newHost(t, wasmhost.Config{}),
		rcmlwasm.WithModule(hostileGuest(t)), rcmlwasm.WithTimeout(budget), rcmlwasm.WithMemoryMB(32))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	ctx := context.Background()

	stalled := make(chan error, 1)
	go func() {
		_, err := in.Handle(ctx, xmlDoc("<Say>STALL</Say>"))
		stalled <- err
	}()
	for in.Stats().Module.InstancesInUse == 0 { // the stall has its instance
		time.Sleep(time.Millisecond)
	}
	for i := range 5 {
		p, err := in.Handle(ctx, xmlDoc(fmt.Sprintf("<Say>%d</Say>", i)))
		if err != nil || p.Verbs[0].Say.Text != fmt.Sprint(i) {
			t.Fatalf("parse beside the stalled one: %+v, %v", p, err)
		}
	}
	select {
	case err := <-stalled:
		t.Fatalf("the stalled parse ended (%v) before the others", err)
	default:
	}
	if err := <-stalled; !errors.Is(err, rcmlwasm.ErrSandbox) || !errors.Is(err, wasmhost.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stalled parse: %v, want ErrSandbox and wasmhost.ErrTimeout", err)
	}

	for _, c := range []struct {
		body string
		kind error
	}{
		{"<Say>CRASH</Say>", wasmhost.ErrTrap},
		{"<Say>GARBAGE</Say>", nil},
		{"<Say>CRASH</Say>", wasmhost.ErrTrap}, // again: not cached
	} {
		_, err := in.Handle(ctx, xmlDoc(c.body))
		var pe *rcml.ParseError
		if !errors.Is(err, rcmlwasm.ErrSandbox) || (c.kind != nil && !errors.Is(err, c.kind)) || errors.As(err, &pe) {
			t.Fatalf("%s: %v, want ErrSandbox and %v", c.body, err, c.kind)
		}
	}
	s := in.Stats()
	if s.SandboxFailures != 4 || s.Entries != 5 || s.Module.Timeouts != 1 || s.Module.Traps != 2 {
		t.Fatalf("stats %+v: want 4 failures, none cached", s)
	}
	// The memory bomb gets its own interpreter with a generous deadline: on
	// a loaded CI machine under -race, growing to the cap can take longer
	// than the stall test's budget, and the cap, not the clock, must stop it.
	bomb, err := rcmlwasm.New(context.Background(), newHost(t, wasmhost.Config{MaxTimeout: time.Minute}),
		rcmlwasm.WithModule(hostileGuest(t)), rcmlwasm.WithTimeout(time.Minute), rcmlwasm.WithMemoryMB(32))
	if err != nil {
		t.Fatal(err)
	}
	defer bomb.Close()
	if _, err := bomb.Handle(ctx, xmlDoc("<Say>BOMB</Say>")); !errors.Is(err, rcmlwasm.ErrSandbox) || !errors.Is(err, wasmhost.ErrMemoryLimit) {
		t.Fatalf("memory bomb: %v, want ErrSandbox and wasmhost.ErrMemoryLimit", err)
	}
	if hits := bomb.Stats().Module.MemoryLimitHits; hits != 1 {
		t.Fatalf("memory-limit hits = %d, want 1", hits)
	}
	if _, err := in.Handle(ctx, xmlDoc(typicalDoc)); err != nil {
		t.Fatalf("after the failures: %v", err)
	}
}

// TestConcurrentParses: many goroutines parse a mix of new, repeated and
// bad documents at once; each gets the native answer, and a document asked
// for by many at once runs the guest once.
func TestConcurrentParses(t *testing.T) {
	in := newInterpreter(t, rcmlwasm.WithCacheEntries(8))
	docs := []rcml.Document{xmlDoc(typicalDoc), xmlDoc(everyVerb), xmlDoc("<Say>"), {Body: []byte("hi"), ContentType: "text/plain"}}
	for i := range 12 {
		docs = append(docs, xmlDoc(fmt.Sprintf("<Say>%d</Say>", i)))
	}
	const workers, rounds = 16, 6
	var wg sync.WaitGroup
	errs := make(chan string, workers*rounds*len(docs))
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				for i := range docs {
					d := docs[(i+w+r)%len(docs)]
					got, err := in.Handle(context.Background(), d)
					want, wantErr := rcml.Handle(d)
					if msg := diff(want, wantErr, got, err); msg != "" {
						errs <- msg
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Fatal(msg)
	}
	s := in.Stats()
	if total := s.Hits + s.Misses + s.Coalesced; total != workers*rounds*uint64(len(docs)) || s.Hits == 0 || s.Module.Invocations != s.Misses {
		t.Fatalf("stats %+v: every parse is a hit, a miss or coalesced; misses are the guest's invocations", s)
	}
}

// TestCoalescedMisses: a new document asked for by many callers at once
// runs the guest exactly once.
func TestCoalescedMisses(t *testing.T) {
	in := newInterpreter(t)
	var wg sync.WaitGroup
	plans := make([]*rcml.Plan, 20)
	for i := range plans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := in.Handle(context.Background(), xmlDoc(typicalDoc))
			if err != nil {
				t.Error(err)
			}
			plans[i] = p
		}()
	}
	wg.Wait()
	for _, p := range plans[1:] {
		if p != plans[0] {
			t.Fatal("callers got different plans for one document")
		}
	}
	if s := in.Stats(); s.Misses != 1 || s.Module.Invocations != 1 || s.Hits+s.Coalesced != 19 {
		t.Fatalf("stats %+v: want one guest run for 20 callers", s)
	}
}

// TestCanceledCaller: a caller whose context ends gets the context's error,
// and the document is not cached as failed.
func TestCanceledCaller(t *testing.T) {
	in := newInterpreter(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := in.Handle(ctx, xmlDoc(typicalDoc)); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled caller: %v", err)
	}
	if _, err := in.Handle(context.Background(), xmlDoc(typicalDoc)); err != nil {
		t.Fatal(err)
	}
	if s := in.Stats(); s.SandboxFailures != 0 || s.Entries != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestOptionsRefuseNonsense(t *testing.T) {
	h := newHost(t, wasmhost.Config{})
	for _, o := range []rcmlwasm.Option{rcmlwasm.WithModule(nil), rcmlwasm.WithCacheEntries(-1), rcmlwasm.WithCacheBytes(-1),
		rcmlwasm.WithTimeout(0), rcmlwasm.WithMemoryMB(0), rcmlwasm.WithLogger(nil)} {
		if _, err := rcmlwasm.New(context.Background(), h, o); err == nil {
			t.Fatal("New accepted a bad option")
		}
	}
	if _, err := rcmlwasm.New(context.Background(), h, rcmlwasm.WithModule([]byte("not wasm"))); !errors.Is(err, wasmhost.ErrCompile) {
		t.Fatalf("bad module: %v", err)
	}
}
