package e2e

import (
	"encoding/binary"
	"math"
	"os"
	"testing"
	"time"

	"github.com/patchbay/patchbay/switch/sipua/sipuatest"
)

// <Play> takes what app servers host: MP3 and WAV at any sample rate reach
// the peer as the same 1 kHz tone, while audio that cannot be fetched or
// decoded is reported (11200) and skipped, and the document goes on.
func TestPlayDecodesMP3AndWAVAtAnyRateAndSkipsBadAudio(t *testing.T) {
	sw := startSwitch(t)
	app := newAppServer(t)
	mp3, err := os.ReadFile("../audio/testdata/tone1k-44100-mono.mp3")
	if err != nil {
		t.Fatal(err)
	}
	app.set("/tone.mp3", appRoute{status: 200, contentType: "audio/mpeg", body: mp3})
	app.set("/tone44k.wav", appRoute{status: 200, contentType: "audio/wav", body: toneWAVAt(44100, time.Second, 1000)})
	app.set("/missing.wav", appRoute{status: 404, contentType: "text/plain", body: []byte("no such file")})
	app.set("/corrupt.wav", appRoute{status: 200, contentType: "audio/wav", body: []byte("RIFF\x10\x00\x00\x00WAVEjunk, not audio")})
	app.rcml("/app", `<Response>`+
		`<Play>`+app.URL("/missing.wav")+`</Play>`+
		`<Play>`+app.URL("/corrupt.wav")+`</Play>`+
		`<Play>`+app.URL("/tone.mp3")+`</Play>`+
		`<Play>`+app.URL("/tone44k.wav")+`</Play>`+
		`<Hangup/></Response>`)
	sw.provision("410", app.URL("/app"), nil)
	peer := sipuatest.NewPeer(t)
	c := dial(t, sw, peer, "410")
	c.Listen(1000, 440)
	sid := c.Header("X-RestComm-CallSid")
	if err := c.WaitBye(ctxT(t, 15*time.Second)); err != nil {
		t.Fatalf("the document did not reach <Hangup/> past the bad audio: %v", err)
	}
	levels, voiced := c.Heard()
	// 1 s of MP3 and 1 s of WAV: 50 blocks of 40 ms, give or take the
	// decoders' edges.
	if voiced < 42 || voiced > 58 {
		t.Errorf("voiced audio %d blocks of 40 ms, want about 50 (2 s)", voiced)
	}
	if levels[0] < 0.7 || levels[1] > 0.1 {
		t.Errorf("1 kHz share %.2f (want most of the audio), 440 Hz share %.2f (want none)", levels[0], levels[1])
	}
	codes := notificationCodes(t, sw, sid)
	if _, ok := codes["11200"]; !ok {
		t.Errorf("no 11200 notification for the bad audio; have %v", codes)
	}
}

// toneWAVAt is a mono PCM16 WAV of a sine tone at the given sample rate,
// as a CD-quality or studio file an app server would host.
func toneWAVAt(rate int, d time.Duration, hz float64) []byte {
	n := int(d.Seconds() * float64(rate))
	b := make([]byte, 44+2*n)
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1) // PCM
	binary.LittleEndian.PutUint16(b[22:], 1) // mono
	binary.LittleEndian.PutUint32(b[24:], uint32(rate))
	binary.LittleEndian.PutUint32(b[28:], uint32(2*rate))
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*n))
	for i := range n {
		v := int16(12000 * math.Sin(2*math.Pi*hz*float64(i)/float64(rate)))
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(v))
	}
	return b
}
