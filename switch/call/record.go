package call

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/patchbay/patchbay/plugins/rcml"
	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

// recordResult is a finished recording. The step that records fills it in
// even when the call ends under it, so the actor can read it after the
// step goroutines are done.
type recordResult struct {
	verb     *rcml.Record
	sid      string // empty when nothing was recorded
	duration time.Duration
	digits   string // the key that ended it, or "hangup"
	done     bool
	// failed: the recording could not be started, so there is nothing to
	// give the action (which would read as a silent caller).
	failed bool
}

// record runs <Record>: a beep, then what the caller says into a WAV file,
// until silence, maxLength, a finishOnKey key, a hangup or a Live Call
// Modification. A recording cut short is kept with its real length.
func (c *Call) record(v *rcml.Record) {
	if !c.answer() {
		return
	}
	if v.Transcribe {
		c.notify(codeNoTranscription, 1, "<Record transcribe>: transcription is not available on this switch; recording without it", c.rec.URL, "")
	}
	if v.Media != rcml.MediaAudioOnly {
		c.notify(codeVerbNotSupport, 1, fmt.Sprintf("<Record media=%q>: this switch records audio only", v.Media), c.rec.URL, "")
	}
	c.drainDigits()
	res := &recordResult{verb: v}
	rec := c.recorder()
	keys := c.digits
	c.startStep(func(ctx context.Context) stepDone {
		err := rec.run(ctx, res, keys)
		return stepDone{err: err, record: res, doc: v.Action}
	})
	c.stepKind = stepVerb
	c.recording = res
}

// recorder is what a <Record> step needs, copied off the actor.
type recorder struct {
	media               Media
	beep                Audio
	store               store.Store
	log                 interface{ Warn(string, ...any) }
	dir                 string
	accountSid, callSid string
	now                 func() time.Time
}

func (r recorder) run(ctx context.Context, res *recordResult, keys <-chan byte) error {
	defer func() { res.done = true }()
	v := res.verb
	if v.PlayBeep && r.beep != nil {
		if err := r.media.Play(ctx, r.beep, 1); err != nil && ctx.Err() == nil {
			r.log.Warn("playing the record beep failed", "err", err)
		}
	}
	if ctx.Err() != nil {
		res.digits = "hangup"
		return nil
	}
	// A key pressed during the beep belongs to no recording yet; with the
	// default finishOnKey (any key) it would end this one at once.
	drain(keys)
	rs := sid.New(sid.Recording)
	silent := make(chan struct{})
	var once sync.Once
	recording, err := r.media.Record(r.path(rs), nil, seconds(v.Timeout), func() {
		once.Do(func() { close(silent) })
	})
	if err != nil {
		res.failed = true
		return fmt.Errorf("<Record>: %w", err)
	}
	maxLen := time.NewTimer(seconds(v.MaxLength))
	defer maxLen.Stop()
wait:
	for {
		select {
		case <-ctx.Done():
			res.digits = "hangup"
			break wait
		case <-silent:
			break wait
		case <-maxLen.C:
			break wait
		case d := <-keys:
			if strings.IndexByte(v.FinishOnKey, d) >= 0 {
				res.digits = string(d)
				break wait
			}
		}
	}
	if err := r.finish(rs, recording, res); err != nil {
		return fmt.Errorf("<Record>: %w", err)
	}
	return nil
}

// path is where recording rs is written.
func (r recorder) path(rs string) string { return filepath.Join(r.dir, rs+".wav") }

// finish stops recording rs and keeps it. A write failure stops a
// recording early: what was written is still a readable WAV, so it is kept
// and listed, and the failure reported.
func (r recorder) finish(rs string, recording Recording, res *recordResult) error {
	dur, stopErr := recording.Stop()
	if err := r.keep(rs, dur, res); err != nil {
		return err
	}
	if stopErr != nil {
		return fmt.Errorf("writing recording %s, kept %.1f s of it: %w", rs, dur.Seconds(), stopErr)
	}
	return nil
}

// keep lists a recording that has sound and removes an empty one (upstream
// adds a row only for a duration above zero).
func (r recorder) keep(rs string, dur time.Duration, res *recordResult) error {
	path := r.path(rs)
	if dur <= 0 {
		_ = os.Remove(path)
		return nil
	}
	now := r.now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := r.store.AddRecording(ctx, store.Recording{
		Sid: rs, AccountSid: r.accountSid, CallSid: r.callSid, Duration: dur.Seconds(),
		DateCreated: now, DateUpdated: now, APIVersion: apiVersion,
	})
	if err != nil {
		// A file no row lists could never be downloaded nor deleted.
		_ = os.Remove(path)
		return fmt.Errorf("listing recording %s: %w", rs, err)
	}
	res.sid, res.duration = rs, dur
	return nil
}

// afterRecord requests the action with the recording, whose RCML replaces
// the document; without an action the document goes on.
func (c *Call) afterRecord(r *recordResult) {
	c.recording = nil
	if r.verb.Action == "" || r.failed {
		c.next()
		return
	}
	c.fetchWith(r.verb.Action, r.verb.Method, "", "", c.recordParams(r))
}

// recordParams are the §4.1 parameters of a Record action request.
func (c *Call) recordParams(r *recordResult) url.Values {
	v := url.Values{}
	if r.sid != "" {
		u := c.deps.RecordingURL(c.rec.AccountSid, r.sid)
		v.Set("RecordingUrl", u)
		v.Set("PublicRecordingUrl", u)
		v.Set("RecordingSid", r.sid)
	}
	v.Set("RecordingDuration", strconv.FormatFloat(r.duration.Seconds(), 'f', -1, 64))
	v.Set("Digits", r.digits)
	return v
}

// fireRecordAction requests the action of a <Record> the caller hung up
// on (Digits=hangup, CallStatus=completed); what it answers is not run.
func (c *Call) fireRecordAction() {
	r := c.recording
	c.recording = nil
	if r == nil || !r.done || r.verb.Action == "" || !c.peerHungUp {
		return
	}
	c.fireAction(r.verb.Action, r.verb.Method, c.recordParams(r))
}

// recordDial starts recording both parties of a bridged <Dial record="true">.
func (c *Call) recordDial(d *dialState, other Media) {
	rs := sid.New(sid.Recording)
	rec, err := c.media.Record(c.recorder().path(rs), other, 0, nil)
	if err != nil {
		c.notify(codeInternal, 0, fmt.Sprintf("<Dial record>: cannot record: %v", err), c.rec.URL, "")
		return
	}
	d.recording, d.recordingSid = rec, rs
}

// stopDialRecording ends a <Dial> recording with its bridge and lists it.
func (c *Call) stopDialRecording(d *dialState) {
	if d.recording == nil {
		return
	}
	rec := d.recording
	d.recording = nil
	d.recorded = &recordResult{}
	if err := c.recorder().finish(d.recordingSid, rec, d.recorded); err != nil {
		c.notify(codeInternal, 0, fmt.Sprintf("<Dial record>: %v", err), c.rec.URL, "")
	}
}

// recorder copies what a recording needs off the actor.
func (c *Call) recorder() recorder {
	return recorder{
		media: c.media, beep: c.deps.Media.Beep(), store: c.deps.Store, log: c.log,
		dir: c.deps.RecordingsDir, accountSid: c.rec.AccountSid, callSid: c.sid, now: c.deps.Now,
	}
}
