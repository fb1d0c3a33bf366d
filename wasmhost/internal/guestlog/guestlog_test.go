package guestlog

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func records(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("bad record %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestLinesAreTaggedAndSplit(t *testing.T) {
	var buf bytes.Buffer
	w := New(slog.New(slog.NewJSONHandler(&buf, nil)), "stderr", 1000)
	w.Begin("acme", "CA1")
	w.Write([]byte("hello "))
	w.Write([]byte("world\nsecond"))
	w.End()
	recs := records(t, &buf)
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2: %v", len(recs), recs)
	}
	if recs[0]["msg"] != "hello world" || recs[1]["msg"] != "second" {
		t.Errorf("messages = %q, %q", recs[0]["msg"], recs[1]["msg"])
	}
	for _, r := range recs {
		if r["plugin"] != "acme" || r["call_sid"] != "CA1" || r["stream"] != "stderr" {
			t.Errorf("record not tagged: %v", r)
		}
	}
}

func TestBudgetPerInvocation(t *testing.T) {
	var buf bytes.Buffer
	w := New(slog.New(slog.NewJSONHandler(&buf, nil)), "stdout", 10)
	w.Begin("acme", "CA1")
	n, err := w.Write([]byte(strings.Repeat("x", 100) + "\n"))
	if n != 101 || err != nil {
		t.Fatalf("Write = %d, %v; the guest must see a full write", n, err)
	}
	w.End()
	recs := records(t, &buf)
	if len(recs) != 2 || recs[0]["msg"] != "xxxxxxxxxx" || recs[1]["bytes"] != float64(91) {
		t.Fatalf("records = %v", recs)
	}
	buf.Reset()
	w.Begin("acme", "CA2")
	w.Write([]byte("again\n"))
	w.End()
	if recs := records(t, &buf); len(recs) != 1 || recs[0]["call_sid"] != "CA2" {
		t.Fatalf("budget not reset by Begin: %v", recs)
	}
}
