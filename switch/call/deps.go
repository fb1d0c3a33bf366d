package call

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"time"

	"github.com/patchbay/patchbay/plugins/rcml"
	"github.com/patchbay/patchbay/switch/policy"
	"github.com/patchbay/patchbay/switch/sdp"
	"github.com/patchbay/patchbay/switch/store"
	"github.com/patchbay/patchbay/switch/webhook"
)

// Media is one leg's RTP endpoint on the switch. The call actor is its only
// user; Play may run on a step goroutine while the actor calls SetMuted.
type Media interface {
	// LocalPort is the RTP port put in our SDP.
	LocalPort() int
	// SetRemote sets where to send and which payload types to use, from the
	// outcome of the SDP offer/answer.
	SetRemote(n sdp.Negotiated)
	// Play streams audio until it ends (loop times, 0 = forever) or ctx ends.
	Play(ctx context.Context, audio Audio, loop int) error
	// SetMuted stops (or resumes) forwarding what this leg sends.
	SetMuted(muted bool)
	// Bridge relays audio and RFC 4733 events between this leg and other
	// (transcoding if their codecs differ) until the returned Bridge stops.
	Bridge(other Media) (Bridge, error)
	// SetDigitHandler sets who receives the RFC 4733 keys the peer sends
	// (nil: nobody). The handler runs on the media's receive goroutine and
	// must not block.
	SetDigitHandler(f func(digit byte))
	// Record writes what this leg's peer says (mixed with what with's peer
	// says, when with is not nil) into a new WAV file at path until the
	// Recording stops. With silence > 0, onSilence is called after that
	// long without speech; it is also called if writing the file fails
	// (Stop then reports the error), so a waiting verb does not wait for a
	// silence that a stopped recorder can no longer notice. It may be
	// called more than once.
	Record(path string, with Media, silence time.Duration, onSilence func()) (Recording, error)
	// Close releases the port; the Media must not be used afterwards.
	Close() error
}

// Recording is a running recording of one or two legs.
type Recording interface {
	// Stop ends the recording (idempotent), completes the file and returns
	// the length recorded.
	Stop() (time.Duration, error)
}

// Bridge is a running relay between two legs. Stop is idempotent and safe
// from any goroutine; both legs hold it so either can leave.
type Bridge interface {
	Stop()
}

// VerbPolicy runs tenant plugins before an RCML verb takes effect.
type VerbPolicy interface {
	RedirectVerb(ctx context.Context, chain []string, c store.Call, r policy.RedirectRequest) (policy.Outcome, error)
	// Binds reports whether any tenant bound a plugin to hook.
	Binds(hook string) bool
}

// ConferenceHub runs the conference rooms of the switch.
type ConferenceHub interface {
	// Join puts the leg's media into the account's room spec.Name. onEnd is
	// called (from another goroutine, at most once) when the conference
	// ends for this participant without it leaving (endConferenceOnExit of
	// another participant). It fails with ErrConferenceFull at
	// maxParticipants.
	Join(m Media, spec JoinSpec, onEnd func()) (Membership, error)
}

// ErrConferenceFull: the room has maxParticipants already; the Conference
// is skipped and the next verb runs.
var ErrConferenceFull = errors.New("call: conference is full")

// JoinSpec is a <Conference> noun as the hub needs it.
type JoinSpec struct {
	AccountSid, Name       string
	Muted, Beep            bool
	StartConferenceOnEnter bool
	EndConferenceOnExit    bool
	MaxParticipants        int
	// Wait is played while the participant waits for a moderator; nil
	// means the switch's own hold tone, NoWait silence.
	Wait   Audio
	NoWait bool
}

// Membership is a participant's place in a room.
type Membership interface {
	ConferenceSid() string
	OnHold() bool
	SetMuted(muted bool)
	// Leave takes the participant out (idempotent); the room goes on.
	Leave()
}

// BranchSpawner places the outbound legs of a <Dial>: it resolves a target
// (number, client, SIP URI) to destinations and starts one child call per
// destination, each reporting to parent.
type BranchSpawner interface {
	SpawnBranches(parent *Call, spec BranchSpec) ([]*Call, error)
}

// BranchSpec is one <Dial> noun of a parent call.
type BranchSpec struct {
	Target rcml.Target
	// From is the caller id shown to the callee.
	From           string
	TimeoutSeconds int
}

// Audio is decoded audio ready to be played on any leg.
type Audio interface {
	// Duration is the playing time of one loop.
	Duration() time.Duration
}

// MediaFactory allocates RTP endpoints from the switch's port pool.
type MediaFactory interface {
	NewMedia() (Media, error)
	// LoadAudio fetches (or takes from a cache) and decodes the audio at url.
	LoadAudio(ctx context.Context, url string) (Audio, error)
	// Beep is the tone <Record playBeep> plays.
	Beep() Audio
}

// Speech turns <Say> text into audio.
type Speech interface {
	Speak(ctx context.Context, r SpeechRequest) (SpeechResult, error)
}

// SpeechRequest is one <Say>.
type SpeechRequest struct {
	Text, Voice, Language string
}

// SpeechResult is synthesized speech. Language is what was spoken: the
// engine falls back to English for a language it does not have.
type SpeechResult struct {
	Audio    Audio
	Language string
	FellBack bool
}

// Interpreter turns a fetched RCML response into a plan. It is the sandboxed
// RCML handler in production and may be the native parser in tests.
type Interpreter interface {
	Handle(ctx context.Context, doc rcml.Document) (*rcml.Plan, error)
}

// Fetcher fetches RCML documents.
type Fetcher interface {
	Fetch(ctx context.Context, r webhook.FetchRequest) (webhook.Document, error)
}

// Outbox queues HTTP callbacks durably.
type Outbox interface {
	Enqueue(ctx context.Context, it store.OutboxItem) error
}

// Deps are what every call shares with the switch.
type Deps struct {
	Store       store.Store
	Media       MediaFactory
	Interpreter Interpreter
	Fetcher     Fetcher
	Outbox      Outbox
	// Branches places <Dial> legs; nil makes <Dial> end the call with a notification.
	Branches BranchSpawner
	// Conferences runs <Dial><Conference>; nil ends such calls with a notification.
	Conferences ConferenceHub
	// Policy decides on RCML <Redirect>s with the tenants' plugins bound to
	// them; nil allows every one.
	Policy VerbPolicy
	// Speech speaks <Say>; nil means the switch has no text-to-speech engine:
	// each <Say> is then skipped with a notification.
	Speech Speech
	// RecordingsDir is where recordings are written, as <sid>.wav.
	RecordingsDir string
	// RecordingURL is the absolute URL of a recording's audio, for the
	// RecordingUrl parameter.
	RecordingURL func(accountSid, recordingSid string) string
	// MediaIP is the address put in our SDP.
	MediaIP netip.Addr
	// SIPHost is the host of our SIP URIs.
	SIPHost string
	Log     *slog.Logger
	// Ended is called once, from the call's goroutine, after the call ended
	// and its final record was written.
	Ended func(c *Call)
	Now   func() time.Time
}
