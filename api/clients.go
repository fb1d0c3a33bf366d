package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/patchbay/patchbay/switch/registrar"
	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

// Clients (restcomm-resources.md §3): SIP user agents that register and call
// with a login and a password. The password is kept only as digest HA1s
// bound to the SIP domain (decision 13) and is never rendered: upstream's
// `password` key (which exposed the HA1) is left out.

// checkLogin enforces upstream's rule (no '?', '=' or '@') and, beyond it,
// that the login is a plain SIP user part: unescaped RFC 3261 user
// characters only, so that the login a REGISTER carries is compared with
// the stored one byte for byte.
func checkLogin(login string) error {
	for i := 0; i < len(login); i++ {
		b := login[i]
		switch {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		case strings.IndexByte("-_.!~*'()&+$,;/", b) >= 0:
		default:
			return badParam("Login %s contains invalid character(s)", login)
		}
	}
	return nil
}

// clientStatus parses the Status parameter: "1" enabled, "0" disabled.
// Upstream silently ignored anything else; a mistyped value that leaves a
// client enabled when it was meant to be disabled is worse than a 400.
func clientStatus(value string) (int, error) {
	switch value {
	case "1":
		return store.ClientEnabled, nil
	case "0":
		return store.ClientDisabled, nil
	}
	return 0, badParam("Status must be 1 (enabled) or 0 (disabled), not %q.", value)
}

// clientFields applies the optional parameters present in the request to
// cl. An empty URL that was sent clears the field, as upstream.
func clientFields(c *fiber.Ctx, cl *store.Client) error {
	if v := form(c, "FriendlyName"); v != "" {
		cl.FriendlyName = v
	}
	if v := form(c, "Status"); v != "" {
		st, err := clientStatus(v)
		if err != nil {
			return err
		}
		cl.Status = st
	}
	for _, u := range []struct {
		name string
		dst  *string
	}{
		{"VoiceUrl", &cl.VoiceURL},
		{"VoiceFallbackUrl", &cl.VoiceFallbackURL},
	} {
		v, ok := formParam(c, u.name)
		if !ok {
			continue
		}
		clean, err := numberURL(u.name, strings.TrimSpace(v))
		if err != nil {
			return err
		}
		*u.dst = clean
	}
	for _, m := range []struct {
		name string
		dst  *string
	}{
		{"VoiceMethod", &cl.VoiceMethod},
		{"VoiceFallbackMethod", &cl.VoiceFallbackMethod},
	} {
		v, err := httpMethod(m.name, form(c, m.name), *m.dst)
		if err != nil {
			return err
		}
		*m.dst = v
	}
	return nil
}

// setClientPassword checks the password's strength and stores its HA1s.
func (s *Server) setClientPassword(cl *store.Client, password string) error {
	if err := checkPasswordStrength(password); err != nil {
		return err
	}
	if s.sipDomain == "" {
		return errors.New("no SIP domain configured: client passwords cannot be hashed")
	}
	cl.HA1MD5, cl.HA1SHA256 = registrar.HA1(cl.Login, s.sipDomain, password)
	return nil
}

// createClient creates a client. A login already taken by this account
// returns that client unchanged (upstream); by another account, 409.
func (s *Server) createClient(c *fiber.Ctx, acct store.Account) error {
	ctx := c.UserContext()
	login := form(c, "Login")
	if login == "" {
		return badParam("Login can not be null.")
	}
	password, _ := formParam(c, "Password")
	if password == "" {
		return badParam("Password can not be null.")
	}
	if err := checkLogin(login); err != nil {
		return err
	}
	now := s.now()
	cl := store.Client{
		Sid:                 sid.New(sid.Client),
		AccountSid:          acct.Sid,
		Login:               login,
		FriendlyName:        login,
		Status:              store.ClientEnabled,
		VoiceMethod:         "POST",
		VoiceFallbackMethod: "POST",
		APIVersion:          "2012-04-24",
		DateCreated:         now,
		DateUpdated:         now,
	}
	if err := clientFields(c, &cl); err != nil {
		return err
	}
	if err := s.setClientPassword(&cl, password); err != nil {
		return err
	}
	err := s.store.CreateClient(ctx, cl)
	if errors.Is(err, store.ErrExists) {
		existing, lerr := s.store.ClientByLogin(ctx, login)
		if lerr != nil {
			return fmt.Errorf("load client %q after conflict: %w", login, errors.Join(err, lerr))
		}
		if existing.AccountSid == acct.Sid {
			return s.renderClient(c, existing)
		}
		return &apiError{status: http.StatusConflict, code: codeConflict,
			message: "A client with the same name was already created by another account. Please, choose a different name and try again.", cause: err}
	}
	if err != nil {
		return fmt.Errorf("create client %q: %w", login, err)
	}
	return s.renderClient(c, cl)
}

