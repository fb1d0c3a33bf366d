package rcml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// tokenTrace is what a tokenizer made of a document: its tokens (adjacent character
// data merged, since comments split it in encoding/xml and not in ours) and how it
// ended.
type tokenTrace struct {
	events []string
	errMsg string // "" when the document was read to its end
	line   int
	offset int64
}

func (tr *tokenTrace) text(pending *strings.Builder) {
	if pending.Len() > 0 {
		tr.events = append(tr.events, "T "+pending.String())
		pending.Reset()
	}
}

// referenceTrace reads a document as Parse used to: encoding/xml's RawToken with
// Strict on, no Entity map and the ISO-8859-1 and ASCII charset readers.
func referenceTrace(text []byte) tokenTrace {
	var tr tokenTrace
	var pending strings.Builder
	dec := xml.NewDecoder(bytes.NewReader(text))
	dec.CharsetReader = func(charset string, input io.Reader) (io.Reader, error) {
		switch strings.ToLower(charset) {
		case "iso-8859-1", "latin1", "latin-1", "us-ascii", "ascii":
			b, err := io.ReadAll(input)
			if err != nil {
				return nil, err
			}
			return bytes.NewReader(latin1ToUTF8(b)), nil
		}
		return nil, fmt.Errorf("unsupported encoding %q", charset)
	}
	name := func(n xml.Name) string {
		if n.Space != "" {
			return n.Space + ":" + n.Local
		}
		return n.Local
	}
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			tr.text(&pending)
			return tr
		}
		if err != nil {
			tr.text(&pending)
			tr.line, _ = dec.InputPos()
			tr.errMsg = err.Error()
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				tr.line, tr.errMsg = se.Line, se.Msg
			}
			tr.offset = dec.InputOffset()
			return tr
		}
		switch t := tok.(type) {
		case xml.StartElement:
			tr.text(&pending)
			ev := "S " + name(t.Name)
			for _, a := range t.Attr {
				ev += fmt.Sprintf(" %s(%s)=%q", name(a.Name), a.Name.Local, a.Value)
			}
			tr.events = append(tr.events, ev)
		case xml.EndElement:
			tr.text(&pending)
			tr.events = append(tr.events, "E "+name(t.Name)+" "+t.Name.Local)
		case xml.CharData:
			pending.Write(t)
		}
	}
}

// ourTrace reads a document with the tokenizer.
func ourTrace(text []byte) tokenTrace {
	var tr tokenTrace
	var pending strings.Builder
	t := tokenizer{s: string(text)}
	for {
		kind, err := t.next()
		if err != nil {
			tr.text(&pending)
			tr.errMsg = err.Error()
			tr.line = 1 + strings.Count(t.s[:t.pos], "\n")
			tr.offset = int64(t.pos)
			return tr
		}
		switch kind {
		case tokEOF:
			tr.text(&pending)
			return tr
		case tokStart:
			tr.text(&pending)
			ev := "S " + t.name
			for _, a := range t.attrs {
				ev += fmt.Sprintf(" %s(%s)=%q", a.name, a.local, a.value)
			}
			tr.events = append(tr.events, ev)
			if t.empty {
				tr.events = append(tr.events, "E "+t.name+" "+t.local)
			}
		case tokEnd:
			tr.text(&pending)
			tr.events = append(tr.events, "E "+t.name+" "+t.local)
		case tokText:
			pending.WriteString(t.text)
		}
	}
}

// compareTraces returns "" when the tokenizer read a document as encoding/xml does.
func compareTraces(ref, our tokenTrace) string {
	if fmt.Sprint(ref.events) != fmt.Sprint(our.events) {
		return fmt.Sprintf("tokens differ:\nours %q\nxml  %q", our.events, ref.events)
	}
	if ref.errMsg != our.errMsg || ref.line != our.line || ref.offset != our.offset {
		return fmt.Sprintf("end differs: ours %q line %d offset %d, xml %q line %d offset %d",
			our.errMsg, our.line, our.offset, ref.errMsg, ref.line, ref.offset)
	}
	return ""
}

