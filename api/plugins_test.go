package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/policy"
	"github.com/patchbay/patchbay/switch/store"
	"github.com/patchbay/patchbay/wasmhost"
	"github.com/patchbay/patchbay/wasmhost/wasmtest"
)

// testEnv holds what the plugin tests of this binary share: the policy test
// guest (switch/policy/testdata/guest), built once, and the compilation
// cache every test's host uses, made by TestMain.
var testEnv struct {
	guests   wasmtest.Builder
	cacheDir string
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "api-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testEnv.cacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func guestModule(t *testing.T) []byte {
	t.Helper()
	return testEnv.guests.Go(t, "../switch/policy/testdata/guest")
}

// maxTestModule is the engine's upload limit in these tests: over the Go
// guest (~2.8 MB), under Fiber's 4 MiB body limit.
const maxTestModule = 3500 << 10

// newPluginEnv is newEnv with a policy engine over the same store.
func newPluginEnv(t *testing.T) (*env, *policy.Engine) {
	t.Helper()
	e := newEnv(t)
	host, err := wasmhost.New(context.Background(), wasmhost.Config{CacheDir: testEnv.cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = host.Close(context.Background()) })
	eng, err := policy.New(policy.Config{
		Host: host, Store: e.st, Logger: slog.New(slog.DiscardHandler), Now: testNow,
		DefaultTimeout: 2 * time.Second, MaxTimeout: 5 * time.Second, MaxModuleBytes: maxTestModule,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	e.srv.policy = eng
	return e, eng
}

// raw sends one request with a body of the given content type as a.
func (e *env) raw(method, path string, a *store.Account, body []byte, contentType string) response {
	e.t.Helper()
	r := httptest.NewRequest(method, path, bytes.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if a != nil {
		r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(a.Sid+":"+a.AuthToken)))
	}
	resp, err := e.srv.App().Test(r, -1)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// multipartBody encodes fields and, unless nil, the module as the Module
// file.
func multipartBody(t *testing.T, fields map[string]string, module []byte) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if module != nil {
		fw, err := w.CreateFormFile("Module", "plugin.wasm")
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(module)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), w.FormDataContentType()
}

func decodeJSON[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("%d %s: %v", r.status, r.body, err)
	}
	return v
}

