package webhook

import (
	"errors"
	"fmt"
	"net/http"
)

// Restcomm notification codes for RCML fetch failures (restcomm-calls.md §4.2, §5.3).
const (
	CodeBadURI        = 11100 // the URL (or method) is not usable; nothing was sent
	CodeHTTPIOFailure = 11205 // network error, timeout or broken body
	CodeHTTPProtocol  = 11206 // the server answered, but not with a usable 200
	CodeURLNotFound   = 21402 // the server answered 404
)

// FetchError is the error of a failed RCML fetch. When a fallback was tried,
// the error describes the fallback's failure and Primary holds the first one.
type FetchError struct {
	URL        string // redacted: any password is replaced
	Method     string
	StatusCode int // HTTP status, 0 when no answer was read
	Code       int // one of the Code* notification codes
	Err        error
	Primary    *FetchError // the primary URL's failure when this is the fallback's
}

// Error names the failed request (redacted), its cause and its code, and
// the primary's failure when a fallback was tried.
func (e *FetchError) Error() string {
	msg := fmt.Sprintf("webhook: %s %s: %v (notification %d)", e.Method, e.URL, e.Err, e.Code)
	if e.Primary != nil {
		msg += "; after primary " + e.Primary.Method + " " + e.Primary.URL + " failed: " +
			fmt.Sprintf("%v (notification %d)", e.Primary.Err, e.Primary.Code)
	}
	return msg
}

// Unwrap returns the cause of the last failure, so errors.Is finds
// context.Canceled or context.DeadlineExceeded.
func (e *FetchError) Unwrap() error { return e.Err }

// StatusError is the cause of a FetchError for an answer other than 200; match
// it with errors.As to read the status.
type StatusError struct{ StatusCode int }

// Error gives the status, as in "HTTP 503 Service Unavailable".
func (e *StatusError) Error() string {
	return fmt.Sprintf("HTTP %d %s", e.StatusCode, http.StatusText(e.StatusCode))
}

// ErrBodyTooLarge is the cause of a FetchError for a document larger than the
// fetcher's cap.
var ErrBodyTooLarge = errors.New("response body too large")

// IsNotFound reports whether err is a fetch that ended in "URL not found":
// the primary answered 404 and so did the fallback, if one was tried. The
// caller ends the call as not-found (SIP 404 for an unanswered inbound call);
// any other fetch failure fails the call.
func IsNotFound(err error) bool {
	var fe *FetchError
	if !errors.As(err, &fe) || fe.StatusCode != http.StatusNotFound {
		return false
	}
	return fe.Primary == nil || fe.Primary.StatusCode == http.StatusNotFound
}

// NotificationCode returns the Restcomm notification code of a fetch
// failure, or 0 when err is not a FetchError.
func NotificationCode(err error) int {
	var fe *FetchError
	if errors.As(err, &fe) {
		return fe.Code
	}
	return 0
}
