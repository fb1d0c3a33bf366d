package rcml

// Plan is a parsed RCML document: the verbs to execute in order and the warnings found
// while validating them. It round-trips through encoding/json; package guest/wire carries it
// across the wasm boundary.
type Plan struct {
	Verbs    []Verb    `json:"verbs"`
	Warnings []Warning `json:"warnings,omitempty"`
}

// Warning is a non-fatal problem in a document, reported with a Restcomm notification
// code (see the Code constants) so it can be stored as an account Notification.
type Warning struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Kind names a verb exactly as it is spelled in RCML.
type Kind string

// Verb kinds that appear in a plan.
const (
	KindPlay     Kind = "Play"
	KindSay      Kind = "Say"
	KindPause    Kind = "Pause"
	KindHangup   Kind = "Hangup"
	KindRedirect Kind = "Redirect"
	KindReject   Kind = "Reject"
	KindDial     Kind = "Dial"
	KindGather   Kind = "Gather"
	KindRecord   Kind = "Record"
	KindSms      Kind = "Sms"
	KindFax      Kind = "Fax"
	KindEmail    Kind = "Email"
)

// Verb is one step of a plan. Exactly the field matching Kind is set (none for Hangup).
type Verb struct {
	Kind     Kind      `json:"kind"`
	Play     *Play     `json:"play,omitempty"`
	Say      *Say      `json:"say,omitempty"`
	Pause    *Pause    `json:"pause,omitempty"`
	Redirect *Redirect `json:"redirect,omitempty"`
	Reject   *Reject   `json:"reject,omitempty"`
	Dial     *Dial     `json:"dial,omitempty"`
	Gather   *Gather   `json:"gather,omitempty"`
	Record   *Record   `json:"record,omitempty"`
	Sms      *Sms      `json:"sms,omitempty"`
	Fax      *Fax      `json:"fax,omitempty"`
	Email    *Email    `json:"email,omitempty"`
}

// HTTP methods a plan uses; every method attribute is normalised to one of them.
const (
	MethodGET  = "GET"
	MethodPOST = "POST"
)

// Play plays an audio file.
type Play struct {
	// URL is absolute when the document URL was absolute.
	URL string `json:"url"`
	// Loop is how many times to play; 0 means until the call ends.
	Loop int `json:"loop"`
}

// Say speaks text with the TTS engine.
type Say struct {
	Text string `json:"text"`
	// Voice is "man" or "woman".
	Voice string `json:"voice"`
	// Language is as written (default "en"); the TTS engine falls back to "en" for
	// languages it does not support, as upstream.
	Language string `json:"language"`
	// Loop is how many times to speak; 0 means until the call ends.
	Loop int `json:"loop"`
}

// Pause waits in silence.
type Pause struct {
	// Length is in seconds.
	Length int `json:"length"`
}

// Redirect replaces the document with the one fetched from URL.
type Redirect struct {
	URL    string `json:"url"`
	Method string `json:"method"`
}

// Reject values.
const (
	RejectRejected = "rejected" // SIP 603 Decline
	RejectBusy     = "busy"     // SIP 486 Busy Here
)

// Reject refuses an unanswered inbound call.
type Reject struct {
	// Reason is RejectRejected or RejectBusy.
	Reason string `json:"reason"`
}

// Gather input modes.
const (
	InputDTMF       = "dtmf"
	InputSpeech     = "speech"
	InputDTMFSpeech = "dtmf speech"
)

// Gather collects DTMF digits or speech while playing its prompts.
type Gather struct {
	// Action is empty when absent: nothing is requested and execution continues.
	Action string `json:"action,omitempty"`
	Method string `json:"method"`
	// Timeout is in seconds.
	Timeout int `json:"timeout"`
	// FinishOnKey is one to twelve of the keys 0-9, * and #.
	FinishOnKey string `json:"finishOnKey"`
	// NumDigits is the digit count that submits the input (32767 means unlimited).
	NumDigits int `json:"numDigits"`
	// StartInputKey lists the keys that start input.
	StartInputKey string `json:"startInputKey"`
	// Input is InputDTMF, InputSpeech or InputDTMFSpeech.
	Input string `json:"input"`
	// Language is the speech recognition language.
	Language                    string   `json:"language"`
	Hints                       []string `json:"hints,omitempty"`
	PartialResultCallback       string   `json:"partialResultCallback,omitempty"`
	PartialResultCallbackMethod string   `json:"partialResultCallbackMethod"`
	// Prompts are the nested Say, Play and Pause verbs, in order.
	Prompts []Verb `json:"prompts,omitempty"`
}

// Record media values.
const (
	MediaAudioOnly  = "audio_only"
	MediaVideoOnly  = "video_only"
	MediaAudioVideo = "audio_video"
)

