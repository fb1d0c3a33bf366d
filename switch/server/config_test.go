package server

import (
	"strings"
	"testing"
	"time"
)

func TestParseConfigDefaultsFlagsAndEnv(t *testing.T) {
	env := map[string]string{
		"PATCHBAY_HTTP":      "127.0.0.1:9090",
		"PATCHBAY_RTP_PORTS": "30000-30999",
		"PATCHBAY_DATA":      "/var/lib/patchbay",
	}
	cfg, err := ParseConfig([]string{"--sip", "127.0.0.2:5070", "--http", "127.0.0.1:7070"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != "127.0.0.1:7070" {
		t.Errorf("flag must win over env: HTTPAddr = %q", cfg.HTTPAddr)
	}
	if cfg.SIPAddr != "127.0.0.2:5070" || cfg.MediaIP != "127.0.0.2" || cfg.SIPDomain != "127.0.0.2" {
		t.Errorf("SIP %q, media IP %q, domain %q: media IP and domain default to the SIP host", cfg.SIPAddr, cfg.MediaIP, cfg.SIPDomain)
	}
	if cfg.RTPPortMin != 30000 || cfg.RTPPortMax != 30999 || cfg.DataDir != "/var/lib/patchbay" {
		t.Errorf("env not applied: %+v", cfg)
	}

	def, err := ParseConfig(nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if def.HTTPAddr != "127.0.0.1:8080" || def.SIPAddr != "127.0.0.1:5060" || def.DataDir != "./data" || def.RTPPortMin != 20000 || def.RTPPortMax != 29999 || def.OutboundProxy != "" {
		t.Errorf("defaults = %+v", def)
	}
}

func TestParseConfigRejectsBadValues(t *testing.T) {
	cases := map[string][]string{
		"port range":           {"--rtp-ports", "5000"},
		"inverted range":       {"--rtp-ports", "30000-20000"},
		"sip address":          {"--sip", "nonsense"},
		"media ip":             {"--media-ip", "not-an-ip"},
		"all interfaces alone": {"--sip", "0.0.0.0:5060"},
		"sid without token":    {"--account-sid", "ACae6e420f425248d6a26948c17a9e2acf"},
		"unknown flag":         {"--frobnicate"},
		"log level":            {"--log-level", "loud"},
	}
	for name, args := range cases {
		if _, err := ParseConfig(args, func(string) string { return "" }); err == nil {
			t.Errorf("%s: %v accepted", name, args)
		}
	}
	cfg, err := ParseConfig([]string{"--sip", "0.0.0.0:5060", "--media-ip", "127.0.0.1"}, func(string) string { return "" })
	if err != nil {
		t.Fatalf("all interfaces with a media IP: %v", err)
	}
	if got := cfg.advertiseHost(); got != "127.0.0.1" {
		t.Errorf("advertised host = %q", got)
	}
	if _, err := ParseConfig([]string{"--nope"}, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "-http") {
		t.Errorf("usage missing from the error: %v", err)
	}
}

// The operator's plugin budgets come from flags or the environment, and a
// budget that could not work is refused at start.
func TestParseConfigPluginBudgets(t *testing.T) {
	env := map[string]string{"PATCHBAY_PLUGIN_MAX_TIMEOUT": "2s", "PATCHBAY_PLUGIN_MAX_BYTES": "1048576"}
	cfg, err := ParseConfig([]string{"--plugin-timeout", "20ms", "--plugin-memory-mb", "24"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PluginTimeout != 20*time.Millisecond || cfg.PluginMaxTimeout != 2*time.Second || cfg.PluginMemoryMB != 24 || cfg.PluginMaxBytes != 1<<20 {
		t.Errorf("plugin budgets: timeout %v, max %v, memory %d MiB, module %d bytes", cfg.PluginTimeout, cfg.PluginMaxTimeout, cfg.PluginMemoryMB, cfg.PluginMaxBytes)
	}
	def, err := ParseConfig(nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if def.PluginTimeout != 50*time.Millisecond || def.PluginMemoryMB < 16 || def.PluginMaxTimeout < def.PluginTimeout {
		t.Errorf("default plugin budgets: timeout %v, max %v, memory %d MiB", def.PluginTimeout, def.PluginMaxTimeout, def.PluginMemoryMB)
	}
	for name, args := range map[string][]string{
		"zero timeout":           {"--plugin-timeout", "0s"},
		"timeout over its max":   {"--plugin-timeout", "2s", "--plugin-max-timeout", "1s"},
		"memory under a guest":   {"--plugin-memory-mb", "8"},
		"no module size":         {"--plugin-max-bytes", "0"},
		"timeout not a duration": {"--plugin-timeout", "fast"},
	} {
		if _, err := ParseConfig(args, func(string) string { return "" }); err == nil {
			t.Errorf("%s: %v accepted", name, args)
		}
	}
}
