package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/patchbay/patchbay/switch/policy"
	"github.com/patchbay/patchbay/switch/store"
	"github.com/patchbay/patchbay/wasmhost"
)

// Plugins (a Patchbay extension, decision 10): a tenant's WebAssembly
// policy plugins, bound to the redirect and hangup hooks of live call
// modification. See api/ERRORS.md ("Plugins and Decisions") for the
// representations.

// PolicyEngine is what the Plugins resource needs from the policy engine;
// *policy.Engine implements it.
type PolicyEngine interface {
	Install(ctx context.Context, accountSid, name string, wasm []byte, opts policy.InstallOptions) (store.Plugin, error)
	Remove(ctx context.Context, accountSid, name string) error
	Stats(accountSid, name string) (policy.PluginStats, bool)
}

// Error codes of the Plugins resource (documented in ERRORS.md).
const (
	codeInvalidModule  = 20420 // the module failed validation (compile, exports, ABI version)
	codeModuleTooLarge = 20413 // the module is over the operator's size limit
)

// hookPrefix is the namespace of policy hooks (style.md §4); the API
// accepts hook names with or without it and stores them without.
const hookPrefix = "policy."

func pluginsDisabled() *apiError {
	return &apiError{status: http.StatusNotFound, code: codeNotFound, message: "Policy plugins are not enabled on this switch."}
}

// pluginName checks a name from the path or the Name field.
func pluginName(name string) (string, error) {
	if name == "" {
		return "", badParam("Name can not be null.")
	}
	if !policy.ValidName(name) {
		return "", badParam("Name %q must be 1 to 64 letters, digits, '-' or '_'.", name)
	}
	return name, nil
}

// uploadPlugin installs or replaces a plugin: PUT (or POST)
// /Plugins/{Name} with the module as the body and the parameters in the
// query, or POST /Plugins (or /Plugins/{Name}) as a multipart form with the
// module in the Module field. Parameters a replacement leaves out keep
// their values; a new plugin needs Hooks.
func (s *Server) uploadPlugin(c *fiber.Ctx, acct store.Account) error {
	if s.policy == nil {
		return pluginsDisabled()
	}
	ctx := c.UserContext()
	multipart := strings.HasPrefix(strings.ToLower(c.Get(fiber.HeaderContentType)), fiber.MIMEMultipartForm)
	param := func(name string) (string, bool) {
		if multipart {
			return formParam(c, name)
		}
		// A raw body is the module: only the query carries parameters.
		args := c.Request().URI().QueryArgs()
		return string(args.Peek(name)), args.Has(name)
	}
	name := c.Params("plugin")
	if name == "" {
		name, _ = param("Name")
	}
	name, err := pluginName(strings.TrimSpace(name))
	if err != nil {
		return err
	}
	wasm, err := uploadedModule(c, multipart)
	if err != nil {
		return err
	}
	old, err := s.store.Plugin(ctx, acct.Sid, name)
	replacing := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("load plugin %s/%s: %w", acct.Sid, name, err)
	}
	opts, err := pluginOptions(param, old, replacing)
	if err != nil {
		return err
	}
	p, err := s.policy.Install(ctx, acct.Sid, name, wasm, opts)
	if err != nil {
		return installError(err)
	}
	return s.renderPlugin(c, p)
}

// uploadedModule returns the module bytes: the Module file of a multipart
// form, or the raw body.
func uploadedModule(c *fiber.Ctx, multipart bool) ([]byte, error) {
	missing := badParam("Module can not be null: send it as the request body (application/wasm) or as the Module file of a multipart form.")
	if !multipart {
		if len(c.Body()) == 0 {
			return nil, missing
		}
		return bytes.Clone(c.Body()), nil
	}
	fh, err := c.FormFile("Module")
	if err != nil {
		return nil, missing
	}
	f, err := fh.Open()
	if err != nil {
		return nil, fmt.Errorf("open uploaded module: %w", err)
	}
	defer f.Close()
	wasm, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read uploaded module: %w", err)
	}
	if len(wasm) == 0 {
		return nil, missing
	}
	return wasm, nil
}