// FuzzTokenizer holds the tokenizer to encoding/xml's RawToken on any input: the same
// tokens, and the same error message, line and offset (what Parse reports), after the
// preparation Parse does (BOM removed, bare '&' escaped). Plain `go test` runs the seeds.
func FuzzTokenizer(f *testing.F) {
	seeds := []string{
		typicalDoc,
		``, ` `, `<`, `<a`, `<a>`, `</`, `</a`, `</a >`, `</a x>`, `<a/>`, `<a/ >`, `<a x>`,
		`<a x=>`, `<a x='1'>`, `<a x="1"y='2'/>`, `<a x = "1" />`, `<a x="1" x="2"/>`,
		`<a p:x="1" q:x="2"/>`, `<a xmlns:v="n" v:x="1" x="2"/>`, `<a:b></a:b>`, `<a:b:c/>`,
		`<:a/>`, `<a:/>`, `<1/>`, `<-a/>`, `<_a.b-c1/>`, `<é/>`, `<aé/>`, "<a\u0300/>", "<\u0300/>",
		"<a\xff/>", "<\xff/>", "<\u4e00\u3007/>", "<\U00010000/>", "<a\uFFFD/>",
		`<a>&lt;&gt;&amp;&apos;&quot;</a>`, `<a>&#65;&#x42;&#X43;&#;&#x;</a>`, `<a>&#0;</a>`,
		`<a>&#xD800;</a>`, `<a>&#x110000;</a>`, `<a>&#99999999999999999999999;</a>`,
		`<a>&nbsp;</a>`, `<a>&a-b;</a>`, `<a>&</a>`, `<a>&#</a>`, `<a>&#x`, `<a>&am`,
		"<a>&\xc3\xa9;</a>", `<a x="&lt;&#10;"/>`, `<a x="<"/>`, `<a x="a>b"/>`, `<a x="]]>"/>`,
		`<a>]]></a>`, `<a>]]&amp;></a>`, `<a>]]]></a>`, `<a x="1`, `<a x="1"`,
		`<a><![CDATA[x<&y]]]></a>`, `<a><![CDATA[]]></a>`, `<a><![CDATA[x`, `<a><![CDAT`, `<a><![cdata[x]]></a>`,
		"<a><![CDATA[\r\n\r]]></a>", "<a>x\r\ny\rz\r\r\n</a>", "<a x='\r\n\t'/>", "<a>\r&amp;\n</a>",
		`<a><!-- c --></a>`, `<a><!-- a -- b --></a>`, `<a><!---></a>-->`, `<a><!----></a>`, `<a><!-x--></a>`,
		`<a><!--`, `<!-- x --`, `<?xml version="1.0"?><a/>`, `<?xml version="1.1"?><a/>`, `<?xml?><a/>`,
		`<?xml encoding="UTF-8"?><a/>`, `<?xml encoding="utf-8"?><a/>`, `<?xml encoding="EBCDIC"?><a/>`,
		`<?xml encoding='latin1' version="1.0"?><a>` + "\xe9\n</a>", `<?xml version="1.0" encoding="ascii"?><a x="` + "\xff" + `"/>`,
		`<?pi x?><a/>`, `<?pi`, `<? x?>`, `<?xml version= "2"?><a/>`, `<?xml version="1.0`,
		`<!DOCTYPE a><a/>`, `<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>`, `<!DOCTYPE a "<>" '>'><a/>`,
		`<!DOCTYPE a <!-- > --> <b>><a/>`, `<!x>`, `<!>a>`, `<!"a>`, `<!DOCTYPE a <<b>>><a/>`, `<!DOCTYPE a <!x>`,
		`<!DOCTYPE a <!-`, `<!`, `<![`, "<a>\x01</a>", "<a>\xff</a>", "<a>\xc3</a>", "<a>\xef\xbf\xbe</a>",
		"<a x='\x00'/>", "<a>\x00</a>", "<a>\ufffd</a>", "<a>\U0001F600</a>", "\n\n<a>\n<b>\xff\n</b></a>",
		"<a>\n&bogus;\n</a>", "<a\n x='1'\n y='2\n", "<Response>\n<Say>a</Play>\n</Response>",
		"\xef\xbb\xbf<a/>", `<a>x</a>y`, ` <a/> `, "<a/>\u00a0", `<a></a><b/>`, `</a>`,
		`<Response><Dial>client:bob?X-A=1&X-B=2</Dial></Response>`,
		`<!-- <![CDATA[ --><a>&</a><!-- ]]> -->`, `<a><![CDATA[&]]>&<![CDATA[&`, `<![CDATA[]]><![CDATA[&]]>&&amp;`,
		"<a>" + strings.Repeat("x", 17) + "]]>", "<a b='" + strings.Repeat("y", 23) + "\r\n'>" + strings.Repeat("\u00e9", 9) + "</a>",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		escaped, inserted := escapeBareAmpersands(string(bytes.TrimPrefix(body, utf8BOM)))
		text := []byte(escaped)
		if want, wantIns := escapeByteByByte(bytes.TrimPrefix(body, utf8BOM)); !bytes.Equal(text, want) || fmt.Sprint(inserted) != fmt.Sprint(wantIns) {
			t.Fatalf("%q: escaped %q %v, want %q %v", body, text, inserted, want, wantIns)
		}
		if msg := compareTraces(referenceTrace(text), ourTrace(text)); msg != "" {
			t.Fatalf("%q: %s", body, msg)
		}
	})
}

