// Package tts turns the text of an RCML <Say> into 8 kHz audio the media
// engine plays.
//
// A Provider synthesizes speech with one engine and returns an audio file at
// whatever rate the engine produces. Two ship here: Espeak runs the espeak-ng
// binary (Debian package espeak-ng), and HTTP fetches the audio from a
// text-to-speech service the operator runs, so a better engine can be plugged
// in without changing the switch. New picks one from the switch's
// configuration, or reports ErrNoEngine.
//
// A Cache sits in front of a provider: it resolves the RCML voice and
// language (an unsupported language falls back to "en", and the result says
// so, so that the call layer can record the warning notification), decodes
// and resamples the audio to an 8 kHz media.Clip with the decoder it is given,
// and keeps clips in memory, least recently used dropped beyond a byte budget,
// keyed by engine, voice, language and text. A Cache without a provider fails
// every Say with ErrNoEngine: the switch never silently plays nothing.
//
// # Languages
//
// The languages are those Restcomm documents for <Say>, as codes: bf (French,
// Belgium), bp (Portuguese, Brazil), en (English, US), en-gb, cf (French,
// Canada), cs, dan (Danish), fi, es, fr, de, el, it, nl, no (Norwegian), pl,
// pt, ru, ar, ca, sv and tr. The common BCP 47 spellings of the odd ones are
// accepted too (fr-be, pt-br, en-us, fr-ca, da, nb) and mean the same. Case
// does not matter. Voices are "man" (the default) and "woman".
//
// # The HTTP text-to-speech contract
//
// Operators implement this to plug in an engine. For each text not already
// cached, the switch sends
//
//	POST <url>
//	Content-Type: application/x-www-form-urlencoded
//	User-Agent: Patchbay/<version>
//
//	Text=<UTF-8 text>&Voice=man|woman&Language=<code>
//
// where Language is one of the codes above, in lower case and in the
// Restcomm spelling (bf, bp, cf, dan, no rather than their BCP 47 aliases).
// User info in the URL (http://user:secret@host/tts) is sent as HTTP Basic
// credentials. The service answers 200 with the audio as the body and a
// Content-Type of audio/wav (audio/wave, audio/x-wav and audio/vnd.wave are
// accepted too): a RIFF/WAVE file of mono or stereo 16-bit PCM, or 8 kHz
// G.711, at any sample rate (the switch resamples it to 8 kHz). audio/mpeg is
// accepted and handed to the decoder, which plays it only if it can decode
// MP3. Any other status or content type is an error, reported with the status
// and the start of the body; the switch does not retry, and records a
// notification for the <Say>. Each request is bounded by a timeout (10 s by
// default) and the body by a size (16 MiB by default).
package tts
