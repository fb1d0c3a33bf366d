package media

import (
	"testing"
	"time"
)

func TestPacerHoldsScheduleAgainstStart(t *testing.T) {
	now := time.Unix(1000, 0)
	p := pacer{now: func() time.Time { return now }, period: FrameDuration}
	if w := p.next(); w != 0 {
		t.Fatalf("first frame waits %v", w)
	}
	// Each wakeup comes 3 ms late; the next wait shrinks to make up for it
	// instead of adding 20 ms to a late start.
	for i := 1; i <= 5; i++ {
		now = time.Unix(1000, 0).Add(time.Duration(i-1)*FrameDuration + 3*time.Millisecond)
		if w := p.next(); w != 17*time.Millisecond {
			t.Fatalf("frame %d waits %v, want 17ms", i, w)
		}
	}
	// A stall longer than maxLag starts a new schedule instead of bursting.
	now = now.Add(500 * time.Millisecond)
	if w := p.next(); w != 0 {
		t.Fatalf("after a stall waits %v, want 0", w)
	}
	if w := p.next(); w != FrameDuration {
		t.Fatalf("frame after the stall waits %v, want one period", w)
	}
	// Slightly behind (within maxLag): catch up by sending at once.
	now = now.Add(2 * FrameDuration)
	if w := p.next(); w > 0 {
		t.Fatalf("behind schedule waits %v", w)
	}
}

func TestEventDetector(t *testing.T) {
	type pkt struct {
		ts     uint32
		marker bool
		event  uint8
		end    bool
	}
	tests := []struct {
		name string
		pkts []pkt
		want int
	}{
		{"interim then three ends", []pkt{{100, true, 5, false}, {100, false, 5, false}, {100, false, 5, true}, {100, false, 5, true}, {100, false, 5, true}}, 1},
		{"only ends (start lost)", []pkt{{100, false, 5, true}, {100, false, 5, true}}, 1},
		{"two presses", []pkt{{100, true, 1, false}, {100, false, 1, true}, {900, true, 1, false}, {900, false, 1, true}}, 2},
		{"replayed capture", []pkt{{100, true, 5, false}, {100, false, 5, true}, {100, true, 5, false}, {100, false, 5, true}}, 2},
		{"late interim after end", []pkt{{100, true, 5, false}, {100, false, 5, true}, {100, false, 5, false}}, 1},
		{"different event, same timestamp", []pkt{{100, true, 5, false}, {100, false, 6, false}}, 2},
	}
	for _, tc := range tests {
		var d eventDetector
		got := 0
		for _, p := range tc.pkts {
			if d.observe(p.ts, p.marker, eventPayload{event: p.event, end: p.end}) {
				got++
			}
		}
		if got != tc.want {
			t.Errorf("%s: %d digits, want %d", tc.name, got, tc.want)
		}
	}
}

func TestDigitEvents(t *testing.T) {
	for i, c := range "0123456789*#ABCD!" {
		d, ok := DigitForEvent(uint8(i))
		if !ok || d != Digit(c) {
			t.Errorf("DigitForEvent(%d) = %c", i, d)
		}
		if e, ok := Digit(c).Event(); !ok || e != uint8(i) {
			t.Errorf("%c.Event() = %d", c, e)
		}
	}
	if e, ok := Digit('b').Event(); !ok || e != 13 {
		t.Errorf("'b'.Event() = %d, %v", e, ok)
	}
	if _, ok := DigitForEvent(17); ok {
		t.Error("event 17 is not a digit")
	}
	b := eventPayload{event: 11, end: true, volume: 10, duration: 800}.marshalTo(make([]byte, 4))
	if e, err := parseEventPayload(b); err != nil || e.event != 11 || !e.end || e.volume != 10 || e.duration != 800 {
		t.Errorf("round trip = %+v, %v", e, err)
	}
	if _, err := parseEventPayload(b[:3]); err == nil {
		t.Error("short payload parsed")
	}
}
