package wire

import (
	"errors"
	"strconv"

	"github.com/patchbay/patchbay/plugins/rcml"
)

// Error kinds of an output's "error" object. Each names how the host rebuilds
// the error rcml.Handle returned, so errors.Is and errors.As keep working on
// the host side of the sandbox.
const (
	KindParse                  = "parse"                    // *rcml.ParseError
	KindNoContentType          = "no_content_type"          // rcml.ErrNoContentType
	KindUnsupportedContentType = "unsupported_content_type" // wraps rcml.ErrUnsupportedContentType
	KindInvalidDocumentURL     = "invalid_document_url"     // wraps rcml.ErrInvalidDocumentURL
	KindBadInput               = "bad_input"                // the guest could not decode its input
	KindInternal               = "internal"                 // any other error
)

// Causes of a KindParse error, one per rcml.ParseError cause.
const (
	CauseTooLarge   = "too_large"   // rcml.ErrDocumentTooLarge
	CauseTooDeep    = "too_deep"    // rcml.ErrTooDeep
	CauseHintsLimit = "hints_limit" // rcml.ErrHintsLimit
	CauseMalformed  = "malformed"   // rcml.ErrMalformed
)

// Failure is the "error" object of an output.
type Failure struct {
	Kind string `json:"kind"`
	// Cause, Line and Offset are set for KindParse only.
	Cause  string `json:"cause,omitempty"`
	Line   int    `json:"line,omitempty"`
	Offset int64  `json:"offset,omitempty"`
	// Message is rcml.ParseError.Msg for KindParse, the error's text otherwise.
	Message string `json:"message"`
}

// FailureOf describes err, an error returned by rcml.Handle.
func FailureOf(err error) Failure {
	var pe *rcml.ParseError
	switch {
	case errors.As(err, &pe):
		f := Failure{Kind: KindParse, Line: pe.Line, Offset: pe.Offset, Message: pe.Msg}
		switch {
		case errors.Is(pe.Err, rcml.ErrDocumentTooLarge):
			f.Cause = CauseTooLarge
		case errors.Is(pe.Err, rcml.ErrTooDeep):
			f.Cause = CauseTooDeep
		case errors.Is(pe.Err, rcml.ErrHintsLimit):
			f.Cause = CauseHintsLimit
		default:
			f.Cause = CauseMalformed
		}
		return f
	case errors.Is(err, rcml.ErrNoContentType):
		return Failure{Kind: KindNoContentType, Message: err.Error()}
	case errors.Is(err, rcml.ErrUnsupportedContentType):
		return Failure{Kind: KindUnsupportedContentType, Message: err.Error()}
	case errors.Is(err, rcml.ErrInvalidDocumentURL):
		return Failure{Kind: KindInvalidDocumentURL, Message: err.Error()}
	case errors.Is(err, ErrBadInput):
		return Failure{Kind: KindBadInput, Message: err.Error()}
	}
	return Failure{Kind: KindInternal, Message: err.Error()}
}

// AppendPlanOutput appends the output for a plan: {"plan":{...}}.
func AppendPlanOutput(dst []byte, p *rcml.Plan) []byte {
	dst = append(dst, `{"plan":`...)
	dst = AppendPlan(dst, p)
	return append(dst, '}')
}

// AppendFailureOutput appends the output for a failure: {"error":{...}}.
func AppendFailureOutput(dst []byte, f Failure) []byte {
	dst = append(dst, `{"error":`...)
	o := object(dst)
	o.str("kind", f.Kind)
	o.strOmit("cause", f.Cause)
	o.intOmit("line", int64(f.Line))
	o.intOmit("offset", f.Offset)
	o.str("message", f.Message)
	dst = o.end()
	return append(dst, '}')
}

// AppendPlan appends p as encoding/json would marshal it.
func AppendPlan(dst []byte, p *rcml.Plan) []byte {
	if p == nil {
		return append(dst, "null"...)
	}
	o := object(dst)
	o.key("verbs")
	o.b = appendVerbs(o.b, p.Verbs)
	if len(p.Warnings) > 0 {
		o.key("warnings")
		o.b = append(o.b, '[')
		for i, w := range p.Warnings {
			if i > 0 {
				o.b = append(o.b, ',')
			}
			wo := object(o.b)
			wo.int("code", int64(w.Code))
			wo.str("message", w.Message)
			o.b = wo.end()
		}
		o.b = append(o.b, ']')
	}
	return o.end()
}

