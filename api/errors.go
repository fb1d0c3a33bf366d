package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/patchbay/patchbay/switch/calls"
	"github.com/patchbay/patchbay/switch/store"
)

// Error codes carried in every error body. api/ERRORS.md is the table that
// documents them; keep the two in step.
const (
	codeInvalidParameter  = 20001 // a parameter has a bad value
	codeMalformedSid      = 20002 // a sid in the path or a parameter is malformed
	codeUnauthenticated   = 20003 // no or wrong Basic credentials
	codeAccountNotActive  = 20005 // the authenticated account is not active
	codeBadRequest        = 20400 // a request that cannot be carried out as asked
	codeForbidden         = 20403 // outside the caller's account tree or role
	codeNotFound          = 20404 // unknown resource or route
	codeMethodNotAllowed  = 20405
	codeUnknownCall       = 20406 // LCM on a call the caller cannot see
	codeConflict          = 20409 // unique value already in use
	codePolicyDenied      = 20450 // a tenant policy plugin refused the request
	codeInternal          = 20500
	codeUnavailable       = 20503 // the switch is shutting down
	codeDialFailed        = 11008 // upstream's notification code for an undialable target
	codeToMissing         = 21201
	codeURLInvalid        = 21205
	codeToInvalid         = 21211
	codeCallCompleted     = 21220
	codeFromMissing       = 21603
	codeNumberUnavailable = 21452 // upstream's code for a number that cannot be provisioned
)

// apiError is an error already classified into an HTTP status and a body.
// Handlers return it for everything they detect themselves; errors from the
// store and the switch are classified in classify.
type apiError struct {
	status  int
	code    int
	message string
	cause   error // optional, logged but never shown
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%d %d %s: %v", e.status, e.code, e.message, e.cause)
	}
	return fmt.Sprintf("%d %d %s", e.status, e.code, e.message)
}

func (e *apiError) Unwrap() error { return e.cause }

func badParam(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: codeInvalidParameter, message: fmt.Sprintf(format, args...)}
}

func malformedSid(what, value string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: codeMalformedSid, message: fmt.Sprintf("%s %q is not a valid sid.", what, value)}
}

func notFound(what string) *apiError {
	return &apiError{status: http.StatusNotFound, code: codeNotFound, message: fmt.Sprintf("The requested %s was not found.", what)}
}

func forbidden(message string) *apiError {
	return &apiError{status: http.StatusForbidden, code: codeForbidden, message: message}
}

// dialError carries the target of a failed call creation so that classify can
// render upstream's messages, which name it.
type dialError struct {
	to  string
	err error
}

func (e *dialError) Error() string { return fmt.Sprintf("create call to %s: %v", e.to, e.err) }
func (e *dialError) Unwrap() error { return e.err }

// classify maps any error a handler returns to the HTTP status and body the
// client sees. It is the one place where typed errors become status codes.
func classify(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var denied *calls.DeniedError
	if errors.As(err, &denied) {
		return &apiError{status: http.StatusForbidden, code: codePolicyDenied, message: denied.Reason, cause: err}
	}
	to := ""
	var de *dialError
	if errors.As(err, &de) {
		to = de.to
	}
	switch {
	case errors.Is(err, calls.ErrUnknownCall):
		return &apiError{status: http.StatusNotAcceptable, code: codeUnknownCall, message: "The requested call was not found.", cause: err}
	case errors.Is(err, calls.ErrCallEnded):
		return &apiError{status: http.StatusGone, code: codeCallCompleted, message: "Call is already completed.", cause: err}
	case errors.Is(err, calls.ErrClientNotRegistered):
		return &apiError{status: http.StatusNotFound, code: codeDialFailed,
			message: fmt.Sprintf("The SIP Client %s is not registered or does not exist", to), cause: err}
	case errors.Is(err, calls.ErrNoOutboundProxy):
		return &apiError{status: http.StatusInternalServerError, code: codeDialFailed,
			message: fmt.Sprintf("Cannot create call to: %s. The Active Outbound Proxy is null. Please check configuration.", to), cause: err}
	case errors.Is(err, calls.ErrBadTarget):
		return &apiError{status: http.StatusBadRequest, code: codeBadRequest, message: fmt.Sprintf("%s is not a valid call target.", to), cause: err}
	case errors.Is(err, calls.ErrCallChanged):
		return &apiError{status: http.StatusConflict, code: codeConflict,
			message: "The call changed while its policy plugins decided; nothing was done. Retry the request.", cause: err}
	case errors.Is(err, calls.ErrShuttingDown):
		return &apiError{status: http.StatusServiceUnavailable, code: codeUnavailable, message: "The switch is shutting down.", cause: err}
	case errors.Is(err, store.ErrNotFound):
		return &apiError{status: http.StatusNotFound, code: codeNotFound, message: "The requested resource was not found.", cause: err}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &apiError{status: http.StatusServiceUnavailable, code: codeUnavailable, message: "The request was cancelled.", cause: err}
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		switch fe.Code {
		case http.StatusNotFound:
			return &apiError{status: fe.Code, code: codeNotFound, message: "The requested resource was not found.", cause: err}
		case http.StatusMethodNotAllowed:
			return &apiError{status: fe.Code, code: codeMethodNotAllowed, message: "Method not allowed.", cause: err}
		}
		if fe.Code >= 400 && fe.Code < 500 {
			return &apiError{status: fe.Code, code: codeBadRequest, message: fe.Message, cause: err}
		}
	}
	return &apiError{status: http.StatusInternalServerError, code: codeInternal, message: "Internal server error.", cause: err}
}

// handleError is the Fiber error handler: it classifies err, logs it with an
// error id and writes the decision-4 body in the negotiated format. The error
// id goes into a response header, not the body, so the body keeps exactly the
// shape upstream clients parse.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	ae := classify(err)
	id := newErrorID()
	level := slog.LevelInfo
	if ae.status >= 500 {
		level = slog.LevelWarn
	}
	attrs := []any{"error_id", id, "status", ae.status, "code", ae.code, "method", c.Method(), "path", c.OriginalURL(), "message", ae.message}
	if ae.cause != nil {
		attrs = append(attrs, "err", ae.cause.Error())
	}
	s.log.Log(c.UserContext(), level, "request failed", attrs...)

	c.Set(headerErrorID, id)
	if ae.status == http.StatusUnauthorized {
		c.Set(fiber.HeaderWWWAuthenticate, `Basic realm="Restcomm realm"`)
	}
	body := errorBody{Code: ae.code, Message: ae.message, MoreInfo: "", Status: ae.status}
	c.Status(ae.status)
	if wantsJSON(c) {
		return sendJSON(c, body)
	}
	return sendXML(c, errorEnvelope{Exception: body})
}

// headerErrorID names the response header that carries the id under which
// an error was logged.
const headerErrorID = "X-Patchbay-Error-Id"

func newErrorID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand does not fail on supported platforms
	return hex.EncodeToString(b[:])
}

type errorBody struct {
	Code     int    `json:"code" xml:"Code"`
	Message  string `json:"message" xml:"Message"`
	MoreInfo string `json:"more_info" xml:"MoreInfo"`
	Status   int    `json:"status" xml:"Status"`
}

type errorEnvelope struct {
	XMLName   struct{}  `xml:"RestcommResponse"`
	Exception errorBody `xml:"RestException"`
}
