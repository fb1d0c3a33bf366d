package rcmlwasm_test

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/patchbay/patchbay/plugins/rcml"
	"github.com/patchbay/patchbay/switch/rcmlwasm"
)

// everyVerb has every verb and noun with non-default values, relative URLs
// and two warnings.
const everyVerb = `<Response>
<Play loop="0">a.wav</Play><Say voice="woman" loop="2" language="de">Hallo</Say><Pause length="0"/><Hangup/>
<Redirect method="GET">b.xml</Redirect><Reject reason="busy"/>
<Gather action="g" input="dtmf speech" hints="a,b" partialResultCallback="/p"><Say>s</Say><Play>p</Play><Pause/></Gather>
<Record transcribeCallback="t" finishOnKey="-1" media="video_only" transcribe="true"/>
<Dial record="true" callerId="+1" action="../d"><Number statusCallbackEvent="answered">+1?X-A=1&amp;X-B=&lt;2&gt;</Number><Sip username="u" password="p">s@h</Sip><Client url="w">bob</Client></Dial>
<Dial><Conference waitUrl="" muted="true" beep="false" maxParticipants="7">r</Conference></Dial>
<Dial>client:alice?X-Q=1</Dial>
<Sms to="1" from="2" action="s" statusCallback="/s">t</Sms><Fax to="1">d</Fax><Email to="a" from="b" cc="c" bcc="d" subject="s">e</Email>
<Say voice="x" loop="y">warned</Say>
</Response>`

// documents covers every outcome of rcml.Handle: each verb, warnings,
// relative URLs, every content type, every error and every parse cause.
var documents = []struct {
	name string
	doc  rcml.Document
}{
	{"typical", rcml.Document{Body: []byte(typicalDoc), URL: docURL, ContentType: "text/xml"}},
	{"every verb", rcml.Document{Body: []byte(everyVerb), URL: "https://app.example.com/a/b/c.xml?x=1", ContentType: "application/xml; charset=utf-8"}},
	{"relative URLs, no base", rcml.Document{Body: []byte(`<Response><Play>a.wav</Play><Redirect>/next</Redirect></Response>`), ContentType: "text/xml"}},
	{"bad URLs warn", rcml.Document{Body: []byte(`<Response><Play>%zz</Play><Redirect method="PUT">http://[::1</Redirect><Gather numDigits="x" timeout="-4"/></Response>`), URL: docURL, ContentType: "text/xml"}},
	{"text/html", rcml.Document{Body: []byte(`<Response><Say>html</Say></Response>`), URL: docURL, ContentType: "TEXT/HTML"}},
	{"latin1 by content type", rcml.Document{Body: []byte("<Response><Say>caf\xe9 &amp; \x3c</Say></Response>"), URL: docURL, ContentType: "text/xml; charset=ISO-8859-1"}},
	{"latin1 declared", rcml.Document{Body: []byte(`<?xml version="1.0" encoding="ISO-8859-1"?><Say>caf` + "\xe9</Say>"), URL: docURL, ContentType: "text/xml"}},
	{"BOM", rcml.Document{Body: []byte("\xef\xbb\xbf<Response><Hangup/></Response>"), URL: docURL, ContentType: "text/xml"}},
	{"control and invalid UTF-8", rcml.Document{Body: []byte("<Say>a\u2028b\tc \xff</Say>"), URL: docURL, ContentType: "text/xml"}},
	{"text/plain", rcml.Document{Body: []byte("  Hello <there> & goodbye \u2029 "), URL: docURL, ContentType: "text/plain"}},
	{"text/plain latin1", rcml.Document{Body: []byte("caf\xe9"), URL: docURL, ContentType: "text/plain;charset=latin1"}},
	{"text/plain empty", rcml.Document{URL: docURL, ContentType: "text/plain"}},
	{"audio/wav", rcml.Document{Body: []byte("RIFF....WAVE"), URL: "https://cdn.example.com/a.wav", ContentType: "audio/wav"}},
	{"audio/x-wav", rcml.Document{URL: "https://cdn.example.com/b.wav", ContentType: "audio/x-wav"}},
	{"empty document", rcml.Document{URL: docURL, ContentType: "text/xml"}},
	{"no content type", rcml.Document{Body: []byte(`<Response/>`), URL: docURL}},
	{"unsupported content type", rcml.Document{Body: []byte(`{}`), URL: docURL, ContentType: "application/json"}},
	{"unsupported audio", rcml.Document{Body: []byte(`ID3`), URL: docURL, ContentType: "audio/mpeg"}},
	{"invalid document URL", rcml.Document{Body: []byte(`<Response/>`), URL: "http://[::1", ContentType: "text/xml"}},
	{"malformed", rcml.Document{Body: []byte("<Response>\n<Say>a</Play>\n</Response>"), URL: docURL, ContentType: "text/xml"}},
	{"unclosed", rcml.Document{Body: []byte(`<Response><Say>`), URL: docURL, ContentType: "text/xml"}},
	{"too deep", rcml.Document{Body: []byte(strings.Repeat("<a>", rcml.MaxDepth+1) + strings.Repeat("</a>", rcml.MaxDepth+1)), URL: docURL, ContentType: "text/xml"}},
	{"too many hints", rcml.Document{Body: []byte(`<Gather hints="` + strings.Repeat("x,", rcml.MaxHints) + `x"/>`), URL: docURL, ContentType: "text/xml"}},
	{"hint too long", rcml.Document{Body: []byte(`<Gather hints="` + strings.Repeat("x", rcml.MaxHintLength+1) + `"/>`), URL: docURL, ContentType: "text/xml"}},
}