// pluginOptions reads Hooks, RedirectFailMode, HangupFailMode, TimeoutMs,
// MemoryMb and Config; on a replacement an absent one keeps old's value.
func pluginOptions(param func(string) (string, bool), old store.Plugin, replacing bool) (policy.InstallOptions, error) {
	var opts policy.InstallOptions
	if v, ok := param("Hooks"); ok {
		for _, h := range strings.Split(v, ",") {
			h = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(h)), hookPrefix)
			if h != "" {
				opts.Hooks = append(opts.Hooks, h)
			}
		}
	} else if replacing {
		opts.Hooks = old.Hooks
	}
	if len(opts.Hooks) == 0 {
		return opts, badParam("Hooks can not be null: give a comma-separated list of %s.", strings.Join(policy.Hooks(), ", "))
	}
	opts.FailModes = map[string]string{}
	for _, hook := range policy.Hooks() {
		field := strings.ToUpper(hook[:1]) + hook[1:] + "FailMode"
		v, ok := param(field)
		switch {
		case ok:
			mode := strings.ToLower(strings.TrimSpace(v))
			if mode != store.FailOpen && mode != store.FailClosed {
				return opts, badParam("%s must be open or closed, not %q.", field, v)
			}
			opts.FailModes[hook] = mode
		case replacing && old.FailModes[hook] != "" && slices.Contains(opts.Hooks, hook):
			opts.FailModes[hook] = old.FailModes[hook]
		}
	}
	var err error
	opts.TimeoutMs, err = budgetParam(param, "TimeoutMs", old.TimeoutMs, replacing)
	if err != nil {
		return opts, err
	}
	opts.MemoryMB, err = budgetParam(param, "MemoryMb", old.MemoryMB, replacing)
	if err != nil {
		return opts, err
	}
	if v, ok := param("Config"); ok {
		opts.Config = v
	} else if replacing {
		opts.Config = old.Config
	}
	return opts, nil
}

// budgetParam reads a positive integer budget; absent is 0 (the operator's
// default) or, on a replacement, the old value.
func budgetParam(param func(string) (string, bool), name string, old int, replacing bool) (int, error) {
	v, ok := param(name)
	if !ok {
		if replacing {
			return old, nil
		}
		return 0, nil
	}
	return intParam(name, strings.TrimSpace(v), 0, 1, 1<<20)
}

// installError turns a refused upload into its answer: 400 with the
// validation's reason, 413 for a module over the size limit.
func installError(err error) error {
	var he *wasmhost.Error
	switch {
	case errors.Is(err, policy.ErrInvalidName), errors.Is(err, policy.ErrInvalidOptions):
		return &apiError{status: http.StatusBadRequest, code: codeInvalidParameter, message: strings.TrimPrefix(err.Error(), "policy: "), cause: err}
	case errors.Is(err, policy.ErrClosed), errors.Is(err, wasmhost.ErrClosed):
		return &apiError{status: http.StatusServiceUnavailable, code: codeUnavailable, message: "The switch is shutting down.", cause: err}
	case errors.Is(err, wasmhost.ErrModuleTooLarge):
		return &apiError{status: http.StatusRequestEntityTooLarge, code: codeModuleTooLarge, message: err.Error(), cause: err}
	case errors.Is(err, wasmhost.ErrCanceled):
		return err
	case errors.As(err, &he):
		return &apiError{status: http.StatusBadRequest, code: codeInvalidModule, message: err.Error(), cause: err}
	}
	return err
}

// ownPlugin loads the plugin named in the path.
func (s *Server) ownPlugin(c *fiber.Ctx, acct store.Account) (store.Plugin, error) {
	name, err := pluginName(c.Params("plugin"))
	if err != nil {
		return store.Plugin{}, err
	}
	p, err := s.store.Plugin(c.UserContext(), acct.Sid, name)
	if errors.Is(err, store.ErrNotFound) {
		return p, notFound("plugin")
	}
	if err != nil {
		return p, fmt.Errorf("load plugin %s/%s: %w", acct.Sid, name, err)
	}
	return p, nil
}

