package rcml

import (
	"strings"
	"unicode/utf8"
)

// isVerb reports whether an element name is a verb for the walk. Enqueue and Leave are
// recognised (they own their children) but not implemented, so they never reach a plan.
func isVerb(name string) bool {
	switch Kind(name) {
	case KindPlay, KindSay, KindPause, KindHangup, KindRedirect, KindReject, KindDial,
		KindGather, KindRecord, KindSms, KindFax, KindEmail:
		return true
	}
	return name == "Enqueue" || name == "Leave"
}

func isPrompt(name string) bool {
	return name == string(KindSay) || name == string(KindPlay) || name == string(KindPause)
}

func isGather(f *frame) bool { _, ok := f.item.(*Gather); return ok }

// dialOf returns the Dial a verb frame builds, if it is a taken Dial.
func dialOf(f *frame) (*dialState, bool) {
	if f == nil || f.role != roleVerb {
		return nil, false
	}
	d, ok := f.item.(*dialState)
	return d, ok
}

// verbHasText reports whether a verb's text is part of its meaning.
func verbHasText(k Kind) bool {
	switch k {
	case KindPlay, KindSay, KindRedirect, KindDial, KindSms, KindFax, KindEmail:
		return true
	}
	return false
}

// dialState is a Dial being built: its nouns arrive one by one.
type dialState struct {
	dial  *Dial
	nouns int // Number, Client, Sip, Uri and Conference nouns seen, valid or not
}

// verb parses a taken verb's attributes. The returned item is what its frame builds.
func (p *parser) verb(name string, a attrs) (Verb, any, error) {
	k := Kind(name)
	v := Verb{Kind: k}
	switch k {
	case KindPlay:
		v.Play = p.play(a)
		return v, v.Play, nil
	case KindSay:
		v.Say = p.say(a, false)
		return v, v.Say, nil
	case KindPause:
		v.Pause = p.pause(a)
		return v, v.Pause, nil
	case KindHangup:
		return v, nil, nil
	case KindRedirect:
		v.Redirect = newIn(&p.mem.redirects, Redirect{Method: p.methodAttr(a, name, "method", CodeRedirectMethod)})
		return v, v.Redirect, nil
	case KindReject:
		v.Reject = p.reject(a)
		return v, v.Reject, nil
	case KindDial:
		v.Dial = p.dial(a)
		return v, newIn(&p.mem.dialStates, dialState{dial: v.Dial}), nil
	case KindGather:
		g, err := p.gather(a)
		v.Gather = g
		return v, g, err
	case KindRecord:
		v.Record = p.record(a)
		return v, v.Record, nil
	case KindSms:
		v.Sms = newIn(&p.mem.smses, Sms{
			To: a.value("to"), From: a.value("from"),
			Action:         p.urlAttr(a, name, "action", CodeInvalidURI),
			Method:         p.methodAttr(a, name, "method", CodeMessageMethod),
			StatusCallback: p.urlAttr(a, name, "statusCallback", CodeInvalidURI),
		})
		return v, v.Sms, nil
	case KindFax:
		v.Fax = newIn(&p.mem.faxes, Fax{
			To: a.value("to"), From: a.value("from"),
			Action:         p.urlAttr(a, name, "action", CodeInvalidURI),
			Method:         p.methodAttr(a, name, "method", CodeMessageMethod),
			StatusCallback: p.urlAttr(a, name, "statusCallback", CodeInvalidURI),
		})
		return v, v.Fax, nil
	case KindEmail:
		v.Email = newIn(&p.mem.emails, Email{
			To: a.value("to"), From: a.value("from"), CC: a.value("cc"), BCC: a.value("bcc"),
			Subject: a.value("subject"),
		})
		if v.Email.Subject == "" {
			v.Email.Subject = DefaultEmailSubject
		}
		return v, v.Email, nil
	}
	return Verb{}, nil, nil // Enqueue, Leave
}

