package api

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

// accountInactive is upstream's fifth status; the store names the other four.
const accountInactive = "inactive"

func parseAccountStatus(value string) (string, error) {
	switch v := strings.ToLower(value); v {
	case store.AccountActive, store.AccountSuspended, store.AccountClosed, store.AccountUninitialized, accountInactive:
		return v, nil
	}
	return "", badParam("Status must be one of active, suspended, closed, inactive, uninitialized, not %q.", value)
}

func parseRole(value string) (string, error) {
	switch {
	case strings.EqualFold(value, roleAdmin):
		return roleAdmin, nil
	case strings.EqualFold(value, roleDeveloper):
		return roleDeveloper, nil
	}
	// Upstream stores any role name, and an unknown one then fails every
	// permission check; refusing it up front is the useful answer.
	return "", badParam("Role must be Administrator or Developer, not %q.", value)
}

// listAccounts lists the direct children of the authenticated account.
func (s *Server) listAccounts(c *fiber.Ctx) error {
	me := principal(c)
	kids, err := s.store.ChildAccounts(c.UserContext(), me.Sid)
	if err != nil {
		return fmt.Errorf("list child accounts of %s: %w", me.Sid, err)
	}
	if wantsJSON(c) {
		out := make([]accountJSON, 0, len(kids))
		for _, a := range kids {
			out = append(out, s.accountJSON(a))
		}
		return sendJSON(c, out)
	}
	list := accountListXML{}
	for _, a := range kids {
		list.Accounts.Items = append(list.Accounts.Items, s.accountXML(a))
	}
	return sendXML(c, list)
}

// createAccount creates a sub-account of the authenticated account.
func (s *Server) createAccount(c *fiber.Ctx) error {
	ctx := c.UserContext()
	me := principal(c)

	email := strings.ToLower(form(c, "EmailAddress"))
	if email == "" {
		return badParam("Email address can not be null.")
	}
	if err := checkEmail(email); err != nil {
		return err
	}
	status := store.AccountActive
	if v := form(c, "Status"); v != "" {
		st, err := parseAccountStatus(v)
		if err != nil {
			return err
		}
		status = st
	}
	role := me.Role
	if v := form(c, "Role"); v != "" {
		r, err := parseRole(v)
		if err != nil {
			return err
		}
		// As upstream: only an Administrator may choose the role; anyone
		// else's sub-accounts inherit the creator's role.
		if me.Role == roleAdmin {
			role = r
		}
	}
	var hash string
	if pw, given := formParam(c, "Password"); given {
		h, err := s.newPasswordHash(pw)
		if err != nil {
			return err
		}
		hash = h
	}
	depth, err := s.depth(ctx, me)
	if err != nil {
		return err
	}
	if depth+1 >= maxAccountDepth {
		return &apiError{status: http.StatusBadRequest, code: codeBadRequest, message: "This account is not allowed to have sub-accounts"}
	}
	if _, err := s.store.AccountByEmail(ctx, email); err == nil {
		return emailInUse()
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("check e-mail %s: %w", email, err)
	}
	now := s.now()
	a := store.Account{
		Sid:          sid.New(sid.Account),
		ParentSid:    me.Sid,
		FriendlyName: form(c, "FriendlyName"),
		EmailAddress: email,
		Status:       status,
		Role:         role,
		Type:         "Full",
		AuthToken:    sid.Token(),
		PasswordHash: hash,
		DateCreated:  now,
		DateUpdated:  now,
	}
	if a.FriendlyName == "" {
		a.FriendlyName = email
	}
	if err := s.store.CreateAccount(ctx, a); err != nil {
		if errors.Is(err, store.ErrExists) {
			return emailInUse()
		}
		return fmt.Errorf("create account %s: %w", email, err)
	}
	return s.renderAccount(c, a)
}

func emailInUse() *apiError {
	return &apiError{status: http.StatusConflict, code: codeConflict, message: "The email address used for the new account is already in use."}
}

// checkEmail applies upstream's rules: an RFC 5322 address whose local part
// can also serve as a SIP login.
func checkEmail(email string) error {
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email {
		return badParam("EmailAddress %q is not a valid e-mail address.", email)
	}
	local := email[:strings.LastIndexByte(email, '@')]
	if strings.ContainsAny(local, "?=@") {
		return badParam("EmailAddress %q: the part before @ must not contain ?, = or @.", email)
	}
	return nil
}

