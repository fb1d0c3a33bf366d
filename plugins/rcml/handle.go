package rcml

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Document is what the host fetched: the response body, the URL it came from (after
// redirects; relative URLs resolve against it) and the response Content-Type.
type Document struct {
	Body        []byte
	URL         string
	ContentType string
}

// Handle turns a fetched response into a plan following spec §4.2: XML (text/xml,
// application/xml, text/html) is parsed as RCML; WAV audio becomes a Play of the URL;
// plain text becomes a Say of the body. A missing Content-Type gives ErrNoContentType,
// any other one ErrUnsupportedContentType; a bad document gives a *ParseError.
func Handle(d Document) (*Plan, error) {
	return new(Parser).handle(d, false)
}

// Handle is the package's Handle, reusing ps's memory and, for XML documents,
// d.Body's (see Parser).
func (ps *Parser) Handle(d Document) (*Plan, error) {
	return ps.handle(d, true)
}

func (ps *Parser) handle(d Document, share bool) (*Plan, error) {
	mt, params := mediaType(d.ContentType)
	// equalString rather than a switch, whose comparisons of long constants
	// are byte loops in wasm.
	switch {
	case mt == "":
		return nil, ErrNoContentType
	case equalString(mt, "text/xml") || equalString(mt, "application/xml") || equalString(mt, "text/html"):
		body := d.Body
		if isLatin1(params) && !declaresEncoding(body) && len(body) <= MaxDocumentSize {
			body = latin1ToUTF8(body)
		}
		return ps.parse(body, d.URL, share)
	case equalString(mt, "audio/wav") || equalString(mt, "audio/wave") || equalString(mt, "audio/x-wav"):
		return &Plan{Verbs: []Verb{{Kind: KindPlay, Play: &Play{URL: strings.ToValidUTF8(d.URL, "\uFFFD"), Loop: 1}}}}, nil
	case equalString(mt, "text/plain"):
		return sayText(d.Body, params)
	}
	return nil, fmt.Errorf("%w %q", ErrUnsupportedContentType, mt)
}

// sayText speaks a text/plain body. An empty body gives an empty plan (the call then
// hangs up, as at the end of any document).
func sayText(body []byte, params string) (*Plan, error) {
	if len(body) > MaxDocumentSize {
		return nil, &ParseError{
			Msg: fmt.Sprintf("document is %d bytes, the limit is %d", len(body), MaxDocumentSize),
			Err: ErrDocumentTooLarge,
		}
	}
	if isLatin1(params) {
		body = latin1ToUTF8(body)
	}
	text := strings.TrimSpace(string(body))
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	plan := &Plan{Verbs: []Verb{}}
	if text != "" {
		plan.Verbs = append(plan.Verbs, Verb{Kind: KindSay, Say: &Say{Text: text, Voice: "man", Language: "en", Loop: 1}})
	}
	return plan, nil
}

// mediaType returns the lower-cased media type of a Content-Type value and the raw
// parameters after it.
func mediaType(contentType string) (string, string) {
	mt, params, _ := cutByte(contentType, ';')
	mt = trimSpace(mt)
	// The types written as usual need no lower-casing (ToLower loops per byte).
	if equalString(mt, "text/xml") || equalString(mt, "application/xml") || equalString(mt, "text/plain") {
		return mt, params
	}
	return strings.ToLower(mt), params
}

// isLatin1 reports whether Content-Type parameters declare an ISO-8859-1 charset.
func isLatin1(params string) bool {
	if params == "" { // the usual Content-Type: no Split, which allocates
		return false
	}
	for _, p := range strings.Split(params, ";") {
		k, v, _ := cutByte(p, '=')
		if !strings.EqualFold(strings.TrimSpace(k), "charset") {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `"`)
		return strings.EqualFold(v, "iso-8859-1") || strings.EqualFold(v, "latin1")
	}
	return false
}

// declaresEncoding reports whether a document starts with an XML declaration naming its
// encoding, which the decoder then honours itself.
func declaresEncoding(body []byte) bool {
	body = bytes.TrimLeft(body, " \t\r\n")
	if !bytes.HasPrefix(body, []byte("<?xml")) {
		return false
	}
	end := bytes.Index(body, []byte("?>"))
	return end > 0 && bytes.Contains(body[:end], []byte("encoding"))
}