func (s *Server) getPlugin(c *fiber.Ctx, acct store.Account) error {
	if s.policy == nil {
		return pluginsDisabled()
	}
	p, err := s.ownPlugin(c, acct)
	if err != nil {
		return err
	}
	return s.renderPlugin(c, p)
}

// deletePlugin removes a plugin: 200 with an empty body, as other deletes.
func (s *Server) deletePlugin(c *fiber.Ctx, acct store.Account) error {
	if s.policy == nil {
		return pluginsDisabled()
	}
	p, err := s.ownPlugin(c, acct)
	if err != nil {
		return err
	}
	err = s.policy.Remove(c.UserContext(), acct.Sid, p.Name)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("plugin")
	}
	if err != nil {
		return installError(fmt.Errorf("remove plugin %s/%s: %w", acct.Sid, p.Name, err))
	}
	c.Status(http.StatusOK)
	return nil
}

// listPlugins renders the account's plugins in name order (their chain
// order within the account): a bare JSON array or <Plugins>, without
// paging, like Clients.
func (s *Server) listPlugins(c *fiber.Ctx, acct store.Account) error {
	if s.policy == nil {
		return pluginsDisabled()
	}
	all, err := s.store.Plugins(c.UserContext(), acct.Sid)
	if err != nil {
		return fmt.Errorf("list plugins of %s: %w", acct.Sid, err)
	}
	if wantsJSON(c) {
		out := make([]pluginJSON, 0, len(all))
		for _, p := range all {
			out = append(out, s.pluginJSON(p))
		}
		return sendJSON(c, out)
	}
	env := pluginListEnvelope{}
	for _, p := range all {
		env.List.Plugins = append(env.List.Plugins, s.pluginXML(p))
	}
	return sendXML(c, env)
}

func (s *Server) renderPlugin(c *fiber.Ctx, p store.Plugin) error {
	return render(c,
		func() any { return s.pluginJSON(p) },
		func() any { return pluginEnvelope{Plugin: s.pluginXML(p)} })
}

func pluginURI(p store.Plugin) string {
	return apiRoot + "/Accounts/" + p.AccountSid + "/Plugins/" + p.Name
}

// pluginCounters are the engine's counters of a plugin since the switch
// started, across its versions.
type pluginCounters struct {
	Loaded           bool   `json:"loaded" xml:"Loaded"`
	LoadError        string `json:"load_error,omitempty" xml:"LoadError,omitempty"`
	Invocations      uint64 `json:"invocations" xml:"Invocations"`
	Allowed          uint64 `json:"allowed" xml:"Allowed"`
	Denied           uint64 `json:"denied" xml:"Denied"`
	Rewritten        uint64 `json:"rewritten" xml:"Rewritten"`
	Failures         uint64 `json:"failures" xml:"Failures"`
	Timeouts         uint64 `json:"timeouts" xml:"Timeouts"`
	Traps            uint64 `json:"traps" xml:"Traps"`
	MemoryLimitHits  uint64 `json:"memory_limit_hits" xml:"MemoryLimitHits"`
	BadOutputs       uint64 `json:"bad_outputs" xml:"BadOutputs"`
	Unavailable      uint64 `json:"unavailable" xml:"Unavailable"`
	LatencyP50Micros int64  `json:"latency_p50_micros" xml:"LatencyP50Micros"`
	LatencyP99Micros int64  `json:"latency_p99_micros" xml:"LatencyP99Micros"`
}

