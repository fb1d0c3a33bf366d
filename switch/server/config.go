package server

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/patchbay/patchbay/switch/rcmlwasm"
)

// Config is the whole configuration of a Patchbay process. The zero value
// is not usable; start from DefaultConfig or ParseConfig.
type Config struct {
	HTTPAddr      string // REST API listen address
	SIPAddr       string // SIP listen address, UDP and TCP
	MediaIP       string // address put in SDP; default the SIP listen IP
	RTPPortMin    int
	RTPPortMax    int
	DataDir       string // Badger and other state
	AccountSid    string // bootstrap account; generated at first start when empty
	AuthToken     string
	OutboundProxy string // SIP URI that calls to phone numbers are sent to
	SIPDomain     string // SIP domain and digest realm of clients; default the SIP listen host
	LogLevel      slog.Level

	// Tenant policy plugins: the default and largest time budget and memory
	// cap of one decision, and the largest module accepted.
	PluginTimeout    time.Duration
	PluginMaxTimeout time.Duration
	PluginMemoryMB   int
	PluginMaxBytes   int64
	// PluginMaxCompiled bounds the compiled plugin modules kept in memory;
	// the least recently used are dropped and recompiled from the disk
	// cache when needed (0: no bound).
	PluginMaxCompiled int

	// PublicURL is the REST API's base URL as application servers reach it
	// (scheme://host:port); it prefixes RecordingUrl. Default http://HTTPAddr.
	PublicURL string
	// TTSEngine picks the text-to-speech provider of <Say>: "auto" (espeak-ng
	// when installed), "espeak-ng", "http" (TTSURL) or "none".
	TTSEngine string
	// TTSURL is the HTTP text-to-speech service of the "http" engine.
	TTSURL string
	// TTSCacheMB and AudioCacheMB bound the decoded speech and fetched audio
	// kept in memory.
	TTSCacheMB   int
	AudioCacheMB int
	// RecordingsDir holds <Record> and <Dial record> files; default
	// DataDir/recordings (a temporary directory with InMemory).
	RecordingsDir string

	// InMemory keeps state in memory only (tests); DataDir is then unused.
	InMemory bool
	// WasmCacheDir holds compiled WebAssembly; default DataDir/wasm-cache.
	// Tests share one across switches so each start does not recompile.
	WasmCacheDir string
	// RCMLOptions go to the sandboxed RCML handler after the switch's own:
	// tests swap in a misbehaving module (rcmlwasm.WithModule) or budget.
	RCMLOptions []rcmlwasm.Option
	// FetchTimeout bounds one RCML fetch.
	FetchTimeout time.Duration
	// ShutdownTimeout bounds the graceful part of a shutdown.
	ShutdownTimeout time.Duration
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		HTTPAddr:          "127.0.0.1:8080",
		SIPAddr:           "127.0.0.1:5060",
		RTPPortMin:        20000,
		RTPPortMax:        29999,
		DataDir:           "./data",
		LogLevel:          slog.LevelInfo,
		FetchTimeout:      10 * time.Second,
		ShutdownTimeout:   10 * time.Second,
		PluginTimeout:     50 * time.Millisecond,
		PluginMaxTimeout:  time.Second,
		PluginMemoryMB:    64,
		PluginMaxBytes:    8 << 20,
		PluginMaxCompiled: 64,
		TTSEngine:         "auto",
		TTSCacheMB:        32,
		AudioCacheMB:      64,
	}
}

