// Package store persists Patchbay's state: accounts, phone numbers, SIP
// clients and their registrations, call records, conference records,
// recordings, notifications, the outbox of pending HTTP callbacks, and
// tenant policy plugins with the audit of their decisions.
//
// The Store interface is sized to what the switch and the REST API need, so a
// distributed store can stand in later; Badger (embedded) is the default
// implementation. Every method is safe for concurrent use. Records are values:
// a caller may keep and change what it got without affecting the store.
package store

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// Errors returned by every Store implementation. Match them with errors.Is.
var (
	// ErrNotFound: no record has that key.
	ErrNotFound = errors.New("store: not found")
	// ErrExists: a record with that unique key already exists.
	ErrExists = errors.New("store: already exists")
)

// Account statuses.
const (
	AccountActive        = "active"
	AccountSuspended     = "suspended"
	AccountClosed        = "closed"
	AccountUninitialized = "uninitialized"
)

// Account is a tenant. Accounts form a tree through ParentSid; the bootstrap
// (top-level administrator) account has no parent.
type Account struct {
	Sid          string
	ParentSid    string // empty for a top-level account
	FriendlyName string
	EmailAddress string
	Status       string // one of the Account* constants
	Role         string // "Administrator" or "Developer"
	Type         string // "Full"
	AuthToken    string // 32 lowercase hex, the Basic-auth password
	PasswordHash string // salted slow hash of an optional console password; never rendered
	DateCreated  time.Time
	DateUpdated  time.Time
}

// PhoneNumber is an IncomingPhoneNumber: a number (or pattern) that routes
// inbound INVITEs to the owning account's voice application.
type PhoneNumber struct {
	Sid                  string
	AccountSid           string
	PhoneNumber          string // as provisioned: "+15551234", "1234", "*", a pattern
	FriendlyName         string
	VoiceURL             string
	VoiceMethod          string
	VoiceFallbackURL     string
	VoiceFallbackMethod  string
	StatusCallback       string
	StatusCallbackMethod string
	VoiceCallerIDLookup  bool
	APIVersion           string
	DateCreated          time.Time
	DateUpdated          time.Time
}

// Call statuses, always lower-case and hyphenated.
const (
	StatusQueued     = "queued"
	StatusRinging    = "ringing"
	StatusInProgress = "in-progress"
	StatusCompleted  = "completed"
	StatusBusy       = "busy"
	StatusFailed     = "failed"
	StatusNoAnswer   = "no-answer"
	StatusCanceled   = "canceled"
)

// Call directions.
const (
	DirectionInbound      = "inbound"
	DirectionOutboundAPI  = "outbound-api"
	DirectionOutboundDial = "outbound-dial"
)

// Ended reports whether a call in status s has finished.
func Ended(s string) bool {
	switch s {
	case StatusCompleted, StatusBusy, StatusFailed, StatusNoAnswer, StatusCanceled:
		return true
	}
	return false
}

// Call is a call detail record (CDR), written by the call's owner goroutine
// at every state transition.
type Call struct {
	Sid            string
	ParentCallSid  string // only for outbound-dial legs
	AccountSid     string
	To             string // user part of the callee
	From           string // user part of the caller
	PhoneNumberSid string // inbound calls to a provisioned number
	Status         string // one of the Status* constants
	Direction      string // one of the Direction* constants
	AnsweredBy     string
	ForwardedFrom  string
	CallerName     string
	APIVersion     string
	ConferenceSid  string
	Muted          bool
	// Conference participation (spec restcomm-resources.md §4.1).
	OnHold                 bool
	StartConferenceOnEnter bool
	EndConferenceOnExit    bool
	DateCreated            time.Time
	DateUpdated            time.Time
	StartTime              time.Time // zero until started
	EndTime                time.Time // zero until ended
	AnswerTime             time.Time // zero until answered; Duration is EndTime-AnswerTime
	Duration               int       // seconds; -1 while unknown
	RingDuration           int       // seconds; -1 while unknown
	Price                  string    // e.g. "0.00"
	PriceUnit              string    // e.g. "USD"

	// Application state, kept so that LCM, callbacks and reconciliation after
	// a restart know what the call was running.
	URL                  string // RCML URL currently executing
	Method               string
	FallbackURL          string
	FallbackMethod       string
	StatusCallback       string // call-progress (REST create) or application status callback
	StatusCallbackMethod string
	StatusCallbackEvents []string // subset of initiated, ringing, answered, completed
	SIPCallID            string
}

