package rcml

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The tokenizer replaces encoding/xml's Decoder.RawToken, which costs three quarters
// of a parse in the wasm sandbox: it reads through a bufio.Reader one byte per call,
// allocates every token and boxes it in an interface. This one works on the whole
// document as a string, returns names and undecoded values as substrings of it, and
// scans with plain loops. It accepts and rejects what RawToken does (with the Decoder
// settings Parse used: Strict, no Entity map, ISO-8859-1 and ASCII charset readers),
// with the same messages and positions; FuzzTokenizer holds it to that.
//
// So, like encoding/xml, it lets an attribute appear twice in an element (XML 1.0 §3.1
// forbids it); the walk reads the first. Checking would turn documents that work today
// into hang-ups, and switch/rcmlwasm's hostile-document test pins that 10,000 copies of
// one attribute still give a plan (quadratic checking would not survive that either).
//
// Like RawToken it does not check that end tags match or that there is one root:
// the parser does. Comments, processing instructions and directives (DOCTYPE and any
// other <!...>) are skipped as encoding/xml skips them: a DOCTYPE's internal subset is
// never interpreted, so an entity it declares stays unknown and its use is an error.

// tokenKind is what next found.
type tokenKind uint8

const (
	tokEOF   tokenKind = iota // end of the document
	tokStart                  // a start tag (or an empty-element tag, then empty is set)
	tokEnd                    // an end tag
	tokText                   // character data, from text or a CDATA section
)

// xmlAttr is one attribute of a start tag.
type xmlAttr struct {
	name  string // as written, prefix included
	local string // without its prefix, as encoding/xml's Name.Local
	value string // references decoded
}

// tokenizer reads the tokens of one document.
type tokenizer struct {
	s   string
	pos int // bytes consumed; an error's position is here

	// The current token.
	name  string // tokStart, tokEnd: as written, prefix included
	local string // tokStart, tokEnd: without its prefix

	// Where readName saw ':' in the name it read: the first one's index in
	// the name (-1: none), whether there was another, and whether it knows
	// (it does not look for them in a name with non-ASCII bytes).
	colon         int
	twoColons     bool
	colonsCounted bool
	empty         bool // tokStart: <name/>
	attrs         []xmlAttr
	text          string // tokText

	buf []byte // decoded text, when references or carriage returns change it
}

// syntaxError is a malformed document, at tokenizer.pos.
type syntaxError struct{ msg string }

func (e *syntaxError) Error() string { return e.msg }

func (t *tokenizer) fail(msg string) error { return &syntaxError{msg: msg} }

func (t *tokenizer) unexpectedEOF() error {
	t.pos = len(t.s)
	return t.fail("unexpected EOF")
}

// next reads the next token (comments, processing instructions and directives are
// skipped).
func (t *tokenizer) next() (tokenKind, error) {
	kind, skipped, err := t.step()
	if skipped {
		return t.nextAfterSkipping()
	}
	return kind, err
}

// nextAfterSkipping is next's loop over processing instructions, comments and
// directives, which give no token, kept out of next: in wasm a function with a
// loop pays a termination check per call (see skip).
//
//go:noinline
func (t *tokenizer) nextAfterSkipping() (tokenKind, error) {
	for {
		kind, skipped, err := t.step()
		if !skipped {
			return kind, err
		}
	}
}

// step reads one token, or skips a processing instruction, comment or
// directive and reports that it did (the second result).
func (t *tokenizer) step() (tokenKind, bool, error) {
	if t.pos >= len(t.s) {
		return tokEOF, false, nil
	}
	if t.s[t.pos] != '<' {
		text, err := t.readText(0, false)
		if err != nil {
			return tokEOF, false, err
		}
		t.text = text
		return tokText, false, nil
	}
	t.pos++
	if t.pos >= len(t.s) {
		return tokEOF, false, t.unexpectedEOF()
	}
	switch t.s[t.pos] {
	case '/':
		t.pos++
		return tokEnd, false, t.endTag()
	case '?':
		t.pos++
		if err := t.procInst(); err != nil {
			return tokEOF, false, err
		}
		return tokEOF, true, nil
	case '!':
		t.pos++
		kind, err := t.bang()
		if err != nil || kind == tokText {
			return kind, false, err
		}
		return tokEOF, true, nil
	}
	return tokStart, false, t.startTag()
}

