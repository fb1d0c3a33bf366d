// Command allowlist is a policy plugin that denies redirects to hosts
// outside an allow-list given in the plugin's Config.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o allowlist.wasm .
package main

import (
	"net/url"
	"strings"

	"github.com/patchbay/patchbay/sdk"
)

// main is never run in a plugin: a c-shared module runs only package
// initialisation, which is where the policy registers.
func main() {}

var _ = sdk.HandleRedirect(policy)

// policy allows a redirect only if its Url and FallbackUrl (when given) are
// http(s) URLs on an allowed host. Config lists allowed hosts separated by
// commas or spaces; "*.example.com" allows every subdomain of example.com
// (not example.com itself). An empty list allows nothing.
func policy(in sdk.RedirectInput) sdk.Decision {
	allowed := strings.FieldsFunc(in.Config, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
	for _, target := range []string{in.Request.URL, in.Request.FallbackURL} {
		if target == "" {
			continue
		}
		if reason := check(target, allowed); reason != "" {
			return sdk.Deny(reason)
		}
	}
	return sdk.Allow()
}

// check returns why target is refused, or "" if it is allowed.
func check(target string, allowed []string) string {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return "redirect target " + target + " is not an absolute http(s) URL"
	}
	host := strings.ToLower(u.Hostname())
	for _, a := range allowed {
		a = strings.ToLower(a)
		if suffix, ok := strings.CutPrefix(a, "*."); ok {
			if strings.HasSuffix(host, "."+suffix) {
				return ""
			}
		} else if host == a {
			return ""
		}
	}
	return "host " + host + " is not in the allow-list"
}