func appendVerbs(b []byte, vs []rcml.Verb) []byte {
	if vs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendVerb(b, &vs[i])
	}
	return append(b, ']')
}

func appendVerb(b []byte, v *rcml.Verb) []byte {
	o := object(b)
	o.str("kind", string(v.Kind))
	if p := v.Play; p != nil {
		o.key("play")
		po := object(o.b)
		po.str("url", p.URL)
		po.int("loop", int64(p.Loop))
		o.b = po.end()
	}
	if s := v.Say; s != nil {
		o.key("say")
		so := object(o.b)
		so.str("text", s.Text)
		so.str("voice", s.Voice)
		so.str("language", s.Language)
		so.int("loop", int64(s.Loop))
		o.b = so.end()
	}
	if p := v.Pause; p != nil {
		o.key("pause")
		po := object(o.b)
		po.int("length", int64(p.Length))
		o.b = po.end()
	}
	if r := v.Redirect; r != nil {
		o.key("redirect")
		ro := object(o.b)
		ro.str("url", r.URL)
		ro.str("method", r.Method)
		o.b = ro.end()
	}
	if r := v.Reject; r != nil {
		o.key("reject")
		ro := object(o.b)
		ro.str("reason", r.Reason)
		o.b = ro.end()
	}
	if d := v.Dial; d != nil {
		o.key("dial")
		o.b = appendDial(o.b, d)
	}
	if g := v.Gather; g != nil {
		o.key("gather")
		o.b = appendGather(o.b, g)
	}
	if r := v.Record; r != nil {
		o.key("record")
		ro := object(o.b)
		ro.strOmit("action", r.Action)
		ro.str("method", r.Method)
		ro.int("timeout", int64(r.Timeout))
		ro.str("finishOnKey", r.FinishOnKey)
		ro.int("maxLength", int64(r.MaxLength))
		ro.bool("playBeep", r.PlayBeep)
		ro.bool("transcribe", r.Transcribe)
		ro.strOmit("transcribeCallback", r.TranscribeCallback)
		ro.str("media", r.Media)
		o.b = ro.end()
	}
	if s := v.Sms; s != nil {
		o.key("sms")
		so := object(o.b)
		so.str("body", s.Body)
		so.strOmit("to", s.To)
		so.strOmit("from", s.From)
		so.strOmit("action", s.Action)
		so.str("method", s.Method)
		so.strOmit("statusCallback", s.StatusCallback)
		o.b = so.end()
	}
	if f := v.Fax; f != nil {
		o.key("fax")
		fo := object(o.b)
		fo.str("document", f.Document)
		fo.strOmit("to", f.To)
		fo.strOmit("from", f.From)
		fo.strOmit("action", f.Action)
		fo.str("method", f.Method)
		fo.strOmit("statusCallback", f.StatusCallback)
		o.b = fo.end()
	}
	if e := v.Email; e != nil {
		o.key("email")
		eo := object(o.b)
		eo.str("body", e.Body)
		eo.str("to", e.To)
		eo.str("from", e.From)
		eo.strOmit("cc", e.CC)
		eo.strOmit("bcc", e.BCC)
		eo.str("subject", e.Subject)
		o.b = eo.end()
	}
	return o.end()
}

func appendGather(b []byte, g *rcml.Gather) []byte {
	o := object(b)
	o.strOmit("action", g.Action)
	o.str("method", g.Method)
	o.int("timeout", int64(g.Timeout))
	o.str("finishOnKey", g.FinishOnKey)
	o.int("numDigits", int64(g.NumDigits))
	o.str("startInputKey", g.StartInputKey)
	o.str("input", g.Input)
	o.str("language", g.Language)
	o.strsOmit("hints", g.Hints)
	o.strOmit("partialResultCallback", g.PartialResultCallback)
	o.str("partialResultCallbackMethod", g.PartialResultCallbackMethod)
	if len(g.Prompts) > 0 {
		o.key("prompts")
		o.b = appendVerbs(o.b, g.Prompts)
	}
	return o.end()
}

