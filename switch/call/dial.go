package call

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/patchbay/patchbay/plugins/rcml"
	"github.com/patchbay/patchbay/switch/store"
	"github.com/patchbay/patchbay/switch/webhook"
)

// dialState is a parent call's running <Dial>: its ringing branches, the
// bridged one, and the outcome so far.
type dialState struct {
	verb      *rcml.Dial
	branches  map[string]*Call
	bridged   *Call
	bridge    Bridge
	started   time.Time
	bridgedAt time.Time
	timer     *time.Timer // ring timeout
	limit     *time.Timer // timeLimit of the bridged call
	failure   string      // best failure seen: busy, failed, no-answer, canceled
	status    string      // final DialCallStatus
	// recording records the bridged conversation (record="true"); recorded
	// is the kept result once the bridge ended.
	recording    Recording
	recordingSid string
	recorded     *recordResult
}

type (
	dialTimeout   struct{ d *dialState }
	dialTimeLimit struct{ d *dialState }
)

// dial executes a <Dial> verb in fork mode: every destination rings at
// once, the first to answer is bridged, the others are canceled.
func (c *Call) dial(v *rcml.Dial) {
	if v.Mode == rcml.DialModeConference {
		c.conference(v)
		return
	}
	if c.deps.Branches == nil {
		c.notify(codeVerbNotSupport, 0, "<Dial> is not enabled on this switch; ending the call", c.rec.URL, "")
		c.endOnAppFailure(500, "Server Internal Error", store.StatusFailed, nil)
		return
	}
	if !c.answer() {
		return
	}
	d := &dialState{verb: v, branches: make(map[string]*Call), started: c.now(), failure: "failed"}
	from := v.CallerID
	if from == "" {
		from = c.rec.From
	}
	for _, t := range v.Targets {
		kids, err := c.deps.Branches.SpawnBranches(c, BranchSpec{Target: t, From: from, TimeoutSeconds: v.Timeout})
		if err != nil {
			c.notify(11008, 1, fmt.Sprintf("cannot dial %s %s: %v", t.Kind, t.To, err), c.rec.URL, "")
			continue
		}
		for _, k := range kids {
			d.branches[k.Sid()] = k
		}
	}
	c.dialRun = d
	if len(d.branches) == 0 {
		d.status = "failed"
		c.afterDial()
		return
	}
	d.timer = time.AfterFunc(seconds(v.Timeout), func() { c.post(dialTimeout{d}) })
}

func (c *Call) onDialMessage(m any) {
	d := c.dialRun
	switch m := m.(type) {
	case branchRinging:
	case branchAnswered:
		if d == nil || d.bridged != nil || d.branches[m.child.Sid()] == nil {
			m.child.post(branchHangup{})
			return
		}
		br, err := c.media.Bridge(m.media)
		if err != nil {
			c.log.Error("bridging the answered branch failed", "branch", m.child.Sid(), "err", err)
			m.child.post(branchHangup{})
			return
		}
		d.bridged, d.bridge, d.bridgedAt = m.child, br, c.now()
		d.timer.Stop()
		for sid, k := range d.branches {
			if sid != m.child.Sid() {
				k.post(branchHangup{})
			}
		}
		m.child.post(branchBridged{bridge: br})
		if d.verb.Record {
			c.recordDial(d, m.media)
		}
		if d.verb.TimeLimit > 0 {
			d.limit = time.AfterFunc(seconds(d.verb.TimeLimit), func() { c.post(dialTimeLimit{d}) })
		}
		c.log.Info("dial bridged", "branch", m.child.Sid())
	case branchEnded:
		if d == nil {
			return
		}
		delete(d.branches, m.sid)
		if d.bridged != nil && d.bridged.Sid() == m.sid {
			d.status = "completed"
			c.afterDial()
			return
		}
		if d.bridged == nil {
			d.failure = worseFailure(d.failure, m.status)
			if len(d.branches) == 0 {
				d.status = d.failure
				c.afterDial()
			}
		}
	case branchLeft:
		if d == nil || d.bridged == nil || d.bridged.Sid() != m.sid {
			if d != nil {
				delete(d.branches, m.sid)
			}
			return
		}
		// The bridged child was redirected (spec §2.8): the parent is hung
		// up, or follows to the same document with MoveConnectedCallLeg.
		d.status = "completed"
		c.endDial(true)
		if m.move {
			c.redirect(m.app)
			return
		}
		c.hangup(store.StatusCompleted, "connected leg redirected")
	case dialTimeout:
		if d != m.d || d.bridged != nil {
			return
		}
		d.status = "no-answer"
		c.afterDial()
	case dialTimeLimit:
		if d != m.d || d.bridged == nil {
			return
		}
		d.bridged.post(branchHangup{})
	}
}