// endTag reads "name >" after "</".
func (t *tokenizer) endTag() error {
	if err := t.nsName("expected element name after </"); err != nil {
		return err
	}
	t.space()
	if t.pos >= len(t.s) {
		return t.unexpectedEOF()
	}
	t.pos++
	if t.s[t.pos-1] != '>' {
		return t.fail("invalid characters between </" + t.local + " and >")
	}
	return nil
}

// startTag reads a start tag after its "<".
func (t *tokenizer) startTag() error {
	if err := t.nsName("expected element name after <"); err != nil {
		return err
	}
	name, local := t.name, t.local
	t.attrs = t.attrs[:0]
	t.empty = false
	for {
		t.space()
		if t.pos >= len(t.s) {
			return t.unexpectedEOF()
		}
		c := t.s[t.pos]
		t.pos++
		if c == '/' {
			if t.pos >= len(t.s) {
				return t.unexpectedEOF()
			}
			t.pos++
			if t.s[t.pos-1] != '>' {
				return t.fail("expected /> in element")
			}
			t.empty = true
			break
		}
		if c == '>' {
			break
		}
		t.pos--
		if err := t.nsName("expected attribute name in element"); err != nil {
			return err
		}
		a := xmlAttr{name: t.name, local: t.local}
		t.space()
		if t.pos >= len(t.s) {
			return t.unexpectedEOF()
		}
		t.pos++
		if t.s[t.pos-1] != '=' {
			return t.fail("attribute name without = in element")
		}
		t.space()
		if t.pos >= len(t.s) {
			return t.unexpectedEOF()
		}
		q := t.s[t.pos]
		t.pos++
		if q != '"' && q != '\'' {
			return t.fail("unquoted or missing attribute value in element")
		}
		v, err := t.readText(q, false)
		if err != nil {
			return err
		}
		a.value = v
		t.attrs = append(t.attrs, a)
	}
	t.name, t.local = name, local
	return nil
}

// procInst skips a processing instruction after "<?", applying an XML declaration's
// encoding to the rest of the document. Not inlined: it has loops, and runs once or
// twice a document, where step runs once a token (see skip).
//
//go:noinline
func (t *tokenizer) procInst() error {
	target, err := t.readName("expected target name after <?")
	if err != nil {
		return err
	}
	t.space()
	end := indexString(t.s, t.pos, "?>")
	if end < 0 {
		return t.unexpectedEOF()
	}
	content := t.s[t.pos:end]
	t.pos = end + 2
	if !equalString(target, "xml") {
		return nil
	}
	if v := declParam(content, "version="); v != "" && !equalString(v, "1.0") {
		return t.fail(fmt.Sprintf("xml: unsupported version %q; only version 1.0 is supported", v))
	}
	enc := declParam(content, "encoding=")
	if enc == "" || equalFold(enc, "utf-8") {
		return nil
	}
	switch strings.ToLower(enc) {
	case "iso-8859-1", "latin1", "latin-1", "us-ascii", "ascii":
		// The declaration is ASCII, so what precedes it is the same in both encodings.
		rest := latin1ToUTF8([]byte(t.s[t.pos:]))
		t.s = t.s[:t.pos] + string(rest)
		return nil
	}
	return t.fail(fmt.Sprintf("xml: opening charset %q: unsupported encoding %q", enc, enc))
}

// declParam returns the quoted value of a parameter in an XML declaration's content,
// the way encoding/xml finds it: the first key (the name and "=") followed by a quote.
func declParam(content, key string) string {
	for i := 0; ; {
		k := indexString(content, i, key)
		if k < 0 {
			return ""
		}
		q := k + len(key)
		if q >= len(content) {
			return ""
		}
		i = q + 1
		if c := content[q]; c == '"' || c == '\'' {
			end := indexByte(content, i, c)
			if end < 0 {
				return ""
			}
			return content[i:end]
		}
	}
}

