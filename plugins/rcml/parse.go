package rcml

import (
	"bytes"
	"fmt"
	"strings"
	"unsafe"
)

// Parse parses an RCML document into a plan. docURL is the URL the document was fetched
// from; relative URLs in the document are resolved against it (when it is empty they
// are kept relative). A document that is not acceptable RCML gives a *ParseError.
func Parse(body []byte, docURL string) (*Plan, error) {
	return new(Parser).parse(body, docURL, false)
}

// A Parser parses documents one after another, reusing its memory from one to the
// next: the plan it returns is only valid until its next call, and the plan's strings
// may share memory with the body, which must not change while the plan is in use. The
// zero value is ready to use; a Parser is not safe for concurrent use.
//
// It exists for the wasm guest, where allocation is what costs: a parse that
// allocates less brings the guest's garbage collections, the slowest parses, further
// apart.
type Parser struct {
	p parser
	// escaped and inserted hold the last document with its bare ampersands
	// escaped, and where.
	escaped  []byte
	inserted []int
}

// Parse is the package's Parse, reusing ps's memory and body's.
func (ps *Parser) Parse(body []byte, docURL string) (*Plan, error) {
	return ps.parse(body, docURL, true)
}

// parse parses body; share says whether the text may share memory with body
// and ps rather than be a copy.
func (ps *Parser) parse(body []byte, docURL string, share bool) (*Plan, error) {
	base, err := newDocumentBase(docURL)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrInvalidDocumentURL, docURL, err)
	}
	if len(body) > MaxDocumentSize {
		return nil, &ParseError{
			Msg: fmt.Sprintf("document is %d bytes, the limit is %d", len(body), MaxDocumentSize),
			Err: ErrDocumentTooLarge,
		}
	}
	body = bytes.TrimPrefix(body, utf8BOM) // editors on Windows add one; it is not text outside the root
	var (
		text     string
		inserted []int
	)
	if share {
		text = unsafe.String(unsafe.SliceData(body), len(body))
		ps.escaped, ps.inserted = appendEscaped(ps.escaped[:0], ps.inserted[:0], text)
		if len(ps.inserted) > 0 {
			text, inserted = unsafe.String(unsafe.SliceData(ps.escaped), len(ps.escaped)), ps.inserted
		}
	} else {
		text, inserted = escapeBareAmpersands(string(body))
	}
	p := &ps.p
	// The slices of the last parse, emptied. Their first capacities fit a
	// typical document, so that they do not grow one allocation at a time
	// (each a long call chain in wasm).
	attrs, stack, chars, buf, verbs := reuse(p.tok.attrs), p.stack[:0], p.text[:0], p.tok.buf[:0], reuse(p.plan.Verbs)
	if cap(attrs) == 0 {
		attrs, stack, chars, verbs = make([]xmlAttr, 0, 8), make([]frame, 0, 8), make([]byte, 0, 256), make([]Verb, 0, 8)
	}
	mem := p.mem
	mem.reset()
	*p = parser{
		tok:      tokenizer{s: text, attrs: attrs, buf: buf},
		base:     base,
		inserted: inserted,
		stack:    stack,
		text:     chars,
		mem:      mem,
	}
	p.plan.Verbs = verbs
	if err := p.run(); err != nil {
		return nil, err
	}
	p.compact()
	if p.plan.Verbs == nil {
		p.plan.Verbs = []Verb{} // a plan's verbs are never nil (as the decoded plan's)
	}
	return &p.plan, nil
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// parseMemory is where a Parser builds a plan's parts: each is an element of a slice
// emptied at the start of every parse rather than an allocation of its own, so that a
// Parser that has seen a document's shape parses the next like it without allocating
// them. A slice that grows leaves the parts already handed out in its old array, still
// referenced by the plan, so they stay valid.
type parseMemory struct {
	plays       []Play
	says        []Say
	pauses      []Pause
	redirects   []Redirect
	rejects     []Reject
	gathers     []Gather
	records     []Record
	dials       []Dial
	dialStates  []dialState
	conferences []Conference
	smses       []Sms
	faxes       []Fax
	emails      []Email
	// targets and prompts are the lists of Dials and Gathers.
	targets listPool[Target]
	prompts listPool[Verb]
}

// keptElements bounds what a Parser keeps of a slice from one parse to the next: a
// document with thousands of verbs must not leave their memory to the parser for good.
const keptElements = 256

// reuse empties s for the next parse, or drops it if it grew past keptElements.
func reuse[T any](s []T) []T {
	if cap(s) > keptElements {
		return nil
	}
	return s[:0]
}

