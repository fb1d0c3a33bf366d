package rcml

import (
	"errors"
	"reflect"
	"testing"
)

func TestHandleContentTypes(t *testing.T) {
	xmlDoc := []byte(`<Response><Play>a.wav</Play></Response>`)
	playXML := []Verb{{Kind: KindPlay, Play: &Play{URL: "http://app.example.com/ivr/a.wav", Loop: 1}}}
	tests := []struct {
		ctype string
		body  []byte
		want  []Verb
		err   error
	}{
		{"text/xml", xmlDoc, playXML, nil},
		{"application/xml; charset=utf-8", xmlDoc, playXML, nil},
		{"Text/HTML;charset=UTF-8", xmlDoc, playXML, nil},
		{" TEXT/XML ", xmlDoc, playXML, nil},
		{"audio/wav", []byte("RIFF...."), []Verb{{Kind: KindPlay, Play: &Play{URL: testDocURL, Loop: 1}}}, nil},
		{"audio/wave", nil, []Verb{{Kind: KindPlay, Play: &Play{URL: testDocURL, Loop: 1}}}, nil},
		{"audio/x-wav", nil, []Verb{{Kind: KindPlay, Play: &Play{URL: testDocURL, Loop: 1}}}, nil},
		{"text/plain", []byte("  Hello <there> & bye \n"),
			[]Verb{{Kind: KindSay, Say: &Say{Text: "Hello <there> & bye", Voice: "man", Language: "en", Loop: 1}}}, nil},
		{"text/plain; charset=ISO-8859-1", []byte{'c', 'a', 'f', 0xe9},
			[]Verb{{Kind: KindSay, Say: &Say{Text: "caf\u00e9", Voice: "man", Language: "en", Loop: 1}}}, nil},
		{"text/plain", []byte{'o', 'k', 0xff},
			[]Verb{{Kind: KindSay, Say: &Say{Text: "ok\uFFFD", Voice: "man", Language: "en", Loop: 1}}}, nil},
		{"text/plain", []byte("   "), []Verb{}, nil},
		{"text/xml; charset=iso-8859-1", []byte("<Say>caf\xe9</Say>"),
			[]Verb{{Kind: KindSay, Say: &Say{Text: "caf\u00e9", Voice: "man", Language: "en", Loop: 1}}}, nil},
		{"text/xml; charset=latin1", []byte("<?xml version='1.0' encoding='ISO-8859-1'?><Say>caf\xe9</Say>"),
			[]Verb{{Kind: KindSay, Say: &Say{Text: "caf\u00e9", Voice: "man", Language: "en", Loop: 1}}}, nil},
		{"text/xml;charset=utf-8", []byte("\xef\xbb\xbf<Say>bom</Say>"),
			[]Verb{{Kind: KindSay, Say: &Say{Text: "bom", Voice: "man", Language: "en", Loop: 1}}}, nil},
		{"", xmlDoc, nil, ErrNoContentType},
		{"  ; charset=utf-8", xmlDoc, nil, ErrNoContentType},
		{"application/json", xmlDoc, nil, ErrUnsupportedContentType},
		{"audio/mpeg", xmlDoc, nil, ErrUnsupportedContentType},
		{"text/xmlx", xmlDoc, nil, ErrUnsupportedContentType},
	}
	for _, tc := range tests {
		t.Run(tc.ctype, func(t *testing.T) {
			p, err := Handle(Document{Body: tc.body, URL: testDocURL, ContentType: tc.ctype})
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				var pe *ParseError
				if errors.As(err, &pe) {
					t.Errorf("content-type error %v must not be a *ParseError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p.Verbs, tc.want) {
				t.Errorf("verbs = %s, want %s", mustJSON(p.Verbs), mustJSON(tc.want))
			}
			roundTrip(t, p)
		})
	}
	_, err := Handle(Document{Body: []byte("<Response>"), URL: testDocURL, ContentType: "text/xml"})
	if !isParseError(err, ErrMalformed) {
		t.Errorf("bad XML through Handle: %v", err)
	}
}
