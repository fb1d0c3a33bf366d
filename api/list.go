package api

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

const (
	defaultPageSize = 50
	maxPageSize     = 1000
)

// pageRequest is the Page/PageSize pair of a list request.
type pageRequest struct {
	page, size int
}

func parsePageRequest(c *fiber.Ctx) (pageRequest, error) {
	size, err := intParam("PageSize", c.Query("PageSize"), defaultPageSize, 1, maxPageSize)
	if err != nil {
		return pageRequest{}, err
	}
	page, err := intParam("Page", c.Query("Page"), 0, 0, int(^uint(0)>>1)/maxPageSize)
	if err != nil {
		return pageRequest{}, err
	}
	return pageRequest{page: page, size: size}, nil
}

// offset is the index of the first record of the page.
func (p pageRequest) offset() int { return p.page * p.size }

// lastPage is upstream's "num_pages": floor(total/size), which is really the
// index of the last page. Decision 8 keeps it.
func (p pageRequest) lastPage(total int) int { return total / p.size }

// check rejects a page beyond the last one (upstream: 400).
func (p pageRequest) check(total int) error {
	if p.page > p.lastPage(total) {
		return badParam("Page %d is beyond the last page %d.", p.page, p.lastPage(total))
	}
	return nil
}

// pageWindow holds the paging fields of a list response, computed with
// upstream's arithmetic, including its off-by-one quirks, which clients
// depend on (restcomm-calls.md §2.5).
type pageWindow struct {
	Page, NumPages, PageSize, Total int
	Start, End                      string
	URI, First, Previous, Next      string
	Last                            string
}

// window computes the paging fields for a page holding items records whose
// last sid is lastSid, out of total, for the list at uri.
func (p pageRequest) window(uri string, total, items int, lastSid string) pageWindow {
	num := p.lastPage(total)
	start := p.offset()
	var end int
	if p.page == num {
		end = start + items
	} else {
		end = start + p.size - 1
	}
	pageURI := func(n int) string {
		return uri + "?Page=" + strconv.Itoa(n) + "&PageSize=" + strconv.Itoa(p.size)
	}
	w := pageWindow{
		Page: p.page, NumPages: num, PageSize: p.size, Total: total,
		Start: strconv.Itoa(start), End: strconv.Itoa(end),
		URI: uri, First: pageURI(0), Last: pageURI(num),
		Previous: "null", Next: "null",
	}
	if p.page > 0 {
		w.Previous = pageURI(p.page - 1)
	}
	if p.page < num {
		w.Next = pageURI(p.page+1) + "&AfterSid=" + lastSid
	}
	return w
}

// pageJSON is the JSON form of the paging fields; list types embed it.
// start and end are strings, as upstream sends them.
type pageJSON struct {
	Page            int    `json:"page"`
	NumPages        int    `json:"num_pages"`
	PageSize        int    `json:"page_size"`
	Total           int    `json:"total"`
	Start           string `json:"start"`
	End             string `json:"end"`
	URI             string `json:"uri"`
	FirstPageURI    string `json:"first_page_uri"`
	PreviousPageURI string `json:"previous_page_uri"`
	NextPageURI     string `json:"next_page_uri"`
	LastPageURI     string `json:"last_page_uri"`
}

func (w pageWindow) json() pageJSON {
	return pageJSON{
		Page: w.Page, NumPages: w.NumPages, PageSize: w.PageSize, Total: w.Total,
		Start: w.Start, End: w.End, URI: w.URI, FirstPageURI: w.First,
		PreviousPageURI: w.Previous, NextPageURI: w.Next, LastPageURI: w.Last,
	}
}

// pageXML is the XML form: attributes of the list element. Decision 8: total
// carries the real total (upstream put num_pages there).
type pageXML struct {
	Page            int    `xml:"page,attr"`
	NumPages        int    `xml:"numpages,attr"`
	PageSize        int    `xml:"pagesize,attr"`
	Total           int    `xml:"total,attr"`
	Start           string `xml:"start,attr"`
	End             string `xml:"end,attr"`
	URI             string `xml:"uri,attr"`
	FirstPageURI    string `xml:"firstpageuri,attr"`
	PreviousPageURI string `xml:"previouspageuri,attr"`
	NextPageURI     string `xml:"nextpageuri,attr"`
	LastPageURI     string `xml:"lastpageuri,attr"`
}

func (w pageWindow) xml() pageXML {
	return pageXML{
		Page: w.Page, NumPages: w.NumPages, PageSize: w.PageSize, Total: w.Total,
		Start: w.Start, End: w.End, URI: w.URI, FirstPageURI: w.First,
		PreviousPageURI: w.Previous, NextPageURI: w.Next, LastPageURI: w.Last,
	}
}

// sortSpec is a parsed SortBy parameter.
type sortSpec struct {
	field      string // canonical field name
	descending bool
}

// parseSortBy parses "<Field>[:asc|:desc]" against the allowed fields
// (matched case-insensitively, returned in canonical spelling). Upstream
// silently ignores an unknown field; we answer 400 like its other sort
// errors, so a typo does not pass for a sorted list.
func parseSortBy(value string, fields []string) (sortSpec, bool, error) {
	if value == "" {
		return sortSpec{}, false, nil
	}
	name, dir, hasDir := strings.Cut(value, ":")
	name = strings.TrimSpace(name)
	if name == "" {
		return sortSpec{}, false, badParam("SortBy %q names no field.", value)
	}
	spec := sortSpec{}
	found := false
	for _, f := range fields {
		if strings.EqualFold(f, name) {
			spec.field, found = f, true
			break
		}
	}
	if !found {
		return sortSpec{}, false, badParam("SortBy field %q is not one of %s.", name, strings.Join(fields, ", "))
	}
	if hasDir {
		switch strings.ToLower(strings.TrimSpace(dir)) {
		case "asc":
		case "desc":
			spec.descending = true
		default:
			return sortSpec{}, false, badParam("SortBy direction %q must be asc or desc.", dir)
		}
	}
	return spec, true, nil
}

// parseDay parses a StartTime/EndTime filter as upstream's lenient Java
// parser does: a yyyy-MM-dd prefix, anything after it ignored, midnight in loc.
func parseDay(name, value string, loc *time.Location) (time.Time, error) {
	bad := badParam("%s must be a date like 2024-01-31, not %q.", name, value)
	var parts [3]int
	rest := value
	for i := range parts {
		n := 0
		for n < len(rest) && n < 4 && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 0 {
			return time.Time{}, bad
		}
		parts[i], _ = strconv.Atoi(rest[:n])
		rest = rest[n:]
		if i < 2 {
			if rest == "" || rest[0] != '-' {
				return time.Time{}, bad
			}
			rest = rest[1:]
		}
	}
	y, mo, d := parts[0], parts[1], parts[2]
	t := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, loc)
	if mo < 1 || mo > 12 || d < 1 || t.Day() != d {
		return time.Time{}, bad
	}
	return t, nil
}

// likeMatch reports whether s matches an SQL LIKE pattern ('%' any run, '_'
// one byte), as upstream's list filters do. It backtracks only to the last
// '%', so the cost stays linear in practice whatever the pattern.
func likeMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '_' || pattern[p] == s[i]) && pattern[p] != '%':
			p++
			i++
		case p < len(pattern) && pattern[p] == '%':
			star, mark = p, i
			p++
		case star >= 0:
			mark++
			p, i = star+1, mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '%' {
		p++
	}
	return p == len(pattern)
}
