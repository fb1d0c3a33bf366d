package rcml

import (
	"strings"
	"unicode"
)

func (p *parser) dial(a attrs) *Dial {
	const verb = "Dial"
	d := newIn(&p.mem.dials, Dial{
		Mode:      DialModeFork,
		Action:    p.urlAttr(a, verb, "action", CodeInvalidURI),
		Method:    p.methodAttr(a, verb, "method", CodeDialMethod),
		Timeout:   p.intAttr(a, verb, "timeout", 30, 1, CodeDialTimeout),
		TimeLimit: p.intAttr(a, verb, "timeLimit", 14400, 1, CodeDialTimeLimit),
		CallerID:  a.value("callerId"),
		Record:    p.boolAttr(a, verb, "record", false, CodeDialRecord),
	})
	if !callerIDValid(d.CallerID) {
		p.warn(CodeDialCallerID, "%q is not a valid callerId for <Dial>; using the caller's From", d.CallerID)
		d.CallerID = ""
	}
	return d
}

// callerIDValid rejects what cannot go in a SIP From: whitespace, controls, angle
// brackets and quotes.
func callerIDValid(s string) bool {
	if len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == '"':
			return false
		}
	}
	return true
}

// noun parses the attributes of a direct child of a taken Dial; nil means the element is
// not a noun Patchbay uses (Video, Queue, unknown). A target is added to the Dial's
// targets at once, and built there (finishNoun takes it back if its text is no
// target): nouns do not nest, so it stays the last one until its end tag.
func (p *parser) noun(d *dialState, name string, a attrs) any {
	switch name {
	case TargetNumber, TargetClient, TargetSip, "Uri":
		kind := name
		if kind == "Uri" {
			kind = TargetSip
		}
		if d.dial.Targets == nil {
			d.dial.Targets = p.mem.targets.take()
		}
		d.dial.Targets = append(d.dial.Targets, Target{})
		t := &d.dial.Targets[len(d.dial.Targets)-1]
		*t = Target{
			Kind:                 kind,
			URL:                  p.urlAttr(a, name, "url", CodeInvalidURI),
			Method:               p.methodAttr(a, name, "method", CodeDialNounMethod),
			StatusCallback:       p.urlAttr(a, name, "statusCallback", CodeInvalidURI),
			StatusCallbackMethod: p.methodAttr(a, name, "statusCallbackMethod", CodeDialNounMethod),
			StatusCallbackEvents: callbackEvents(a.value("statusCallbackEvent")),
		}
		if kind == TargetSip {
			t.Username, t.Password = a.value("username"), a.value("password")
		}
		return t
	case "Conference":
		return p.conference(a)
	}
	return nil
}

