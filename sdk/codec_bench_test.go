package sdk

import "testing"

func BenchmarkDispatchNative(b *testing.B) {
	h := handlers{redirect: func(in RedirectInput) Decision { return Deny(in.Call.Sid) }}
	in := AppendRedirectInput(nil, RedirectInput{
		Call:    Call{Sid: "CA0123456789abcdef0123456789abcdef", AccountSid: "AC0123456789abcdef0123456789abcdef", From: "+15550001", To: "+15550002", Direction: "inbound", Status: "in-progress", URL: "https://app.example.com/rcml/start"},
		Request: RedirectRequest{URL: "https://app.example.com/rcml/next", Method: "POST", RequesterSid: "AC0123456789abcdef0123456789abcdef"},
		Config:  "deny",
	})
	var out []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		out, err = h.dispatch(out, HookRedirect, string(in))
		if err != nil {
			b.Fatal(err)
		}
	}
}