// CallFilter selects calls for ListCalls. Empty fields do not filter.
// To and From are suffix matches and Status an exact match, with SQL LIKE
// wildcards '%' and '_' honoured in all three, as upstream.
type CallFilter struct {
	AccountSids      []string // calls owned by any of these accounts
	To               string
	From             string
	Status           string
	StartedOnOrAfter time.Time // zero: no bound
	EndedBefore      time.Time // zero: no bound (exclusive)
	ParentCallSid    string
	ConferenceSid    string
}

// CallSort orders ListCalls results.
type CallSort struct {
	Field      string // DateCreated, From, To, Direction, Status, Duration, Price
	Descending bool
}

// Page selects a slice of a list: Offset records skipped, at most Limit returned.
type Page struct {
	Offset int
	Limit  int
}

// Conference statuses (upstream's, upper case).
const (
	ConferenceInitializing     = "RUNNING_INITIALIZING"
	ConferenceModeratorAbsent  = "RUNNING_MODERATOR_ABSENT"
	ConferenceModeratorPresent = "RUNNING_MODERATOR_PRESENT"
	ConferenceCompleted        = "COMPLETED"
)

// Conference is a conference detail record: one run of a named room. The
// same name gets a new record (and sid) once the previous run completed.
type Conference struct {
	Sid          string // CF…
	AccountSid   string
	FriendlyName string // the room name given in <Conference>
	Status       string // one of the Conference* constants
	APIVersion   string
	DateCreated  time.Time
	DateUpdated  time.Time
}

// ConferenceFilter selects conferences. Status and FriendlyName use SQL
// LIKE semantics as CallFilter; zero times do not filter.
type ConferenceFilter struct {
	AccountSids      []string
	Status           string
	FriendlyName     string
	CreatedOnOrAfter time.Time
	UpdatedBefore    time.Time // exclusive
}

// Recording is the metadata of one audio recording made by <Record> or
// <Dial record="true">. The audio itself is a file named after the sid in
// the switch's recordings directory (RecordingPath); the record is added
// once that file is complete.
type Recording struct {
	Sid         string // RE…
	AccountSid  string
	CallSid     string  // the call whose document recorded it
	Duration    float64 // seconds of audio
	APIVersion  string
	DateCreated time.Time
	DateUpdated time.Time
}

// RecordingFilter selects recordings. CallSid uses SQL LIKE semantics as
// CallFilter; zero times and empty fields do not filter.
type RecordingFilter struct {
	AccountSids      []string // recordings owned by any of these accounts; empty: every account
	CallSid          string
	CreatedOnOrAfter time.Time
	CreatedBefore    time.Time // exclusive
}

// RecordingSort orders ListRecordings results. An empty Field is the
// default, DateCreated newest first; other fields break ties newest first.
type RecordingSort struct {
	Field      string // DateCreated, Duration or CallSid
	Descending bool
}

// RecordingPath is where the audio of the recording with sid lives in the
// recordings directory dir. The sid must have been checked to be a
// well-formed RE sid (sid.Valid) first: it becomes a file name.
func RecordingPath(dir, recordingSid string) string {
	return filepath.Join(dir, recordingSid+".wav")
}

// RecordingFileURL is the absolute URL of a recording's audio on the REST
// API reachable at publicURL (scheme://host:port): the file_uri of the
// Recordings resource and the RecordingUrl handed to applications. An empty
// publicURL gives the path alone.
func RecordingFileURL(publicURL, accountSid, recordingSid string) string {
	return strings.TrimRight(publicURL, "/") + "/restcomm/2012-04-24/Accounts/" + accountSid + "/Recordings/" + recordingSid + ".wav"
}

// Notification is an RCML or fetch error (or warning) recorded for an account.
type Notification struct {
	Sid              string
	AccountSid       string
	CallSid          string
	APIVersion       string
	Log              int // 0 error, 1 warning
	ErrorCode        int
	MoreInfo         string
	MessageText      string
	MessageDate      time.Time
	RequestURL       string
	RequestMethod    string
	RequestVariables string
	ResponseHeaders  string
	ResponseBody     string
	DateCreated      time.Time
	DateUpdated      time.Time
}

// NotificationFilter selects notifications. Empty fields do not filter.
type NotificationFilter struct {
	AccountSid string
	CallSid    string
	Log        *int
	ErrorCode  int
}

// OutboxItem is one pending HTTP callback (call-progress or application
// status callback). It stays in the store until delivered or given up.
type OutboxItem struct {
	ID          string // unique, sortable by enqueue order
	AccountSid  string
	CallSid     string
	URL         string
	Method      string // GET or POST
	Params      url.Values
	Attempts    int
	NextAttempt time.Time
	CreatedAt   time.Time
	LastError   string
}

// Client statuses (upstream renders them as the strings "1" and "0").
const (
	ClientDisabled = 0
	ClientEnabled  = 1
)