func (m *parseMemory) reset() {
	m.plays, m.says, m.pauses, m.redirects = reuse(m.plays), reuse(m.says), reuse(m.pauses), reuse(m.redirects)
	m.rejects, m.gathers, m.records, m.dials = reuse(m.rejects), reuse(m.gathers), reuse(m.records), reuse(m.dials)
	m.dialStates, m.conferences, m.smses = reuse(m.dialStates), reuse(m.conferences), reuse(m.smses)
	m.faxes, m.emails = reuse(m.faxes), reuse(m.emails)
	m.targets.reset()
	m.prompts.reset()
}

// newIn adds v to slab and returns where it is.
func newIn[T any](slab *[]T, v T) *T {
	*slab = append(*slab, v)
	return &(*slab)[len(*slab)-1]
}

// listPool hands out empty lists with room for four elements, reused from parse to
// parse. A list that needs more grows away from its pooled array, which is handed out
// again next time.
type listPool[T any] struct {
	lists [][]T
	used  int
}

func (l *listPool[T]) reset() {
	if len(l.lists) > keptElements {
		clear(l.lists[keptElements:])
		l.lists = l.lists[:keptElements]
	}
	l.used = 0
}

func (l *listPool[T]) take() []T {
	if l.used == len(l.lists) {
		l.lists = append(l.lists, make([]T, 0, 4))
	}
	list := l.lists[l.used][:0]
	l.used++
	return list
}

// role says what an open element is to the walk.
type role uint8

const (
	roleOther  role = iota // unknown element, or a verb owned by a verb that has no use for it
	roleVerb               // a verb taken into the plan
	rolePrompt             // a Say, Play or Pause owned by a Gather
	roleNoun               // a Number, Client, Sip, Uri or Conference of a taken Dial
)

// frame is one open element.
type frame struct {
	name      string // as written, prefix included: end tags must match it
	local     string // without the prefix: what the walk goes by
	id        int
	role      role
	collect   bool // whether its character data is gathered
	textStart int  // where its text starts in parser.text, once it has two chunks
	// chunks counts its character data chunks. The first is kept in first
	// rather than copied into parser.text, so the usual single-chunk text is a
	// substring of the document, not a new string.
	chunks int
	first  string
	verb   int  // roleVerb: index in plan.Verbs
	item   any  // roleVerb, roleNoun: what is being built (*Gather, *dialState, *Target, ...)
	prompt Verb // rolePrompt: the prompt being built
}

// parser holds the state of one Parse call.
type parser struct {
	mem      parseMemory
	tok      tokenizer
	base     documentBase
	inserted []int
	plan     Plan
	stack    []frame
	text     []byte // character data of the open collecting elements, innermost last
	lastID   int
	current  int // id of the element of the verb taken last; 0 before the first
	dropped  int // verbs left as empty placeholders, removed by compact
	rootSeen bool
}

func (p *parser) run() error {
	for {
		kind, err := p.tok.next()
		if err != nil {
			return p.syntaxError(err)
		}
		if kind == tokEOF {
			break
		}
		t := &p.tok
		switch kind {
		case tokStart:
			if len(p.stack) == 0 && p.rootSeen {
				return p.errorf(ErrMalformed, "element <%s> after the root element", t.local)
			}
			p.rootSeen = true
			if len(p.stack) >= MaxDepth {
				return p.errorf(ErrTooDeep, "elements nested deeper than %d", MaxDepth)
			}
			if err := p.start(); err != nil {
				return err
			}
			if t.empty {
				p.end()
			}
		case tokEnd:
			if len(p.stack) == 0 {
				return p.errorf(ErrMalformed, "unexpected end element </%s>", t.local)
			}
			if top := &p.stack[len(p.stack)-1]; !equalString(top.name, t.name) {
				return p.errorf(ErrMalformed, "element <%s> closed by </%s>", top.local, t.local)
			}
			p.end()
		case tokText:
			if len(p.stack) == 0 {
				if strings.TrimSpace(t.text) != "" {
					return p.errorf(ErrMalformed, "text outside the root element")
				}
				continue
			}
			top := &p.stack[len(p.stack)-1]
			if !top.collect {
				continue
			}
			switch top.chunks {
			case 0:
				top.first = t.text
			case 1:
				p.text = append(p.text, top.first...)
				p.text = append(p.text, t.text...)
			default:
				p.text = append(p.text, t.text...)
			}
			top.chunks++
		}
	}
	if len(p.stack) != 0 {
		return p.errorf(ErrMalformed, "unexpected end of document inside <%s>", p.stack[len(p.stack)-1].local)
	}
	if !p.rootSeen {
		return p.errorf(ErrMalformed, "no root element")
	}
	return nil
}

