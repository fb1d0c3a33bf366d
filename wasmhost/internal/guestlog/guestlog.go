// Package guestlog turns what a guest writes to stdout or stderr into log
// records, one per line, tagged with the plugin and the call being served,
// and bounded per invocation so a chatty guest cannot flood the log.
package guestlog

import (
	"bytes"
	"context"
	"log/slog"
)

// maxLine bounds one record's text; longer lines are cut.
const maxLine = 1024

// Writer is the stdout or stderr of one guest instance. It is used by one
// goroutine at a time: the one running the guest, which calls Begin before
// a call into the guest and End after it.
type Writer struct {
	logger  *slog.Logger
	stream  string
	budget  int // bytes a single invocation may log
	plugin  string
	callSid string
	line    []byte
	used    int
	dropped int
}

// New returns a Writer logging to logger as stream ("stdout" or "stderr"),
// at most budget bytes per invocation.
func New(logger *slog.Logger, stream string, budget int) *Writer {
	return &Writer{logger: logger, stream: stream, budget: budget}
}

// Begin starts an invocation on behalf of plugin and callSid (may be empty).
func (w *Writer) Begin(plugin, callSid string) {
	w.plugin, w.callSid = plugin, callSid
	w.line, w.used, w.dropped = w.line[:0], 0, 0
}

// Write logs every complete line of p and keeps the rest for the next
// write. It never fails, so the guest never sees an error for logging.
func (w *Writer) Write(p []byte) (int, error) {
	n := len(p)
	if room := w.budget - w.used; len(p) > room {
		w.dropped += len(p) - max(room, 0)
		p = p[:max(room, 0)]
	}
	w.used += len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.line = append(w.line, p[:min(len(p), maxLine-len(w.line))]...)
			break
		}
		w.line = append(w.line, p[:min(i, maxLine-len(w.line))]...)
		w.emit()
		p = p[i+1:]
	}
	return n, nil
}

// End logs what is left of the invocation's output, and how much was cut.
func (w *Writer) End() {
	if len(w.line) > 0 {
		w.emit()
	}
	if w.dropped > 0 {
		w.logger.LogAttrs(context.Background(), slog.LevelWarn, "guest output over budget, dropped",
			slog.String("plugin", w.plugin), slog.String("call_sid", w.callSid),
			slog.String("stream", w.stream), slog.Int("bytes", w.dropped))
		w.dropped = 0
	}
}

func (w *Writer) emit() {
	w.logger.LogAttrs(context.Background(), slog.LevelInfo, string(w.line),
		slog.String("plugin", w.plugin), slog.String("call_sid", w.callSid),
		slog.String("stream", w.stream))
	w.line = w.line[:0]
}
