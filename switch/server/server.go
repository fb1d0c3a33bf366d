// Package server assembles a whole Patchbay switch from its parts: the
// Badger store, the SIP user agent, the media port pool, the RCML fetcher
// and interpreter, the callback outbox, the switchboard and the REST API.
// cmd/patchbay runs it; end-to-end tests start it in-process.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/patchbay/patchbay/api"
	"github.com/patchbay/patchbay/switch/call"
	"github.com/patchbay/patchbay/switch/conference"
	"github.com/patchbay/patchbay/switch/media"
	"github.com/patchbay/patchbay/switch/policy"
	"github.com/patchbay/patchbay/switch/rcmlwasm"
	"github.com/patchbay/patchbay/switch/registrar"
	"github.com/patchbay/patchbay/switch/sipua"
	"github.com/patchbay/patchbay/switch/store"
	"github.com/patchbay/patchbay/switch/store/badgerstore"
	"github.com/patchbay/patchbay/switch/switchboard"
	"github.com/patchbay/patchbay/switch/webhook"
	"github.com/patchbay/patchbay/wasmhost"
)

// Version is reported in the User-Agent of SIP and HTTP requests.
const Version = "0.1.0"

// Server is a running switch.
type Server struct {
	cfg     Config
	log     *slog.Logger
	store   *badgerstore.Store
	account store.Account
	created bool
	ports   *media.PortPool
	board   *switchboard.Switchboard
	stack   *sipua.Stack
	api     *api.Server
	httpLn  net.Listener
	outbox  *webhook.Outbox
	wasm    *wasmhost.Host
	rcml    *rcmlwasm.Interpreter
	policy  *policy.Engine

	conferences *conference.Hub
	speech      call.Speech // nil without a text-to-speech engine
	// publicURL prefixes recording URLs; recordingsDir holds their audio
	// (removed at shutdown when it is a temporary one, InMemory).
	publicURL        string
	recordingsDir    string
	removeRecordings bool

	cancelSIP    context.CancelFunc
	cancelOutbox context.CancelFunc
	bg           sync.WaitGroup
	sipErr       chan error
	shutdownOnce sync.Once
	shutdownErr  error
}

