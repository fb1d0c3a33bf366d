package sipuatest

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zaf/g711"
)

// SippToneFile is the raw µ-law file (4 s of 1 kHz) the runner writes into
// sipp's working directory; scenarios stream it with
// <exec rtp_stream="pcmu_tone.ulaw,-1,0"/>.
const SippToneFile = "pcmu_tone.ulaw"

// SippOptions describes one sipp run. Everything binds 127.0.0.1.
type SippOptions struct {
	// Scenario is the path of a scenario XML file (relative to the current
	// directory, e.g. "testdata/uac_waitbye.xml" from switch/e2e).
	Scenario string
	// Builtin names a scenario embedded in sipp (-sn), e.g. "uac" or
	// "uas"; used when Scenario is empty.
	Builtin string
	// Remote is host:port of the peer for a UAC; empty for a UAS.
	Remote string
	// Service is the Request-URI user (-s).
	Service string
	// LocalPort is sipp's SIP port; 0 picks a free one.
	LocalPort int
	// Calls stops sipp after that many calls (-m); 0 means no limit.
	Calls int
	// Rate is calls per second (-r); 0 keeps sipp's default (10).
	Rate float64
	// Limit caps simultaneous calls (-l); 0 keeps sipp's default.
	Limit int
	// Transport is "udp" (default) or "tcp".
	Transport string
	// Duration is the length of <pause/> without a value (-d).
	Duration time.Duration
	// RecvTimeout fails a call whose expected message does not come in
	// time (-recv_timeout).
	RecvTimeout time.Duration
	// Timeout stops sipp after that long (-timeout); RunSipp's ctx also
	// bounds the run.
	Timeout time.Duration
	// NoDefaultBehaviors disables sipp's default behaviors (-nd), e.g. so
	// that a UAC waiting for the switch's BYE never sends its own.
	NoDefaultBehaviors bool
	// RTPEcho echoes RTP received on the media port (-rtp_echo).
	RTPEcho bool
	// TraceMessages writes every SIP message to messages.log (-trace_msg).
	TraceMessages bool
	// ExtraArgs are appended to the command line.
	ExtraArgs []string
}

// SippResult is what a finished sipp run left behind.
type SippResult struct {
	// ExitCode is sipp's: 0 all calls succeeded, 1 at least one failed,
	// 97 stopped by an internal command, 99 no call processed, -1 killed.
	ExitCode int
	// CallSids holds the non-empty values of the scenario's
	// "CALLSID [sid]" log lines, in order.
	CallSids []string
	// LogLines holds every line of the scenario's <log> actions.
	LogLines []string
	// Successful and Failed are the cumulative counters of the last
	// -trace_stat row.
	Successful, Failed int
	// Stats is the last -trace_stat row by column name.
	Stats map[string]string
	// Dir is sipp's working directory (logs, stat CSV, messages).
	Dir string
	// Errors is the content of the error log (-trace_err).
	Errors string
}

// SippProcess is a sipp started in the background (typically a UAS).
type SippProcess struct {
	cmd   *exec.Cmd
	dir   string
	addr  string
	media int
	done  chan struct{}
	err   error // from cmd.Wait, valid after done
}

// Addr returns host:port of sipp's SIP socket.
func (s *SippProcess) Addr() string { return s.addr }

// MediaPort returns sipp's media port (-mp), e.g. where -rtp_echo listens.
func (s *SippProcess) MediaPort() int { return s.media }

// Dir returns sipp's working directory.
func (s *SippProcess) Dir() string { return s.dir }

// RunSipp runs sipp to completion in a fresh temporary directory (removed
// by the caller through Dir, or left for inspection). A non-zero exit code
// is reported in the result, not as an error; errors are for failing to
// start sipp, to read its output, or ctx ending (sipp is killed).
func RunSipp(ctx context.Context, o SippOptions) (*SippResult, error) {
	p, err := StartSipp(ctx, o)
	if err != nil {
		return nil, err
	}
	select {
	case <-p.done:
		return p.result()
	case <-ctx.Done():
		_ = p.cmd.Process.Kill()
		<-p.done
		res, _ := p.result()
		return res, fmt.Errorf("sipp %s: %w", o.name(), ctx.Err())
	}
}