// bang reads what follows "<!": a comment or a directive (skipped, tokEOF with no
// error) or a CDATA section (tokText).
func (t *tokenizer) bang() (tokenKind, error) {
	if t.pos >= len(t.s) {
		return tokEOF, t.unexpectedEOF()
	}
	switch t.s[t.pos] {
	case '-':
		t.pos++
		if t.pos >= len(t.s) {
			return tokEOF, t.unexpectedEOF()
		}
		t.pos++
		if t.s[t.pos-1] != '-' {
			return tokEOF, t.fail("invalid sequence <!- not part of <!--")
		}
		dashes := strings.Index(t.s[t.pos:], "--")
		if dashes < 0 || t.pos+dashes+2 >= len(t.s) {
			return tokEOF, t.unexpectedEOF()
		}
		t.pos += dashes + 3
		if t.s[t.pos-1] != '>' {
			return tokEOF, t.fail(`invalid sequence "--" not allowed in comments`)
		}
		return tokEOF, nil
	case '[':
		t.pos++
		for i := 0; i < len("CDATA["); i++ {
			if t.pos >= len(t.s) {
				return tokEOF, t.unexpectedEOF()
			}
			t.pos++
			if t.s[t.pos-1] != "CDATA["[i] {
				return tokEOF, t.fail("invalid <![ sequence")
			}
		}
		text, err := t.readText(0, true)
		if err != nil {
			return tokEOF, err
		}
		t.text = text
		return tokText, nil
	}
	return tokEOF, t.directive()
}

// directive skips a directive such as <!DOCTYPE ...> after its "<!", as encoding/xml
// delimits one: nested <...> pairs count, quoted '<' and '>' do not, and <!--...-->
// comments inside are skipped.
func (t *tokenizer) directive() error {
	s := t.s
	var quote byte
	depth := 0
	t.pos++ // the byte after "<!" is part of the directive, whatever it is
	for {
		if t.pos >= len(s) {
			return t.unexpectedEOF()
		}
		c := s[t.pos]
		t.pos++
		if quote == 0 && c == '>' && depth == 0 {
			return nil
		}
	handle:
		switch {
		case c == quote:
			quote = 0
		case quote != 0:
		case c == '\'' || c == '"':
			quote = c
		case c == '>':
			depth--
		case c == '<':
			for i := 0; i < len("!--"); i++ {
				if t.pos >= len(s) {
					return t.unexpectedEOF()
				}
				c = s[t.pos]
				t.pos++
				if c != "!--"[i] {
					depth++
					goto handle
				}
			}
			end := strings.Index(s[t.pos:], "-->")
			if end < 0 {
				return t.unexpectedEOF()
			}
			t.pos += end + 3
		}
	}
}

// space skips XML white space.
func (t *tokenizer) space() {
	// None or one, as between most attributes, without a loop (see skip).
	if t.pos >= len(t.s) || !isSpace(t.s[t.pos]) {
		return
	}
	if t.pos+1 >= len(t.s) || !isSpace(t.s[t.pos+1]) {
		t.pos++
		return
	}
	t.spaceLoop()
}

