package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func freePort(t *testing.T) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// The binary starts on a fresh data directory, prints a generated account,
// answers /health, keeps the account across a restart, and stops cleanly
// on SIGTERM.
func TestBinaryStartsPrintsAccountAndStopsOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "patchbay")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	run := func() (sid, token string) {
		httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		cmd := exec.Command(bin, "--http", httpAddr, "--rtp-ports", "38000-38099", "--data", filepath.Join(dir, "data"))
		cmd.Env = append(os.Environ(), fmt.Sprintf("PATCHBAY_SIP=127.0.0.1:%d", freePort(t)))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 32)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		deadline := time.After(20 * time.Second)
		for sid == "" || token == "" {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("binary exited early: %s", stderr.String())
				}
				if v, ok := strings.CutPrefix(strings.TrimSpace(l), "AccountSid:"); ok {
					sid = strings.TrimSpace(v)
				}
				if v, ok := strings.CutPrefix(strings.TrimSpace(l), "AuthToken:"); ok {
					token = strings.TrimSpace(v)
				}
			case <-deadline:
				cmd.Process.Kill()
				t.Fatalf("no account printed: %s", stderr.String())
			}
		}
		res, err := http.Get("http://" + httpAddr + "/health")
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("/health: %v %v", err, res)
		}
		res.Body.Close()
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
			}
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			t.Fatal("no exit within 15 s of SIGTERM")
		}
		if !strings.Contains(stderr.String(), "patchbay stopped") {
			t.Errorf("no clean-stop log line: %s", stderr.String())
		}
		return sid, token
	}
	sid, token := run()
	if !strings.HasPrefix(sid, "AC") || len(sid) != 34 || len(token) != 32 {
		t.Fatalf("printed account %q / %q", sid, token)
	}
	sid2, token2 := run()
	if sid2 != sid || token2 != token {
		t.Errorf("account changed across a restart: %s/%s then %s/%s", sid, token, sid2, token2)
	}
}