// finishVerb completes a taken verb with its text; false means it is dropped.
func (p *parser) finishVerb(v *Verb, item any, text string) bool {
	switch v.Kind {
	case KindPlay:
		v.Play.URL = p.resolve(text, string(KindPlay), "text", CodeInvalidURI)
		return v.Play.URL != ""
	case KindSay:
		v.Say.Text = text
		if text == "" {
			p.warn(CodeSayText, "<Say> has no text; skipped")
		}
		return text != ""
	case KindRedirect:
		v.Redirect.URL = p.resolve(text, string(KindRedirect), "text", CodeInvalidURI)
		return v.Redirect.URL != ""
	case KindDial:
		d, _ := item.(*dialState)
		return d != nil && p.finishDial(d, text)
	case KindSms:
		v.Sms.Body = text
	case KindFax:
		v.Fax.Document = text
	case KindEmail:
		v.Email.Body = text
	}
	return true
}

// prompt parses the attributes of a Say, Play or Pause owned by a Gather.
func (p *parser) prompt(name string, a attrs) Verb {
	switch Kind(name) {
	case KindSay:
		return Verb{Kind: KindSay, Say: p.say(a, true)}
	case KindPlay:
		return Verb{Kind: KindPlay, Play: p.play(a)}
	}
	return Verb{Kind: KindPause, Pause: p.pause(a)}
}

// finishPrompt completes a Gather prompt with its text; false means it is dropped.
func (p *parser) finishPrompt(v *Verb, text string) bool {
	switch v.Kind {
	case KindPlay:
		v.Play.URL = p.resolve(text, "Gather><Play", "text", CodeGatherPlayURI)
		return v.Play.URL != ""
	case KindSay:
		v.Say.Text = text
		if text == "" {
			p.warn(CodeSayText, "<Gather><Say> has no text; skipped")
		}
		return text != ""
	}
	return true
}

func (p *parser) play(a attrs) *Play {
	return newIn(&p.mem.plays, Play{Loop: p.intAttr(a, "Play", "loop", 1, 0, CodePlayLoop)})
}

func (p *parser) say(a attrs, inGather bool) *Say {
	voiceCode, loopCode := CodeSayVoice, CodeSayLoop
	if inGather {
		voiceCode, loopCode = CodeGatherSayVoice, CodeGatherSayLoop
	}
	s := newIn(&p.mem.says, Say{Voice: "man", Language: a.value("language"), Loop: p.intAttr(a, "Say", "loop", 1, 0, loopCode)})
	switch v := a.value("voice"); {
	case v == "" || equalFold(v, "man"):
	case equalFold(v, "woman"):
		s.Voice = "woman"
	default:
		p.warn(voiceCode, "%q is not a valid voice for <Say>; using man", v)
	}
	if s.Language == "" {
		s.Language = "en"
	}
	return s
}

func (p *parser) pause(a attrs) *Pause {
	return newIn(&p.mem.pauses, Pause{Length: p.intAttr(a, "Pause", "length", 1, 0, CodePauseLength)})
}

func (p *parser) reject(a attrs) *Reject {
	r := newIn(&p.mem.rejects, Reject{Reason: RejectRejected})
	switch v := a.value("reason"); {
	case v == "" || equalFold(v, RejectRejected):
	case equalFold(v, RejectBusy):
		r.Reason = RejectBusy
	default:
		p.warn(CodeRejectReason, "%q is not a valid reason for <Reject>; using rejected", v)
	}
	return r
}

