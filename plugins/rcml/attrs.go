package rcml

import "fmt"

// attrs are the attributes of one element. Names are matched on their local part,
// case-sensitively, and values are trimmed, as upstream.
type attrs []xmlAttr

// get returns the trimmed value of the named attribute and whether it is present. Most
// elements have four attributes or fewer, which it looks at without a loop (a loop
// costs a termination check per call and per iteration in wasm; see skip).
func (a attrs) get(name string) (string, bool) {
	switch {
	case len(a) > 0 && equalString(a[0].local, name):
		return trimSpace(a[0].value), true
	case len(a) > 1 && equalString(a[1].local, name):
		return trimSpace(a[1].value), true
	case len(a) > 2 && equalString(a[2].local, name):
		return trimSpace(a[2].value), true
	case len(a) > 3 && equalString(a[3].local, name):
		return trimSpace(a[3].value), true
	case len(a) > 4:
		return a[4:].getLoop(name)
	}
	return "", false
}

// getLoop is get's loop, out of line so that get's callers stay loop-free.
//
//go:noinline
func (a attrs) getLoop(name string) (string, bool) {
	for i := range a {
		if equalString(a[i].local, name) {
			return trimSpace(a[i].value), true
		}
	}
	return "", false
}

// value returns the trimmed value of the named attribute, "" when absent.
func (a attrs) value(name string) string {
	v, _ := a.get(name)
	return v
}

// warn records a warning.
func (p *parser) warn(code int, format string, args ...any) {
	p.plan.Warnings = append(p.plan.Warnings, Warning{Code: code, Message: fmt.Sprintf(format, args...)})
}

// intAttr parses a whole number of at least min; empty or absent gives def silently,
// anything else invalid gives def and a warning.
func (p *parser) intAttr(a attrs, verb, name string, def, min, code int) int {
	v := a.value(name)
	if v == "" {
		return def
	}
	n, err := atoi(v)
	if err != nil || n < min {
		p.warn(code, "%q is not a valid %s for <%s>; using %d", v, name, verb, def)
		return def
	}
	return n
}

// boolAttr parses "true" or "false" in any case.
func (p *parser) boolAttr(a attrs, verb, name string, def bool, code int) bool {
	v := a.value(name)
	switch {
	case v == "":
		return def
	case equalFold(v, "true"):
		return true
	case equalFold(v, "false"):
		return false
	}
	p.warn(code, "%q is not a valid %s for <%s>; using %t", v, name, verb, def)
	return def
}

// methodAttr normalises an HTTP method attribute to GET or POST (the default).
func (p *parser) methodAttr(a attrs, verb, name string, code int) string {
	v := a.value(name)
	switch {
	case v == "":
		return MethodPOST
	case equalFold(v, MethodPOST):
		return MethodPOST
	case equalFold(v, MethodGET):
		return MethodGET
	}
	p.warn(code, "%q is not a valid HTTP %s for <%s>; using POST", v, name, verb)
	return MethodPOST
}

// urlAttr resolves a URL attribute; empty, absent or unparseable gives "".
func (p *parser) urlAttr(a attrs, verb, name string, code int) string {
	return p.resolve(a.value(name), verb, name, code)
}

// resolve makes ref absolute against the document URL. Absolute URLs are kept exactly
// as written; relative ones stay relative when there is no document URL. An unparseable
// ref gives "" and a warning with code.
func (p *parser) resolve(ref, verb, what string, code int) string {
	if ref == "" {
		return ""
	}
	s, ok := p.base.resolve(ref)
	if !ok {
		p.warn(code, "%q is an invalid URI for the %s of <%s>", ref, what, verb)
		return ""
	}
	return s
}

// keysAttr validates a key list such as finishOnKey: one to twelve of 0-9, * and #.
func keysValid(v string) bool {
	if len(v) == 0 || len(v) > 12 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= '0' && c <= '9') && c != '*' && c != '#' {
			return false
		}
	}
	return true
}