// ParseConfig reads flags from args, with PATCHBAY_* variables (looked up
// through getenv) as defaults for every flag.
func ParseConfig(args []string, getenv func(string) string) (Config, error) {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("patchbay", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	rtp := fmt.Sprintf("%d-%d", cfg.RTPPortMin, cfg.RTPPortMax)
	fs.StringVar(&cfg.HTTPAddr, "http", env("PATCHBAY_HTTP", cfg.HTTPAddr), "REST API listen address (PATCHBAY_HTTP)")
	fs.StringVar(&cfg.SIPAddr, "sip", env("PATCHBAY_SIP", cfg.SIPAddr), "SIP listen address, UDP and TCP (PATCHBAY_SIP)")
	fs.StringVar(&cfg.MediaIP, "media-ip", env("PATCHBAY_MEDIA_IP", ""), "address put in SDP; default the SIP listen IP (PATCHBAY_MEDIA_IP)")
	fs.StringVar(&rtp, "rtp-ports", env("PATCHBAY_RTP_PORTS", rtp), "RTP port pool, min-max (PATCHBAY_RTP_PORTS)")
	fs.StringVar(&cfg.DataDir, "data", env("PATCHBAY_DATA", cfg.DataDir), "directory for Badger and other state (PATCHBAY_DATA)")
	fs.StringVar(&cfg.AccountSid, "account-sid", env("PATCHBAY_ACCOUNT_SID", ""), "bootstrap account sid; generated once and printed when empty (PATCHBAY_ACCOUNT_SID)")
	fs.StringVar(&cfg.AuthToken, "auth-token", env("PATCHBAY_AUTH_TOKEN", ""), "bootstrap account auth token (PATCHBAY_AUTH_TOKEN)")
	fs.StringVar(&cfg.OutboundProxy, "outbound-proxy", env("PATCHBAY_OUTBOUND_PROXY", ""), "SIP URI that calls to phone numbers are sent to (PATCHBAY_OUTBOUND_PROXY)")
	fs.StringVar(&cfg.SIPDomain, "sip-domain", env("PATCHBAY_SIP_DOMAIN", ""), "SIP domain and digest realm of clients; default the SIP listen host (PATCHBAY_SIP_DOMAIN)")
	fs.DurationVar(&cfg.PluginTimeout, "plugin-timeout", envDuration(getenv, "PATCHBAY_PLUGIN_TIMEOUT", cfg.PluginTimeout), "default time budget of a plugin decision; tenants may ask for less (PATCHBAY_PLUGIN_TIMEOUT)")
	fs.DurationVar(&cfg.PluginMaxTimeout, "plugin-max-timeout", envDuration(getenv, "PATCHBAY_PLUGIN_MAX_TIMEOUT", cfg.PluginMaxTimeout), "largest time budget a tenant may ask for (PATCHBAY_PLUGIN_MAX_TIMEOUT)")
	fs.IntVar(&cfg.PluginMemoryMB, "plugin-memory-mb", envInt(getenv, "PATCHBAY_PLUGIN_MEMORY_MB", cfg.PluginMemoryMB), "memory cap of a plugin instance in MiB; tenants may ask for less (PATCHBAY_PLUGIN_MEMORY_MB)")
	fs.Int64Var(&cfg.PluginMaxBytes, "plugin-max-bytes", int64(envInt(getenv, "PATCHBAY_PLUGIN_MAX_BYTES", int(cfg.PluginMaxBytes))), "largest plugin module accepted, in bytes (PATCHBAY_PLUGIN_MAX_BYTES)")
	fs.IntVar(&cfg.PluginMaxCompiled, "plugin-max-compiled", envInt(getenv, "PATCHBAY_PLUGIN_MAX_COMPILED", cfg.PluginMaxCompiled), "compiled plugin modules kept in memory, least recently used dropped beyond (PATCHBAY_PLUGIN_MAX_COMPILED)")
	fs.StringVar(&cfg.PublicURL, "public-url", env("PATCHBAY_PUBLIC_URL", ""), "REST API base URL as application servers reach it, for RecordingUrl; default http://<--http> (PATCHBAY_PUBLIC_URL)")
	fs.StringVar(&cfg.TTSEngine, "tts", env("PATCHBAY_TTS", cfg.TTSEngine), "text-to-speech for <Say>: auto (espeak-ng when installed), espeak-ng, http or none (PATCHBAY_TTS)")
	fs.StringVar(&cfg.TTSURL, "tts-url", env("PATCHBAY_TTS_URL", ""), "HTTP text-to-speech service of --tts=http (PATCHBAY_TTS_URL)")
	fs.IntVar(&cfg.TTSCacheMB, "tts-cache-mb", envInt(getenv, "PATCHBAY_TTS_CACHE_MB", cfg.TTSCacheMB), "memory for synthesized speech in MiB (PATCHBAY_TTS_CACHE_MB)")
	fs.IntVar(&cfg.AudioCacheMB, "audio-cache-mb", envInt(getenv, "PATCHBAY_AUDIO_CACHE_MB", cfg.AudioCacheMB), "memory for fetched <Play> audio in MiB (PATCHBAY_AUDIO_CACHE_MB)")
	fs.StringVar(&cfg.RecordingsDir, "recordings", env("PATCHBAY_RECORDINGS", ""), "directory of recordings; default <data>/recordings (PATCHBAY_RECORDINGS)")
	level := env("PATCHBAY_LOG_LEVEL", "info")
	fs.StringVar(&level, "log-level", level, "debug, info, warn or error (PATCHBAY_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		var b strings.Builder
		fs.SetOutput(&b)
		fs.PrintDefaults()
		return cfg, fmt.Errorf("%w\n%s", err, b.String())
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(level)); err != nil {
		return cfg, fmt.Errorf("--log-level: %w", err)
	}
	min, max, err := parsePortRange(rtp)
	if err != nil {
		return cfg, fmt.Errorf("--rtp-ports: %w", err)
	}
	cfg.RTPPortMin, cfg.RTPPortMax = min, max
	return cfg, cfg.validate()
}

// advertiseHost is the host put in SIP headers: the listen host, or the
// media IP when SIP listens on all interfaces.
func (c *Config) advertiseHost() string {
	host, _, _ := net.SplitHostPort(c.SIPAddr)
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return c.MediaIP
	}
	return host
}

