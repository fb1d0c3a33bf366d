package call

import (
	"context"
	"testing"
	"time"

	"github.com/patchbay/patchbay/plugins/rcml"
)

func TestCollectDigits(t *testing.T) {
	g := &rcml.Gather{Timeout: 1, FinishOnKey: "#", NumDigits: 3, StartInputKey: "*0123456789"}
	cases := []struct {
		name string
		keys string
		want string
	}{
		{"numDigits", "1234", "123"},
		{"finishOnKey stripped", "12#", "12"},
		{"only finishOnKey", "#", ""},
		{"key outside startInputKey before input is ignored", "A12#", "12"},
		{"timeout", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			keys := make(chan byte, 8)
			for i := range len(tc.keys) {
				keys <- tc.keys[i]
			}
			prompted := make(chan struct{})
			got := collectDigits(context.Background(), g, keys, func(ctx context.Context) {
				close(prompted)
				if tc.keys != "" {
					<-ctx.Done() // an endless prompt: only a key stops it
				}
			})
			if tc.keys == "" {
				select {
				case <-prompted:
				default:
					t.Fatal("prompts never ran")
				}
			}
			if got != tc.want {
				t.Errorf("collected %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCollectDigitsStopsOnCancel(t *testing.T) {
	g := &rcml.Gather{Timeout: 30, FinishOnKey: "#", NumDigits: 5, StartInputKey: "0123456789"}
	ctx, cancel := context.WithCancel(context.Background())
	keys := make(chan byte, 1)
	keys <- '7'
	time.AfterFunc(50*time.Millisecond, cancel)
	if got := collectDigits(ctx, g, keys, func(context.Context) {}); got != "7" {
		t.Errorf("collected %q before the cancel, want 7", got)
	}
}
