package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/patchbay/patchbay/switch/policy"
	"github.com/patchbay/patchbay/switch/store"
)

func TestCallDecisions(t *testing.T) {
	e, eng := newPluginEnv(t)
	wasm := guestModule(t)
	sub := e.subAccount(e.root, roleDeveloper)
	other := e.subAccount(e.root, roleDeveloper)
	// The parent rewrites, the sub-account's plugin denies.
	if r := e.raw("PUT", "/2012-04-24/Accounts/"+e.root.Sid+"/Plugins/route.json?Hooks=redirect&Config=rewrite:https://vm.example/box%20GET",
		&e.root, wasm, "application/wasm"); r.status != http.StatusOK {
		t.Fatalf("upload route: %d %s", r.status, r.body)
	}
	if r := e.raw("PUT", "/2012-04-24/Accounts/"+sub.Sid+"/Plugins/guard.json?Hooks=redirect&Config=deny:not%20now",
		&sub, wasm, "application/wasm"); r.status != http.StatusOK {
		t.Fatalf("upload guard: %d %s", r.status, r.body)
	}
	c := e.putCall(testCall(sub.Sid, "alice", "bob"))
	out, err := eng.Redirect(context.Background(), nil, c, policy.RedirectRequest{URL: "https://app.example/next", Method: "POST", RequesterSid: sub.Sid})
	if err != nil || out.Verdict != store.VerdictDeny {
		t.Fatalf("Redirect: %+v, %v", out, err)
	}

	base := "/2012-04-24/Accounts/" + sub.Sid + "/Calls/" + c.Sid + "/Decisions"
	list := decodeJSON[[]map[string]any](t, e.req("GET", base+".json", &sub, nil))
	if len(list) != 2 {
		t.Fatalf("decisions %v", list)
	}
	first, second := list[0], list[1]
	if first["plugin"] != "route" || first["plugin_account_sid"] != e.root.Sid || first["verdict"] != "rewrite" ||
		first["rewrite_url"] != "https://vm.example/box" || first["rewrite_method"] != "GET" || first["hook"] != "redirect" ||
		first["account_sid"] != sub.Sid || first["call_sid"] != c.Sid || len(first["hash"].(string)) != 64 ||
		first["latency_micros"].(float64) <= 0 || first["date_created"] != "Thu, 28 Jun 2018 16:56:33 +0300" ||
		!strings.HasPrefix(first["sid"].(string), "DE") {
		t.Fatalf("first decision %v", first)
	}
	for _, absent := range []string{"reason", "error", "fail_mode"} {
		if _, ok := first[absent]; ok {
			t.Errorf("empty %s rendered in %v", absent, first)
		}
	}
	if second["plugin"] != "guard" || second["verdict"] != "deny" || second["reason"] != "not now" || second["plugin_account_sid"] != sub.Sid {
		t.Fatalf("second decision %v", second)
	}
	r := e.req("GET", "/restcomm"+base, &e.root, nil)
	if r.status != http.StatusOK || !strings.Contains(r.body, "<RestcommResponse><Decisions><Decision><Sid>") ||
		!strings.Contains(r.body, "<Plugin>route</Plugin>") || !strings.Contains(r.body, "<RewriteUrl>https://vm.example/box</RewriteUrl>") ||
		!strings.Contains(r.body, "<Verdict>deny</Verdict><Reason>not now</Reason>") {
		t.Fatalf("XML decisions %d %s", r.status, r.body)
	}
	// The plugin's counters show the decision.
	if p := decodeJSON[pluginJSON](t, e.req("GET", "/2012-04-24/Accounts/"+sub.Sid+"/Plugins/guard.json", &sub, nil)); p.Counters.Invocations != 1 || p.Counters.Denied != 1 {
		t.Fatalf("counters %+v", p.Counters)
	}

	// A call with no decision lists none.
	quiet := e.putCall(testCall(sub.Sid, "alice", "bob"))
	if r := e.req("GET", "/2012-04-24/Accounts/"+sub.Sid+"/Calls/"+quiet.Sid+"/Decisions.json", &sub, nil); r.status != http.StatusOK || r.body != "[]" {
		t.Fatalf("no decisions: %d %s", r.status, r.body)
	}
	// Another account's call answers like an unknown one; so does the call
	// read through the parent's own URL (the call's account URL is the way).
	wantError(t, e.req("GET", "/2012-04-24/Accounts/"+other.Sid+"/Calls/"+c.Sid+"/Decisions.json", &other, nil), 404, codeNotFound, "The requested call was not found.")
	wantError(t, e.req("GET", "/2012-04-24/Accounts/"+e.root.Sid+"/Calls/"+c.Sid+"/Decisions.json", &e.root, nil), 404, codeNotFound, "")
	wantError(t, e.req("GET", base+".json", &other, nil), 403, codeForbidden, "")
	wantError(t, e.req("GET", "/2012-04-24/Accounts/"+sub.Sid+"/Calls/CA0123456789abcdef0123456789abcdef/Decisions.json", &sub, nil), 404, codeNotFound, "")
	wantError(t, e.req("GET", "/2012-04-24/Accounts/"+sub.Sid+"/Calls/CAbad/Decisions.json", &sub, nil), 400, codeMalformedSid, "")
}