// TestSameAsNative runs every document through the sandbox and natively and
// wants the same plan or the same error (type, fields, sentinel, text).
func TestSameAsNative(t *testing.T) {
	in := newInterpreter(t, rcmlwasm.WithCacheEntries(0))
	for _, c := range documents {
		t.Run(c.name, func(t *testing.T) {
			want, wantErr := rcml.Handle(c.doc)
			got, err := in.Handle(context.Background(), c.doc)
			if msg := diff(want, wantErr, got, err); msg != "" {
				t.Fatal(msg)
			}
		})
	}
	if s := in.Stats(); s.Module.Invocations != uint64(len(documents)) || s.SandboxFailures != 0 {
		t.Fatalf("stats %+v: want %d guest invocations and no failure", s, len(documents))
	}
}

// TestFuzzCorpusSameAsNative runs plugins/rcml's fuzz seeds, and mutations
// of them from a fixed seed, through both parsers.
func TestFuzzCorpusSameAsNative(t *testing.T) {
	seeds := fuzzSeeds(t)
	if len(seeds) < 10 {
		t.Fatalf("found %d fuzz seeds in plugins/rcml; the extraction is broken", len(seeds))
	}
	in := newInterpreter(t, rcmlwasm.WithCacheEntries(0))
	rng := rand.New(rand.NewPCG(1, 2))
	bodies := append([][]byte(nil), seeds...)
	for range 200 {
		bodies = append(bodies, mutate(rng, seeds))
	}
	for i, body := range bodies {
		for _, ct := range []string{"text/xml", "text/plain"} {
			doc := rcml.Document{Body: body, URL: docURL, ContentType: ct}
			want, wantErr := rcml.Handle(doc)
			got, err := in.Handle(context.Background(), doc)
			if msg := diff(want, wantErr, got, err); msg != "" {
				t.Fatalf("document %d (%s) %q: %s", i, ct, body, msg)
			}
		}
	}
}

// fuzzSeeds reads the seed corpus of plugins/rcml's FuzzParse from its
// source, so this test follows it: the string literals (and constants, and
// concatenations of both) of the seeds slice, plus any corpus files.
func fuzzSeeds(t *testing.T) [][]byte {
	t.Helper()
	dir := filepath.Join("..", "..", "plugins", "rcml")
	fset := token.NewFileSet()
	consts := map[string]string{}
	var seedsLit *ast.CompositeLit
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	var parsed []*ast.File
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, f)
	}
	var eval func(e ast.Expr) (string, bool)
	eval = func(e ast.Expr) (string, bool) {
		switch e := e.(type) {
		case *ast.BasicLit:
			if e.Kind != token.STRING {
				return "", false
			}
			s, err := strconv.Unquote(e.Value)
			return s, err == nil
		case *ast.Ident:
			s, ok := consts[e.Name]
			return s, ok
		case *ast.BinaryExpr:
			a, okA := eval(e.X)
			b, okB := eval(e.Y)
			return a + b, okA && okB && e.Op == token.ADD
		case *ast.ParenExpr:
			return eval(e.X)
		}
		return "", false
	}
	for _, f := range parsed {
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.CONST {
				for _, s := range g.Specs {
					vs := s.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if i < len(vs.Values) {
							if v, ok := eval(vs.Values[i]); ok {
								consts[n.Name] = v
							}
						}
					}
				}
			}
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "FuzzParse" {
				ast.Inspect(fn, func(n ast.Node) bool {
					if as, ok := n.(*ast.AssignStmt); ok && len(as.Lhs) == 1 && len(as.Rhs) == 1 {
						if id, ok := as.Lhs[0].(*ast.Ident); ok && id.Name == "seeds" {
							seedsLit, _ = as.Rhs[0].(*ast.CompositeLit)
						}
					}
					return true
				})
			}
		}
	}
	if seedsLit == nil {
		t.Fatal("no seeds := []string{...} in plugins/rcml's FuzzParse")
	}
	var seeds [][]byte
	for _, e := range seedsLit.Elts {
		s, ok := eval(e)
		if !ok {
			t.Fatalf("cannot evaluate seed %s", fset.Position(e.Pos()))
		}
		seeds = append(seeds, []byte(s))
	}
	corpus, _ := filepath.Glob(filepath.Join(dir, "testdata", "fuzz", "FuzzParse", "*"))
	for _, name := range corpus {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		// go test fuzz v1, then one line: []byte("...")
		_, line, _ := strings.Cut(string(b), "\n")
		line = strings.TrimSpace(line)
		if q, ok := strings.CutPrefix(line, "[]byte("); ok {
			if s, err := strconv.Unquote(strings.TrimSuffix(q, ")")); err == nil {
				seeds = append(seeds, []byte(s))
			}
		}
	}
	return seeds
}

