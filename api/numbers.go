package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/patchbay/patchbay/switch/sid"
	"github.com/patchbay/patchbay/switch/store"
)

// numberURL validates a number's application URL. Unlike call URLs it may be
// an absolute path: upstream resolves those against the switch's own HTTP
// address at call time, and clients provision numbers that way.
func numberURL(name, value string) (string, error) {
	if value == "" {
		return "", nil
	}
	u, err := url.Parse(value)
	switch {
	case err != nil:
	case (u.Scheme == "http" || u.Scheme == "https") && u.Host != "":
		return value, nil
	case u.Scheme == "" && u.Host == "" && strings.HasPrefix(u.Path, "/"):
		return value, nil
	}
	return "", &apiError{status: http.StatusBadRequest, code: codeURLInvalid,
		message: name + " is not a valid URL: an absolute http or https URL or an absolute path is required."}
}

// numberFields applies the optional number parameters present in the request
// to n. An empty URL that was sent clears the field, as upstream.
func numberFields(c *fiber.Ctx, n *store.PhoneNumber) error {
	if v, ok := formParam(c, "FriendlyName"); ok && strings.TrimSpace(v) != "" {
		n.FriendlyName = strings.TrimSpace(v)
	}
	urls := []struct {
		name string
		dst  *string
	}{
		{"VoiceUrl", &n.VoiceURL},
		{"VoiceFallbackUrl", &n.VoiceFallbackURL},
		{"StatusCallback", &n.StatusCallback},
	}
	for _, u := range urls {
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
	methods := []struct {
		name string
		dst  *string
	}{
		{"VoiceMethod", &n.VoiceMethod},
		{"VoiceFallbackMethod", &n.VoiceFallbackMethod},
		{"StatusCallbackMethod", &n.StatusCallbackMethod},
	}
	for _, m := range methods {
		v, err := httpMethod(m.name, form(c, m.name), *m.dst)
		if err != nil {
			return err
		}
		*m.dst = v
	}
	lookup, err := boolParam("VoiceCallerIdLookup", form(c, "VoiceCallerIdLookup"))
	if err != nil {
		return err
	}
	if lookup != nil {
		n.VoiceCallerIDLookup = *lookup
	}
	return nil
}

// createNumber provisions a number. Every number is a SIP number (decision
// 12): isSIP is accepted and ignored.
func (s *Server) createNumber(c *fiber.Ctx, acct store.Account) error {
	number := form(c, "PhoneNumber")
	if number == "" {
		return badParam("Phone number can not be null.")
	}
	now := s.now()
	n := store.PhoneNumber{
		Sid:                  sid.New(sid.PhoneNumber),
		AccountSid:           acct.Sid,
		PhoneNumber:          number,
		FriendlyName:         number,
		VoiceMethod:          "POST",
		VoiceFallbackMethod:  "POST",
		StatusCallbackMethod: "POST",
		APIVersion:           "2012-04-24",
		DateCreated:          now,
		DateUpdated:          now,
	}
	if err := numberFields(c, &n); err != nil {
		return err
	}
	if err := s.store.CreatePhoneNumber(c.UserContext(), n); err != nil {
		if errors.Is(err, store.ErrExists) {
			return &apiError{status: http.StatusBadRequest, code: codeNumberUnavailable,
				message: fmt.Sprintf("The phone number %s is already provisioned.", number), cause: err}
		}
		return fmt.Errorf("create number %s: %w", number, err)
	}
	return s.renderNumber(c, n)
}

// ownNumber loads the number in the path and checks it belongs to the URL
// account (upstream answered 500 here; resources §9 says 403).
func (s *Server) ownNumber(c *fiber.Ctx, acct store.Account) (store.PhoneNumber, error) {
	ref := c.Params("number")
	if !sid.Valid(ref, sid.PhoneNumber) {
		return store.PhoneNumber{}, malformedSid("IncomingPhoneNumberSid", ref)
	}
	n, err := s.store.PhoneNumber(c.UserContext(), ref)
	if errors.Is(err, store.ErrNotFound) {
		return n, notFound("phone number")
	}
	if err != nil {
		return n, fmt.Errorf("load number %s: %w", ref, err)
	}
	if n.AccountSid != acct.Sid {
		return n, forbidden("The phone number does not belong to this account.")
	}
	return n, nil
}

func (s *Server) getNumber(c *fiber.Ctx, acct store.Account) error {
	n, err := s.ownNumber(c, acct)
	if err != nil {
		return err
	}
	return s.renderNumber(c, n)
}

// updateNumber changes the optional fields; PhoneNumber cannot change.
func (s *Server) updateNumber(c *fiber.Ctx, acct store.Account) error {
	n, err := s.ownNumber(c, acct)
	if err != nil {
		return err
	}
	if err := numberFields(c, &n); err != nil {
		return err
	}
	n.DateUpdated = s.now()
	if err := s.store.UpdatePhoneNumber(c.UserContext(), n); err != nil {
		return fmt.Errorf("update number %s: %w", n.Sid, err)
	}
	return s.renderNumber(c, n)
}

func (s *Server) deleteNumber(c *fiber.Ctx, acct store.Account) error {
	n, err := s.ownNumber(c, acct)
	if err != nil {
		return err
	}
	if err := s.store.DeletePhoneNumber(c.UserContext(), n.Sid); err != nil {
		return fmt.Errorf("delete number %s: %w", n.Sid, err)
	}
	return c.SendStatus(http.StatusNoContent)
}

func (s *Server) listNumbers(c *fiber.Ctx, acct store.Account) error {
	pr, err := parsePageRequest(c)
	if err != nil {
		return err
	}
	spec, given, err := parseSortBy(c.Query("SortBy"), []string{"PhoneNumber", "FriendlyName"})
	if err != nil {
		return err
	}
	if !given {
		spec = sortSpec{field: "PhoneNumber"}
	}
	if c.Query("Reverse") == "true" {
		spec.descending = true
	}
	all, err := s.store.PhoneNumbers(c.UserContext(), acct.Sid)
	if err != nil {
		return fmt.Errorf("list numbers of %s: %w", acct.Sid, err)
	}
	numberFilter, nameFilter := c.Query("PhoneNumber"), c.Query("FriendlyName")
	matched := all[:0:0]
	for _, n := range all {
		if numberFilter != "" && !likeMatch("%"+numberFilter+"%", n.PhoneNumber) {
			continue
		}
		if nameFilter != "" && !likeMatch("%"+nameFilter+"%", n.FriendlyName) {
			continue
		}
		matched = append(matched, n)
	}
	key := func(n store.PhoneNumber) string { return n.PhoneNumber }
	if spec.field == "FriendlyName" {
		key = func(n store.PhoneNumber) string { return n.FriendlyName }
	}
	sort.SliceStable(matched, func(i, j int) bool {
		if spec.descending {
			return key(matched[i]) > key(matched[j])
		}
		return key(matched[i]) < key(matched[j])
	})
	total := len(matched)
	if err := pr.check(total); err != nil {
		return err
	}
	page := matched[min(pr.offset(), total):min(pr.offset()+pr.size, total)]
	lastSid := ""
	if len(page) > 0 {
		lastSid = page[len(page)-1].Sid
	}
	w := pr.window(apiRoot+"/Accounts/"+acct.Sid+"/IncomingPhoneNumbers", total, len(page), lastSid)
	if wantsJSON(c) {
		out := numberListJSON{pageJSON: w.json(), Numbers: make([]numberJSON, 0, len(page))}
		for _, n := range page {
			out.Numbers = append(out.Numbers, s.numberJSON(n))
		}
		return sendJSON(c, out)
	}
	env := numberListEnvelope{}
	env.List.pageXML = w.xml()
	for _, n := range page {
		env.List.Numbers = append(env.List.Numbers, s.numberXML(n))
	}
	return sendXML(c, env)
}

func (s *Server) renderNumber(c *fiber.Ctx, n store.PhoneNumber) error {
	return render(c,
		func() any { return s.numberJSON(n) },
		func() any { return numberEnvelope{Number: s.numberXML(n)} })
}

func numberURI(n store.PhoneNumber) string {
	return apiRoot + "/Accounts/" + n.AccountSid + "/IncomingPhoneNumbers/" + n.Sid
}

// numberJSON is the JSON IncomingPhoneNumber (resources §2.5): nulls are
// emitted as null, keys in upstream's order. SMS, USSD and REFER fields are
// not stored by Patchbay and always null; the application-name keys are
// omitted because no application sid is ever set.
type numberJSON struct {
	Sid                  string       `json:"sid"`
	AccountSid           string       `json:"account_sid"`
	FriendlyName         *string      `json:"friendly_name"`
	PhoneNumber          string       `json:"phone_number"`
	VoiceURL             *string      `json:"voice_url"`
	VoiceMethod          *string      `json:"voice_method"`
	VoiceFallbackURL     *string      `json:"voice_fallback_url"`
	VoiceFallbackMethod  *string      `json:"voice_fallback_method"`
	StatusCallback       *string      `json:"status_callback"`
	StatusCallbackMethod *string      `json:"status_callback_method"`
	VoiceCallerIDLookup  bool         `json:"voice_caller_id_lookup"`
	VoiceApplicationSid  *string      `json:"voice_application_sid"`
	DateCreated          string       `json:"date_created"`
	DateUpdated          string       `json:"date_updated"`
	SMSURL               *string      `json:"sms_url"`
	SMSMethod            *string      `json:"sms_method"`
	SMSFallbackURL       *string      `json:"sms_fallback_url"`
	SMSFallbackMethod    *string      `json:"sms_fallback_method"`
	SMSApplicationSid    *string      `json:"sms_application_sid"`
	USSDURL              *string      `json:"ussd_url"`
	USSDMethod           *string      `json:"ussd_method"`
	USSDFallbackURL      *string      `json:"ussd_fallback_url"`
	USSDFallbackMethod   *string      `json:"ussd_fallback_method"`
	USSDApplicationSid   *string      `json:"ussd_application_sid"`
	ReferURL             *string      `json:"refer_url"`
	ReferMethod          *string      `json:"refer_method"`
	ReferApplicationSid  *string      `json:"refer_application_sid"`
	Capabilities         capabilities `json:"capabilities"`
	APIVersion           string       `json:"api_version"`
	URI                  string       `json:"uri"`
}

type capabilities struct {
	Voice bool `json:"voice_capable" xml:"Voice"`
	SMS   bool `json:"sms_capable" xml:"Sms"`
	MMS   bool `json:"mms_capable" xml:"Mms"`
	Fax   bool `json:"fax_capable" xml:"Fax"`
}

func (s *Server) numberJSON(n store.PhoneNumber) numberJSON {
	return numberJSON{
		Sid: n.Sid, AccountSid: n.AccountSid, FriendlyName: optString(n.FriendlyName), PhoneNumber: n.PhoneNumber,
		VoiceURL: optString(n.VoiceURL), VoiceMethod: optString(n.VoiceMethod),
		VoiceFallbackURL: optString(n.VoiceFallbackURL), VoiceFallbackMethod: optString(n.VoiceFallbackMethod),
		StatusCallback: optString(n.StatusCallback), StatusCallbackMethod: optString(n.StatusCallbackMethod),
		VoiceCallerIDLookup: n.VoiceCallerIDLookup,
		DateCreated:         s.restDate(n.DateCreated), DateUpdated: s.restDate(n.DateUpdated),
		APIVersion: apiVersion(n.APIVersion), URI: numberURI(n) + jsonSuffix,
	}
}

// numberXML is the XML IncomingPhoneNumber: URL and application-sid elements
// are omitted when null, method elements present but empty.
type numberXML struct {
	XMLName              struct{}     `xml:"IncomingPhoneNumber"`
	Sid                  string       `xml:"Sid"`
	AccountSid           string       `xml:"AccountSid"`
	FriendlyName         string       `xml:"FriendlyName"`
	PhoneNumber          string       `xml:"PhoneNumber"`
	VoiceURL             string       `xml:"VoiceUrl,omitempty"`
	VoiceMethod          string       `xml:"VoiceMethod"`
	VoiceFallbackURL     string       `xml:"VoiceFallbackUrl,omitempty"`
	VoiceFallbackMethod  string       `xml:"VoiceFallbackMethod"`
	StatusCallback       string       `xml:"StatusCallback,omitempty"`
	StatusCallbackMethod string       `xml:"StatusCallbackMethod"`
	VoiceCallerIDLookup  bool         `xml:"VoiceCallerIdLookup"`
	DateCreated          string       `xml:"DateCreated"`
	DateUpdated          string       `xml:"DateUpdated"`
	SMSMethod            string       `xml:"SmsMethod"`
	SMSFallbackMethod    string       `xml:"SmsFallbackMethod"`
	USSDMethod           string       `xml:"UssdMethod"`
	USSDFallbackMethod   string       `xml:"UssdFallbackMethod"`
	ReferMethod          string       `xml:"ReferMethod"`
	Capabilities         capabilities `xml:"Capabilities"`
	APIVersion           string       `xml:"ApiVersion"`
	URI                  string       `xml:"Uri"`
}

func (s *Server) numberXML(n store.PhoneNumber) numberXML {
	return numberXML{
		Sid: n.Sid, AccountSid: n.AccountSid, FriendlyName: n.FriendlyName, PhoneNumber: n.PhoneNumber,
		VoiceURL: n.VoiceURL, VoiceMethod: n.VoiceMethod,
		VoiceFallbackURL: n.VoiceFallbackURL, VoiceFallbackMethod: n.VoiceFallbackMethod,
		StatusCallback: n.StatusCallback, StatusCallbackMethod: n.StatusCallbackMethod,
		VoiceCallerIDLookup: n.VoiceCallerIDLookup,
		DateCreated:         s.restDate(n.DateCreated), DateUpdated: s.restDate(n.DateUpdated),
		APIVersion: apiVersion(n.APIVersion), URI: numberURI(n),
	}
}

type numberEnvelope struct {
	XMLName struct{}  `xml:"RestcommResponse"`
	Number  numberXML `xml:"IncomingPhoneNumber"`
}

type numberListEnvelope struct {
	XMLName struct{} `xml:"RestcommResponse"`
	List    struct {
		pageXML
		Numbers []numberXML `xml:"IncomingPhoneNumber"`
	} `xml:"IncomingPhoneNumbers"`
}

type numberListJSON struct {
	pageJSON
	Numbers []numberJSON `json:"incomingPhoneNumbers"`
}
