package call

import (
	"context"
	"fmt"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/patchbay/patchbay/plugins/rcml"
)

// gatherResult is what a <Gather> collected.
type gatherResult struct {
	verb   *rcml.Gather
	digits string // finishOnKey stripped
}

// gather collects DTMF keys (RFC 4733 or SIP INFO) while its nested prompts
// play; the first key stops them. It ends on finishOnKey, on numDigits, or
// timeout seconds after the prompts (or the last key) without another key.
func (c *Call) gather(g *rcml.Gather) {
	if !c.answer() {
		return
	}
	if g.Input == rcml.InputSpeech {
		c.notify(codeNoSpeechInput, 1, `<Gather input="speech">: this switch has no speech recognition; collecting keys only`, c.rec.URL, "")
	}
	c.drainDigits()
	p := c.newPrompter()
	keys := c.digits
	log := c.log
	c.startStep(func(ctx context.Context) stepDone {
		digits := collectDigits(ctx, g, keys, func(ctx context.Context) {
			// The prompts run on their own goroutine, out of runStep's
			// reach: a failing prompt ends the prompts, and the keys are
			// still collected.
			defer func() {
				if r := recover(); r != nil {
					log.Error("<Gather> prompt panicked; prompts stopped", "panic", r, "stack", string(debug.Stack()))
					p.warning(codeInternal, 0, fmt.Sprintf("<Gather> prompts stopped by an internal error: %v", r))
				}
			}()
			for _, v := range g.Prompts {
				if ctx.Err() != nil {
					return
				}
				p.run(ctx, v)
			}
		})
		return stepDone{warnings: p.warn, gather: &gatherResult{verb: g, digits: digits}}
	})
	c.stepKind = stepVerb
}

// collectDigits runs prompts and reads keys until the <Gather> is complete
// or ctx ends.
func collectDigits(ctx context.Context, g *rcml.Gather, keys <-chan byte, prompts func(context.Context)) string {
	promptCtx, stopPrompts := context.WithCancel(ctx)
	promptsDone := make(chan struct{})
	go func() {
		defer close(promptsDone)
		prompts(promptCtx)
	}()
	defer func() {
		stopPrompts()
		<-promptsDone // the prompts' goroutine never outlives the step
	}()

	timeout := seconds(g.Timeout)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var (
		digits  strings.Builder
		started bool
	)
	done := promptsDone
	for {
		select {
		case <-ctx.Done():
			return digits.String()
		case <-done:
			done = nil // prompts over: wait timeout for the (next) key
			timer.Reset(timeout)
		case <-timer.C:
			return digits.String()
		case d := <-keys:
			if strings.IndexByte(g.FinishOnKey, d) >= 0 {
				return digits.String()
			}
			if !started && strings.IndexByte(g.StartInputKey, d) < 0 {
				continue
			}
			started = true
			stopPrompts()
			digits.WriteByte(d)
			if digits.Len() >= g.NumDigits {
				return digits.String()
			}
			timer.Reset(timeout)
		}
	}
}

// afterGather submits the keys to the action, whose RCML replaces the
// document; with no keys, or no action, the document goes on (spec §5.2).
func (c *Call) afterGather(r *gatherResult) {
	if r.digits == "" || r.verb.Action == "" {
		c.next()
		return
	}
	c.fetchWith(r.verb.Action, r.verb.Method, "", "", url.Values{"Digits": {r.digits}})
}
