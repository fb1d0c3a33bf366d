package api

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// formParam returns a request parameter from the form body or, failing that,
// the query string, and whether it was present at all (an empty value that
// was sent is "present": number updates use it to clear a field).
func formParam(c *fiber.Ctx, name string) (string, bool) {
	req := c.Request()
	if args := req.PostArgs(); args.Has(name) {
		return string(args.Peek(name)), true
	}
	if mf, err := c.MultipartForm(); err == nil && mf != nil {
		if vs, ok := mf.Value[name]; ok && len(vs) > 0 {
			return vs[0], true
		}
	}
	if args := req.URI().QueryArgs(); args.Has(name) {
		return string(args.Peek(name)), true
	}
	return "", false
}

// form returns a trimmed parameter, "" when absent.
func form(c *fiber.Ctx, name string) string {
	v, _ := formParam(c, name)
	return strings.TrimSpace(v)
}

// httpMethod validates a GET/POST method parameter (case-insensitive),
// returning it upper-cased, or def when empty.
func httpMethod(name, value, def string) (string, error) {
	if value == "" {
		return def, nil
	}
	switch m := strings.ToUpper(value); m {
	case "GET", "POST":
		return m, nil
	}
	return "", badParam("%s must be GET or POST, not %q.", name, value)
}

// absoluteURL validates an optional URL parameter: when given it must be an
// absolute http or https URL, because the switch fetches it with no base to
// resolve against.
func absoluteURL(name, value string) (string, error) {
	if value == "" {
		return "", nil
	}
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", &apiError{status: 400, code: codeURLInvalid, message: name + " is not a valid URL: an absolute http or https URL is required."}
	}
	return value, nil
}

// boolParam parses true/false case-insensitively; absent gives nil.
func boolParam(name, value string) (*bool, error) {
	if value == "" {
		return nil, nil
	}
	switch strings.ToLower(value) {
	case "true":
		t := true
		return &t, nil
	case "false":
		f := false
		return &f, nil
	}
	return nil, badParam("%s must be true or false, not %q.", name, value)
}

// intParam parses an optional decimal integer within [lo, hi].
func intParam(name, value string, def, lo, hi int) (int, error) {
	if value == "" {
		return def, nil
	}
	n, err := strconv.Atoi(value)
	if err != nil || n < lo || n > hi {
		return 0, badParam("%s must be an integer from %d to %d, not %q.", name, lo, hi, value)
	}
	return n, nil
}
