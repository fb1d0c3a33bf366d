package call

import (
	"github.com/patchbay/patchbay/switch/calls"
	"github.com/patchbay/patchbay/switch/store"
)

// modify applies a Live Call Modification on the actor goroutine. Order
// follows spec README decision 6: a hangup wins over a redirect.
func (c *Call) modify(r calls.ModifyRequest) (store.Call, error) {
	if c.finished {
		return store.Call{}, ErrEnded
	}
	switch r.Status {
	case store.StatusCanceled:
		// Only queued and ringing calls are cancellable; answered ones are
		// left alone and the request still succeeds.
		if !c.answered {
			c.hangupWhy = "canceled through the API"
			c.cancelUnanswered(500, "Server Internal Error")
		}
		return c.rec, nil
	case store.StatusCompleted:
		if c.answered {
			c.hangup(store.StatusCompleted, "completed through the API")
		} else {
			c.hangupWhy = "completed through the API"
			c.cancelUnanswered(500, "Server Internal Error")
		}
		return c.rec, nil
	}
	changed := false
	if r.Mute != nil && c.rec.Status == store.StatusInProgress && c.rec.Muted != *r.Mute {
		c.rec.Muted = *r.Mute
		if c.media != nil {
			c.media.SetMuted(*r.Mute)
		}
		changed = true
	}
	if r.StatusCallback != "" {
		c.app.StatusCallback = r.StatusCallback
		c.app.StatusCallbackMethod = methodOr(r.StatusCallbackMethod)
		// A new application callback starts its own set of states.
		c.appStates = make(map[string]bool)
	}
	if r.URL != "" {
		c.app.URL, c.app.Method = r.URL, methodOr(r.Method)
		c.app.FallbackURL, c.app.FallbackMethod = r.FallbackURL, methodOr(r.FallbackMethod)
		c.rec.URL, c.rec.Method = c.app.URL, c.app.Method
		c.rec.FallbackURL, c.rec.FallbackMethod = c.app.FallbackURL, c.app.FallbackMethod
		if c.in == nil && !c.answered {
			// An outbound call that still rings runs the new document once answered.
			return c.rec, c.save()
		}
		c.log.Info("redirecting", "url", redact(r.URL))
		// Stop the current verb at once (playback stops mid-file), then fetch.
		c.cancelStep()
		c.fetch(c.app.URL, c.app.Method, c.app.FallbackURL, c.app.FallbackMethod)
		changed = true
	}
	if changed {
		if err := c.save(); err != nil {
			return store.Call{}, err
		}
	}
	return c.rec, nil
}
