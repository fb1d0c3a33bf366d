// Command businesshours is a policy plugin that sends redirects made outside
// business hours to a voicemail application instead: the redirect is
// rewritten to the voicemail URL given in the plugin's Config.
//
// The sandbox's clock is a fake (sdk/README.md, "Sandbox"), so the plugin
// takes the time from the hook input's Now, which the switch fills.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o businesshours.wasm .
package main

import (
	"fmt"
	"time"

	"github.com/patchbay/patchbay/sdk"
)

// main is never run in a plugin: a c-shared module runs only package
// initialisation and its exports.
func main() {}

// instance is this instance's plugin state. It is package-level because
// the SDK's exports can only reach package-level values; the host runs one
// call at a time in an instance, so it needs no lock.
var instance plugin

var _ = sdk.HandleRedirect(instance.redirectHook)

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

// redirectHook is the registered redirect policy. A now that is not
// RFC 3339 is a host fault the plugin cannot decide on, so it traps (a
// panic in a guest), and the plugin's fail mode decides.
func (p *plugin) redirectHook(in sdk.RedirectInput) sdk.Decision {
	d, err := p.redirect(in)
	if err != nil {
		panic(err.Error())
	}
	return d
}

// redirect reads the request's time and decides with the schedule of
// in.Config.
func (p *plugin) redirect(in sdk.RedirectInput) (sdk.Decision, error) {
	var now time.Time
	if in.Now != "" {
		var err error
		if now, err = time.Parse(time.RFC3339, in.Now); err != nil {
			return sdk.Decision{}, fmt.Errorf("businesshours: now in the input: %w", err)
		}
	}
	s, configErr := p.scheduleFor(in.Config)
	return decide(in.Request, now, s, configErr), nil
}

// decide rewrites the redirect req to the voicemail URL when now is
// outside the hours of s, and allows it otherwise. A zero now means the
// host sent no time. A Config that could not be read (configErr) denies
// every redirect, with the reason, as the redirect hook's default fail mode
// would.
func decide(req sdk.RedirectRequest, now time.Time, s schedule, configErr error) sdk.Decision {
	if configErr != nil {
		return sdk.Deny(configErr.Error())
	}
	// Without a time from the host the plugin cannot tell, and redirects go
	// ahead as asked: sending every call to voicemail because of a missing
	// field would be worse than not filtering.
	if now.IsZero() || s.open(now) {
		return sdk.Allow()
	}
	if req.URL == s.voicemail && (s.method == "" || s.method == req.Method) {
		return sdk.Allow() // already going to voicemail
	}
	d := sdk.Rewrite(s.voicemail, s.method)
	d.Reason = "outside business hours"
	return d
}
