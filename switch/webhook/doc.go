// Package webhook is the switch's HTTP client side: it fetches RCML documents
// from applications (with Restcomm's fallback rules) and delivers status
// callbacks through a durable outbox.
//
// The Fetcher returns the bytes and content type of a document; parsing RCML
// is someone else's job. The Outbox keeps each callback in the store until an
// application acknowledged it with a 2xx, retrying with backoff, and it
// delivers the callbacks of one call in the order they were enqueued.
//
// URLs may carry user info ("http://user:secret@host/app"): it is sent as HTTP
// Basic credentials, and every URL that reaches a log line or an error is
// redacted first.
package webhook
