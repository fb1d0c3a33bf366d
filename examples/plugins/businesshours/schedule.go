package main

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	// The sandbox has no file system, so time zones come embedded (~450 KB).
	_ "time/tzdata"
)

// schedule is a parsed Config. Its syntax, one key=value setting per line
// or separated by semicolons:
//
//	voicemail=https://vm.example.com/voicemail.xml   (required)
//	method=GET                                       (optional: GET or POST for the voicemail fetch)
//	zone=Europe/Paris                                (optional IANA zone; default UTC)
//	open=mon-fri 09:00-17:30, sat 10:00-13:00        (required: comma-separated day ranges with hours)
//	closed=2026-12-25, 2026-12-26                    (optional whole days closed, in zone)
//
// A range whose end is not after its start (22:00-06:00) runs past
// midnight into the next day.
type schedule struct {
	voicemail string
	method    string
	zone      *time.Location
	ranges    []openRange
	closed    map[string]bool // "2006-01-02" in zone
}

// openRange is one "days hh:mm-hh:mm" item.
type openRange struct {
	days       [7]bool // by time.Weekday
	start, end int     // minutes after midnight; end may be 24*60
}

// errConfig prefixes every Config error; the reason reaches the tenant.
var errConfig = errors.New("businesshours: Config")

func parseSchedule(config string) (schedule, error) {
	s := schedule{zone: time.UTC, closed: map[string]bool{}}
	fail := func(format string, args ...any) (schedule, error) {
		return schedule{}, fmt.Errorf("%w: %s", errConfig, fmt.Sprintf(format, args...))
	}
	seen := map[string]bool{}
	for _, line := range strings.FieldsFunc(config, func(r rune) bool { return r == '\n' || r == ';' }) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		key, value = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(value)
		if !ok {
			return fail("%q is not key=value", line)
		}
		if seen[key] {
			return fail("%s is given twice", key)
		}
		seen[key] = true
		switch key {
		case "voicemail":
			u, err := url.Parse(value)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fail("voicemail %q is not an absolute http(s) URL", value)
			}
			s.voicemail = value
		case "method":
			s.method = strings.ToUpper(value)
			if s.method != "GET" && s.method != "POST" {
				return fail("method %q is not GET or POST", value)
			}
		case "zone":
			loc, err := time.LoadLocation(value)
			if err != nil {
				return fail("zone %q is not a known time zone", value)
			}
			s.zone = loc
		case "open":
			for _, item := range strings.Split(value, ",") {
				r, err := parseRange(strings.TrimSpace(item))
				if err != nil {
					return fail("open %q: %v", item, err)
				}
				s.ranges = append(s.ranges, r)
			}
		case "closed":
			for _, day := range strings.Split(value, ",") {
				d, err := time.Parse(time.DateOnly, strings.TrimSpace(day))
				if err != nil {
					return fail("closed %q is not a YYYY-MM-DD date", day)
				}
				s.closed[d.Format(time.DateOnly)] = true
			}
		default:
			return fail("unknown setting %q", key)
		}
	}
	if s.voicemail == "" {
		return fail("voicemail=URL is required")
	}
	if len(s.ranges) == 0 {
		return fail("open=DAYS HH:MM-HH:MM is required")
	}
	return s, nil
}

// parseRange reads "mon-fri 09:00-17:30" or "sat 10:00-13:00".
func parseRange(item string) (openRange, error) {
	var r openRange
	days, hours, ok := strings.Cut(item, " ")
	if !ok {
		return r, errors.New("want DAYS HH:MM-HH:MM")
	}
	first, last, isSpan := strings.Cut(strings.ToLower(days), "-")
	from, ok1 := parseDay(first)
	to, ok2 := parseDay(last)
	if !isSpan {
		to, ok2 = from, ok1
	}
	if !ok1 || !ok2 {
		return r, fmt.Errorf("days %q are not mon..sun or a span like mon-fri", days)
	}
	for d := from; ; d = (d + 1) % 7 {
		r.days[d] = true
		if d == to {
			break
		}
	}
	start, end, ok := strings.Cut(strings.TrimSpace(hours), "-")
	var err1, err2 error
	r.start, err1 = parseClock(start)
	r.end, err2 = parseClock(end)
	if !ok || err1 != nil || err2 != nil || r.start == 24*60 {
		return r, fmt.Errorf("hours %q are not HH:MM-HH:MM", hours)
	}
	if r.start == r.end {
		return r, fmt.Errorf("hours %q are empty", hours)
	}
	return r, nil
}

// parseDay reads a day's three-letter English name (sun, mon, ...).
func parseDay(s string) (time.Weekday, bool) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		if s == strings.ToLower(d.String()[:3]) {
			return d, true
		}
	}
	return 0, false
}

// parseClock reads HH:MM, 00:00 to 24:00, as minutes after midnight.
func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || len(h) != 2 || len(m) != 2 || err1 != nil || err2 != nil || hh > 24 || mm > 59 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	return hh*60 + mm, nil
}

// open reports whether t falls within the schedule's hours.
func (s schedule) open(t time.Time) bool {
	t = t.In(s.zone)
	if s.closed[t.Format(time.DateOnly)] {
		return false
	}
	day, minute := t.Weekday(), t.Hour()*60+t.Minute()
	yesterday := (day + 6) % 7
	for _, r := range s.ranges {
		if r.start < r.end {
			if r.days[day] && minute >= r.start && minute < r.end {
				return true
			}
			continue
		}
		// Past midnight: from start on a listed day to end on the day after.
		if (r.days[day] && minute >= r.start) || (r.days[yesterday] && minute < r.end) {
			return true
		}
	}
	return false
}
