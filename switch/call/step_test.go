package call

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchbay/patchbay/plugins/rcml"
)

// A verb whose code panics (a bug, or a plan whose kind and payload
// disagree) is reported as that step's error and logged with its stack;
// the process goes on.
func TestRunStepTurnsAPanicIntoTheStepsError(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	r := runStep(context.Background(), log, func(context.Context) stepDone {
		var play *rcml.Play // a "Play" verb without its payload
		_ = play.URL
		return stepDone{}
	})
	if r.err == nil || !strings.Contains(r.err.Error(), "internal error in a call step") {
		t.Fatalf("step result %+v, want the panic as its error", r)
	}
	if !strings.Contains(logs.String(), "call step panicked") || !strings.Contains(logs.String(), "runtime error") {
		t.Errorf("panic not logged: %s", logs.String())
	}
	want := errors.New("fetch failed")
	if r := runStep(context.Background(), log, func(context.Context) stepDone { return stepDone{err: want} }); r.err != want {
		t.Errorf("a step that does not panic: err %v, want its own %v", r.err, want)
	}
}

func TestSecondsNeverOverflows(t *testing.T) {
	for _, n := range []int{0, 5, 3600} {
		if got := seconds(n); got != time.Duration(n)*time.Second {
			t.Errorf("seconds(%d) = %v", n, got)
		}
	}
	for _, n := range []int{9_300_000_000, math.MaxInt} {
		if got := seconds(n); got < 100*365*24*time.Hour {
			t.Errorf("seconds(%d) = %v, want a wait that never ends, not an overflow", n, got)
		}
	}
}

// A step starts only after the step it replaced has returned, even when
// that one is slow to notice its cancellation, so two steps never use the
// call's keys or media at once.
func TestAStepWaitsForTheOneItReplaced(t *testing.T) {
	c := &Call{log: slog.New(slog.DiscardHandler), mailbox: make(chan any, 4), closing: make(chan struct{})}
	var oldRunning atomic.Bool
	oldStarted := make(chan struct{})
	c.startStep(func(ctx context.Context) stepDone {
		oldRunning.Store(true)
		close(oldStarted)
		<-ctx.Done()
		// Cleaning up after the cancellation (closing a recording, say).
		time.Sleep(50 * time.Millisecond)
		oldRunning.Store(false)
		return stepDone{}
	})
	<-oldStarted
	overlapped := make(chan bool, 1)
	c.startStep(func(context.Context) stepDone {
		overlapped <- oldRunning.Load()
		return stepDone{}
	})
	if <-overlapped {
		t.Fatal("the new step ran while the cancelled one was still running")
	}
	c.steps.Wait()
	for range 2 {
		if r := (<-c.mailbox).(stepDone); r.gen != 1 && r.gen != 2 {
			t.Errorf("step result of generation %d", r.gen)
		}
	}
}

// A step whose predecessor never returns still runs once the wait limit
// has passed (and the wait is logged), so one stuck step cannot stall the
// call; a step replaced while it waited never runs.
func TestAStepGivesUpWaitingAndAReplacedOneNeverRuns(t *testing.T) {
	var logs bytes.Buffer
	c := &Call{log: slog.New(slog.NewTextHandler(&logs, nil)), mailbox: make(chan any, 4),
		closing: make(chan struct{}), stepWait: 20 * time.Millisecond}
	stuck, release := make(chan struct{}), make(chan struct{})
	c.startStep(func(context.Context) stepDone {
		close(stuck)
		<-release // ignores its context
		return stepDone{}
	})
	<-stuck
	var replacedRan atomic.Bool
	c.startStep(func(context.Context) stepDone {
		replacedRan.Store(true)
		return stepDone{}
	})
	ran := make(chan struct{})
	c.startStep(func(context.Context) stepDone {
		close(ran)
		return stepDone{}
	})
	<-ran // only after the limit: the stuck step has not returned
	close(release)
	c.steps.Wait()
	if replacedRan.Load() {
		t.Error("a step replaced while it waited ran anyway")
	}
	if !strings.Contains(logs.String(), "still running") {
		t.Errorf("the give-up was not logged: %s", logs.String())
	}
}