// StartSipp starts sipp and returns once it runs; Stop or Wait must
// follow. ctx kills sipp when it ends.
func StartSipp(ctx context.Context, o SippOptions) (*SippProcess, error) {
	dir, err := os.MkdirTemp("", "sipp-")
	if err != nil {
		return nil, fmt.Errorf("sipp: %w", err)
	}
	if err := writeTone(filepath.Join(dir, SippToneFile)); err != nil {
		return nil, err
	}
	// The ports are found free, then released for sipp to bind: another
	// process on the machine (parallel test packages) can take one in
	// between, and sipp then exits at once ("Unable to bind main socket").
	// Ports this package chose are chosen again, a few times.
	for attempt := 1; ; attempt++ {
		p, err := o.start(ctx, dir)
		if err == nil || !errors.Is(err, errExitedEarly) || o.LocalPort != 0 || attempt == 3 {
			return p, err
		}
	}
}

// errExitedEarly is a sipp UAS that exited before it listened.
var errExitedEarly = errors.New("exited before listening")

// start runs sipp once, in dir.
func (o SippOptions) start(ctx context.Context, dir string) (*SippProcess, error) {
	args, addr, media, err := o.args(dir)
	if err != nil {
		return nil, err
	}
	out, err := os.Create(filepath.Join(dir, "output.log"))
	if err != nil {
		return nil, fmt.Errorf("sipp: %w", err)
	}
	defer out.Close()
	cmd := exec.CommandContext(ctx, "sipp", args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("sipp %s: start: %w", o.name(), err)
	}
	p := &SippProcess{cmd: cmd, dir: dir, addr: addr, media: media, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	if o.Remote == "" {
		// A UAS must be listening before the caller dials it.
		if err := waitUDPBound(ctx, addr, p.done); err != nil {
			_ = cmd.Process.Kill()
			<-p.done
			return nil, fmt.Errorf("sipp %s: %w (see %s)", o.name(), err, filepath.Join(dir, "output.log"))
		}
	}
	return p, nil
}

// Exited reports whether sipp has exited.
func (s *SippProcess) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Wait waits for sipp to exit by itself (e.g. after -m calls).
func (s *SippProcess) Wait(ctx context.Context) (*SippResult, error) {
	select {
	case <-s.done:
		return s.result()
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for sipp: %w", ctx.Err())
	}
}

// Stop asks sipp for a soft exit (SIGUSR1: no new calls, running calls
// finish), then after grace sends SIGTERM, and waits for it to exit.
func (s *SippProcess) Stop(grace time.Duration) (*SippResult, error) {
	select {
	case <-s.done:
		return s.result()
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGUSR1)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-s.done:
	case <-t.C:
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		<-s.done
	}
	return s.result()
}

func (s *SippProcess) result() (*SippResult, error) {
	res := &SippResult{Dir: s.dir, ExitCode: -1}
	var exitErr *exec.ExitError
	switch {
	case s.err == nil:
		res.ExitCode = 0
	case errors.As(s.err, &exitErr):
		res.ExitCode = exitErr.ExitCode()
	default:
		return res, fmt.Errorf("sipp: %w", s.err)
	}
	if b, err := os.ReadFile(filepath.Join(s.dir, "errors.log")); err == nil {
		res.Errors = string(b)
	}
	if err := res.readLog(filepath.Join(s.dir, "logs.log")); err != nil {
		return res, err
	}
	if err := res.readStats(filepath.Join(s.dir, "stat.csv")); err != nil {
		return res, err
	}
	return res, nil
}

func (r *SippResult) readLog(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // the scenario logged nothing
	}
	if err != nil {
		return fmt.Errorf("sipp log: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		r.LogLines = append(r.LogLines, line)
		if sid, ok := strings.CutPrefix(line, "CALLSID "); ok && strings.TrimSpace(sid) != "" {
			r.CallSids = append(r.CallSids, strings.TrimSpace(sid))
		}
	}
	return sc.Err()
}