// envDuration and envInt read a default from the environment; a value that
// does not parse is kept as given so the flag parser reports it.
func envDuration(getenv func(string) string, name string, def time.Duration) time.Duration {
	if v := getenv(name); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

func envInt(getenv func(string) string, name string, def int) int {
	if v := getenv(name); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

func parsePortRange(s string) (int, int, error) {
	lo, hi, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not min-max", s)
	}
	min, err1 := strconv.Atoi(strings.TrimSpace(lo))
	max, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if err1 != nil || err2 != nil || min < 1024 || max > 65535 || min >= max {
		return 0, 0, fmt.Errorf("%q is not a port range within 1024-65535", s)
	}
	return min, max, nil
}

func (c *Config) validate() error {
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return fmt.Errorf("--http %q: %w", c.HTTPAddr, err)
	}
	host, _, err := net.SplitHostPort(c.SIPAddr)
	if err != nil {
		return fmt.Errorf("--sip %q: %w", c.SIPAddr, err)
	}
	if c.MediaIP == "" {
		c.MediaIP = host
	}
	if c.SIPDomain == "" {
		c.SIPDomain = host
	}
	if ip := net.ParseIP(c.MediaIP); ip == nil || ip.IsUnspecified() {
		return fmt.Errorf("--media-ip %q is not an address peers can reach (listening on all interfaces needs an explicit --media-ip)", c.MediaIP)
	}
	if c.PluginTimeout <= 0 || c.PluginMaxTimeout < c.PluginTimeout || c.PluginMemoryMB < 16 || c.PluginMaxBytes <= 0 {
		return fmt.Errorf("plugin budgets: --plugin-timeout %v must be > 0 and <= --plugin-max-timeout %v; --plugin-memory-mb %d >= 16; --plugin-max-bytes %d > 0",
			c.PluginTimeout, c.PluginMaxTimeout, c.PluginMemoryMB, c.PluginMaxBytes)
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.HTTPAddr
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--public-url %q is not an http(s) base URL", c.PublicURL)
	}
	switch c.TTSEngine {
	case "auto", "espeak-ng", "none":
	case "http":
		if u, err := url.Parse(c.TTSURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--tts=http needs --tts-url, an http(s) URL (got %q)", c.TTSURL)
		}
	default:
		return fmt.Errorf("--tts %q: want auto, espeak-ng, http or none", c.TTSEngine)
	}
	if c.TTSCacheMB < 0 || c.AudioCacheMB < 0 {
		return fmt.Errorf("--tts-cache-mb and --audio-cache-mb must not be negative")
	}
	if (c.AccountSid == "") != (c.AuthToken == "") {
		return fmt.Errorf("--account-sid and --auth-token go together")
	}
	return nil
}
