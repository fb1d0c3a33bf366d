package call

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/patchbay/patchbay/plugins/rcml"
	"github.com/patchbay/patchbay/switch/store"
	"github.com/patchbay/patchbay/switch/webhook"
)

type (
	// confAudio is the wait music, loaded on a step before joining.
	confAudio struct {
		gen   int
		audio Audio
		err   error
	}
	// confEnded: the conference ended for this participant.
	confEnded struct{ m Membership }
)

// confState is the call's place in a conference.
type confState struct {
	verb *rcml.Dial
	m    Membership
}

// conference executes <Dial><Conference>: wait music is loaded first (an
// HTTP fetch, so on a step), then the call joins the room.
func (c *Call) conference(v *rcml.Dial) {
	if c.deps.Conferences == nil {
		c.notify(codeVerbNotSupport, 0, "conferences are not enabled on this switch; ending the call", c.rec.URL, "")
		c.endOnAppFailure(500, "Server Internal Error", store.StatusFailed, nil)
		return
	}
	if !c.answer() {
		return
	}
	wait := v.Conference.WaitURL
	if wait == "" || !strings.HasPrefix(wait, "http") {
		// No music asked for, or upstream's built-in path: the hub decides.
		c.joinConference(v, nil, wait == "")
		return
	}
	gen := c.gen + 1
	req := webhook.FetchRequest{URL: wait, Method: methodOr(v.Conference.WaitMethod), Params: c.params()}
	c.startStep(func(ctx context.Context) stepDone {
		a, err := c.loadWaitMusic(ctx, req)
		c.post(confAudio{gen: gen, audio: a, err: err})
		return stepDone{}
	})
	c.stepKind = stepNone
	c.pendingConf = v
}

// maxWaitRedirects bounds <Redirect>s followed in a wait document.
const maxWaitRedirects = 3

// loadWaitMusic fetches a conference waitUrl: a WAV, or RCML whose first
// <Play> (following <Redirect>s) is the music, looped while waiting. It runs
// on a step goroutine and touches no call state.
func (c *Call) loadWaitMusic(ctx context.Context, req webhook.FetchRequest) (Audio, error) {
	for hops := 0; ; hops++ {
		doc, err := c.deps.Fetcher.Fetch(ctx, req)
		if err != nil {
			return nil, err
		}
		plan, err := c.deps.Interpreter.Handle(ctx, rcml.Document{Body: doc.Body, URL: doc.URL, ContentType: doc.ContentType})
		if err != nil {
			return nil, err
		}
		redirected := false
		for _, v := range plan.Verbs {
			if v.Kind == rcml.KindPlay {
				return c.deps.Media.LoadAudio(ctx, v.Play.URL)
			}
			if v.Kind == rcml.KindRedirect {
				req.URL, req.Method = v.Redirect.URL, methodOr(v.Redirect.Method)
				redirected = true
				break
			}
		}
		if !redirected {
			return nil, errors.New("the wait document has no <Play>")
		}
		if hops >= maxWaitRedirects {
			return nil, fmt.Errorf("more than %d redirects in the wait document", maxWaitRedirects)
		}
	}
}

func (c *Call) onConfAudio(m confAudio) {
	v := c.pendingConf
	c.pendingConf = nil
	if v == nil || m.gen != c.gen {
		return // superseded by a redirect or hangup
	}
	if m.err != nil {
		c.notify(13233, 1, fmt.Sprintf("conference waitUrl %s: %v; waiting in silence", redact(v.Conference.WaitURL), m.err), c.rec.URL, "")
	}
	c.joinConference(v, m.audio, m.audio == nil && m.err != nil)
}

func (c *Call) joinConference(v *rcml.Dial, wait Audio, noWait bool) {
	cf := v.Conference
	spec := JoinSpec{
		AccountSid: c.rec.AccountSid, Name: cf.Name,
		Muted: cf.Muted, Beep: cf.Beep,
		StartConferenceOnEnter: cf.StartConferenceOnEnter, EndConferenceOnExit: cf.EndConferenceOnExit,
		MaxParticipants: cf.MaxParticipants, Wait: wait, NoWait: noWait,
	}
	var mem Membership
	m, err := c.deps.Conferences.Join(c.media, spec, func() { c.post(confEnded{m: mem}) })
	if errors.Is(err, ErrConferenceFull) {
		c.notify(codeConferenceFull, 1, fmt.Sprintf("conference %s is full (%d participants); skipped", cf.Name, cf.MaxParticipants), c.rec.URL, "")
		c.next()
		return
	}
	if err != nil {
		c.notify(codeInternal, 0, "cannot join conference "+cf.Name+": "+err.Error(), c.rec.URL, "")
		c.hangup(store.StatusFailed, "conference join failed")
		return
	}
	mem = m
	c.conf = &confState{verb: v, m: m}
	c.rec.ConferenceSid = m.ConferenceSid()
	c.rec.Muted = cf.Muted
	c.rec.OnHold = m.OnHold()
	c.rec.StartConferenceOnEnter = cf.StartConferenceOnEnter
	c.rec.EndConferenceOnExit = cf.EndConferenceOnExit
	_ = c.save()
	c.log.Info("joined conference", "conference_sid", m.ConferenceSid(), "name", cf.Name, "on_hold", m.OnHold())
}

// leaveConference takes the call out of its room; the room goes on.
// Upstream also un-mutes a participant that leaves by LCM.
func (c *Call) leaveConference() *confState {
	st := c.conf
	if st == nil {
		return nil
	}
	c.conf = nil
	st.m.Leave()
	c.rec.OnHold = false
	if c.rec.Muted {
		c.rec.Muted = false
		if c.media != nil {
			c.media.SetMuted(false)
		}
	}
	return st
}

func (c *Call) onConfEnded(m confEnded) {
	if c.conf == nil || c.conf.m != m.m {
		return
	}
	st := c.leaveConference()
	_ = c.save()
	if st.verb.Action == "" {
		c.next()
		return
	}
	extra := url.Values{"DialCallStatus": {"null"}, "DialCallSid": {"null"}, "DialCallDuration": {"0"}}
	c.fetchWith(st.verb.Action, st.verb.Method, "", "", extra)
}

const codeConferenceFull = 13235