// securedAccount resolves the account named in the path and applies
// upstream's "account-secured" rule: an Administrator may act on itself and
// its descendants, any other role only on itself.
func (s *Server) securedAccount(c *fiber.Ctx) (store.Account, error) {
	target, err := s.urlAccount(c, "account", true)
	if err != nil {
		return store.Account{}, err
	}
	me := principal(c)
	if target.Sid != me.Sid && me.Role != roleAdmin {
		return store.Account{}, forbidden("Only an Administrator may manage other accounts.")
	}
	return target, nil
}

func (s *Server) getAccount(c *fiber.Ctx) error {
	a, err := s.securedAccount(c)
	if err != nil {
		return err
	}
	return s.renderAccount(c, a)
}

// updateAccount changes FriendlyName, Password, Role and Status (which
// cascades to the subtree). RotateAuthToken=true issues a new AuthToken: an
// extension (decision 10), because upstream ignores AuthToken (issue #1507).
func (s *Server) updateAccount(c *fiber.Ctx) error {
	ctx := c.UserContext()
	me := principal(c)
	a, err := s.securedAccount(c)
	if err != nil {
		return err
	}
	if a.Status == store.AccountClosed {
		return &apiError{status: http.StatusBadRequest, code: codeBadRequest, message: "Account is closed"}
	}
	var newStatus string
	if v := form(c, "Status"); v != "" {
		if newStatus, err = parseAccountStatus(v); err != nil {
			return err
		}
	}
	if v := form(c, "Role"); v != "" {
		if me.Role != roleAdmin {
			return forbidden("Only Administrator allowed")
		}
		if a.Role, err = parseRole(v); err != nil {
			return err
		}
	}
	rotate, err := boolParam("RotateAuthToken", form(c, "RotateAuthToken"))
	if err != nil {
		return err
	}
	if v, given := formParam(c, "FriendlyName"); given && strings.TrimSpace(v) != "" {
		a.FriendlyName = strings.TrimSpace(v)
	}
	if pw, given := formParam(c, "Password"); given {
		if a.PasswordHash, err = s.newPasswordHash(pw); err != nil {
			return err
		}
		if a.Status == store.AccountUninitialized && newStatus == "" {
			a.Status = store.AccountActive
		}
	}
	if rotate != nil && *rotate {
		a.AuthToken = sid.Token()
	}
	a.DateUpdated = s.now()
	if newStatus != "" && newStatus != a.Status {
		a.Status = newStatus
		if err := s.cascadeStatus(ctx, a.Sid, newStatus); err != nil {
			return err
		}
	}
	if err := s.store.UpdateAccount(ctx, a); err != nil {
		return fmt.Errorf("update account %s: %w", a.Sid, err)
	}
	if newStatus == store.AccountClosed {
		if err := s.releaseNumbers(ctx, a.Sid); err != nil {
			return err
		}
	}
	return s.renderAccount(c, a)
}