func appendDial(b []byte, d *rcml.Dial) []byte {
	o := object(b)
	o.str("mode", d.Mode)
	o.strOmit("action", d.Action)
	o.str("method", d.Method)
	o.int("timeout", int64(d.Timeout))
	o.int("timeLimit", int64(d.TimeLimit))
	o.strOmit("callerId", d.CallerID)
	o.bool("record", d.Record)
	if d.FromText {
		o.bool("fromText", true)
	}
	if len(d.Targets) > 0 {
		o.key("targets")
		o.b = append(o.b, '[')
		for i := range d.Targets {
			if i > 0 {
				o.b = append(o.b, ',')
			}
			o.b = appendTarget(o.b, &d.Targets[i])
		}
		o.b = append(o.b, ']')
	}
	if c := d.Conference; c != nil {
		o.key("conference")
		co := object(o.b)
		co.str("name", c.Name)
		co.bool("muted", c.Muted)
		co.bool("beep", c.Beep)
		co.bool("startConferenceOnEnter", c.StartConferenceOnEnter)
		co.bool("endConferenceOnExit", c.EndConferenceOnExit)
		co.str("waitUrl", c.WaitURL)
		co.str("waitMethod", c.WaitMethod)
		co.int("maxParticipants", int64(c.MaxParticipants))
		o.b = co.end()
	}
	return o.end()
}

func appendTarget(b []byte, t *rcml.Target) []byte {
	o := object(b)
	o.str("kind", t.Kind)
	o.str("to", t.To)
	if len(t.Headers) > 0 {
		o.key("headers")
		o.b = appendStringMap(o.b, t.Headers)
	}
	o.strOmit("url", t.URL)
	o.str("method", t.Method)
	o.strOmit("statusCallback", t.StatusCallback)
	o.str("statusCallbackMethod", t.StatusCallbackMethod)
	o.strsOmit("statusCallbackEvents", t.StatusCallbackEvents)
	o.strOmit("username", t.Username)
	o.strOmit("password", t.Password)
	return o.end()
}

// appendStringMap writes m with its keys sorted, as encoding/json does. A
// target has a handful of headers, so an insertion sort is enough.
func appendStringMap(b []byte, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		i := len(keys)
		keys = append(keys, k)
		for ; i > 0 && keys[i-1] > k; i-- {
			keys[i] = keys[i-1]
		}
		keys[i] = k
	}
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k) // a document's header name: escaped
		b = append(b, ':')
		b = appendString(b, m[k])
	}
	return append(b, '}')
}

// objectWriter writes the members of one JSON object.
type objectWriter struct {
	b     []byte
	first bool
}

func object(b []byte) objectWriter { return objectWriter{b: append(b, '{'), first: true} }

func (o *objectWriter) end() []byte { return append(o.b, '}') }

// key writes a member name of the plan's types. Those are constants that
// need no escaping, so they are copied as they are.
func (o *objectWriter) key(k string) {
	if !o.first {
		o.b = append(o.b, ',')
	}
	o.first = false
	o.b = append(o.b, '"')
	o.b = append(o.b, k...)
	o.b = append(o.b, '"', ':')
}

func (o *objectWriter) str(k, v string) {
	o.key(k)
	o.b = appendString(o.b, v)
}

func (o *objectWriter) strOmit(k, v string) {
	if v != "" {
		o.str(k, v)
	}
}

func (o *objectWriter) int(k string, v int64) {
	o.key(k)
	o.b = strconv.AppendInt(o.b, v, 10)
}

func (o *objectWriter) intOmit(k string, v int64) {
	if v != 0 {
		o.int(k, v)
	}
}

func (o *objectWriter) bool(k string, v bool) {
	o.key(k)
	o.b = strconv.AppendBool(o.b, v)
}

func (o *objectWriter) strsOmit(k string, vs []string) {
	if len(vs) == 0 {
		return
	}
	o.key(k)
	o.b = append(o.b, '[')
	for i, v := range vs {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = appendString(o.b, v)
	}
	o.b = append(o.b, ']')
}