func (r *SippResult) readStats(path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // sipp died before its first dump
	}
	if err != nil {
		return fmt.Errorf("sipp stats: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 2 {
		return nil
	}
	head := strings.Split(lines[0], ";")
	last := strings.Split(lines[len(lines)-1], ";")
	r.Stats = make(map[string]string, len(head))
	for i, name := range head {
		if i < len(last) && name != "" {
			r.Stats[name] = last[i]
		}
	}
	r.Successful, _ = strconv.Atoi(r.Stats["SuccessfulCall(C)"])
	r.Failed, _ = strconv.Atoi(r.Stats["FailedCall(C)"])
	return nil
}

func (o SippOptions) name() string {
	if o.Scenario != "" {
		return filepath.Base(o.Scenario)
	}
	return o.Builtin
}

// args builds the command line; it picks free ports for SIP, media and the
// control socket (sipp's default control port 8888 would clash between
// parallel runs).
func (o SippOptions) args(dir string) (args []string, addr string, media int, err error) {
	transport, err := transportOf(o.Transport)
	if err != nil {
		return nil, "", 0, err
	}
	switch {
	case o.Scenario != "":
		abs, err := filepath.Abs(o.Scenario)
		if err != nil {
			return nil, "", 0, fmt.Errorf("sipp scenario: %w", err)
		}
		args = append(args, "-sf", abs)
	case o.Builtin != "":
		args = append(args, "-sn", o.Builtin)
	default:
		return nil, "", 0, errors.New("sipp: no scenario")
	}
	if o.Remote != "" {
		args = append([]string{o.Remote}, args...)
	}
	port := o.LocalPort
	if port == 0 {
		if port, err = freePort(transport); err != nil {
			return nil, "", 0, err
		}
	}
	if media, err = freeMediaPorts(); err != nil {
		return nil, "", 0, err
	}
	control, err := freePort("UDP")
	if err != nil {
		return nil, "", 0, err
	}
	args = append(args,
		"-i", "127.0.0.1", "-mi", "127.0.0.1", "-bind_local",
		"-p", strconv.Itoa(port), "-mp", strconv.Itoa(media),
		"-ci", "127.0.0.1", "-cp", strconv.Itoa(control),
		"-nostdin",
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log"),
		"-trace_logs", "-log_file", filepath.Join(dir, "logs.log"),
		"-trace_stat", "-stf", filepath.Join(dir, "stat.csv"), "-fd", "1",
		"-trace_screen", "-screen_file", filepath.Join(dir, "screen.log"),
	)
	if transport == "TCP" {
		args = append(args, "-t", "t1")
	}
	if o.Service != "" {
		args = append(args, "-s", o.Service)
	}
	if o.Calls > 0 {
		args = append(args, "-m", strconv.Itoa(o.Calls))
	}
	if o.Rate > 0 {
		args = append(args, "-r", strconv.FormatFloat(o.Rate, 'f', -1, 64))
	}
	if o.Limit > 0 {
		args = append(args, "-l", strconv.Itoa(o.Limit))
	}
	if o.Duration > 0 {
		args = append(args, "-d", strconv.FormatInt(o.Duration.Milliseconds(), 10))
	}
	if o.RecvTimeout > 0 {
		args = append(args, "-recv_timeout", strconv.FormatInt(o.RecvTimeout.Milliseconds(), 10))
	}
	if o.Timeout > 0 {
		args = append(args, "-timeout", strconv.FormatInt(int64(math.Ceil(o.Timeout.Seconds())), 10)+"s")
	}
	if o.NoDefaultBehaviors {
		args = append(args, "-nd")
	}
	if o.RTPEcho {
		args = append(args, "-rtp_echo")
	}
	if o.TraceMessages {
		args = append(args, "-trace_msg", "-message_file", filepath.Join(dir, "messages.log"))
	}
	args = append(args, o.ExtraArgs...)
	return args, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), media, nil
}