// mutate makes a document from the seeds: a splice of two, then a few byte
// changes, insertions of markup, or a truncation.
func mutate(rng *rand.Rand, seeds [][]byte) []byte {
	a, b := seeds[rng.IntN(len(seeds))], seeds[rng.IntN(len(seeds))]
	doc := append(append([]byte(nil), a[:rng.IntN(len(a)+1)]...), b[rng.IntN(len(b)+1):]...)
	pieces := []string{"<", ">", "&", "</Say>", "<Play>", `"`, "<Gather>", "<Dial>", "&amp;", "\xff", "]]>", "<!--", "?X-A=1&"}
	for range 1 + rng.IntN(4) {
		switch op := rng.IntN(4); {
		case op == 0 && len(doc) > 0:
			doc[rng.IntN(len(doc))] = byte(rng.IntN(256))
		case op == 1:
			at := rng.IntN(len(doc) + 1)
			p := pieces[rng.IntN(len(pieces))]
			doc = append(doc[:at], append([]byte(p), doc[at:]...)...)
		case op == 2 && len(doc) > 0:
			doc = doc[:rng.IntN(len(doc))]
		}
	}
	return doc
}

// diff describes how the sandbox's result differs from the native one, or
// is empty when they are the same.
func diff(want *rcml.Plan, wantErr error, got *rcml.Plan, gotErr error) string {
	if (wantErr == nil) != (gotErr == nil) {
		return fmt.Sprintf("native error %v, sandbox error %v", wantErr, gotErr)
	}
	if wantErr == nil {
		if !reflect.DeepEqual(want, got) {
			return fmt.Sprintf("plans differ:\nnative  %+v\nsandbox %+v", want, got)
		}
		return ""
	}
	// The wire carries text as JSON: an invalid UTF-8 byte in a message (an
	// XML error quotes the document) arrives as U+FFFD.
	if validUTF8(wantErr.Error()) != gotErr.Error() {
		return fmt.Sprintf("error text: native %q, sandbox %q", wantErr, gotErr)
	}
	var wpe, gpe *rcml.ParseError
	if errors.As(wantErr, &wpe) != errors.As(gotErr, &gpe) {
		return fmt.Sprintf("native %T, sandbox %T", wantErr, gotErr)
	}
	if wpe != nil && (wpe.Line != gpe.Line || wpe.Offset != gpe.Offset || validUTF8(wpe.Msg) != gpe.Msg) {
		return fmt.Sprintf("parse errors: native %+v, sandbox %+v", *wpe, *gpe)
	}
	for _, s := range []error{rcml.ErrDocumentTooLarge, rcml.ErrTooDeep, rcml.ErrHintsLimit, rcml.ErrMalformed,
		rcml.ErrNoContentType, rcml.ErrUnsupportedContentType, rcml.ErrInvalidDocumentURL, rcmlwasm.ErrSandbox} {
		if errors.Is(wantErr, s) != errors.Is(gotErr, s) {
			return fmt.Sprintf("errors.Is(%v): native %v, sandbox %v", s, errors.Is(wantErr, s), errors.Is(gotErr, s))
		}
	}
	return ""
}

// validUTF8 replaces each byte of invalid UTF-8 in s with U+FFFD, as
// encoding/json does.
func validUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