// callbackEvents splits a comma-separated event list, removing all whitespace as
// upstream (so "initiated,  answered" works); nil when there is none.
func callbackEvents(v string) []string {
	if v == "" {
		return nil
	}
	out := make([]string, 0, 4) // the four events; strings.Count would loop per byte in wasm
	if plainEvents(v) {         // no space to remove: skip the per-rune unicode.IsSpace calls
		for more := true; more; {
			var e string
			e, v, more = cutByte(v, ',')
			if e != "" {
				out = append(out, e)
			}
		}
	} else {
		out = spacedEvents(out, v)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// plainEvents reports whether v is ASCII without white space, eight bytes per
// iteration for the reason skip gives.
func plainEvents(v string) bool {
	i := 0
	for ; i+8 <= len(v); i += 8 {
		if urlClass[v[i]]&urlClass[v[i+1]]&urlClass[v[i+2]]&urlClass[v[i+3]]&
			urlClass[v[i+4]]&urlClass[v[i+5]]&urlClass[v[i+6]]&urlClass[v[i+7]]&urlEvent == 0 {
			return false
		}
	}
	for ; i < len(v); i++ {
		if urlClass[v[i]]&urlEvent == 0 {
			return false
		}
	}
	return true
}

// spacedEvents is callbackEvents for a list with white space (or non-ASCII).
func spacedEvents(out []string, v string) []string {
	for _, e := range strings.Split(v, ",") {
		if strings.ContainsFunc(e, unicode.IsSpace) {
			e = strings.Join(strings.Fields(e), "")
		}
		if e != "" {
			out = append(out, e)
		}
	}
	return out
}

func (p *parser) conference(a attrs) *Conference {
	const verb = "Conference"
	c := newIn(&p.mem.conferences, Conference{
		Muted:                  p.boolAttr(a, verb, "muted", false, CodeConferenceValue),
		Beep:                   p.boolAttr(a, verb, "beep", true, CodeConferenceValue),
		StartConferenceOnEnter: p.boolAttr(a, verb, "startConferenceOnEnter", true, CodeConferenceValue),
		EndConferenceOnExit:    p.boolAttr(a, verb, "endConferenceOnExit", false, CodeConferenceValue),
		WaitURL:                DefaultConferenceWaitURL,
		WaitMethod:             p.methodAttr(a, verb, "waitMethod", CodeConferenceWaitMethod),
		MaxParticipants:        p.intAttr(a, verb, "maxParticipants", 40, 1, CodeConferenceValue),
	})
	if v, ok := a.get("waitUrl"); ok {
		if v == "" {
			c.WaitURL = "" // explicitly no music
		} else if u := p.resolve(v, verb, "waitUrl", CodeConferenceWaitURL); u != "" {
			c.WaitURL = u
		}
	}
	return c
}

// finishNoun completes a noun with its text and adds it to the Dial.
func (p *parser) finishNoun(d *dialState, item any, text string) {
	d.nouns++
	switch n := item.(type) {
	case *Target:
		if !fillTarget(n, text) {
			// n is the last target (see noun). An emptied list stays the
			// Dial's, for its next noun: finishDial drops a Dial whose
			// targets are all invalid, so no plan has an empty list.
			d.dial.Targets = d.dial.Targets[:len(d.dial.Targets)-1]
		}
	case *Conference:
		if text != "" && d.dial.Conference == nil { // the first named Conference wins
			n.Name = text
			d.dial.Conference = n
		}
	}
}

// finishDial settles a Dial once all its nouns are in; false means it has no target and
// is dropped.
func (p *parser) finishDial(ds *dialState, text string) bool {
	d := ds.dial
	if d.Conference != nil { // conference mode takes precedence over any other noun
		d.Mode = DialModeConference
		d.Targets = nil
		return true
	}
	if len(d.Targets) > 0 {
		return true
	}
	// The shortcut only applies to a Dial without nouns; nouns that were all invalid
	// leave d.Targets empty but still disable it.
	if text == "" || ds.nouns > 0 {
		return false
	}
	t := Target{Method: MethodPOST, StatusCallbackMethod: MethodPOST}
	to, _ := splitHeaders(text)
	switch {
	case strings.Contains(to, "@"):
		t.Kind = TargetSip
	case strings.HasPrefix(to, "client"):
		t.Kind = TargetClient
	default:
		t.Kind = TargetNumber
	}
	if !fillTarget(&t, text) {
		return false
	}
	d.Targets = []Target{t}
	d.FromText = true
	return true
}

// fillTarget sets To and Headers from a noun's text; false when there is no target.
func fillTarget(t *Target, text string) bool {
	to, headers := splitHeaders(text)
	switch t.Kind {
	case TargetClient:
		if len(to) >= len("client:") && strings.EqualFold(to[:len("client:")], "client:") {
			to = trimSpace(to[len("client:"):])
		}
	case TargetSip:
		if to != "" && !hasSIPScheme(to) {
			to = "sip:" + to
		}
	}
	if to == "" {
		return false
	}
	t.To, t.Headers = to, headers
	return true
}

func hasSIPScheme(s string) bool {
	for _, scheme := range []string{"sip:", "sips:"} {
		if len(s) >= len(scheme) && strings.EqualFold(s[:len(scheme)], scheme) {
			return true
		}
	}
	return false
}

// splitHeaders splits "target?X-A=1&X-B=2" into the target and its custom SIP headers
// (nil when there are none). A header without '=' has an empty value; the last of
// duplicate names wins.
func splitHeaders(text string) (string, map[string]string) {
	to, query, found := cutByte(text, '?')
	to = trimSpace(to)
	if !found {
		return to, nil
	}
	var headers map[string]string
	for more := true; more; {
		var kv string
		kv, query, more = cutByte(query, '&')
		k, v, _ := cutByte(kv, '=')
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		if headers == nil {
			headers = make(map[string]string)
		}
		headers[k] = trimSpace(v)
	}
	return to, headers
}