func (s *Server) pluginCounters(p store.Plugin) pluginCounters {
	st, _ := s.policy.Stats(p.AccountSid, p.Name)
	return pluginCounters{
		Loaded: st.Loaded, LoadError: st.LoadError,
		Invocations: st.Invocations, Allowed: st.Allowed, Denied: st.Denied, Rewritten: st.Rewritten,
		Failures: st.Failures, Timeouts: st.Timeouts, Traps: st.Traps, MemoryLimitHits: st.MemoryLimitHits,
		BadOutputs: st.BadOutputs, Unavailable: st.Unavailable,
		LatencyP50Micros: st.P50.Microseconds(), LatencyP99Micros: st.P99.Microseconds(),
	}
}

// pluginJSON is the JSON Plugin.
type pluginJSON struct {
	Sid         string            `json:"sid"`
	DateCreated string            `json:"date_created"`
	DateUpdated string            `json:"date_updated"`
	AccountSid  string            `json:"account_sid"`
	Name        string            `json:"name"`
	Hash        string            `json:"hash"`
	Size        int64             `json:"size"`
	Hooks       []string          `json:"hooks"`
	FailModes   map[string]string `json:"fail_modes"`
	TimeoutMs   int               `json:"timeout_ms"`
	MemoryMB    int               `json:"memory_mb"`
	Config      string            `json:"config"`
	Counters    pluginCounters    `json:"counters"`
	URI         string            `json:"uri"`
}

func (s *Server) pluginJSON(p store.Plugin) pluginJSON {
	hooks := p.Hooks
	if hooks == nil {
		hooks = []string{}
	}
	return pluginJSON{
		Sid: p.Sid, DateCreated: s.restDate(p.DateCreated), DateUpdated: s.restDate(p.DateUpdated),
		AccountSid: p.AccountSid, Name: p.Name, Hash: p.Hash, Size: p.Size,
		Hooks: hooks, FailModes: p.FailModes, TimeoutMs: p.TimeoutMs, MemoryMB: p.MemoryMB, Config: p.Config,
		Counters: s.pluginCounters(p), URI: pluginURI(p) + jsonSuffix,
	}
}

// failModeXML is one <FailMode Hook="redirect">closed</FailMode>.
type failModeXML struct {
	Hook string `xml:"Hook,attr"`
	Mode string `xml:",chardata"`
}

// pluginXML is the XML <Plugin>.
type pluginXML struct {
	XMLName     struct{}       `xml:"Plugin"`
	Sid         string         `xml:"Sid"`
	DateCreated string         `xml:"DateCreated"`
	DateUpdated string         `xml:"DateUpdated"`
	AccountSid  string         `xml:"AccountSid"`
	Name        string         `xml:"Name"`
	Hash        string         `xml:"Hash"`
	Size        int64          `xml:"Size"`
	Hooks       []string       `xml:"Hooks>Hook"`
	FailModes   []failModeXML  `xml:"FailModes>FailMode"`
	TimeoutMs   int            `xml:"TimeoutMs"`
	MemoryMB    int            `xml:"MemoryMb"`
	Config      string         `xml:"Config"`
	Counters    pluginCounters `xml:"Counters"`
	URI         string         `xml:"Uri"`
}

func (s *Server) pluginXML(p store.Plugin) pluginXML {
	var modes []failModeXML
	for _, h := range p.Hooks {
		modes = append(modes, failModeXML{Hook: h, Mode: p.FailModes[h]})
	}
	return pluginXML{
		Sid: p.Sid, DateCreated: s.restDate(p.DateCreated), DateUpdated: s.restDate(p.DateUpdated),
		AccountSid: p.AccountSid, Name: p.Name, Hash: p.Hash, Size: p.Size,
		Hooks: p.Hooks, FailModes: modes, TimeoutMs: p.TimeoutMs, MemoryMB: p.MemoryMB, Config: p.Config,
		Counters: s.pluginCounters(p), URI: pluginURI(p),
	}
}

type pluginEnvelope struct {
	XMLName struct{}  `xml:"RestcommResponse"`
	Plugin  pluginXML `xml:"Plugin"`
}

type pluginListEnvelope struct {
	XMLName struct{} `xml:"RestcommResponse"`
	List    struct {
		Plugins []pluginXML `xml:"Plugin"`
	} `xml:"Plugins"`
}
