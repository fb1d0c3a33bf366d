package media

import (
	"testing"
	"time"
)

func TestToneWAVDecodesToTheTone(t *testing.T) {
	clip, err := DecodeWAV(ToneWAV(400*time.Millisecond, 1000, 8000))
	if err != nil {
		t.Fatal(err)
	}
	if clip.Duration() != 400*time.Millisecond {
		t.Fatalf("duration %v", clip.Duration())
	}
	src, err := clip.Source(PCMU)
	if err != nil {
		t.Fatal(err)
	}
	det := NewToneDetector(1000, 440)
	frame := make([]byte, FrameSamples)
	for src.ReadFrame(frame) == nil {
		det.WriteG711(PCMU, frame)
	}
	if det.Level(0) < 0.9 || det.Level(1) > 0.05 {
		t.Fatalf("levels 1000 Hz %.2f, 440 Hz %.2f", det.Level(0), det.Level(1))
	}
}
