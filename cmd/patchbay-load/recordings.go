package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/patchbay/patchbay/switch/media"
	"github.com/patchbay/patchbay/switch/server"
	"github.com/patchbay/patchbay/switch/sipua/sipuatest"
)

// toneHz is what the recording peers send: the recordings are checked for
// it.
const toneHz = 1000

// toneRun is one round of n calls that each send a tone for a while.
type toneRun struct {
	calls  []toneCall
	cpu    float64       // process CPU seconds while the tones ran
	wall   time.Duration // how long the tones ran
	heap   uint64        // Go heap in use at the end of the tones
	setup  time.Duration // placing the n calls
	hangup []time.Duration
}

type toneCall struct {
	call     *sipuatest.Call
	sid      string
	answered time.Time
	hungUp   time.Time // when the REST hangup was posted
}

// concurrentRecordings measures what n concurrent <Record> calls cost: the
// same n calls sending a tone for d, first into <Pause> after a 100 ms
// <Play> that answers (the switch drops the audio) and then into <Record>; the difference is the recorders'.
// Then it checks the recordings the switch listed and wrote.
func concurrentRecordings(api *client, srv *server.Server, sipAddr, recDir string, n int, d time.Duration) error {
	peer, err := sipuatest.New()
	if err != nil {
		return fmt.Errorf("recording peer: %w", err)
	}
	defer peer.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute+2*d)
	defer cancel()

	base, err := toneCalls(ctx, api, srv, peer, "sip:4100@"+sipAddr, n, d)
	if err != nil {
		return fmt.Errorf("baseline (<Pause>): %w", err)
	}
	rec, err := toneCalls(ctx, api, srv, peer, "sip:4000@"+sipAddr, n, d)
	if err != nil {
		return fmt.Errorf("recording: %w", err)
	}
	callSeconds := func(r toneRun) float64 { return float64(len(r.calls)) * r.wall.Seconds() }
	fmt.Printf("\n## Concurrent recordings: %d calls, each sending %d Hz PCMU for %v\n", n, toneHz, d)
	for _, r := range []struct {
		name string
		run  toneRun
	}{{"<Pause> (baseline: switch receives, drops)", base}, {"<Record>", rec}} {
		fmt.Printf("%-45s CPU %.1f s in %.1f s wall = %.0f%% of one core, %.3f ms CPU per call-second; live heap %.1f MiB; set-up %v; hangup POST -> BYE %s\n",
			r.name, r.run.cpu, r.run.wall.Seconds(), 100*r.run.cpu/r.run.wall.Seconds(), 1000*r.run.cpu/callSeconds(r.run),
			float64(r.run.heap)/(1<<20), r.run.setup.Round(time.Millisecond), summary(r.run.hangup))
	}
	extra := rec.cpu/callSeconds(rec) - base.cpu/callSeconds(base)
	fmt.Printf("recording's own cost (Record minus baseline): %.3f ms CPU per recorded call-second = %.2f%% of one core per recording, i.e. ~%.0f concurrent recordings per core on this box\n",
		1000*extra, 100*extra, 1/math.Max(extra, 1e-9))
	fmt.Printf("live heap with %d recordings minus baseline: %.1f MiB (%.1f KiB per recording)\n",
		n, (float64(rec.heap)-float64(base.heap))/(1<<20), (float64(rec.heap)-float64(base.heap))/1024/float64(n))
	fmt.Printf("note: the peers generate their tones in the same process on the same %d cores; the baseline carries their cost and the switch's RTP reading, so the difference is the recorders' (±noise)\n", runtime.NumCPU())
	return checkRecordings(api, recDir, rec, d)
}

// toneCalls places n calls to uri, has every peer send the tone for d at
// once, then hangs each up through the REST API.
func toneCalls(ctx context.Context, api *client, srv *server.Server, peer *sipuatest.Peer, uri string, n int, d time.Duration) (toneRun, error) {
	var r toneRun
	began := time.Now()
	for i := range n {
		c, err := peer.Invite(ctx, uri, sipuatest.InviteOptions{})
		if err != nil {
			return r, fmt.Errorf("call %d: %w", i, err)
		}
		if c.FinalCode() != 200 {
			return r, fmt.Errorf("call %d: final response %d", i, c.FinalCode())
		}
		r.calls = append(r.calls, toneCall{call: c, sid: c.Header("X-RestComm-CallSid"), answered: time.Now()})
	}
	r.setup = time.Since(began)
	time.Sleep(500 * time.Millisecond) // every call is in its verb

	var ms runtime.MemStats
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	began = time.Now()
	errs := make([]error, len(r.calls))
	var wg sync.WaitGroup
	for i, tc := range r.calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = tc.call.SendTone(ctx, toneHz, d)
		}()
	}
	wg.Wait()
	r.wall = time.Since(began)
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	// A forced collection, after the CPU is taken, so the two rounds'
	// heaps compare live data rather than where each GC cycle happened to be.
	runtime.GC()
	runtime.ReadMemStats(&ms)
	r.cpu, r.heap = cpuSeconds(ru1)-cpuSeconds(ru0), ms.HeapAlloc
	if err := errors.Join(errs...); err != nil {
		return r, fmt.Errorf("sending tones: %w", err)
	}

	for i := range r.calls {
		tc := &r.calls[i]
		tc.hungUp = time.Now()
		if code, body := api.post("/Calls/"+tc.sid+".json", url.Values{"Status": {"completed"}}); code != 200 {
			return r, fmt.Errorf("hangup %s: %d %s", tc.sid, code, body)
		}
		if err := tc.call.WaitBye(ctx); err != nil {
			return r, fmt.Errorf("hangup %s: no BYE: %w", tc.sid, err)
		}
		r.hangup = append(r.hangup, tc.call.ByeReceivedAt().Sub(tc.hungUp))
	}
	waitIdle(srv, 20*time.Second)
	return r, nil
}

