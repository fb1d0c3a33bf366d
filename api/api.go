// Package api serves Patchbay's Restcomm-compatible REST API over Fiber.
//
// It turns HTTP requests into typed requests (store reads and writes, and
// calls.Controller requests for placing and modifying calls) and typed
// results back into Restcomm JSON or XML. It authenticates (HTTP Basic with
// AccountSid or e-mail and AuthToken), authorises along the account tree,
// validates every parameter, and maps every error to one Restcomm-style body
// in one place (see ERRORS.md). It holds no call state.
//
// Every resource is served under /restcomm/2012-04-24/Accounts… and the
// same path without /restcomm. A ".json" suffix on any path segment, or an
// Accept header containing "json", selects JSON; otherwise XML.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"github.com/patchbay/patchbay/switch/calls"
	"github.com/patchbay/patchbay/switch/store"
)

// Config holds what a Server needs. Store, Calls and Logger are required.
type Config struct {
	// Store holds accounts, numbers, call records and notifications.
	Store store.Store
	// Calls places and modifies calls (the switch).
	Calls calls.Controller
	// Logger receives one line per failed request and every recovered panic.
	Logger *slog.Logger
	// Now is the clock for record timestamps. Default time.Now.
	Now func() time.Time
	// Location is the zone dates are rendered in and list date filters are
	// read in. Default time.Local.
	Location *time.Location
	// Ready reports readiness for GET /health (200 when true, else 503).
	// Nil means always ready.
	Ready func() bool
	// SIPDomain is the switch's SIP domain, the digest realm that client
	// passwords are hashed with (decision 13). Changing it later
	// invalidates every client's stored password. Empty: creating a client
	// or changing its password fails with 500.
	SIPDomain string
	// Policy installs and removes tenant policy plugins (the Plugins
	// resource); *policy.Engine implements it. Nil: the Plugins resource
	// answers 404. Call Decisions are read from Store either way.
	Policy PolicyEngine
	// MaxBodyBytes bounds a request body (plugin uploads are the largest);
	// default 4 MiB.
	MaxBodyBytes int
	// PublicURL is this API's base URL as clients reach it
	// (scheme://host:port, no path): it prefixes a recording's file_uri
	// (store.RecordingFileURL). Empty: file_uri is the path alone.
	PublicURL string
	// RecordingsDir is the directory the switch writes recordings into, one
	// <RE sid>.wav each (store.RecordingPath). The Recordings resource
	// streams the audio from it and deletes it with the record. Empty: no
	// audio is served (the .wav download answers 404) and DELETE removes
	// the record alone.
	RecordingsDir string
}

// Server is the REST API. Create it with New; it is safe for concurrent use.
type Server struct {
	store store.Store
	calls calls.Controller
	log   *slog.Logger
	now   func() time.Time
	loc   *time.Location
	ready func() bool
	// sipDomain is Config.SIPDomain.
	sipDomain string
	policy    PolicyEngine // nil: no Plugins resource
	// publicURL and recordingsDir are Config.PublicURL and Config.RecordingsDir.
	publicURL     string
	recordingsDir string
	app           *fiber.App
	// passwordIterations is the PBKDF2 cost; tests lower it.
	passwordIterations int
}

// Errors returned by New.
var (
	// ErrMissingDependency: a required Config field is nil.
	ErrMissingDependency = errors.New("api: missing dependency")
)

// New builds a Server and registers every route. It starts nothing: serve
// with Listen, or drive App directly in tests.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Store == nil:
		return nil, fmt.Errorf("%w: Store", ErrMissingDependency)
	case cfg.Calls == nil:
		return nil, fmt.Errorf("%w: Calls", ErrMissingDependency)
	case cfg.Logger == nil:
		return nil, fmt.Errorf("%w: Logger", ErrMissingDependency)
	}
	s := &Server{
		store:              cfg.Store,
		calls:              cfg.Calls,
		log:                cfg.Logger,
		now:                cfg.Now,
		loc:                cfg.Location,
		ready:              cfg.Ready,
		sipDomain:          cfg.SIPDomain,
		policy:             cfg.Policy,
		publicURL:          cfg.PublicURL,
		recordingsDir:      cfg.RecordingsDir,
		passwordIterations: defaultPasswordIterations,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.loc == nil {
		s.loc = time.Local
	}
	s.app = fiber.New(fiber.Config{
		// Handlers keep parameter strings beyond the request (store writes,
		// switch requests), so fasthttp's reused buffers must be copied.
		Immutable:             true,
		CaseSensitive:         true,
		DisableStartupMessage: true,
		ErrorHandler:          s.handleError,
		BodyLimit:             cfg.MaxBodyBytes,
		ReadTimeout:           30 * time.Second,
		// fasthttp bounds writing a whole response by this, and a
		// recording download is a response: an hour of WAV is ~58 MiB,
		// which takes a client at 100 KB/s ~10 minutes. API answers are
		// small and never come near it.
		WriteTimeout: 10 * time.Minute,
		IdleTimeout:  2 * time.Minute,
	})
	s.routes()
	return s, nil
}