// freePort asks the kernel for a free 127.0.0.1 port (UDP, or TCP and UDP
// both free for TCP, since sipp binds both).
func freePort(transport string) (int, error) {
	for range 20 {
		u, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return 0, fmt.Errorf("find free port: %w", err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		if transport == "TCP" {
			t, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
			if err != nil {
				_ = u.Close()
				continue
			}
			_ = t.Close()
		}
		_ = u.Close()
		return port, nil
	}
	return 0, errors.New("find free port: none after 20 tries")
}

// freeMediaPorts finds an even port P with P..P+5 free: sipp uses P (echo),
// P+2 (video echo) and P+4 (rtp_stream).
func freeMediaPorts() (int, error) {
	for range 50 {
		port, err := freePort("UDP")
		if err != nil {
			return 0, err
		}
		port &^= 1
		if port+5 > 65535 {
			continue
		}
		var held []*net.UDPConn
		ok := true
		for p := port; p < port+6; p++ {
			c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
			if err != nil {
				ok = false
				break
			}
			held = append(held, c)
		}
		for _, c := range held {
			_ = c.Close()
		}
		if ok {
			return port, nil
		}
	}
	return 0, errors.New("find free media ports: none after 50 tries")
}

// waitUDPBound polls until addr is bound by someone else (sipp), sipp
// exits, or ctx ends.
func waitUDPBound(ctx context.Context, addr string, exited <-chan struct{}) error {
	ua, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return err
	}
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		c, err := net.ListenUDP("udp4", ua)
		if err != nil {
			return nil // in use: sipp is listening
		}
		_ = c.Close()
		select {
		case <-exited:
			return errExitedEarly
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return errors.New("not listening after 10 s")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func writeTone(path string) error {
	const seconds, rate, freq = 4, 8000, 1000.0
	pcm := make([]byte, seconds*rate*2)
	for i := range seconds * rate {
		v := int16(8000 * math.Sin(2*math.Pi*freq*float64(i)/rate))
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(v))
	}
	if err := os.WriteFile(path, g711.EncodeUlaw(pcm), 0o644); err != nil {
		return fmt.Errorf("sipp tone file: %w", err)
	}
	return nil
}

// Sipp runs sipp for a test (bounded by the test's deadline, at most 2
// minutes) and fails the test if sipp cannot run. It logs the summary, and
// the error log when the exit code is not 0. The working directory is
// removed at cleanup unless the test failed.
func Sipp(tb testing.TB, o SippOptions) *SippResult {
	tb.Helper()
	ctx, cancel := testDeadline(tb)
	defer cancel()
	res, err := RunSipp(ctx, o)
	if res != nil {
		cleanupDir(tb, res.Dir)
	}
	if err != nil {
		tb.Fatalf("sipp %s: %v", o.name(), err)
	}
	logResult(tb, o.name(), res)
	return res
}

// SippBackground starts sipp for a test (typically a UAS the switch
// dials) and stops it at cleanup if the test did not.
func SippBackground(tb testing.TB, o SippOptions) *SippProcess {
	tb.Helper()
	p, err := StartSipp(context.Background(), o)
	if err != nil {
		tb.Fatalf("sipp %s: %v", o.name(), err)
	}
	cleanupDir(tb, p.dir)
	tb.Cleanup(func() {
		if res, err := p.Stop(2 * time.Second); err == nil {
			logResult(tb, o.name(), res)
		}
	})
	return p
}

func logResult(tb testing.TB, name string, res *SippResult) {
	tb.Logf("sipp %s: exit %d, %d successful, %d failed, call sids %v", name, res.ExitCode, res.Successful, res.Failed, res.CallSids)
	if res.ExitCode != 0 && res.Errors != "" {
		tb.Logf("sipp %s error log:\n%s", name, res.Errors)
	}
}

func cleanupDir(tb testing.TB, dir string) {
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("sipp files kept in %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
}

func testDeadline(tb testing.TB) (context.Context, context.CancelFunc) {
	limit := time.Now().Add(2 * time.Minute)
	if d, ok := tb.(interface{ Deadline() (time.Time, bool) }); ok {
		if dl, ok := d.Deadline(); ok && dl.Before(limit) {
			limit = dl.Add(-time.Second)
		}
	}
	return context.WithDeadline(context.Background(), limit)
}