// checkRecordings compares what the switch listed and wrote with what the
// calls sent: every call has one recording, as long as the call was in
// <Record> (answer to hangup), and the few downloaded hold d of the tone.
func checkRecordings(api *client, recDir string, run toneRun, d time.Duration) error {
	bySid := map[string]toneCall{}
	for _, tc := range run.calls {
		bySid[tc.sid] = tc
	}
	var list struct {
		Total      int `json:"total"`
		Recordings []struct {
			Sid      string `json:"sid"`
			CallSid  string `json:"call_sid"`
			Duration string `json:"duration"`
			FileURI  string `json:"file_uri"`
		} `json:"recordings"`
	}
	// The switch lists a recording once its call's <Record> step has
	// finished writing it, just after the BYE.
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body, err := api.get("/Recordings.json?PageSize=1000")
		if err != nil {
			return fmt.Errorf("listing recordings: %w", err)
		}
		if code != 200 {
			return fmt.Errorf("listing recordings: %d %s", code, body)
		}
		if err := json.Unmarshal(body, &list); err != nil {
			return fmt.Errorf("listing recordings: %w", err)
		}
		if list.Total >= len(run.calls) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Listed duration against the time the call spent in <Record>: from
	// its 200 OK (the step starts at once, no beep) to the hangup POST.
	var worst time.Duration
	matched := 0
	minDur, maxDur := math.Inf(1), 0.0
	for _, r := range list.Recordings {
		tc, ok := bySid[r.CallSid]
		if !ok {
			continue
		}
		matched++
		secs, err := strconv.ParseFloat(r.Duration, 64)
		if err != nil {
			return fmt.Errorf("recording %s: duration %q: %w", r.Sid, r.Duration, err)
		}
		minDur, maxDur = math.Min(minDur, secs), math.Max(maxDur, secs)
		want := tc.hungUp.Sub(tc.answered)
		worst = max(worst, (time.Duration(secs*float64(time.Second)) - want).Abs())
	}
	fmt.Printf("recordings listed: %d (of %d calls); durations %.2f–%.2f s; largest difference from the call's time in <Record> (200 OK to hangup POST): %v\n",
		matched, len(run.calls), minDur, maxDur, worst.Round(time.Millisecond))

	// Every file on disk: 44-byte header, then 16-bit mono 8 kHz.
	files, err := filepath.Glob(filepath.Join(recDir, "*.wav"))
	if err != nil {
		return fmt.Errorf("recordings directory: %w", err)
	}
	var bytes int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			bytes += fi.Size()
		}
	}
	fmt.Printf("files in %s: %d, %.1f MiB (%.1f s of audio on average)\n", filepath.Base(recDir), len(files),
		float64(bytes)/(1<<20), float64(bytes-44*int64(len(files)))/16000/math.Max(1, float64(len(files))))

	// A few downloads, decoded: how much of each is the peer's tone.
	if len(list.Recordings) == 0 {
		return errors.New("no recording listed")
	}
	picks := []int{0, len(list.Recordings) / 2, len(list.Recordings) - 1}
	for _, i := range picks {
		r := list.Recordings[i]
		code, body, err := api.get(r.FileURI)
		if err != nil {
			return fmt.Errorf("downloading %s: %w", r.Sid, err)
		}
		if code != 200 {
			return fmt.Errorf("downloading %s: %d", r.Sid, code)
		}
		total, voiced, level, err := toneIn(body)
		if err != nil {
			return fmt.Errorf("recording %s: %w", r.Sid, err)
		}
		fmt.Printf("download %s: %d bytes, %.2f s long, %.2f s of it sound (tone sent for %v), %d Hz share of the sound %.2f\n",
			r.Sid, len(body), total.Seconds(), voiced.Seconds(), d, toneHz, level)
	}
	return nil
}

// toneIn decodes a recording and measures its length, how much of it has
// sound (40 ms blocks above about -50 dBFS) and the share of the tone in
// that sound.
func toneIn(wav []byte) (total, voiced time.Duration, level float64, err error) {
	clip, err := media.DecodeWAV(wav)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("decoding: %w", err)
	}
	src, err := clip.Source(media.PCMU)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("decoding: %w", err)
	}
	det := media.NewToneDetector(toneHz)
	frame := make([]byte, media.FrameSamples)
	for {
		if err := src.ReadFrame(frame); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return 0, 0, 0, fmt.Errorf("reading: %w", err)
		}
		det.WriteG711(media.PCMU, frame)
	}
	return clip.Duration(), time.Duration(det.Voiced()) * 40 * time.Millisecond, det.Level(0), nil
}
