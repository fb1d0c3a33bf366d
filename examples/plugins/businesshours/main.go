// Command businesshours is a policy plugin that sends redirects made outside
// business hours to a voicemail application instead: the redirect is
// rewritten to the voicemail URL given in the plugin's Config.
//
// The sandbox's clock is a fake (sdk/README.md, "Sandbox"), so the plugin
// takes the time from the hook input's "now" member. ABI version 1 does not
// define that member yet, and the SDK's decoder would drop it, so this
// plugin implements the ABI exports itself (abi_wasip1.go) and decodes the
// input with encoding/json instead of importing the SDK.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o businesshours.wasm .
package main

import (
	"encoding/json"
	"fmt"
	"time"
)

// main is never run in a plugin: a c-shared module runs only package
// initialisation and its exports.
func main() {}

// redirectInput is the part of the redirect hook's input the plugin reads.
type redirectInput struct {
	Request struct {
		URL    string `json:"url"`
		Method string `json:"method"`
	} `json:"request"`
	Config string `json:"config"`
	// Now is the switch's time of the request, RFC 3339. The zero value
	// means the host did not send it.
	Now time.Time `json:"now"`
}

// decision is the hook's output, encoded as the ABI says (sdk.Decision).
type decision struct {
	Verdict string `json:"verdict"`
	Reason  string `json:"reason,omitempty"`
	URL     string `json:"url,omitempty"`
	Method  string `json:"method,omitempty"`
}

// plugin is the state one instance keeps between calls: the last Config
// it parsed. Loading a time zone costs a few hundred microseconds in wasm,
// and a plugin's Config changes only with a new upload, so it is parsed
// once per instance; a new Config simply replaces it.
type plugin struct {
	config   string
	schedule schedule
	err      error
	parsed   bool
}

// scheduleFor returns config parsed, from the cache when it is the last one.
func (p *plugin) scheduleFor(config string) (schedule, error) {
	if !p.parsed || p.config != config {
		p.schedule, p.err = parseSchedule(config)
		p.config, p.parsed = config, true
	}
	return p.schedule, p.err
}

// redirectHook decodes a redirect input and returns the encoded decision.
// An input that is not the ABI's JSON is an error: the guest glue turns it
// into a trap, so the plugin's fail mode decides.
func (p *plugin) redirectHook(input []byte) ([]byte, error) {
	var in redirectInput
	if err := json.Unmarshal(input, &in); err != nil {
		return nil, fmt.Errorf("businesshours: malformed redirect input: %w", err)
	}
	s, configErr := p.scheduleFor(in.Config)
	out, err := json.Marshal(decide(in, s, configErr))
	if err != nil {
		return nil, fmt.Errorf("businesshours: encoding the decision: %w", err)
	}
	return out, nil
}

// decide rewrites the redirect to the voicemail URL when the request
// arrives outside the hours of s (parsed from in.Config), and allows it
// otherwise. A Config that could not be read (configErr) denies every
// redirect, with the reason, as the redirect hook's default fail mode would.
func decide(in redirectInput, s schedule, configErr error) decision {
	if configErr != nil {
		return decision{Verdict: "deny", Reason: configErr.Error()}
	}
	// Without a time from the host the plugin cannot tell, and redirects go
	// ahead as asked: sending every call to voicemail because of a missing
	// field would be worse than not filtering.
	if in.Now.IsZero() || s.open(in.Now) {
		return decision{Verdict: "allow"}
	}
	if in.Request.URL == s.voicemail && (s.method == "" || s.method == in.Request.Method) {
		return decision{Verdict: "allow"} // already going to voicemail
	}
	return decision{Verdict: "rewrite", Reason: "outside business hours", URL: s.voicemail, Method: s.method}
}
