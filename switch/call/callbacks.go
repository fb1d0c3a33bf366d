package call

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/patchbay/patchbay/switch/store"
)

const apiVersion = "2012-04-24"

// progressSequence is the fixed SequenceNumber of each call-progress event (spec §4.3).
var progressSequence = map[string]int{"initiated": 0, "ringing": 1, "answered": 2, "completed": 3}

func methodOr(m string) string {
	if strings.EqualFold(m, "GET") {
		return "GET"
	}
	return "POST"
}

func sessionID() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:]) >> 2
}

func isoTime(t time.Time) string { return t.Format("2006-01-02T15:04:05.000-07:00") }

func nullIfEmpty(s string) string {
	if s == "" {
		return "null"
	}
	return s
}

// params are the standard RCML request parameters of spec §4.1.
func (c *Call) params() url.Values {
	v := url.Values{}
	v.Set("CallSid", c.sid)
	v.Set("AccountSid", c.rec.AccountSid)
	v.Set("From", c.rec.From)
	v.Set("To", c.rec.To)
	v.Set("CallStatus", c.rec.Status)
	v.Set("ApiVersion", apiVersion)
	v.Set("Direction", c.rec.Direction)
	v.Set("CallerName", nullIfEmpty(c.rec.CallerName))
	v.Set("ForwardedFrom", nullIfEmpty(c.rec.ForwardedFrom))
	v.Set("CallTimestamp", isoTime(c.rec.DateCreated))
	if c.rec.ParentCallSid != "" {
		v.Set("ParentCallSid", c.rec.ParentCallSid)
	}
	for k, val := range c.sipHeaders {
		v.Set("SipHeader_"+k, val)
	}
	return v
}

// appStatusCallback sends the application status callback (spec §4.4) once
// per distinct call state.
func (c *Call) appStatusCallback() {
	if c.app.StatusCallback == "" || c.appStates[c.rec.Status] {
		return
	}
	c.appStates[c.rec.Status] = true
	p := c.params()
	if store.Ended(c.rec.Status) {
		p.Set("CallDuration", strconv.Itoa(max(c.rec.Duration, 0)))
	}
	c.enqueue(c.app.StatusCallback, c.app.StatusCallbackMethod, p)
}

// progressCallback sends a call-progress event (spec §4.3) of a call placed
// through the API, at most once per event.
func (c *Call) progressCallback(event string) {
	if c.rec.StatusCallback == "" || !c.progress[event] {
		return
	}
	delete(c.progress, event)
	p := url.Values{}
	p.Set("AccountSid", c.rec.AccountSid)
	p.Set("CallSid", c.sid)
	p.Set("From", c.rec.From)
	p.Set("To", c.rec.To)
	p.Set("Direction", c.rec.Direction)
	p.Set("CallerName", c.rec.From)
	p.Set("ForwardedFrom", c.rec.ForwardedFrom)
	if c.rec.ParentCallSid != "" {
		p.Set("ParentCallSid", c.rec.ParentCallSid)
	}
	p.Set("CallStatus", event)
	if event == "completed" {
		p.Set("CallDuration", strconv.Itoa(max(c.rec.Duration, 0)))
	}
	p.Set("Timestamp", c.now().UTC().Format("Mon, 2 Jan 2006 15:04:05")+" UTC")
	p.Set("CallbackSource", "call-progress-events")
	p.Set("SequenceNumber", strconv.Itoa(progressSequence[event]))
	c.enqueue(c.rec.StatusCallback, c.rec.StatusCallbackMethod, p)
}

func (c *Call) enqueue(u, method string, p url.Values) {
	now := c.now()
	it := store.OutboxItem{
		AccountSid:  c.rec.AccountSid,
		CallSid:     c.sid,
		URL:         u,
		Method:      methodOr(method),
		Params:      p,
		NextAttempt: now,
		CreatedAt:   now,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.deps.Outbox.Enqueue(ctx, it); err != nil {
		c.log.Error("queueing callback failed", "url", redact(u), "err", err)
	}
}