// ownClient loads the client in the path and checks it belongs to the URL
// account.
func (s *Server) ownClient(c *fiber.Ctx, acct store.Account) (store.Client, error) {
	ref := c.Params("client")
	if !sid.Valid(ref, sid.Client) {
		return store.Client{}, malformedSid("ClientSid", ref)
	}
	cl, err := s.store.Client(c.UserContext(), ref)
	if errors.Is(err, store.ErrNotFound) {
		return cl, notFound("client")
	}
	if err != nil {
		return cl, fmt.Errorf("load client %s: %w", ref, err)
	}
	if cl.AccountSid != acct.Sid {
		return cl, forbidden("The client does not belong to this account.")
	}
	return cl, nil
}

func (s *Server) getClient(c *fiber.Ctx, acct store.Account) error {
	cl, err := s.ownClient(c, acct)
	if err != nil {
		return err
	}
	return s.renderClient(c, cl)
}

// updateClient changes FriendlyName, Password (re-hashed), Status and the
// Voice fields; Login cannot change.
func (s *Server) updateClient(c *fiber.Ctx, acct store.Account) error {
	cl, err := s.ownClient(c, acct)
	if err != nil {
		return err
	}
	if err := clientFields(c, &cl); err != nil {
		return err
	}
	if password, given := formParam(c, "Password"); given {
		if err := s.setClientPassword(&cl, password); err != nil {
			return err
		}
	}
	cl.DateUpdated = s.now()
	if err := s.store.UpdateClient(c.UserContext(), cl); err != nil {
		return fmt.Errorf("update client %s: %w", cl.Sid, err)
	}
	return s.renderClient(c, cl)
}

// deleteClient removes the client and its registrations: 200 with an empty
// body, as upstream.
func (s *Server) deleteClient(c *fiber.Ctx, acct store.Account) error {
	cl, err := s.ownClient(c, acct)
	if err != nil {
		return err
	}
	if err := s.store.DeleteClient(c.UserContext(), cl.Sid); err != nil {
		return fmt.Errorf("delete client %s: %w", cl.Sid, err)
	}
	// Not SendStatus: it would write "OK" as the body.
	c.Status(http.StatusOK)
	return nil
}

// listClients renders every client of the account, oldest first: a bare
// JSON array or <Clients>, without paging (upstream).
func (s *Server) listClients(c *fiber.Ctx, acct store.Account) error {
	all, err := s.store.Clients(c.UserContext(), acct.Sid)
	if err != nil {
		return fmt.Errorf("list clients of %s: %w", acct.Sid, err)
	}
	if wantsJSON(c) {
		out := make([]clientJSON, 0, len(all))
		for _, cl := range all {
			out = append(out, s.clientJSON(cl))
		}
		return sendJSON(c, out)
	}
	env := clientListEnvelope{}
	for _, cl := range all {
		env.List.Clients = append(env.List.Clients, s.clientXML(cl))
	}
	return sendXML(c, env)
}

func (s *Server) renderClient(c *fiber.Ctx, cl store.Client) error {
	return render(c,
		func() any { return s.clientJSON(cl) },
		func() any { return clientEnvelope{Client: s.clientXML(cl)} })
}

func clientURI(cl store.Client) string {
	return apiRoot + "/Accounts/" + cl.AccountSid + "/Clients/" + cl.Sid
}

// passwordAlgorithm is what upstream reports for HA1-stored passwords.
const passwordAlgorithm = "MD5"

func statusString(status int) string {
	if status == store.ClientEnabled {
		return "1"
	}
	return "0"
}

