package api

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// apiRoot is the path every resource lives under once the optional
// "/restcomm" prefix is stripped (decision 1). Resource URIs in bodies use it
// without the prefix, as upstream does.
const apiRoot = "/2012-04-24"

const (
	restcommPrefix = "/restcomm"
	jsonSuffix     = ".json"
	localFormat    = "patchbay.format"
	formatJSON     = "json"
)

// normalisePath strips the "/restcomm" prefix and a ".json" suffix from any
// path segment, as upstream's filter does before routing, so that each route
// is registered once. It reports whether a ".json" was found.
func normalisePath(p string) (clean string, json bool) {
	if p == restcommPrefix || strings.HasPrefix(p, restcommPrefix+"/") {
		p = p[len(restcommPrefix):]
	}
	if !strings.Contains(p, jsonSuffix) {
		return p, false
	}
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		if len(seg) > len(jsonSuffix) && strings.HasSuffix(seg, jsonSuffix) {
			segs[i] = strings.TrimSuffix(seg, jsonSuffix)
			json = true
		}
	}
	return strings.Join(segs, "/"), json
}

// rewritePath is the first middleware: it normalises the path and, when it
// changed, restarts routing on the clean path.
func rewritePath(c *fiber.Ctx) error {
	clean, isJSON := normalisePath(c.Path())
	if isJSON {
		c.Locals(localFormat, formatJSON)
	}
	if clean == c.Path() {
		return c.Next()
	}
	c.Path(clean)
	return c.RestartRouting()
}

// wantsJSON reports whether the response is JSON: ".json" in the path or an
// Accept header containing "json"; XML otherwise.
func wantsJSON(c *fiber.Ctx) bool {
	if f, _ := c.Locals(localFormat).(string); f == formatJSON {
		return true
	}
	return strings.Contains(strings.ToLower(c.Get(fiber.HeaderAccept)), "json")
}

// sendJSON writes v without HTML escaping, so page URIs keep their '&'.
func sendJSON(c *fiber.Ctx, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode JSON response: %w", err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(bytes.TrimRight(buf.Bytes(), "\n"))
}

func sendXML(c *fiber.Ctx, v any) error {
	out, err := xml.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode XML response: %w", err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationXMLCharsetUTF8)
	return c.Send(append([]byte(xml.Header), out...))
}

// render sends the JSON or the XML form of a resource.
func render(c *fiber.Ctx, asJSON func() any, asXML func() any) error {
	if wantsJSON(c) {
		return sendJSON(c, asJSON())
	}
	return sendXML(c, asXML())
}

// Date layouts. Upstream renders dates with Java's "EEE, d MMM yyyy HH:mm:ss Z"
// (day not padded) and call start/end times as ISO-8601 with milliseconds.
const (
	restDateLayout = "Mon, 2 Jan 2006 15:04:05 -0700"
	isoLayout      = "2006-01-02T15:04:05.000-07:00"
)

func (s *Server) restDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(s.loc).Format(restDateLayout)
}

func (s *Server) isoDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(s.loc).Format(isoLayout)
}

// optString returns nil for an empty string, so JSON omits or nulls it.
func optString(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}