func (p *parser) gather(a attrs) (*Gather, error) {
	const verb = "Gather"
	g := newIn(&p.mem.gathers, Gather{
		Action:                      p.urlAttr(a, verb, "action", CodeInvalidURI),
		Method:                      p.methodAttr(a, verb, "method", CodeGatherMethod),
		Timeout:                     p.intAttr(a, verb, "timeout", 5, 0, CodeGatherTimeout),
		FinishOnKey:                 "#",
		NumDigits:                   p.intAttr(a, verb, "numDigits", 32767, 1, CodeGatherNumDigits),
		StartInputKey:               "*0123456789",
		Input:                       InputDTMF,
		Language:                    a.value("language"),
		PartialResultCallback:       p.urlAttr(a, verb, "partialResultCallback", CodeInvalidURI),
		PartialResultCallbackMethod: p.methodAttr(a, verb, "partialResultCallbackMethod", CodeGatherMethod),
	})
	if v := a.value("finishOnKey"); v != "" {
		if keysValid(v) {
			g.FinishOnKey = v
		} else {
			p.warn(CodeGatherFinishOnKey, "%q is not a valid finishOnKey for <Gather>; using #", v)
		}
	}
	if v := a.value("startInputKey"); v != "" {
		if keysValid(v) {
			g.StartInputKey = v
		} else {
			p.warn(CodeGatherStartInputKey, "%q is not a valid startInputKey for <Gather>; using *0123456789", v)
		}
	}
	if v := a.value("input"); v != "" {
		if in, ok := gatherInput(v); ok {
			g.Input = in
		} else {
			p.warn(CodeGatherInput, "%q is not a valid input for <Gather>; using dtmf", v)
		}
	}
	if g.Language == "" {
		g.Language = "en-US"
	}
	hints, err := p.hints(a.value("hints"))
	g.Hints = hints
	return g, err
}

// gatherInput normalises "dtmf", "speech" or both, in any order and case.
func gatherInput(v string) (string, bool) {
	var dtmf, speech bool
	for _, w := range strings.Fields(v) {
		switch {
		case equalFold(w, InputDTMF):
			dtmf = true
		case equalFold(w, InputSpeech):
			speech = true
		default:
			return "", false
		}
	}
	switch {
	case dtmf && speech:
		return InputDTMFSpeech, true
	case speech:
		return InputSpeech, true
	}
	return InputDTMF, true
}

// hints splits and checks a Gather's hints; breaking a limit fails the whole document,
// as upstream.
func (p *parser) hints(v string) ([]string, error) {
	if v == "" {
		return nil, nil
	}
	parts := strings.Split(v, ",")
	for len(parts) > 0 && parts[len(parts)-1] == "" { // as Java's String.split
		parts = parts[:len(parts)-1]
	}
	if len(parts) > MaxHints {
		return nil, p.errorf(ErrHintsLimit, "<Gather> has %d hints, the limit is %d", len(parts), MaxHints)
	}
	var out []string
	for _, h := range parts {
		if n := utf8.RuneCountInString(h); n > MaxHintLength {
			return nil, p.errorf(ErrHintsLimit, "<Gather> hint of %d characters, the limit is %d", n, MaxHintLength)
		}
		if h = strings.TrimSpace(h); h != "" {
			out = append(out, h)
		}
	}
	return out, nil
}

func (p *parser) record(a attrs) *Record {
	const verb = "Record"
	r := newIn(&p.mem.records, Record{
		Action:             p.urlAttr(a, verb, "action", CodeInvalidURI),
		Method:             p.methodAttr(a, verb, "method", CodeRecordMethod),
		Timeout:            p.intAttr(a, verb, "timeout", 5, 0, CodeRecordValue),
		FinishOnKey:        "1234567890*#",
		MaxLength:          p.intAttr(a, verb, "maxLength", 3600, 1, CodeRecordValue),
		PlayBeep:           p.boolAttr(a, verb, "playBeep", true, CodeRecordValue),
		Transcribe:         p.boolAttr(a, verb, "transcribe", false, CodeRecordValue),
		TranscribeCallback: p.urlAttr(a, verb, "transcribeCallback", CodeInvalidURI),
		Media:              MediaAudioOnly,
	})
	if v, ok := a.get("finishOnKey"); ok {
		switch {
		case v == "-1":
			r.FinishOnKey = ""
		case v == "":
			r.FinishOnKey = "#"
		case keysValid(v):
			r.FinishOnKey = v
		default:
			r.FinishOnKey = "#"
			p.warn(CodeRecordFinishOnKey, "%q is not a valid finishOnKey for <Record>; using #", v)
		}
	}
	if r.TranscribeCallback != "" {
		r.Transcribe = true
	}
	switch v := a.value("media"); v {
	case "", MediaAudioOnly:
	case MediaVideoOnly, MediaAudioVideo:
		r.Media = v
	default:
		p.warn(CodeRecordValue, "%q is not a valid media for <Record>; using audio_only", v)
	}
	return r
}