// start opens the element of the current start tag and decides its role.
func (p *parser) start() error {
	t := &p.tok
	p.lastID++
	// The frame is built in place: a frame is ~200 bytes, and copying it in
	// and out of the stack was a measurable share of a parse in wasm.
	if n := len(p.stack); n < cap(p.stack) {
		p.stack = p.stack[:n+1]
	} else {
		p.stack = append(p.stack, frame{})
	}
	f := &p.stack[len(p.stack)-1]
	*f = frame{name: t.name, local: t.local, id: p.lastID, textStart: len(p.text), verb: -1}
	var parent *frame
	if len(p.stack) > 1 {
		parent = &p.stack[len(p.stack)-2]
	}
	a := attrs(t.attrs)
	name := t.local
	if isVerb(name) {
		owned := parent != nil && parent.id == p.current
		switch {
		case !owned:
			p.current = f.id
			if err := p.takeVerb(f, name, a); err != nil {
				return err
			}
		case parent.role == roleVerb && isGather(parent) && isPrompt(name):
			f.role = rolePrompt
			f.prompt = p.prompt(name, a)
			f.collect = name != string(KindPause)
		}
	} else if d, ok := dialOf(parent); ok {
		if item := p.noun(d, name, a); item != nil {
			f.role, f.item, f.collect = roleNoun, item, true
		}
	}
	return nil
}

// end closes the innermost element, finishing what it built.
func (p *parser) end() {
	// f stays valid after the pop: nothing below appends to the stack.
	f := &p.stack[len(p.stack)-1]
	p.stack = p.stack[:len(p.stack)-1]
	var text string
	switch {
	case !f.collect:
	case f.chunks <= 1:
		text = trimSpace(f.first)
	default:
		text = string(bytes.TrimSpace(p.text[f.textStart:]))
		p.text = p.text[:f.textStart]
	}
	switch f.role {
	case roleVerb:
		if !p.finishVerb(&p.plan.Verbs[f.verb], f.item, text) {
			p.plan.Verbs[f.verb] = Verb{}
			p.dropped++
		}
	case rolePrompt:
		g, _ := p.stack[len(p.stack)-1].item.(*Gather) // a prompt's parent is always its Gather
		if g != nil && p.finishPrompt(&f.prompt, text) {
			if g.Prompts == nil {
				g.Prompts = p.mem.prompts.take()
			}
			g.Prompts = append(g.Prompts, f.prompt)
		}
	case roleNoun:
		if d, _ := p.stack[len(p.stack)-1].item.(*dialState); d != nil { // a noun's parent is always its Dial
			p.finishNoun(d, f.item, text)
		}
	}
}

// takeVerb reserves the verb's place in the plan (document order is start-tag order) and
// parses its attributes now, so warnings come out in document order too.
func (p *parser) takeVerb(f *frame, name string, a attrs) error {
	v, item, err := p.verb(name, a)
	if err != nil {
		return err
	}
	if v.Kind == "" { // recognised but not implemented (Enqueue, Leave)
		return nil
	}
	f.role = roleVerb
	f.verb = len(p.plan.Verbs)
	f.item = item
	f.collect = verbHasText(v.Kind)
	p.plan.Verbs = append(p.plan.Verbs, v)
	return nil
}

// compact removes the placeholders of verbs that were dropped.
func (p *parser) compact() {
	if p.dropped == 0 {
		return
	}
	kept := p.plan.Verbs[:0]
	for _, v := range p.plan.Verbs {
		if v.Kind != "" {
			kept = append(kept, v)
		}
	}
	clear(p.plan.Verbs[len(kept):])
	p.plan.Verbs = kept
}

// errorf builds a *ParseError at the tokenizer's current position.
func (p *parser) errorf(cause error, format string, args ...any) error {
	return &ParseError{
		Line:   p.line(),
		Offset: originalOffset(int64(p.tok.pos), p.inserted),
		Msg:    fmt.Sprintf(format, args...),
		Err:    cause,
	}
}

// syntaxError wraps a tokenizer error into a *ParseError.
func (p *parser) syntaxError(err error) error {
	return &ParseError{
		Line:   p.line(),
		Offset: originalOffset(int64(p.tok.pos), p.inserted),
		Msg:    err.Error(),
		Err:    fmt.Errorf("%w: %w", ErrMalformed, err),
	}
}

// line is the 1-based line of the tokenizer's position.
func (p *parser) line() int {
	return 1 + strings.Count(p.tok.s[:p.tok.pos], "\n")
}

// latin1ToUTF8 decodes ISO-8859-1 (of which ASCII is a subset).
func latin1ToUTF8(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/8)
	for _, c := range b {
		if c < 0x80 {
			out = append(out, c)
		} else {
			out = append(out, 0xC0|c>>6, 0x80|c&0x3F)
		}
	}
	return out
}