// Client is a SIP user agent that registers and places calls with a login
// and a password. Patchbay has one SIP domain, so Login is unique across all
// accounts. The password itself is never stored: only its digest HA1 values,
// which bind it to the login and the SIP domain (digest realm).
type Client struct {
	Sid                 string
	AccountSid          string
	Login               string // unique across the switch; SIP user part and digest username
	FriendlyName        string
	Status              int    // ClientEnabled or ClientDisabled; a disabled client cannot authenticate
	VoiceURL            string // RCML run when this client places a call
	VoiceMethod         string
	VoiceFallbackURL    string
	VoiceFallbackMethod string
	VoiceApplicationSid string // overrides VoiceURL when set
	APIVersion          string
	HA1MD5              string // hex MD5("login:domain:password")
	HA1SHA256           string // hex SHA-256("login:domain:password")
	DateCreated         time.Time
	DateUpdated         time.Time
}

// Registration is one binding made by a SIP REGISTER: a contact at which the
// client with Login can be reached until Expires. A client may have several.
type Registration struct {
	Login       string
	AccountSid  string
	Contact     string    // the Contact URI as the client registered it; identifies the binding
	Source      string    // host:port the REGISTER came from (reach NATed clients here)
	Transport   string    // UDP, TCP, ...
	Expires     time.Time // the binding is gone after this instant
	UserAgent   string
	CallID      string // Call-ID and CSeq of the REGISTER that made or refreshed it,
	CSeq        uint32 // so a reordered older REGISTER cannot overwrite a newer one
	DateUpdated time.Time
}

// Plugin fail modes: what a plugin failure (trap, timeout, memory cap, bad
// output) means for the request it was deciding.
const (
	FailOpen   = "open"   // the request goes ahead as if the plugin allowed it
	FailClosed = "closed" // the request is refused as if the plugin denied it
)

// Plugin is a tenant policy plugin: a WebAssembly module of an account,
// bound to hooks. Its bytes are stored apart, by Hash (PluginModule), so
// identical uploads share them.
type Plugin struct {
	Sid         string
	AccountSid  string
	Name        string            // [A-Za-z0-9_-]{1,64}, unique per account
	Hash        string            // hex sha256 of the module bytes: the version
	Size        int64             // bytes of the module
	Hooks       []string          // hooks it is bound to ("redirect", "hangup")
	FailModes   map[string]string // hook -> FailOpen or FailClosed, one per bound hook
	TimeoutMs   int               // budget of one invocation, as applied (operator-capped)
	MemoryMB    int               // memory cap of one instance, as applied (operator-capped)
	Config      string            // opaque, handed to the plugin with every input
	DateCreated time.Time
	DateUpdated time.Time
}

// Decision verdicts. VerdictError records a plugin failure, whose fail mode
// made the outcome (Decision.FailMode).
const (
	VerdictAllow   = "allow"
	VerdictDeny    = "deny"
	VerdictRewrite = "rewrite"
	VerdictError   = "error"
)

// Decision is the audit record of one plugin's verdict on one request about
// a call. Every invocation, failed or not, leaves one.
type Decision struct {
	Sid              string
	CallSid          string
	AccountSid       string // the call's account (whose audit it is)
	Hook             string // "redirect" or "hangup"
	Plugin           string // the plugin's name
	PluginAccountSid string // the plugin's account: the call's or an ancestor
	Hash             string // the plugin version that decided
	Verdict          string // one of the Verdict* constants
	Reason           string // the plugin's reason, or why a failure denied
	RewriteURL       string // VerdictRewrite only
	RewriteMethod    string
	Error            string // VerdictError only: what failed
	FailMode         string // VerdictError only: the fail mode that applied
	LatencyMicros    int64
	DateCreated      time.Time
}

