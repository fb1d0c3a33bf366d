package rcml

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	deep := strings.Repeat("<a>", MaxDepth+1) + strings.Repeat("</a>", MaxDepth+1)
	ok := strings.Repeat("<a>", MaxDepth) + strings.Repeat("</a>", MaxDepth)
	tests := []struct {
		name  string
		doc   string
		cause error
		line  int
	}{
		{"empty", ``, ErrMalformed, 1},
		{"whitespace only", "  \n ", ErrMalformed, 2},
		{"not xml", `hello`, ErrMalformed, 1},
		{"unclosed", "<Response>\n<Say>hi</Say>", ErrMalformed, 2},
		{"mismatched", "<Response>\n<Say>hi</Play></Response>", ErrMalformed, 2},
		{"stray end", "<Response/></Say>", ErrMalformed, 1},
		{"two roots", "<Response/>\n<Response/>", ErrMalformed, 2},
		{"text after root", "<Response/>x", ErrMalformed, 1},
		{"unknown entity", "<Say>&nbsp;</Say>", ErrMalformed, 1},
		{"bad attribute", "<Say voice=man>x</Say>", ErrMalformed, 1},
		{"invalid utf-8", "<Say>\xff</Say>", ErrMalformed, 1},
		{"too deep", deep, ErrTooDeep, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), testDocURL)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *ParseError", err)
			}
			if !errors.Is(err, tc.cause) {
				t.Errorf("err = %v, want cause %v", err, tc.cause)
			}
			if pe.Line != tc.line {
				t.Errorf("line = %d, want %d (%v)", pe.Line, tc.line, err)
			}
			if pe.Msg == "" || !strings.HasPrefix(pe.Error(), "rcml: ") {
				t.Errorf("error text %q", pe.Error())
			}
		})
	}
	if _, err := Parse([]byte(ok), testDocURL); err != nil {
		t.Errorf("depth %d rejected: %v", MaxDepth, err)
	}
}

func TestParseErrorOffsetIgnoresEscaping(t *testing.T) {
	// Two bare '&' are escaped before the bad end tag; the offset must still point into
	// the original text.
	doc := `<Response><Say>a & b & c</Say></Bad>`
	_, err := Parse([]byte(doc), testDocURL)
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v", err)
	}
	if want := int64(len(doc)); pe.Offset != want {
		t.Errorf("offset = %d, want %d", pe.Offset, want)
	}
}

func TestDocumentTooLarge(t *testing.T) {
	big := append([]byte("<Response><Say>"), bytes.Repeat([]byte("a"), MaxDocumentSize)...)
	big = append(big, "</Say></Response>"...)
	_, err := Parse(big, testDocURL)
	if !isParseError(err, ErrDocumentTooLarge) {
		t.Errorf("err = %v, want ParseError(ErrDocumentTooLarge)", err)
	}
	_, err = Handle(Document{Body: big, URL: testDocURL, ContentType: "text/plain"})
	if !isParseError(err, ErrDocumentTooLarge) {
		t.Errorf("text/plain: err = %v, want ParseError(ErrDocumentTooLarge)", err)
	}
}

func TestEscapeBareAmpersands(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a", "a"},
		{"a & b", "a &amp; b"},
		{"&amp;&lt;&#10;&#x1F;&_x1;", "&amp;&lt;&#10;&#x1F;&_x1;"},
		{"&#;&#x;&1;&", "&amp;#;&amp;#x;&amp;1;&amp;"},
		{"?X-A=1&X-B=2", "?X-A=1&amp;X-B=2"},
		{"<![CDATA[a & b]]>&", "<![CDATA[a & b]]>&amp;"},
		{"<![CDATA[unterminated & ", "<![CDATA[unterminated & "},
	}
	for _, tc := range tests {
		got, ins := escapeBareAmpersands(tc.in)
		if string(got) != tc.want {
			t.Errorf("escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if want := (len(tc.want) - len(tc.in)) / 4; len(ins) != want {
			t.Errorf("escape(%q) recorded %d insertions, want %d", tc.in, len(ins), want)
		}
	}
}