// Run starts a switch, prints the bootstrap account to out, and serves until
// ctx ends; then it shuts down gracefully.
func Run(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer) error {
	s, err := Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	acct := s.Account()
	if s.created {
		fmt.Fprintf(out, "Created the bootstrap account.\n")
	}
	fmt.Fprintf(out, "Patchbay %s\n  REST API:  http://%s/restcomm/2012-04-24/Accounts/%s\n  SIP:       %s (UDP and TCP)\n  AccountSid: %s\n  AuthToken:  %s\n",
		Version, s.HTTPAddr(), acct.Sid, cfg.SIPAddr, acct.Sid, acct.AuthToken)
	select {
	case <-ctx.Done():
	case err := <-s.sipErr:
		log.Error("SIP listener failed", "err", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	return s.Shutdown(sctx)
}

// Start builds and starts a switch; it returns once SIP and HTTP listen.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (_ *Server, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, sipErr: make(chan error, 1)}
	defer func() {
		if err != nil {
			s.closePartial()
		}
	}()
	// Listen first: with --http on port 0 (tests) the public URL of
	// recordings needs the port before any call can start.
	s.httpLn, err = net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("REST API listen on %s: %w", cfg.HTTPAddr, err)
	}
	s.publicURL = publicURL(cfg.PublicURL, s.httpLn.Addr())
	if err := s.openRecordingsDir(); err != nil {
		return nil, err
	}
	s.store, err = badgerstore.Open(badgerstore.Options{Dir: cfg.DataDir, InMemory: cfg.InMemory, Logger: log.With("component", "badger")})
	if err != nil {
		return nil, fmt.Errorf("opening store in %s: %w", cfg.DataDir, err)
	}
	s.account, s.created, err = api.EnsureBootstrapAccount(ctx, s.store, cfg.AccountSid, cfg.AuthToken)
	if err != nil {
		return nil, fmt.Errorf("bootstrap account: %w", err)
	}
	mediaIP, err := netip.ParseAddr(cfg.MediaIP)
	if err != nil {
		return nil, fmt.Errorf("--media-ip: %w", err)
	}
	s.ports, err = media.NewPortPool(mediaIP, cfg.RTPPortMin, cfg.RTPPortMax)
	if err != nil {
		return nil, fmt.Errorf("RTP port pool: %w", err)
	}
	cacheDir := cfg.WasmCacheDir
	if cacheDir == "" {
		cacheDir = filepath.Join(cfg.DataDir, "wasm-cache")
	}
	s.wasm, err = wasmhost.New(ctx, wasmhost.Config{
		CacheDir:        cacheDir,
		MaxModuleBytes:  int(cfg.PluginMaxBytes),
		DefaultTimeout:  cfg.PluginTimeout,
		MaxTimeout:      max(cfg.PluginMaxTimeout, time.Second),
		DefaultMemoryMB: cfg.PluginMemoryMB,
		MaxMemoryMB:     max(cfg.PluginMemoryMB, 64),
		// +1: the RCML handler is one of the compiled modules.
		MaxCompiledModules: plugMaxCompiled(cfg.PluginMaxCompiled),
		Logger:             log.With("component", "wasm"),
	})
	if err != nil {
		return nil, fmt.Errorf("wasm host: %w", err)
	}
	// Every RCML document is parsed by the sandboxed handler.
	rcmlOpts := append([]rcmlwasm.Option{rcmlwasm.WithLogger(log.With("component", "rcml"))}, cfg.RCMLOptions...)
	s.rcml, err = rcmlwasm.New(ctx, s.wasm, rcmlOpts...)
	if err != nil {
		return nil, fmt.Errorf("RCML handler: %w", err)
	}
	s.policy, err = policy.New(policy.Config{
		Host: s.wasm, Store: s.store, Logger: log.With("component", "policy"),
		DefaultTimeout: cfg.PluginTimeout, MaxTimeout: cfg.PluginMaxTimeout,
		DefaultMemoryMB: cfg.PluginMemoryMB, MaxMemoryMB: cfg.PluginMemoryMB,
		MaxModuleBytes: cfg.PluginMaxBytes,
	})
	if err != nil {
		return nil, fmt.Errorf("policy engine: %w", err)
	}
	if err := s.policy.LoadAll(ctx); err != nil {
		return nil, fmt.Errorf("loading tenant plugins: %w", err)
	}
	s.speech, err = newSpeech(ctx, cfg, log.With("component", "tts"))
	if err != nil {
		return nil, err
	}
	s.conferences = conference.New(s.store, log.With("component", "conference"))
	httpClient := webhook.NewHTTPClient(Version)
	fetcher, err := webhook.NewFetcher(httpClient, webhook.WithFetchTimeout(cfg.FetchTimeout), webhook.WithFetchLogger(log.With("component", "rcml-fetch")))
	if err != nil {
		return nil, fmt.Errorf("RCML fetcher: %w", err)
	}
	s.outbox, err = webhook.NewOutbox(s.store, httpClient, webhook.WithOutboxLogger(log.With("component", "outbox")))
	if err != nil {
		return nil, fmt.Errorf("callback outbox: %w", err)
	}
	reg, err := registrar.New(registrar.Config{Store: s.store, Domain: cfg.SIPDomain, Logger: log.With("component", "registrar")})
	if err != nil {
		return nil, fmt.Errorf("registrar: %w", err)
	}
	sipHost, _, _ := net.SplitHostPort(cfg.SIPAddr)
	s.board, err = switchboard.New(switchboard.Config{
		Clients: reg,
		Policy:  s.policy,
		Deps: call.Deps{
			Store:         s.store,
			Media:         &mediaFactory{pool: s.ports, log: log.With("component", "media"), audio: newAudioCache(cfg, httpClient, log.With("component", "audio-fetch")), beep: newBeep()},
			Interpreter:   s.rcml,
			Conferences:   s.conferences,
			Policy:        s.policy,
			Fetcher:       fetcher,
			Outbox:        s.outbox,
			Speech:        s.speech,
			RecordingsDir: s.recordingsDir,
			RecordingURL: func(accountSid, recordingSid string) string {
				return store.RecordingFileURL(s.publicURL, accountSid, recordingSid)
			},
			MediaIP: mediaIP,
			SIPHost: sipHost,
			Log:     log,
			Now:     time.Now,
		},
		OutboundProxy: cfg.OutboundProxy,
	})
	if err != nil {
		return nil, err
	}
	if n, err := s.board.Reconcile(ctx); err != nil {
		return nil, err
	} else if n > 0 {
		log.Warn("ended calls left live by the previous run", "count", n)
	}
	oc, cancelOutbox := context.WithCancel(context.Background())
	s.cancelOutbox = cancelOutbox
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		if err := s.outbox.Run(oc); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("callback outbox stopped", "err", err)
		}
	}()

	s.stack, err = sipua.New(sipua.Config{ListenAddr: cfg.SIPAddr, AdvertiseHost: cfg.advertiseHost(), UserAgent: "Patchbay/" + Version, Logger: log.With("component", "sip"), Register: reg.HandleRegister,
		Authenticate: func(req *sip.Request, tx sip.ServerTransaction) (any, bool) { return reg.AuthenticateInvite(req, tx) }}, s.board)
	if err != nil {
		return nil, err
	}
	s.board.SetDialer(s.stack)
	sc, cancelSIP := context.WithCancel(context.Background())
	s.cancelSIP = cancelSIP
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		if err := s.stack.Serve(sc); err != nil {
			s.sipErr <- err
		}
	}()
	select {
	case <-s.stack.Ready():
	case err := <-s.sipErr:
		return nil, err
	case <-time.After(5 * time.Second):
		return nil, fmt.Errorf("SIP did not start listening on %s", cfg.SIPAddr)
	}

	s.api, err = api.New(api.Config{Store: s.store, Calls: s.board, Logger: log.With("component", "api"), Ready: s.ready, SIPDomain: cfg.SIPDomain, Policy: s.policy, MaxBodyBytes: int(cfg.PluginMaxBytes) + 1<<20,
		PublicURL: s.publicURL, RecordingsDir: s.recordingsDir})
	if err != nil {
		return nil, err
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		if err := s.api.Listen(s.httpLn); err != nil {
			log.Error("REST API stopped", "err", err)
		}
	}()
	log.Info("patchbay started", "http", s.HTTPAddr(), "sip", cfg.SIPAddr, "media_ip", cfg.MediaIP, "rtp_ports", fmt.Sprintf("%d-%d", cfg.RTPPortMin, cfg.RTPPortMax))
	return s, nil
}