// worseFailure keeps the most telling failure of the branches.
func worseFailure(have, got string) string {
	rank := map[string]int{"failed": 0, "canceled": 1, "no-answer": 2, "busy": 3}
	if _, ok := rank[got]; !ok {
		return have
	}
	if rank[got] > rank[have] {
		return got
	}
	return have
}

// endDial stops the bridge and drops every branch; the parent goes on.
// keepBridged leaves the bridged child up (it was moved or redirected).
func (c *Call) endDial(keepBridged bool) *dialState {
	d := c.dialRun
	if d == nil {
		return nil
	}
	c.dialRun = nil
	if d.timer != nil {
		d.timer.Stop()
	}
	if d.limit != nil {
		d.limit.Stop()
	}
	if d.bridge != nil {
		d.bridge.Stop()
	}
	c.stopDialRecording(d)
	for sid, k := range d.branches {
		if keepBridged && d.bridged != nil && sid == d.bridged.Sid() {
			continue
		}
		k.post(branchHangup{})
	}
	return d
}

// afterDial requests the Dial's action (its RCML replaces the document) or
// goes on with the next verb.
func (c *Call) afterDial() {
	d := c.endDial(false)
	if d == nil {
		return
	}
	if d.verb.Action == "" {
		c.next()
		return
	}
	c.fetchWith(d.verb.Action, d.verb.Method, "", "", c.dialParams(d))
}

// dialParams are the §4.1 parameters of a Dial action request.
func (c *Call) dialParams(d *dialState) url.Values {
	v := url.Values{}
	sidv, dur, ring := "null", 0, int(c.now().Sub(d.started).Seconds())
	if d.bridged != nil {
		sidv = d.bridged.Sid()
		dur = int(c.now().Sub(d.bridgedAt).Seconds())
		ring = int(d.bridgedAt.Sub(d.started).Seconds())
	}
	status := d.status
	if status == "" {
		status = "completed"
	}
	v.Set("DialCallSid", sidv)
	v.Set("DialCallStatus", status)
	v.Set("DialCallDuration", strconv.Itoa(dur))
	v.Set("DialRingDuration", strconv.Itoa(ring))
	if r := d.recorded; r != nil && r.sid != "" {
		u := c.deps.RecordingURL(c.rec.AccountSid, r.sid)
		v.Set("RecordingUrl", u)
		v.Set("PublicRecordingUrl", u)
	}
	return v
}

// fireDialAction requests the action of a Dial interrupted by LCM, once,
// without running what it answers (spec §2.8 step 3).
func (c *Call) fireDialAction(d *dialState) {
	if d == nil || d.verb.Action == "" {
		return
	}
	c.fireAction(d.verb.Action, d.verb.Method, c.dialParams(d))
}

// fireAction requests a verb's action once, in the background, with the
// call's parameters and extra; what it answers is not run (the call is
// ending or moving on).
func (c *Call) fireAction(action, method string, extra url.Values) {
	p := c.params()
	for k, v := range extra {
		p[k] = v
	}
	req := webhook.FetchRequest{URL: action, Method: methodOr(method), Params: p}
	f := c.deps.Fetcher
	c.dialing.Add(1)
	go func() {
		defer c.dialing.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = f.Fetch(ctx, req)
	}()
}
