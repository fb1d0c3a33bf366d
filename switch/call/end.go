package call

import (
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/patchbay/patchbay/switch/store"
)

// hangup ends the call from our side: BYE (carrying headers) for an
// answered call, CANCEL for a ringing outbound one, a final response for an
// unanswered inbound one.
func (c *Call) hangup(status, why string, headers ...sip.Header) {
	if c.finished {
		return
	}
	c.hangupWhy = why
	switch {
	case c.in != nil && c.answered:
		c.in.Hangup(headers...)
	case c.in != nil:
		c.in.Reject(500, "Server Internal Error", append(headers, c.sipCallSidHeader())...)
	case c.out != nil:
		c.out.Hangup(headers...)
	}
	c.finish(status)
}

// persistFinal writes the final record, retrying a failing store briefly:
// a lost final write would leave the call live until the next restart.
func (c *Call) persistFinal() {
	for attempt := 0; attempt < 3; attempt++ {
		if c.save() == nil {
			return
		}
		time.Sleep(time.Duration(50<<attempt) * time.Millisecond)
	}
}

// cancelUnanswered ends a queued or ringing call; an inbound caller gets
// code (upstream answers 500).
func (c *Call) cancelUnanswered(code int, reason string) {
	if c.finished {
		return
	}
	switch {
	case c.in != nil && !c.answered:
		c.in.Reject(code, reason, c.sipCallSidHeader())
	case c.out != nil:
		c.out.Hangup()
	}
	c.finish(store.StatusCanceled)
}

// finish records the end of the call: stops its step and media, writes the
// final record and queues the callbacks. The actor exits afterwards.
func (c *Call) finish(status string) {
	if c.finished {
		return
	}
	c.finished = true
	close(c.closing)
	c.stopRingTimer()
	// A parent takes its dial down with it; a branch tells its parent.
	interrupted := c.endDial(false)
	c.leaveBridge()
	c.leaveConference()
	c.cancelStep()
	c.steps.Wait()
	if c.media != nil {
		if err := c.media.Close(); err != nil {
			c.log.Debug("closing media", "err", err)
		}
		c.media = nil
	}
	now := c.now()
	c.rec.EndTime = now
	c.rec.Duration = 0
	if c.answered {
		c.rec.Duration = int(now.Sub(c.rec.AnswerTime).Round(time.Second) / time.Second)
	}
	if c.rec.RingDuration < 0 {
		c.rec.RingDuration = int(now.Sub(c.rec.StartTime).Seconds())
	}
	c.log.Info("call ended", "status", status, "duration", c.rec.Duration, "why", c.hangupWhy)
	c.rec.Status = status
	c.persistFinal()
	if interrupted != nil {
		// The call ended during its <Dial>: the action is requested once,
		// reporting the caller's state (spec §2.7, §4.1).
		interrupted.status = status
		c.fireDialAction(interrupted)
	}
	c.fireRecordAction()
	c.appStatusCallback()
	c.progressCallback("completed")
	c.toParent(branchEnded{sid: c.sid, status: status, answered: c.answered, duration: c.rec.Duration})
}
