package server

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
)

// publicURL is the configured base URL, with the port the REST API really
// listens on when it was configured as 0.
func publicURL(configured string, ln net.Addr) string {
	u, err := url.Parse(configured)
	if err != nil || u.Port() != "0" {
		return configured
	}
	_, port, _ := net.SplitHostPort(ln.String())
	u.Host = net.JoinHostPort(u.Hostname(), port)
	return u.String()
}

// openRecordingsDir makes sure the recordings directory exists: the
// configured one, DataDir/recordings, or a temporary one for an in-memory
// switch (removed at shutdown, like the rest of its state).
func (s *Server) openRecordingsDir() error {
	dir := s.cfg.RecordingsDir
	switch {
	case dir != "":
	case s.cfg.InMemory:
		tmp, err := os.MkdirTemp("", "patchbay-recordings-")
		if err != nil {
			return fmt.Errorf("recordings directory: %w", err)
		}
		s.recordingsDir, s.removeRecordings = tmp, true
		return nil
	default:
		dir = filepath.Join(s.cfg.DataDir, "recordings")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("recordings directory %s: %w", dir, err)
	}
	s.recordingsDir = dir
	return nil
}

// closeRecordingsDir removes a temporary recordings directory.
func (s *Server) closeRecordingsDir() {
	if s.removeRecordings {
		if err := os.RemoveAll(s.recordingsDir); err != nil {
			s.log.Warn("removing the temporary recordings directory", "err", err)
		}
	}
}