//go:noinline
func (t *tokenizer) spaceLoop() {
	for t.pos < len(t.s) && isSpace(t.s[t.pos]) {
		t.pos++
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// nsName reads a name into t.name and t.local; missing says what was expected.
func (t *tokenizer) nsName(missing string) error {
	name, err := t.readName(missing)
	if err != nil {
		return err
	}
	t.name, t.local = name, name
	colon, twoColons := t.colon, t.twoColons
	if !t.colonsCounted {
		colon = strings.IndexByte(name, ':')
		twoColons = colon >= 0 && strings.IndexByte(name[colon+1:], ':') >= 0
	}
	if colon < 0 {
		return nil
	}
	if twoColons {
		return t.fail(missing)
	}
	if colon > 0 && colon < len(name)-1 {
		t.local = name[colon+1:]
	}
	return nil
}

// readName reads a name: a run of ASCII name bytes and non-ASCII bytes, which must
// then form a valid XML name. missing is the message when there is none.
func (t *tokenizer) readName(missing string) (string, error) {
	s := t.s
	start := t.pos
	// Stopping at ':' counts the colons for nsName, which would otherwise
	// search the name twice (see scan.go for why searches cost in wasm).
	// The rest is a call so that the compiler lays out the common case
	// (neither ':' nor non-ASCII) as the straight path: a taken branch costs
	// a termination check too.
	t.colon, t.twoColons, t.colonsCounted = -1, false, true
	i := skip(s, start, classNotName|classHigh|classColon)
	ascii := true
	if i < len(s) && (s[i] == ':' || s[i] >= utf8.RuneSelf) {
		i, ascii = t.nameRest(start, i)
	}
	if i == start {
		if i >= len(s) {
			return "", t.unexpectedEOF()
		}
		return "", t.fail(missing)
	}
	if i >= len(s) {
		return "", t.unexpectedEOF()
	}
	t.pos = i
	name := s[start:i]
	if ascii {
		if c := name[0]; !isLetter(c) && c != '_' && c != ':' {
			return "", t.fail("invalid XML name: " + name)
		}
	} else if !isXMLName(name) {
		return "", t.fail("invalid XML name: " + name)
	}
	return name, nil
}

// nameRest goes on reading a name from s[i], a ':' or a non-ASCII byte, and
// returns its end and whether it is all ASCII.
//
//go:noinline
func (t *tokenizer) nameRest(start, i int) (int, bool) {
	s := t.s
	for i < len(s) && s[i] == ':' {
		if t.colon < 0 {
			t.colon = i - start
		} else {
			t.twoColons = true
		}
		i = skip(s, i+1, classNotName|classHigh|classColon)
	}
	if i < len(s) && s[i] >= utf8.RuneSelf {
		t.colonsCounted = false
		return skip(s, i, classNotName), false
	}
	return i, true
}

func isNameByte(c byte) bool {
	return isLetter(c) || '0' <= c && c <= '9' || c == '_' || c == ':' || c == '.' || c == '-'
}

// isXMLName checks a name with non-ASCII letters against XML 1.0 (fourth edition)
// Appendix B, as encoding/xml does. Not inlined: its loop would cost readName's
// callers a termination check per call (see skip), for names that are rare.
//
//go:noinline
func isXMLName(name string) bool {
	for i, r := range name {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(name[i:]); size == 1 {
				return false
			}
		}
		if i == 0 && !isNameStart(r) || i > 0 && !isNameChar(r) {
			return false
		}
	}
	return true
}

// Byte classes of charClass (names_table.go): the bytes that end a plain run, one
// that needs no more than copying, in each kind of text.
const (
	classText    = 1 << iota // character data: '<', '&', ']', control characters, non-ASCII
	classDQ                  // "-quoted value: '<', '&', '"', control characters, non-ASCII
	classSQ                  // '-quoted value: '<', '&', '\'', control characters, non-ASCII
	classCDATA               // CDATA section: ']', control characters, non-ASCII
	classNotName             // an ASCII byte that ends a name
	classHigh                // not ASCII
	classColon               // ':'
)

// skip returns the index of the first byte at or after i whose class has a bit of mask,
// or len(s). In wasm every loop iteration leaves the compiled code for a termination
// check (wazero's WithCloseOnContextDone), and so does every call of a function that
// has a loop, on entry (Go's wasm backend puts the whole function in its dispatch
// loop). So skip is straight-line code for a run shorter than eight bytes, most of
// them, and leaves longer ones to skipLong, which tests sixteen bytes per iteration.
func skip(s string, i int, mask byte) int {
	if i+8 <= len(s) && charClass[s[i]]&mask == 0 && charClass[s[i+1]]&mask == 0 &&
		charClass[s[i+2]]&mask == 0 && charClass[s[i+3]]&mask == 0 && charClass[s[i+4]]&mask == 0 &&
		charClass[s[i+5]]&mask == 0 && charClass[s[i+6]]&mask == 0 && charClass[s[i+7]]&mask == 0 {
		return skipLong(s, i+8, mask)
	}
	return skipShort(s, i, mask)
}

// skipLong is skip for a run of eight bytes or more. It is not inlined, so that
// its loop stays out of its callers.
//
//go:noinline
func skipLong(s string, i int, mask byte) int {
	// Sixteen bytes per iteration while they are all plain, then eight.
	for i+16 <= len(s) && (charClass[s[i]]|charClass[s[i+1]]|charClass[s[i+2]]|charClass[s[i+3]]|
		charClass[s[i+4]]|charClass[s[i+5]]|charClass[s[i+6]]|charClass[s[i+7]]|
		charClass[s[i+8]]|charClass[s[i+9]]|charClass[s[i+10]]|charClass[s[i+11]]|
		charClass[s[i+12]]|charClass[s[i+13]]|charClass[s[i+14]]|charClass[s[i+15]])&mask == 0 {
		i += 16
	}
	if i+8 <= len(s) && (charClass[s[i]]|charClass[s[i+1]]|charClass[s[i+2]]|charClass[s[i+3]]|
		charClass[s[i+4]]|charClass[s[i+5]]|charClass[s[i+6]]|charClass[s[i+7]])&mask == 0 {
		i += 8
	}
	return skipShort(s, i, mask)
}

// skipShort is skip where fewer than eight plain bytes are left before the byte
// sought (or the end).
func skipShort(s string, i int, mask byte) int {
	if i+4 <= len(s) && charClass[s[i]]&mask == 0 && charClass[s[i+1]]&mask == 0 &&
		charClass[s[i+2]]&mask == 0 && charClass[s[i+3]]&mask == 0 {
		i += 4
	}
	if i+2 <= len(s) && charClass[s[i]]&mask == 0 && charClass[s[i+1]]&mask == 0 {
		i += 2
	}
	if i < len(s) && charClass[s[i]]&mask == 0 {
		i++
	}
	return i
}

// readText reads character data from t.pos: up to the next '<' or the end (quote 0,
// not cdata), up to and including the closing quote of an attribute value, or up to
// and including the "]]>" of a CDATA section. References are decoded (not in CDATA),
// "\r\n" and "\r" become "\n", and the result must be UTF-8 made of XML characters.
func (t *tokenizer) readText(quote byte, cdata bool) (string, error) {
	// The usual text, plain bytes up to the closing quote or the next '<',
	// is read without a loop (see skip); anything else by readTextLoop.
	if !cdata {
		mask := classText
		switch quote {
		case '"':
			mask = classDQ
		case '\'':
			mask = classSQ
		}
		if i := skip(t.s, t.pos, byte(mask)); i < len(t.s) {
			switch c := t.s[i]; {
			case quote != 0 && c == quote:
				text := t.s[t.pos:i]
				t.pos = i + 1
				return text, nil
			case quote == 0 && c == '<':
				text := t.s[t.pos:i]
				t.pos = i
				return text, nil
			}
		}
	}
	return t.readTextLoop(quote, cdata)
}

// readTextLoop is readText for any text.
//
//go:noinline
func (t *tokenizer) readTextLoop(quote byte, cdata bool) (string, error) {
	s := t.s
	var mask byte
	switch {
	case cdata:
		mask = classCDATA
	case quote == '"':
		mask = classDQ
	case quote == '\'':
		mask = classSQ
	default:
		mask = classText
	}
	start := t.pos
	i := start
	decoded := false // the text is t.buf plus s[chunk:end], rather than s[start:end]
	chunk := start
	end := len(s)
	var invalid string // the first UTF-8 or character range problem
	for {
		i = skip(s, i, mask)
		if i >= len(s) {
			break
		}
		c := s[i]
		switch {
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if invalid == "" {
				if r == utf8.RuneError && size == 1 {
					invalid = "invalid UTF-8"
				} else if !isXMLChar(r) {
					invalid = fmt.Sprintf("illegal character code %U", r)
				}
			}
			i += size
		case c == quote && quote != 0:
			end = i
			t.pos = i + 1
			goto done
		case c == ']':
			if i+2 < len(s) && s[i+1] == ']' && s[i+2] == '>' {
				if cdata {
					end = i
					t.pos = i + 3
					goto done
				}
				t.pos = i + 3
				return "", t.fail("unescaped ]]> not in CDATA section")
			}
			i++
		case c == '<':
			if quote != 0 {
				t.pos = i + 1
				return "", t.fail("unescaped < inside quoted string")
			}
			end = i
			t.pos = i
			goto done
		case c == '&':
			if !decoded {
				t.buf = t.buf[:0]
				decoded = true
			}
			t.buf = append(t.buf, s[chunk:i]...)
			n, err := t.reference(i, &invalid)
			if err != nil {
				return "", err
			}
			i, chunk = n, n
		case c == '\r':
			if !decoded {
				t.buf = t.buf[:0]
				decoded = true
			}
			t.buf = append(t.buf, s[chunk:i]...)
			t.buf = append(t.buf, '\n')
			i++
			if i < len(s) && s[i] == '\n' {
				i++
			}
			chunk = i
		default: // another control character
			if invalid == "" {
				invalid = fmt.Sprintf("illegal character code %U", rune(c))
			}
			i++
		}
	}
	if cdata {
		t.pos = len(s)
		return "", t.fail("unexpected EOF in CDATA section")
	}
	t.pos = len(s)
done:
	if invalid != "" {
		return "", t.fail(invalid)
	}
	if decoded {
		t.buf = append(t.buf, s[chunk:end]...)
		return string(t.buf), nil
	}
	return s[start:end], nil
}

// reference decodes the reference at s[amp] == '&' into t.buf and returns where the
// text goes on. It follows encoding/xml: "&#" decimal, "&#x" hexadecimal, or one of the
// five predefined entities, with its messages for anything else.
func (t *tokenizer) reference(amp int, invalid *string) (int, error) {
	s := t.s
	i := amp + 1
	if i >= len(s) {
		return 0, t.unexpectedEOF()
	}
	var r rune
	ok := false
	if s[i] == '#' {
		i++
		if i >= len(s) {
			return 0, t.unexpectedEOF()
		}
		base := 10
		if s[i] == 'x' {
			base = 16
			i++
		}
		digits := i
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || base == 16 && isHex(s[i])) {
			i++
		}
		if i >= len(s) {
			return 0, t.unexpectedEOF()
		}
		if s[i] == ';' {
			n, err := strconv.ParseUint(s[digits:i], base, 64)
			i++
			if err == nil && n <= utf8.MaxRune {
				r, ok = rune(n), true
			}
		}
	} else {
		nameStart := i
		for i < len(s) && (s[i] >= utf8.RuneSelf || isNameByte(s[i])) {
			i++
		}
		if i >= len(s) {
			return 0, t.unexpectedEOF()
		}
		if s[i] == ';' {
			name := s[nameStart:i]
			i++
			switch name {
			case "lt":
				r, ok = '<', true
			case "gt":
				r, ok = '>', true
			case "amp":
				r, ok = '&', true
			case "apos":
				r, ok = '\'', true
			case "quot":
				r, ok = '"', true
			}
		}
	}
	if !ok {
		t.pos = i
		ent := s[amp:i]
		if ent[len(ent)-1] != ';' {
			ent += " (no semicolon)"
		}
		return 0, t.fail("invalid character entity " + ent)
	}
	if *invalid == "" && !isXMLChar(r) && utf8.ValidRune(r) {
		*invalid = fmt.Sprintf("illegal character code %U", r)
	}
	t.buf = utf8.AppendRune(t.buf, r) // a surrogate becomes U+FFFD, as in encoding/xml
	return i, nil
}

// isXMLChar reports whether r is a Char of XML 1.0 §2.2.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