func plugMaxCompiled(n int) int {
	if n <= 0 {
		return 0
	}
	return n + 1
}

func (s *Server) ready() bool {
	select {
	case <-s.stack.Ready():
		return s.httpLn != nil
	default:
		return false
	}
}

// Account is the bootstrap account.
func (s *Server) Account() store.Account { return s.account }

// HTTPAddr is the address the REST API listens on.
func (s *Server) HTTPAddr() string { return s.httpLn.Addr().String() }

// Store gives tests access to the state.
func (s *Server) Store() store.Store { return s.store }

// LiveCalls is the number of calls in progress.
func (s *Server) LiveCalls() int { return s.board.Live() }

// Rooms is the number of running conference rooms.
func (s *Server) Rooms() int { return s.conferences.Rooms() }

// PortsInUse is the number of RTP ports held.
func (s *Server) PortsInUse() int { return s.ports.InUse() }

// Shutdown refuses new calls, hangs up the live ones (BYE), stops the API,
// SIP and the outbox, and flushes the store.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() {
		s.stack.Refuse()
		var errs []error
		if err := s.board.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		// Let the BYEs and CANCELs of the ended calls complete while SIP
		// still listens for their answers.
		if err := s.stack.Drain(ctx); err != nil {
			errs = append(errs, err)
		}
		if err := s.api.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("REST API: %w", err))
		}
		// fasthttp's Shutdown misses a listener whose Serve had not started
		// yet (a shutdown right after start); closing it ends Serve anyway.
		_ = s.httpLn.Close()
		s.cancelSIP()
		if err := s.stack.Close(); err != nil {
			errs = append(errs, fmt.Errorf("SIP: %w", err))
		}
		s.cancelOutbox()
		s.bg.Wait()
		s.closeWasm(ctx)
		if err := s.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("store: %w", err))
		}
		s.closeRecordingsDir()
		s.shutdownErr = errors.Join(errs...)
		s.log.Info("patchbay stopped")
	})
	return s.shutdownErr
}

// closePartial undoes a Start that failed half-way.
func (s *Server) closePartial() {
	if s.cancelSIP != nil {
		s.cancelSIP()
	}
	if s.stack != nil {
		_ = s.stack.Close()
	}
	if s.cancelOutbox != nil {
		s.cancelOutbox()
	}
	if s.httpLn != nil {
		_ = s.httpLn.Close()
	}
	s.bg.Wait()
	s.closeWasm(context.Background())
	if s.store != nil {
		_ = s.store.Close()
	}
	s.closeRecordingsDir()
}

func (s *Server) closeWasm(ctx context.Context) {
	if s.policy != nil {
		s.policy.Close()
	}
	if s.rcml != nil {
		s.rcml.Close()
	}
	if s.wasm != nil {
		if err := s.wasm.Close(ctx); err != nil {
			s.log.Warn("closing the wasm host", "err", err)
		}
	}
}