func TestPluginUploadRawBody(t *testing.T) {
	e, _ := newPluginEnv(t)
	wasm := guestModule(t)
	base := "/restcomm/2012-04-24/Accounts/" + e.root.Sid + "/Plugins"

	r := e.raw("PUT", base+"/gate.json?Hooks=redirect,policy.hangup&RedirectFailMode=open&TimeoutMs=100&MemoryMb=32&Config=deny:closed%20today",
		&e.root, wasm, "application/wasm")
	if r.status != http.StatusOK {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	p := decodeJSON[pluginJSON](t, r)
	if !strings.HasPrefix(p.Sid, "PL") || p.Name != "gate" || p.AccountSid != e.root.Sid || len(p.Hash) != 64 ||
		p.Size != int64(len(wasm)) || strings.Join(p.Hooks, ",") != "redirect,hangup" ||
		p.FailModes["redirect"] != "open" || p.FailModes["hangup"] != "open" || p.TimeoutMs != 100 || p.MemoryMB != 32 ||
		p.Config != "deny:closed today" || !p.Counters.Loaded || p.Counters.Invocations != 0 ||
		p.URI != "/2012-04-24/Accounts/"+e.root.Sid+"/Plugins/gate.json" || p.DateCreated != "Thu, 28 Jun 2018 16:56:33 +0300" {
		t.Fatalf("uploaded %+v", p)
	}

	// GET in XML.
	r = e.req("GET", base+"/gate", &e.root, nil)
	for _, want := range []string{
		"<RestcommResponse><Plugin><Sid>" + p.Sid + "</Sid>", "<Name>gate</Name>", "<Hash>" + p.Hash + "</Hash>",
		"<Hooks><Hook>redirect</Hook><Hook>hangup</Hook></Hooks>",
		`<FailModes><FailMode Hook="redirect">open</FailMode><FailMode Hook="hangup">open</FailMode></FailModes>`,
		"<TimeoutMs>100</TimeoutMs><MemoryMb>32</MemoryMb><Config>deny:closed today</Config>",
		"<Counters><Loaded>true</Loaded><Invocations>0</Invocations>", "<Uri>/2012-04-24/Accounts/" + e.root.Sid + "/Plugins/gate</Uri></Plugin></RestcommResponse>",
	} {
		if r.status != http.StatusOK || !strings.Contains(r.body, want) {
			t.Fatalf("XML plugin %d %s\nwant %s", r.status, r.body, want)
		}
	}

	// An octet-stream body works too, and a second plugin lists after it by name.
	r = e.raw("PUT", base+"/alpha.json?Hooks=hangup", &e.root, wasm, "application/octet-stream")
	if r.status != http.StatusOK {
		t.Fatalf("upload alpha: %d %s", r.status, r.body)
	}
	if a := decodeJSON[pluginJSON](t, r); a.FailModes["hangup"] != "open" || len(a.FailModes) != 1 || a.TimeoutMs != 2000 || a.MemoryMB != 64 {
		t.Fatalf("defaults: %+v", a)
	}
	list := decodeJSON[[]pluginJSON](t, e.req("GET", base+".json", &e.root, nil))
	if len(list) != 2 || list[0].Name != "alpha" || list[1].Name != "gate" {
		t.Fatalf("list %+v", list)
	}
	r = e.req("GET", base, &e.root, nil)
	if !strings.Contains(r.body, "<RestcommResponse><Plugins><Plugin><Sid>"+list[0].Sid) || strings.Count(r.body, "<Plugin>") != 2 {
		t.Fatalf("XML list %s", r.body)
	}
}

func TestPluginUploadMultipartAndReplace(t *testing.T) {
	e, eng := newPluginEnv(t)
	wasm := guestModule(t)
	base := "/2012-04-24/Accounts/" + e.root.Sid + "/Plugins"

	body, ct := multipartBody(t, map[string]string{"Name": "gate", "Hooks": "redirect", "Config": "deny:v1", "HangupFailMode": "closed"}, wasm)
	r := e.raw("POST", base+".json", &e.root, body, ct)
	// HangupFailMode for an unbound hook is refused.
	wantError(t, r, 400, codeInvalidParameter, "")
	body, ct = multipartBody(t, map[string]string{"Name": "gate", "Hooks": "redirect", "Config": "deny:v1", "RedirectFailMode": "open"}, wasm)
	r = e.raw("POST", base+".json", &e.root, body, ct)
	if r.status != http.StatusOK {
		t.Fatalf("multipart upload: %d %s", r.status, r.body)
	}
	first := decodeJSON[pluginJSON](t, r)
	if first.Name != "gate" || first.Config != "deny:v1" || first.FailModes["redirect"] != "open" {
		t.Fatalf("uploaded %+v", first)
	}

	// A replacement without parameters keeps hooks, fail modes and config;
	// the sid and creation date stay.
	r = e.raw("PUT", base+"/gate.json", &e.root, wasm, "application/wasm")
	second := decodeJSON[pluginJSON](t, r)
	if r.status != http.StatusOK || second.Sid != first.Sid || second.Config != "deny:v1" ||
		strings.Join(second.Hooks, ",") != "redirect" || second.FailModes["redirect"] != "open" {
		t.Fatalf("replace: %d %+v", r.status, second)
	}
	// One with parameters changes them; an empty Config clears it.
	body, ct = multipartBody(t, map[string]string{"Hooks": "redirect,hangup", "Config": ""}, wasm)
	r = e.raw("POST", base+"/gate.json", &e.root, body, ct)
	third := decodeJSON[pluginJSON](t, r)
	if r.status != http.StatusOK || third.Config != "" || len(third.Hooks) != 2 || third.FailModes["hangup"] != "open" || third.FailModes["redirect"] != "open" {
		t.Fatalf("replace with parameters: %d %+v", r.status, third)
	}
	if _, ok := eng.Stats(e.root.Sid, "gate"); !ok {
		t.Fatal("engine does not know the plugin")
	}
}

func TestPluginUploadRefusals(t *testing.T) {
	e, _ := newPluginEnv(t)
	wasm := guestModule(t)
	base := "/2012-04-24/Accounts/" + e.root.Sid + "/Plugins"
	put := func(query string, body []byte) response {
		return e.raw("PUT", base+"/p.json"+query, &e.root, body, "application/wasm")
	}
	wantError(t, put("?Hooks=redirect", []byte("definitely not wasm")), 400, codeInvalidModule, "")
	if r := put("?Hooks=redirect", []byte("definitely not wasm")); !strings.Contains(r.body, "plugin/p: compile failed") {
		t.Errorf("garbage: %s", r.body)
	}
	wantError(t, put("?Hooks=redirect,hangup", tinyModule(1, "redirect")), 400, codeInvalidModule,
		"plugin/p: missing export: module does not export patchbay_hook_hangup")
	wantError(t, put("?Hooks=redirect", tinyModule(7, "redirect")), 400, codeInvalidModule,
		"plugin/p: unknown ABI version: module speaks ABI version 7, this host speaks version 1")
	wantError(t, put("?Hooks=redirect", make([]byte, maxTestModule+1)), 413, codeModuleTooLarge,
		fmt.Sprintf("plugin/p: module too large: module is %d bytes, the limit is %d", maxTestModule+1, maxTestModule))
	wantError(t, put("?Hooks=redirect", nil), 400, codeInvalidParameter, "")
	wantError(t, put("", wasm), 400, codeInvalidParameter, "Hooks can not be null: give a comma-separated list of redirect, hangup, rcml_redirect.")
	wantError(t, put("?Hooks=answer", wasm), 400, codeInvalidParameter, "")
	wantError(t, put("?Hooks=redirect&RedirectFailMode=ajar", wasm), 400, codeInvalidParameter, `RedirectFailMode must be open or closed, not "ajar".`)
	wantError(t, put("?Hooks=redirect&TimeoutMs=soon", wasm), 400, codeInvalidParameter, "")
	wantError(t, put("?Hooks=redirect&MemoryMb=0", wasm), 400, codeInvalidParameter, "")
	wantError(t, e.raw("PUT", base+"/bad%20name.json?Hooks=redirect", &e.root, wasm, "application/wasm"), 400, codeInvalidParameter, "")
	wantError(t, e.raw("PUT", base+"/"+strings.Repeat("n", 65)+".json?Hooks=redirect", &e.root, wasm, "application/wasm"), 400, codeInvalidParameter, "")
	body, ct := multipartBody(t, map[string]string{"Hooks": "redirect"}, wasm)
	wantError(t, e.raw("POST", base+".json", &e.root, body, ct), 400, codeInvalidParameter, "Name can not be null.")
	body, ct = multipartBody(t, map[string]string{"Name": "p", "Hooks": "redirect"}, nil)
	wantError(t, e.raw("POST", base+".json", &e.root, body, ct), 400, codeInvalidParameter, "")
	if list := e.req("GET", base+".json", &e.root, nil); list.body != "[]" {
		t.Fatalf("refused uploads left plugins: %s", list.body)
	}
}

func TestPluginGetDeleteAndTenancy(t *testing.T) {
	e, _ := newPluginEnv(t)
	wasm := guestModule(t)
	sub := e.subAccount(e.root, roleDeveloper)
	other := e.subAccount(e.root, roleDeveloper)
	subBase := "/2012-04-24/Accounts/" + sub.Sid + "/Plugins"

	if r := e.raw("PUT", subBase+"/mine.json?Hooks=redirect", &sub, wasm, "application/wasm"); r.status != http.StatusOK {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	// The parent reaches it through the sub-account's URL; a sibling cannot.
	if r := e.req("GET", subBase+"/mine.json", &e.root, nil); r.status != http.StatusOK {
		t.Fatalf("parent GET: %d %s", r.status, r.body)
	}
	wantError(t, e.req("GET", subBase+"/mine.json", &other, nil), 403, codeForbidden, "")
	wantError(t, e.req("GET", "/2012-04-24/Accounts/"+other.Sid+"/Plugins/mine.json", &other, nil), 404, codeNotFound, "The requested plugin was not found.")
	wantError(t, e.req("DELETE", "/2012-04-24/Accounts/"+other.Sid+"/Plugins/mine.json", &other, nil), 404, codeNotFound, "")

	r := e.req("DELETE", subBase+"/mine.json", &sub, nil)
	if r.status != http.StatusOK || r.body != "" {
		t.Fatalf("delete: %d %q", r.status, r.body)
	}
	wantError(t, e.req("GET", subBase+"/mine.json", &sub, nil), 404, codeNotFound, "")
	wantError(t, e.req("DELETE", subBase+"/mine", &sub, nil), 404, codeNotFound, "")
	wantError(t, e.req("GET", subBase+"/no.dots.json", &sub, nil), 400, codeInvalidParameter, "")
}

func TestPluginsDisabledWithoutAnEngine(t *testing.T) {
	e := newEnv(t)
	base := "/2012-04-24/Accounts/" + e.root.Sid + "/Plugins"
	msg := "Policy plugins are not enabled on this switch."
	wantError(t, e.req("GET", base+".json", &e.root, nil), 404, codeNotFound, msg)
	wantError(t, e.raw("PUT", base+"/p.json?Hooks=redirect", &e.root, []byte("x"), "application/wasm"), 404, codeNotFound, msg)
	wantError(t, e.req("DELETE", base+"/p.json", &e.root, nil), 404, codeNotFound, msg)
}

// A minimal WebAssembly encoder for modules Go cannot produce.

func uleb(v uint64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func wasmName(s string) []byte { return append(uleb(uint64(len(s))), s...) }

func wasmVec(items ...[]byte) []byte {
	b := uleb(uint64(len(items)))
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

func wasmSection(id byte, body []byte) []byte {
	return append(append([]byte{id}, uleb(uint64(len(body)))...), body...)
}

// tinyModule speaks ABI abiVersion, with a one-page memory, an alloc
// handing out offset 1024, and the given hook exports.
func tinyModule(abiVersion byte, hooks ...string) []byte {
	const i32, i64 = 0x7f, 0x7e
	types := wasmVec(
		[]byte{0x60, 0x00, 0x01, i32},
		[]byte{0x60, 0x01, i32, 0x01, i32},
		[]byte{0x60, 0x02, i32, i32, 0x01, i64},
	)
	funcs := [][]byte{uleb(0), uleb(1)}
	exports := [][]byte{
		append(wasmName("patchbay_abi_version"), 0x00, 0x00),
		append(wasmName("patchbay_alloc"), 0x00, 0x01),
		append(wasmName("memory"), 0x02, 0x00),
	}
	codes := [][]byte{
		{0x04, 0x00, 0x41, abiVersion, 0x0b},
		{0x05, 0x00, 0x41, 0x80, 0x08, 0x0b},
	}
	for i, h := range hooks {
		funcs = append(funcs, uleb(2))
		exports = append(exports, append(wasmName("patchbay_hook_"+h), 0x00, byte(2+i)))
		codes = append(codes, []byte{0x04, 0x00, 0x42, 0x00, 0x0b})
	}
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, wasmSection(1, types)...)
	m = append(m, wasmSection(3, wasmVec(funcs...))...)
	m = append(m, wasmSection(5, wasmVec([]byte{0x00, 0x01}))...)
	m = append(m, wasmSection(7, wasmVec(exports...))...)
	m = append(m, wasmSection(10, wasmVec(codes...))...)
	return m
}