// App returns the Fiber app, for app.Test in tests.
func (s *Server) App() *fiber.App { return s.app }

// Listen serves on a listener the caller opened, until Shutdown.
func (s *Server) Listen(ln net.Listener) error {
	if err := s.app.Listener(ln); err != nil {
		return fmt.Errorf("api: serve: %w", err)
	}
	return nil
}

// Shutdown stops accepting connections and waits for in-flight requests
// until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.app.ShutdownWithContext(ctx); err != nil {
		return fmt.Errorf("api: shutdown: %w", err)
	}
	return nil
}

func (s *Server) routes() {
	app := s.app
	app.Use(recover.New(recover.Config{
		EnableStackTrace: true,
		StackTraceHandler: func(c *fiber.Ctx, p any) {
			s.log.Error("panic in handler", "method", c.Method(), "path", c.OriginalURL(), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		},
	}))
	app.Use(rewritePath)
	app.Get("/health", s.health)

	// After rewritePath, every resource path is apiRoot + "/Accounts…".
	r := app.Group(apiRoot+"/Accounts", s.authenticate)

	r.Get("", s.listAccounts)
	r.Post("", s.createAccount)
	r.Get("/:account", s.getAccount)
	r.Post("/:account", s.updateAccount)
	r.Put("/:account", s.updateAccount)
	r.Delete("/:account", func(*fiber.Ctx) error { return fiber.ErrMethodNotAllowed })

	r.Get("/:account/Calls", s.withAccount(s.listCalls))
	r.Post("/:account/Calls", s.withAccount(s.createCall))
	r.Get("/:account/Calls/:call", s.withAccount(s.getCall))
	r.Post("/:account/Calls/:call", s.withAccount(s.modifyCall))
	r.Get("/:account/Calls/:call/Notifications", s.withAccount(s.listCallNotifications))
	r.Get("/:account/Calls/:call/Decisions", s.withAccount(s.listCallDecisions))
	r.Get("/:account/Calls/:call/Recordings", s.withAccount(s.listCallRecordings))

	for _, kind := range []string{"", "/Local", "/TollFree", "/Mobile"} {
		r.Get("/:account/IncomingPhoneNumbers"+kind, s.withAccount(s.listNumbers))
		r.Post("/:account/IncomingPhoneNumbers"+kind, s.withAccount(s.createNumber))
	}
	r.Get("/:account/IncomingPhoneNumbers/:number", s.withAccount(s.getNumber))
	r.Post("/:account/IncomingPhoneNumbers/:number", s.withAccount(s.updateNumber))
	r.Put("/:account/IncomingPhoneNumbers/:number", s.withAccount(s.updateNumber))
	r.Delete("/:account/IncomingPhoneNumbers/:number", s.withAccount(s.deleteNumber))

	r.Get("/:account/Clients", s.withAccount(s.listClients))
	r.Post("/:account/Clients", s.withAccount(s.createClient))
	r.Get("/:account/Clients/:client", s.withAccount(s.getClient))
	r.Post("/:account/Clients/:client", s.withAccount(s.updateClient))
	r.Put("/:account/Clients/:client", s.withAccount(s.updateClient))
	r.Delete("/:account/Clients/:client", s.withAccount(s.deleteClient))

	r.Get("/:account/Plugins", s.withAccount(s.listPlugins))
	r.Post("/:account/Plugins", s.withAccount(s.uploadPlugin))
	r.Get("/:account/Plugins/:plugin", s.withAccount(s.getPlugin))
	r.Put("/:account/Plugins/:plugin", s.withAccount(s.uploadPlugin))
	r.Post("/:account/Plugins/:plugin", s.withAccount(s.uploadPlugin))
	r.Delete("/:account/Plugins/:plugin", s.withAccount(s.deletePlugin))

	// Conferences are read-only; Fiber answers 405 for the other methods.
	r.Get("/:account/Conferences", s.withAccount(s.listConferences))
	r.Get("/:account/Conferences/:conference", s.withAccount(s.getConference))
	r.Get("/:account/Conferences/:conference/Participants", s.withAccount(s.listParticipants))
	r.Get("/:account/Conferences/:conference/Participants/:call", s.withAccount(s.getParticipant))
	r.Post("/:account/Conferences/:conference/Participants/:call", s.withAccount(s.modifyParticipant))

	// The .wav route comes first: the metadata route would take "RE….wav"
	// as its sid.
	r.Get("/:account/Recordings", s.withAccount(s.listRecordings))
	r.Get("/:account/Recordings/:recording.wav", s.withAccount(s.downloadRecording))
	r.Get("/:account/Recordings/:recording", s.withAccount(s.getRecording))
	r.Delete("/:account/Recordings/:recording", s.withAccount(s.deleteRecording))

	r.Get("/:account/Notifications", s.withAccount(s.listNotifications))
	r.Get("/:account/Notifications/:notification", s.withAccount(s.getNotification))
}

func (s *Server) health(c *fiber.Ctx) error {
	if s.ready != nil && !s.ready() {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "starting"})
	}
	return c.JSON(fiber.Map{"status": "ok"})
}
