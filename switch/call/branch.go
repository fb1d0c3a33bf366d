package call

import (
	"github.com/patchbay/patchbay/switch/calls"
	"github.com/patchbay/patchbay/switch/store"
)

// Messages between a parent call running <Dial> and its branches (child
// legs). Each call stays the only owner of its own state; they coordinate
// by posting these to each other's mailboxes.
type (
	// child → parent
	branchRinging  struct{ sid string }
	branchAnswered struct {
		child *Call
		media Media
	}
	branchEnded struct {
		sid      string
		status   string
		answered bool
		duration int
	}
	// branchLeft: the bridged child was redirected by LCM; move says the
	// parent must follow to the same application (MoveConnectedCallLeg).
	branchLeft struct {
		sid  string
		move bool
		app  App
	}
	// parent → child
	branchBridged struct{ bridge Bridge }
	branchHangup  struct{}
	// branchMove: the parent was redirected with MoveConnectedCallLeg; the
	// bridged child runs app on its own from now on.
	branchMove struct{ app App }
)

// BranchParams describe one destination of a <Dial> noun.
type BranchParams struct {
	Parent *Call
	// ParentAccountSid owns the child leg too.
	ParentAccountSid string
	Out              OutboundParams
	// ScreenURL (the noun's url) is RCML run on the answered leg before it
	// is bridged; ScreenMethod fetches it.
	ScreenURL, ScreenMethod string
}

// NewBranch creates a <Dial> child leg: an outbound-dial call whose events
// go to its parent. Start it like any other call.
func NewBranch(d *Deps, p BranchParams) (*Call, store.Call, error) {
	c, _, err := NewOutbound(d, p.Out)
	if err != nil {
		return nil, store.Call{}, err
	}
	c.parent = p.Parent
	c.rec.Direction = store.DirectionOutboundDial
	c.rec.ParentCallSid = p.Parent.Sid()
	c.rec.AccountSid = p.ParentAccountSid
	c.app = App{} // a branch runs no application of its own until LCM gives it one
	c.screenURL, c.screenMethod = p.ScreenURL, p.ScreenMethod
	return c, c.rec, nil
}

// toParent posts m to the parent, if the call is still a branch.
func (c *Call) toParent(m any) {
	if c.parent != nil {
		c.parent.post(m)
	}
}

// onBranchMessage handles what a parent sends to its branch.
func (c *Call) onBranchMessage(m any) {
	switch m := m.(type) {
	case branchBridged:
		if c.parent == nil || c.finished {
			m.bridge.Stop()
			return
		}
		c.bridge = m.bridge
	case branchHangup:
		if c.answered {
			c.hangup(store.StatusCompleted, "the dial ended")
		} else {
			c.hangupWhy = "another branch answered or the dial ended"
			c.cancelUnanswered(487, "Request Terminated")
		}
	case branchMove:
		c.leaveBridge()
		c.parent = nil
		c.app = m.app
		c.rec.URL, c.rec.Method = m.app.URL, m.app.Method
		c.fetch(m.app.URL, m.app.Method, m.app.FallbackURL, m.app.FallbackMethod)
	}
}

// leaveBridge stops relaying to the parent.
func (c *Call) leaveBridge() {
	if c.bridge != nil {
		c.bridge.Stop()
		c.bridge = nil
	}
}

// modifyBranch is LCM on a <Dial> child leg (spec §2.8): a Url redirect
// takes it out of the dial; the parent is hung up, or follows to the same
// document with MoveConnectedCallLeg.
func (c *Call) modifyBranch(r calls.ModifyRequest) {
	c.leaveBridge()
	c.toParent(branchLeft{sid: c.sid, move: r.MoveConnectedCallLeg && c.answered, app: c.app})
	c.parent = nil
	c.screening = false
}

// onBranchAnswered runs the noun's screening document first, if any;
// otherwise (or once it ends normally) it tells the parent this leg
// answered, and the parent bridges it (or hangs it up if another won).
func (c *Call) onBranchAnswered() {
	if c.screenURL != "" {
		u, m := c.screenURL, c.screenMethod
		c.screenURL, c.screening = "", true
		c.fetch(u, m, "", "")
		return
	}
	c.toParent(branchAnswered{child: c, media: c.media})
}

// screeningDone is the end of a screening document: the leg is ready to
// be bridged.
func (c *Call) screeningDone() {
	c.screening = false
	c.plan, c.pc = nil, 0
	c.toParent(branchAnswered{child: c, media: c.media})
}