// Store is the persistence the switch and the API need.
type Store interface {
	CreateAccount(ctx context.Context, a Account) error
	Account(ctx context.Context, sid string) (Account, error)
	// AccountByEmail looks up an account by lower-cased e-mail address.
	AccountByEmail(ctx context.Context, email string) (Account, error)
	UpdateAccount(ctx context.Context, a Account) error
	// ChildAccounts lists the direct children of parentSid, oldest first.
	ChildAccounts(ctx context.Context, parentSid string) ([]Account, error)

	// CreatePhoneNumber fails with ErrExists if another record has the same PhoneNumber.
	CreatePhoneNumber(ctx context.Context, n PhoneNumber) error
	PhoneNumber(ctx context.Context, sid string) (PhoneNumber, error)
	UpdatePhoneNumber(ctx context.Context, n PhoneNumber) error
	DeletePhoneNumber(ctx context.Context, sid string) error
	// PhoneNumbers lists an account's numbers, oldest first.
	PhoneNumbers(ctx context.Context, accountSid string) ([]PhoneNumber, error)
	// MatchPhoneNumber finds the number an inbound INVITE to user part dialed
	// is routed to, by the cascade of restcomm-resources.md §2.6.
	MatchPhoneNumber(ctx context.Context, dialed string) (PhoneNumber, error)

	// CreateClient fails with ErrExists if another client has the same Login
	// (logins are unique across accounts: the switch has one SIP domain).
	CreateClient(ctx context.Context, c Client) error
	Client(ctx context.Context, sid string) (Client, error)
	// ClientByLogin finds a client by its exact (case-sensitive) login.
	ClientByLogin(ctx context.Context, login string) (Client, error)
	UpdateClient(ctx context.Context, c Client) error
	// DeleteClient removes the client and all its registrations.
	DeleteClient(ctx context.Context, sid string) error
	// Clients lists an account's clients, oldest first.
	Clients(ctx context.Context, accountSid string) ([]Client, error)

	// PutRegistration creates or replaces the binding of r.Login to
	// r.Contact; it disappears by itself at r.Expires.
	PutRegistration(ctx context.Context, r Registration) error
	// DeleteRegistration removes one binding (ErrNotFound if there is none).
	DeleteRegistration(ctx context.Context, login, contact string) error
	// Registrations returns login's bindings not yet expired by the wall
	// clock, most recently refreshed first.
	Registrations(ctx context.Context, login string) ([]Registration, error)

	// PutCall creates or replaces a call record.
	PutCall(ctx context.Context, c Call) error
	Call(ctx context.Context, sid string) (Call, error)
	// ListCalls returns one page of the matching calls and the total count.
	ListCalls(ctx context.Context, f CallFilter, s CallSort, p Page) ([]Call, int, error)
	// LiveCalls returns every call whose status is not ended.
	LiveCalls(ctx context.Context) ([]Call, error)

	// PutConference creates or replaces a conference record.
	PutConference(ctx context.Context, c Conference) error
	Conference(ctx context.Context, sid string) (Conference, error)
	// ListConferences returns one page, newest first, and the total count.
	ListConferences(ctx context.Context, f ConferenceFilter, p Page) ([]Conference, int, error)

	// AddRecording stores a new recording; a sid already present gives
	// ErrExists.
	AddRecording(ctx context.Context, r Recording) error
	Recording(ctx context.Context, sid string) (Recording, error)
	// ListRecordings returns one page of the matching recordings in the
	// order s, and the total count.
	ListRecordings(ctx context.Context, f RecordingFilter, s RecordingSort, p Page) ([]Recording, int, error)
	// DeleteRecording removes the record (ErrNotFound if there is none); the
	// audio file is the caller's to remove.
	DeleteRecording(ctx context.Context, sid string) error

	AddNotification(ctx context.Context, n Notification) error
	Notification(ctx context.Context, sid string) (Notification, error)
	// ListNotifications returns one page, newest first, and the total count.
	ListNotifications(ctx context.Context, f NotificationFilter, p Page) ([]Notification, int, error)

	// Enqueue adds an item to the outbox durably (synced to disk).
	Enqueue(ctx context.Context, it OutboxItem) error
	// Due returns up to limit items whose NextAttempt is not after now, oldest first.
	Due(ctx context.Context, now time.Time, limit int) ([]OutboxItem, error)
	// Reschedule records a failed attempt.
	Reschedule(ctx context.Context, it OutboxItem) error
	// Done removes a delivered (or abandoned) item.
	Done(ctx context.Context, id string) error

	// PutPlugin creates or replaces the plugin with p.Sid and stores module
	// (whose sha256 is p.Hash) unless bytes with that hash are stored
	// already. It fails with ErrExists if another plugin of the account has
	// p.Name. Module bytes no plugin uses any more are dropped.
	PutPlugin(ctx context.Context, p Plugin, module []byte) error
	// Plugin finds an account's plugin by name.
	Plugin(ctx context.Context, accountSid, name string) (Plugin, error)
	// Plugins lists an account's plugins in name order.
	Plugins(ctx context.Context, accountSid string) ([]Plugin, error)
	// AllPlugins lists every account's plugins (loaded at start-up).
	AllPlugins(ctx context.Context) ([]Plugin, error)
	// DeletePlugin removes an account's plugin, and its module bytes if no
	// other plugin uses them.
	DeletePlugin(ctx context.Context, accountSid, name string) error
	// PluginModule returns the module bytes stored under hash.
	PluginModule(ctx context.Context, hash string) ([]byte, error)

	// AddDecision records a decision; Decisions lists a call's, in the order
	// they were added.
	AddDecision(ctx context.Context, d Decision) error
	Decisions(ctx context.Context, callSid string) ([]Decision, error)

	// Close flushes and closes the store.
	Close() error
}
