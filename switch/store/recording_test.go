package store

import (
	"path/filepath"
	"testing"
)

func TestRecordingFileURL(t *testing.T) {
	const acct, re = "AC0123456789abcdef0123456789abcdef", "RE0123456789abcdef0123456789abcdef"
	want := "https://pbx.example.com:8443/restcomm/2012-04-24/Accounts/" + acct + "/Recordings/" + re + ".wav"
	for _, base := range []string{"https://pbx.example.com:8443", "https://pbx.example.com:8443/"} {
		if got := RecordingFileURL(base, acct, re); got != want {
			t.Errorf("RecordingFileURL(%q) = %q, want %q", base, got, want)
		}
	}
	if got := RecordingFileURL("", acct, re); got != "/restcomm/2012-04-24/Accounts/"+acct+"/Recordings/"+re+".wav" {
		t.Errorf("RecordingFileURL without a base = %q, want the path alone", got)
	}
}

func TestRecordingPath(t *testing.T) {
	const re = "RE0123456789abcdef0123456789abcdef"
	if got, want := RecordingPath("/var/lib/patchbay/recordings", re), filepath.Join("/var/lib/patchbay/recordings", re+".wav"); got != want {
		t.Errorf("RecordingPath = %q, want %q", got, want)
	}
}
