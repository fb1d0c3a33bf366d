package sipuatest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// tbHandler writes log records to a testing.TB until it is detached.
// Goroutines of sipgo (its timers) may log after a test has finished, and
// t.Log then panics; detach, called by Peer.Close, closes that window.
type tbHandler struct {
	state *tbState
	level slog.Level
	attrs []slog.Attr
	group string
}

type tbState struct {
	mu       sync.RWMutex
	tb       testing.TB
	detached bool
}

func newTBLogger(tb testing.TB, level slog.Level) (*slog.Logger, func()) {
	st := &tbState{tb: tb}
	detach := func() {
		st.mu.Lock()
		st.detached = true
		st.mu.Unlock()
	}
	return slog.New(&tbHandler{state: st, level: level}), detach
}

func (h *tbHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *tbHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String())
	b.WriteByte(' ')
	b.WriteString(r.Message)
	write := func(a slog.Attr) bool {
		key := a.Key
		if h.group != "" {
			key = h.group + "." + key
		}
		fmt.Fprintf(&b, " %s=%v", key, a.Value)
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	h.state.mu.RLock()
	defer h.state.mu.RUnlock()
	if !h.state.detached {
		h.state.tb.Log(b.String())
	}
	return nil
}

func (h *tbHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &n
}

func (h *tbHandler) WithGroup(name string) slog.Handler {
	n := *h
	if n.group != "" {
		name = n.group + "." + name
	}
	n.group = name
	return &n
}