// Record records the caller.
type Record struct {
	Action string `json:"action,omitempty"`
	Method string `json:"method"`
	// Timeout is the silence, in seconds, that ends the recording.
	Timeout int `json:"timeout"`
	// FinishOnKey lists the keys that end the recording; empty means none does
	// (written "-1" in RCML).
	FinishOnKey string `json:"finishOnKey"`
	// MaxLength is in seconds.
	MaxLength          int    `json:"maxLength"`
	PlayBeep           bool   `json:"playBeep"`
	Transcribe         bool   `json:"transcribe"`
	TranscribeCallback string `json:"transcribeCallback,omitempty"`
	// Media is MediaAudioOnly, MediaVideoOnly or MediaAudioVideo.
	Media string `json:"media"`
}

// Dial modes.
const (
	// DialModeFork calls every target at once; the first to answer is bridged.
	DialModeFork = "fork"
	// DialModeConference joins Conference; any Number, Client or Sip noun was ignored.
	DialModeConference = "conference"
)

// Dial connects the call to another party or to a conference.
type Dial struct {
	// Mode is DialModeFork (Targets is set) or DialModeConference (Conference is set).
	Mode   string `json:"mode"`
	Action string `json:"action,omitempty"`
	Method string `json:"method"`
	// Timeout is the ring time in seconds.
	Timeout int `json:"timeout"`
	// TimeLimit is the longest bridged duration in seconds.
	TimeLimit int `json:"timeLimit"`
	// CallerID is empty when absent: the caller's From is used.
	CallerID string `json:"callerId,omitempty"`
	Record   bool   `json:"record"`
	// FromText is true when Targets came from the <Dial>text</Dial> shortcut.
	FromText   bool        `json:"fromText,omitempty"`
	Targets    []Target    `json:"targets,omitempty"`
	Conference *Conference `json:"conference,omitempty"`
}

// Target kinds (RCML noun names; Uri is folded into Sip).
const (
	TargetNumber = "Number"
	TargetClient = "Client"
	TargetSip    = "Sip"
)

// Target is one party a Dial calls.
type Target struct {
	// Kind is TargetNumber, TargetClient or TargetSip.
	Kind string `json:"kind"`
	// To is the number, the client name (without "client:"), or the SIP URI (with its
	// "sip:" scheme and any ";transport=" parameter), without custom headers.
	To string `json:"to"`
	// Headers are the custom SIP headers written as "?X-A=1&X-B=2" after the target.
	Headers              map[string]string `json:"headers,omitempty"`
	URL                  string            `json:"url,omitempty"`
	Method               string            `json:"method"`
	StatusCallback       string            `json:"statusCallback,omitempty"`
	StatusCallbackMethod string            `json:"statusCallbackMethod"`
	// StatusCallbackEvents is nil when absent: all four events are sent.
	StatusCallbackEvents []string `json:"statusCallbackEvents,omitempty"`
	// Username and Password are digest credentials (Sip only).
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
}

// DefaultConferenceWaitURL is the hold music upstream plays by default. It is a path on
// the switch itself, not relative to the document, so it is left unresolved.
const DefaultConferenceWaitURL = "/restcomm/music/electronica/teru_-_110_Downtempo_Electronic_4.wav"

// Conference is the room a Dial joins.
type Conference struct {
	Name                   string `json:"name"`
	Muted                  bool   `json:"muted"`
	Beep                   bool   `json:"beep"`
	StartConferenceOnEnter bool   `json:"startConferenceOnEnter"`
	EndConferenceOnExit    bool   `json:"endConferenceOnExit"`
	// WaitURL is empty when no music is wanted (waitUrl="").
	WaitURL         string `json:"waitUrl"`
	WaitMethod      string `json:"waitMethod"`
	MaxParticipants int    `json:"maxParticipants"`
}

// Sms sends a text message.
type Sms struct {
	Body           string `json:"body"`
	To             string `json:"to,omitempty"`
	From           string `json:"from,omitempty"`
	Action         string `json:"action,omitempty"`
	Method         string `json:"method"`
	StatusCallback string `json:"statusCallback,omitempty"`
}

// Fax sends a fax.
type Fax struct {
	// Document is the element text (the document or its URL), as written.
	Document       string `json:"document"`
	To             string `json:"to,omitempty"`
	From           string `json:"from,omitempty"`
	Action         string `json:"action,omitempty"`
	Method         string `json:"method"`
	StatusCallback string `json:"statusCallback,omitempty"`
}

// DefaultEmailSubject is the subject of an Email without one.
const DefaultEmailSubject = "Restcomm Email Service"

// Email sends an e-mail.
type Email struct {
	Body    string `json:"body"`
	To      string `json:"to"`
	From    string `json:"from"`
	CC      string `json:"cc,omitempty"`
	BCC     string `json:"bcc,omitempty"`
	Subject string `json:"subject"`
}
