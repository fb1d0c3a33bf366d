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
	if r.PolicyDecided && c.connectedLeg() != r.PolicyConnectedCallSid {
		return store.Call{}, calls.ErrCallChanged
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
		if c.conf != nil {
			c.conf.m.SetMuted(*r.Mute)
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
		app := App{URL: r.URL, Method: methodOr(r.Method), FallbackURL: r.FallbackURL, FallbackMethod: methodOr(r.FallbackMethod),
			StatusCallback: c.app.StatusCallback, StatusCallbackMethod: c.app.StatusCallbackMethod}
		if c.parent != nil {
			// A <Dial> branch leaves the dial (spec §2.8).
			c.app = app
			c.modifyBranch(r)
		}
		if c.in == nil && !c.answered {
			// An outbound call that still rings runs the new document once answered.
			c.app = app
			c.rec.URL, c.rec.Method = app.URL, app.Method
			c.rec.FallbackURL, c.rec.FallbackMethod = app.FallbackURL, app.FallbackMethod
			return c.rec, c.save()
		}
		if d := c.endDial(r.MoveConnectedCallLeg); d != nil {
			// Ringing branches are always dropped; a bridged one is hung up
			// unless it moves to the same document. The Dial action is
			// requested once, without running its answer.
			if r.MoveConnectedCallLeg && d.bridged != nil {
				d.bridged.post(branchMove{app: App{URL: app.URL, Method: app.Method, FallbackURL: app.FallbackURL, FallbackMethod: app.FallbackMethod}})
			}
			d.status = "completed"
			if d.bridged == nil {
				d.status = "canceled"
			}
			c.fireDialAction(d)
		}
		// A conference participant leaves the room; the room goes on.
		c.leaveConference()
		c.pendingConf = nil
		c.log.Info("redirecting", "url", redact(r.URL))
		// Stop the current verb at once (playback stops mid-file), then fetch.
		c.redirect(app)
		changed = true
	}
	if changed {
		if err := c.save(); err != nil {
			return store.Call{}, err
		}
	}
	return c.rec, nil
}
