package call

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/plugins/rcml"
	"github.com/patchbay/patchbay/switch/store/badgerstore"
)

var errDiskFull = errors.New("write: no space left on device")

// failingMedia records into a file that stops growing: its recorder
// reports the write failure through the callback, as server.legMedia's
// does, and Stop returns the error with what was written.
type failingMedia struct {
	Media   // only Record is used
	written time.Duration
}

func (m failingMedia) Record(path string, _ Media, _ time.Duration, onStop func()) (Recording, error) {
	if err := os.WriteFile(path, []byte("RIFF"), 0o600); err != nil {
		return nil, err
	}
	go onStop()
	return failedRecording{m.written}, nil
}

type failedRecording struct{ written time.Duration }

func (r failedRecording) Stop() (time.Duration, error) { return r.written, errDiskFull }

func runRecorder(t *testing.T, r recorder) (*recordResult, error) {
	t.Helper()
	res := &recordResult{verb: &rcml.Record{MaxLength: 3600, Timeout: 3600, FinishOnKey: "#"}}
	done := make(chan error, 1)
	go func() { done <- r.run(context.Background(), res, make(chan byte)) }()
	select {
	case err := <-done:
		return res, err
	case <-time.After(30 * time.Second): // a hang guard, not a timing check
		t.Fatal("<Record> still waits after its recorder failed (it would wait for maxLength, an hour)")
		return nil, nil
	}
}

// A disk that fills up ends the <Record> at once, and what was written is
// kept, listed and reported.
func TestRecordWriteFailureEndsTheVerbAndKeepsWhatWasWritten(t *testing.T) {
	st, err := badgerstore.Open(badgerstore.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dir := t.TempDir()
	r := recorder{media: failingMedia{written: 2 * time.Second}, store: st, log: slog.New(slog.DiscardHandler),
		dir: dir, accountSid: "AC00000000000000000000000000000001", callSid: "CA00000000000000000000000000000001", now: time.Now}
	res, err := runRecorder(t, r)
	if !errors.Is(err, errDiskFull) || !strings.Contains(err.Error(), "kept 2.0 s") {
		t.Fatalf("run error %v, want the write failure with what was kept", err)
	}
	if res.sid == "" || res.duration != 2*time.Second {
		t.Fatalf("result %+v, want the 2 s written listed", res)
	}
	if got, err := st.Recording(context.Background(), res.sid); err != nil || got.Duration != 2 {
		t.Errorf("stored recording %+v, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(dir, res.sid+".wav")); err != nil {
		t.Errorf("the kept file: %v", err)
	}
}

// A recording the store cannot list is removed: nobody could download or
// delete it.
func TestRecordNotListedIsRemoved(t *testing.T) {
	st, err := badgerstore.Open(badgerstore.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	st.Close() // every write fails from here on
	dir := t.TempDir()
	r := recorder{media: failingMedia{written: time.Second}, store: st, log: slog.New(slog.DiscardHandler),
		dir: dir, accountSid: "AC00000000000000000000000000000001", callSid: "CA00000000000000000000000000000001", now: time.Now}
	_, err = runRecorder(t, r)
	if err == nil || !strings.Contains(err.Error(), "listing recording") {
		t.Fatalf("run error %v, want the listing failure", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("files left behind: %v", left)
	}
}
