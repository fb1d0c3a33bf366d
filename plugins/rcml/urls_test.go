package rcml

import (
	"net/url"
	"slices"
	"testing"
)

var urlTestBases = []string{
	"http://app.example.com/ivr/start.xml", "https://app.example.com", "http://app.example.com/",
	"http://127.0.0.1:8080/a/b/", "http://h:/x", "HTTP://Host.Example/x", "http://h/a/./b/../c",
	"http://u:p@h/x", "http://h/a%20b/c", "http://h/x?q=1#f", "https://h/a;b/c", "ftp://h/x",
	"http://[::1]:80/x", "http://h/a~b/", "mailto:x@y", "/relative/base", "http://h//x/y",
}

var urlTestRefs = []string{
	"", "/ivr/menu", "menu.xml", "ivr/menu?x=1&y=2", "?", "?a", "./x", "../x", "a/../../b", "a/.", "a/..",
	".hidden", "..x", "a..b/c.", "//other/x", "///x", "a//b", "/a/", "x?#", "x#f", "#f", "a b", "a%20b", "a%zz",
	"a:b", "./a:b", "x?q=a:b/c?d", "x?q=%zz", "x?q=a b", "~u/x", "http://h", "https://h.example.com:443/p?q#f",
	"http://h:8x/", "http://h:/p", "http://:80/p", "http:///p", "http://a_b/p", "http://h/p q", "http://h/%41",
	"http://h/%zz", "http://u@h/", "http://[::1]/", "HTTP://h/", "Https://h/", "http:h", "https://h?x", "http://h/\x7f",
	"http://h/\x00", "http://h\\x/", "http://h/a\\b", "mailto:x", "sip:x@y", "tel:+1", "javascript:x", "\x01",
	"http://h.example.com/a/b;c=d,e!f*(g)'h$i+j@k", "a;b", "é", "http://é/", "/é", "x?é", "http://h/?é",
}

// TestResolveMatchesNetURL holds the plain roads to net/url's result over every
// base and reference above, and checks the plain roads are taken for the usual
// cases.
func TestResolveMatchesNetURL(t *testing.T) {
	for _, b := range append(urlTestBases, "") {
		var base *url.URL
		if b != "" {
			u, err := url.Parse(b)
			if err != nil {
				t.Fatalf("base %q: %v", b, err)
			}
			base = u
		}
		db, err := newDocumentBase(b)
		if err != nil {
			t.Fatalf("base %q: %v", b, err)
		}
		checkDocumentBase(t, b, base, db)
		for _, r := range urlTestRefs {
			wantS, wantOK := resolveSlow(base, r)
			gotS, gotOK := db.resolve(r)
			if gotS != wantS || gotOK != wantOK {
				t.Errorf("resolve(%q, %q) = %q, %v; net/url gives %q, %v", b, r, gotS, gotOK, wantS, wantOK)
			}
		}
	}
	if !plainAbsolute("https://cdn.example.com/prompts/menu-music.wav") {
		t.Error("a plain absolute URL does not take the plain road")
	}
	base, _ := url.Parse("http://app.example.com/ivr/start.xml")
	plain, ok := plainBaseOf(base)
	if !ok {
		t.Fatal("a plain document URL is not a plainBase")
	}
	if s, ok := plain.resolvePlain("/ivr/menu"); !ok || s != "http://app.example.com/ivr/menu" {
		t.Errorf("resolvePlain(/ivr/menu) = %q, %v", s, ok)
	}
	if s, ok := plain.resolvePlain("menu.xml?x=1"); !ok || s != "http://app.example.com/ivr/menu.xml?x=1" {
		t.Errorf("resolvePlain(menu.xml?x=1) = %q, %v", s, ok)
	}
}

// checkDocumentBase holds a documentBase to what net/url makes of raw:
// the same plain road, and the same URL once parsed.
func checkDocumentBase(t *testing.T, raw string, want *url.URL, db documentBase) {
	t.Helper()
	plain, hasPlain := plainBaseOf(want)
	if db.plain != plain || db.hasPlain != hasPlain {
		t.Fatalf("documentBase(%q) plain road %+v, %v; from net/url %+v, %v", raw, db.plain, db.hasPlain, plain, hasPlain)
	}
	if got := db.url(); (got == nil) != (want == nil) || (got != nil && got.String() != want.String()) {
		t.Fatalf("documentBase(%q).url() = %v, want %v", raw, got, want)
	}
}

// FuzzResolveFast compares the plain roads with net/url on any base and
// reference. Plain `go test` runs the seeds.
func FuzzResolveFast(f *testing.F) {
	for _, b := range urlTestBases {
		for _, r := range urlTestRefs {
			f.Add(b, r)
		}
	}
	f.Fuzz(func(t *testing.T, b, r string) {
		var base *url.URL
		if b != "" {
			u, err := url.Parse(b)
			if err != nil {
				if _, err := newDocumentBase(b); err == nil {
					t.Fatalf("newDocumentBase(%q) accepted what url.Parse refuses", b)
				}
				return
			}
			base = u
		}
		db, err := newDocumentBase(b)
		if err != nil {
			t.Fatalf("newDocumentBase(%q): %v, url.Parse accepted it", b, err)
		}
		checkDocumentBase(t, b, base, db)
		wantS, wantOK := resolveSlow(base, r)
		gotS, gotOK := db.resolve(r)
		if gotS != wantS || gotOK != wantOK {
			t.Fatalf("resolve(%q, %q) = %q, %v; net/url gives %q, %v", b, r, gotS, gotOK, wantS, wantOK)
		}
	})
}

// TestCallbackEventsPlainRoad holds callbackEvents' road for lists without
// white space to the general one.
func TestCallbackEventsPlainRoad(t *testing.T) {
	for _, v := range []string{"initiated,ringing,answered,completed", "a", ",", ",,a,,b,", "a, b", "a,\tb",
		"a\u00a0b,c", "a\u0085,b", "é,x", "a\x7f,b", "a\x00b", "initiated,  answered", " a ", "a,b c,d"} {
		want := spacedEvents(nil, v)
		if len(want) == 0 {
			want = nil
		}
		if got := callbackEvents(v); !slices.Equal(got, want) || (got == nil) != (want == nil) {
			t.Errorf("callbackEvents(%q) = %q, want %q", v, got, want)
		}
	}
}

// FuzzAllURLClass holds allURLClass, straight-line for short strings and
// eight bytes at a time past them, to a byte loop. FuzzResolveFast cannot
// catch a wrong false: the slow road then gives the same answer.
func FuzzAllURLClass(f *testing.F) {
	for _, s := range []string{"", "a", "app.example.com", "app.example.co", "/ivr/menu.xml", "a b", "abcdefg", "abcdefgh", "abcdefghi", "abcdefghijklmnop%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, mask := range []byte{urlHost, urlPath, urlQuery, urlRest, urlEvent, urlHost | urlPath} {
			want := true
			for i := 0; i < len(s); i++ {
				if urlClass[s[i]]&mask == 0 {
					want = false
				}
			}
			if got := allURLClass(s, mask); got != want {
				t.Fatalf("allURLClass(%q, %#x) = %v, want %v", s, mask, got, want)
			}
		}
	})
}