// clientJSON is the JSON Client (resources §3.3): null keys omitted, status
// a string, keys in upstream's order, no password.
type clientJSON struct {
	Sid                 string  `json:"sid"`
	DateCreated         string  `json:"date_created"`
	DateUpdated         string  `json:"date_updated"`
	AccountSid          string  `json:"account_sid"`
	APIVersion          string  `json:"api_version"`
	FriendlyName        string  `json:"friendly_name"`
	Login               string  `json:"login"`
	PasswordAlgorithm   string  `json:"password_algorithm"`
	Status              string  `json:"status"`
	VoiceURL            *string `json:"voice_url,omitempty"`
	VoiceMethod         *string `json:"voice_method,omitempty"`
	VoiceFallbackURL    *string `json:"voice_fallback_url,omitempty"`
	VoiceFallbackMethod *string `json:"voice_fallback_method,omitempty"`
	VoiceApplicationSid *string `json:"voice_application_sid,omitempty"`
	URI                 string  `json:"uri"`
}

func (s *Server) clientJSON(cl store.Client) clientJSON {
	return clientJSON{
		Sid: cl.Sid, DateCreated: s.restDate(cl.DateCreated), DateUpdated: s.restDate(cl.DateUpdated),
		AccountSid: cl.AccountSid, APIVersion: apiVersion(cl.APIVersion),
		FriendlyName: cl.FriendlyName, Login: cl.Login, PasswordAlgorithm: passwordAlgorithm,
		Status:   statusString(cl.Status),
		VoiceURL: optString(cl.VoiceURL), VoiceMethod: optString(cl.VoiceMethod),
		VoiceFallbackURL: optString(cl.VoiceFallbackURL), VoiceFallbackMethod: optString(cl.VoiceFallbackMethod),
		VoiceApplicationSid: optString(cl.VoiceApplicationSid),
		URI:                 clientURI(cl) + jsonSuffix,
	}
}

// clientXML is the XML <Client>: optional URL and application elements are
// omitted when null.
type clientXML struct {
	XMLName             struct{} `xml:"Client"`
	Sid                 string   `xml:"Sid"`
	DateCreated         string   `xml:"DateCreated"`
	DateUpdated         string   `xml:"DateUpdated"`
	AccountSid          string   `xml:"AccountSid"`
	APIVersion          string   `xml:"ApiVersion"`
	FriendlyName        string   `xml:"FriendlyName"`
	Login               string   `xml:"Login"`
	PasswordAlgorithm   string   `xml:"Password_Algorithm"`
	Status              string   `xml:"Status"`
	VoiceURL            string   `xml:"VoiceUrl,omitempty"`
	VoiceMethod         string   `xml:"VoiceMethod"`
	VoiceFallbackURL    string   `xml:"VoiceFallbackUrl,omitempty"`
	VoiceFallbackMethod string   `xml:"VoiceFallbackMethod"`
	VoiceApplicationSid string   `xml:"VoiceApplicationSid,omitempty"`
	URI                 string   `xml:"Uri"`
}

func (s *Server) clientXML(cl store.Client) clientXML {
	return clientXML{
		Sid: cl.Sid, DateCreated: s.restDate(cl.DateCreated), DateUpdated: s.restDate(cl.DateUpdated),
		AccountSid: cl.AccountSid, APIVersion: apiVersion(cl.APIVersion),
		FriendlyName: cl.FriendlyName, Login: cl.Login, PasswordAlgorithm: passwordAlgorithm,
		Status:   statusString(cl.Status),
		VoiceURL: cl.VoiceURL, VoiceMethod: cl.VoiceMethod,
		VoiceFallbackURL: cl.VoiceFallbackURL, VoiceFallbackMethod: cl.VoiceFallbackMethod,
		VoiceApplicationSid: cl.VoiceApplicationSid,
		URI:                 clientURI(cl),
	}
}

type clientEnvelope struct {
	XMLName struct{}  `xml:"RestcommResponse"`
	Client  clientXML `xml:"Client"`
}

type clientListEnvelope struct {
	XMLName struct{} `xml:"RestcommResponse"`
	List    struct {
		Clients []clientXML `xml:"Client"`
	} `xml:"Clients"`
}
