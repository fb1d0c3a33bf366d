// Package calls is the contract between the REST API and the switch for
// placing calls and modifying live ones (Live Call Modification).
//
// The API validates and types every parameter, then calls a Controller; the
// switch answers with the call record or one of the errors below, which the
// API maps to Restcomm status codes in one place.
package calls

import (
	"context"
	"errors"
	"fmt"

	"github.com/patchbay/patchbay/switch/store"
)

// Errors a Controller returns. Match them with errors.Is / errors.As.
var (
	// ErrUnknownCall: no call with that sid is visible to the requesting account (406 for LCM).
	ErrUnknownCall = errors.New("calls: unknown call")
	// ErrCallEnded: the call has already ended (410 "Call is already completed.").
	ErrCallEnded = errors.New("calls: call is already completed")
	// ErrNoOutboundProxy: a call to a number needs --outbound-proxy.
	ErrNoOutboundProxy = errors.New("calls: no outbound proxy configured")
	// ErrClientNotRegistered: a client: target has no registration.
	ErrClientNotRegistered = errors.New("calls: client not registered")
	// ErrBadTarget: the To of a new call is not a usable target (400).
	ErrBadTarget = errors.New("calls: bad target")
	// ErrShuttingDown: the switch refuses new work while it stops.
	ErrShuttingDown = errors.New("calls: switch is shutting down")
	// ErrCallChanged: the call's connected leg changed while the tenants'
	// policy plugins decided on the modification, so their decision may not
	// hold; nothing was done (409, to be retried).
	ErrCallChanged = errors.New("calls: the call changed while its policy plugins decided")
)

// DeniedError is returned when a tenant policy plugin refused a modification.
// The API answers 403 with Reason in the error body.
type DeniedError struct {
	Plugin string
	Reason string
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("calls: denied by plugin %s: %s", e.Plugin, e.Reason)
}

// Target kinds of CreateRequest.To.
const (
	TargetSIP    = "sip"    // a SIP URI
	TargetClient = "client" // a registered client
	TargetNumber = "number" // a number, sent to the outbound proxy
)

// CreateRequest places an outbound call (POST …/Calls).
type CreateRequest struct {
	AccountSid string // owner of the new call (the URL account)
	From       string
	To         string // as given, without the ?X-… header part
	ToKind     string // one of the Target* constants
	// Headers are the custom X- headers from To's "?X-A=1&X-B=2" suffix.
	Headers              map[string]string
	URL                  string
	Method               string // default POST
	FallbackURL          string
	FallbackMethod       string // default POST
	StatusCallback       string
	StatusCallbackMethod string   // default POST
	StatusCallbackEvents []string // default all four
	TimeoutSeconds       int      // default 60
	Username, Password   string   // digest credentials for the target
}

// ModifyRequest is a Live Call Modification (POST …/Calls/{CallSid}).
// Empty strings and nil pointers mean "not given".
type ModifyRequest struct {
	// AccountSid is the URL account; RequesterSid the authenticated account.
	AccountSid   string
	RequesterSid string
	// Superuser is true when the requester is a top-level account, which may
	// modify any call through its own URL.
	Superuser            bool
	CallSid              string
	URL                  string
	Method               string
	FallbackURL          string
	FallbackMethod       string
	StatusCallback       string
	StatusCallbackMethod string
	Status               string // "", store.StatusCanceled or store.StatusCompleted
	Mute                 *bool
	MoveConnectedCallLeg bool

	// PolicyDecided is set by the switch once tenants' policy plugins
	// decided on the request, having been shown PolicyConnectedCallSid as
	// the call's connected leg; the call refuses the request with
	// ErrCallChanged if that leg changed meanwhile (a <Dial> bridged or
	// ended), since a plugin may have decided on it.
	PolicyDecided          bool
	PolicyConnectedCallSid string
}

// Controller places and modifies calls. Implementations are safe for
// concurrent use.
type Controller interface {
	// Create places an outbound call and returns its record(s): one per leg
	// (a client with several registrations rings each).
	Create(ctx context.Context, r CreateRequest) ([]store.Call, error)
	// Modify applies a live modification and returns the call as it stands
	// once the modification was accepted.
	Modify(ctx context.Context, r ModifyRequest) (Modified, error)
}

// Modified is what an accepted Live Call Modification did.
type Modified struct {
	Call store.Call
	// RewriteURL and RewriteMethod are set when a tenant's policy plugin
	// rewrote the request's Url: the document the call fetches instead.
	RewriteURL, RewriteMethod string
}