// TestNameTables checks the generated name tables against encoding/xml for every
// character of the Basic Multilingual Plane and some beyond it.
func TestNameTables(t *testing.T) {
	accepts := func(name string) bool {
		_, err := xml.NewDecoder(strings.NewReader("<" + name + "/>")).RawToken()
		return err == nil
	}
	check := func(r rune) {
		if r < utf8.RuneSelf && !isNameByte(byte(r)) || !utf8.ValidRune(r) {
			return
		}
		if got, want := isNameStart(r), accepts(string(r)); got != want {
			t.Errorf("isNameStart(%U) = %v, encoding/xml says %v", r, got, want)
		}
		if got, want := isNameChar(r), accepts("a"+string(r)); got != want {
			t.Errorf("isNameChar(%U) = %v, encoding/xml says %v", r, got, want)
		}
	}
	for r := rune(0); r <= 0xFFFF; r++ {
		check(r)
	}
	for r := rune(0x10000); r <= utf8.MaxRune; r += 0x3FF {
		check(r)
	}
}

// TestTokenizerChoices pins what Parse does where XML 1.0 and encoding/xml part ways,
// or where the choice is not obvious.
func TestTokenizerChoices(t *testing.T) {
	tests := []struct {
		name, doc string
		ok        bool
		line      int
	}{
		{"same local name, other prefixes", `<Response><Say a:voice="man" b:voice="woman">x</Say></Response>`, true, 0},
		{"DOCTYPE skipped", `<!DOCTYPE Response [<!ENTITY x "y">]><Response><Say>x</Say></Response>`, true, 0},
		{"DOCTYPE entity not expanded", "<!DOCTYPE Response [<!ENTITY x \"y\">]>\n<Response><Say>&x;</Say></Response>", false, 2},
		{"line of an error after CRLF", "<Response>\r\n<Say>\r\n&bogus;</Say></Response>", false, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), testDocURL)
			if tc.ok {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, ErrMalformed) || pe.Line != tc.line {
				t.Fatalf("err = %v, want a malformed *ParseError on line %d", err, tc.line)
			}
		})
	}
}

// TestRepeatedAttribute: as with encoding/xml, an attribute written twice is accepted
// and the first one counts.
func TestRepeatedAttribute(t *testing.T) {
	v, _ := only(t, `<Response><Say voice="woman" voice="man">x</Say></Response>`)
	if v.Say.Voice != "woman" {
		t.Errorf("voice = %q, want the first one, woman", v.Say.Voice)
	}
}

// escapeByteByByte is the plain loop escapeBareAmpersands replaced: every byte is
// looked at, '<' starting "<![CDATA[" skips to the "]]>".
func escapeByteByByte(body []byte) ([]byte, []int) {
	var out []byte
	var inserted []int
	copied := 0
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '<':
			if bytes.HasPrefix(body[i:], []byte(cdataOpen)) {
				end := bytes.Index(body[i+len(cdataOpen):], []byte(cdataClose))
				if end < 0 {
					i = len(body)
				} else {
					i += len(cdataOpen) + end + len(cdataClose) - 1
				}
			}
		case '&':
			if isReference(string(body[i+1:])) {
				continue
			}
			out = append(out, body[copied:i+1]...)
			inserted = append(inserted, len(out))
			out = append(out, "amp;"...)
			copied = i + 1
		}
	}
	if out == nil {
		return body, nil
	}
	return append(out, body[copied:]...), inserted
}
