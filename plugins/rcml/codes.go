package rcml

// Warning codes. Those from spec §5.3 (and the upstream interpreter, for nested Gather
// prompts) keep Restcomm's numbers; the ones marked "Patchbay" cover attributes upstream
// never reported and follow the same per-verb numbering.
const (
	CodeInvalidURI = 11100 // an attribute or text URL cannot be parsed

	CodeDialMethod           = 13210
	CodeDialTimeout          = 13212
	CodeDialCallerID         = 13214
	CodeDialTimeLimit        = 13216
	CodeDialRecord           = 13217 // Patchbay
	CodeDialNounMethod       = 13221 // Patchbay: Number/Client/Sip method or statusCallbackMethod
	CodeConferenceValue      = 13230 // Patchbay: muted, beep, start/endConferenceOnExit, maxParticipants
	CodeConferenceWaitURL    = 13233
	CodeConferenceWaitMethod = 13234

	CodeGatherFinishOnKey   = 13310
	CodeGatherMethod        = 13312 // Patchbay: method or partialResultCallbackMethod
	CodeGatherTimeout       = 13313
	CodeGatherNumDigits     = 13314
	CodeGatherStartInputKey = 13315
	CodeGatherInput         = 13316 // Patchbay
	CodeGatherSayVoice      = 13321 // upstream, Say nested in Gather
	CodeGatherSayLoop       = 13322 // upstream, Say nested in Gather
	CodeGatherPlayURI       = 13325 // upstream, Play nested in Gather

	CodePlayLoop = 13410
	CodeSayLoop  = 13510
	CodeSayVoice = 13511
	CodeSayText  = 13512 // Patchbay: a <Say> with no text is skipped

	CodeRecordMethod      = 13610
	CodeRecordValue       = 13612 // timeout, maxLength, playBeep, transcribe, media
	CodeRecordFinishOnKey = 13613

	CodeRedirectMethod = 13710
	CodeRejectReason   = 13810 // Patchbay
	CodePauseLength    = 13910
	CodeMessageMethod  = 14100 // Patchbay: Sms and Fax method
)