// cascadeStatus applies a status to every descendant of root, deepest first
// as upstream does, so no child is ever more open than its parent. Closing
// also releases each closed account's numbers, so no more calls route to it.
func (s *Server) cascadeStatus(ctx context.Context, root, status string) error {
	subtree, err := s.descendants(ctx, root)
	if err != nil {
		return err
	}
	for i := len(subtree) - 1; i >= 0; i-- {
		a, err := s.store.Account(ctx, subtree[i])
		if err != nil {
			return fmt.Errorf("load account %s: %w", subtree[i], err)
		}
		if a.Status == status || a.Status == store.AccountClosed {
			continue
		}
		a.Status = status
		a.DateUpdated = s.now()
		if err := s.store.UpdateAccount(ctx, a); err != nil {
			return fmt.Errorf("set status of account %s: %w", a.Sid, err)
		}
		if status == store.AccountClosed {
			if err := s.releaseNumbers(ctx, a.Sid); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Server) releaseNumbers(ctx context.Context, accountSid string) error {
	nums, err := s.store.PhoneNumbers(ctx, accountSid)
	if err != nil {
		return fmt.Errorf("list numbers of closed account %s: %w", accountSid, err)
	}
	for _, n := range nums {
		if err := s.store.DeletePhoneNumber(ctx, n.Sid); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("release number %s of closed account %s: %w", n.Sid, accountSid, err)
		}
	}
	return nil
}

func (s *Server) renderAccount(c *fiber.Ctx, a store.Account) error {
	return render(c,
		func() any { return s.accountJSON(a) },
		func() any { return accountEnvelope{Account: s.accountXML(a)} })
}

// accountSubresources lists the sub-resource names of an Account in
// upstream's order: JSON key, XML element, path.
func accountSubresources() [][3]string {
	return [][3]string{
		{"available_phone_numbers", "AvailablePhoneNumbers", "AvailablePhoneNumbers"},
		{"calls", "Calls", "Calls"},
		{"conferences", "Conferences", "Conferences"},
		{"incoming_phone_numbers", "IncomingPhoneNumbers", "IncomingPhoneNumbers"},
		{"notifications", "Notifications", "Notifications"},
		{"outgoing_caller_ids", "OutgoingCallerIds", "OutgoingCallerIds"},
		{"recordings", "Recordings", "Recordings"},
		{"sandbox", "Sandbox", "Sandbox"},
		{"sms_messages", "SMSMessages", "SMS/Messages"},
		{"transcriptions", "Transcriptions", "Transcriptions"},
	}
}

// accountJSON is the JSON Account, keys in upstream's order. The AuthToken is
// shown: only the account itself and its ancestors can read an account.
type accountJSON struct {
	Sid             string          `json:"sid"`
	FriendlyName    string          `json:"friendly_name"`
	EmailAddress    *string         `json:"email_address,omitempty"`
	Type            string          `json:"type"`
	Status          string          `json:"status"`
	Role            string          `json:"role"`
	DateCreated     string          `json:"date_created"`
	DateUpdated     string          `json:"date_updated"`
	AuthToken       string          `json:"auth_token"`
	URI             string          `json:"uri"`
	SubresourceURIs orderedURIsJSON `json:"subresource_uris"`
}

func (s *Server) accountJSON(a store.Account) accountJSON {
	base := apiRoot + "/Accounts/" + a.Sid
	subs := orderedURIsJSON{}
	for _, r := range accountSubresources() {
		subs = append(subs, [2]string{r[0], base + "/" + r[2] + jsonSuffix})
	}
	return accountJSON{
		Sid: a.Sid, FriendlyName: a.FriendlyName, EmailAddress: optString(a.EmailAddress),
		Type: a.Type, Status: a.Status, Role: a.Role,
		DateCreated: s.restDate(a.DateCreated), DateUpdated: s.restDate(a.DateUpdated),
		AuthToken: a.AuthToken,
		// Upstream puts ".json" after "Accounts" (resources §9 says fix it).
		URI:             base + jsonSuffix,
		SubresourceURIs: subs,
	}
}

// orderedURIsJSON is a JSON object whose keys keep their order.
type orderedURIsJSON [][2]string

// MarshalJSON writes the pairs as one object in order.
func (o orderedURIsJSON) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, kv := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%q", kv[0], kv[1])
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

type accountXML struct {
	XMLName         struct{}           `xml:"Account"`
	Sid             string             `xml:"Sid"`
	FriendlyName    string             `xml:"FriendlyName"`
	EmailAddress    string             `xml:"EmailAddress"`
	Status          string             `xml:"Status"`
	Role            string             `xml:"Role"`
	Type            string             `xml:"Type"`
	DateCreated     string             `xml:"DateCreated"`
	DateUpdated     string             `xml:"DateUpdated"`
	AuthToken       string             `xml:"AuthToken"`
	URI             string             `xml:"Uri"`
	SubresourceURIs accountSubsXMLList `xml:"SubresourceUris"`
}

type accountSubsXMLList struct {
	Items []xmlElement
}

// xmlElement is one <Name>text</Name> element with a name chosen at run time.
type xmlElement struct {
	XMLName xml.Name
	Text    string `xml:",chardata"`
}

func (s *Server) accountXML(a store.Account) accountXML {
	base := apiRoot + "/Accounts/" + a.Sid
	subs := accountSubsXMLList{}
	for _, r := range accountSubresources() {
		subs.Items = append(subs.Items, xmlElement{XMLName: xml.Name{Local: r[1]}, Text: base + "/" + r[2]})
	}
	return accountXML{
		Sid: a.Sid, FriendlyName: a.FriendlyName, EmailAddress: a.EmailAddress,
		Status: a.Status, Role: a.Role, Type: a.Type,
		DateCreated: s.restDate(a.DateCreated), DateUpdated: s.restDate(a.DateUpdated),
		AuthToken: a.AuthToken, URI: base, SubresourceURIs: subs,
	}
}

type accountEnvelope struct {
	XMLName struct{}   `xml:"RestcommResponse"`
	Account accountXML `xml:"Account"`
}

type accountListXML struct {
	XMLName  struct{} `xml:"RestcommResponse"`
	Accounts struct {
		Items []accountXML `xml:"Account"`
	} `xml:"Accounts"`
}
