package api

import (
	"strconv"

	"github.com/patchbay/patchbay/switch/store"
)

// callJSON is the JSON Call of restcomm-calls.md §2.3: keys in upstream's
// order, empty values omitted. price is emitted too (§7.2), as a string so
// "0.00" keeps its form.
type callJSON struct {
	Sid             string          `json:"sid"`
	DateCreated     string          `json:"date_created,omitempty"`
	DateUpdated     string          `json:"date_updated,omitempty"`
	ParentCallSid   string          `json:"parent_call_sid,omitempty"`
	AccountSid      string          `json:"account_sid"`
	To              string          `json:"to"`
	From            string          `json:"from"`
	PhoneNumberSid  string          `json:"phone_number_sid,omitempty"`
	Status          string          `json:"status"`
	StartTime       string          `json:"start_time,omitempty"`
	EndTime         string          `json:"end_time,omitempty"`
	Duration        *int            `json:"duration,omitempty"`
	Price           string          `json:"price,omitempty"`
	PriceUnit       string          `json:"price_unit,omitempty"`
	Direction       string          `json:"direction"`
	AnsweredBy      string          `json:"answered_by,omitempty"`
	APIVersion      string          `json:"api_version"`
	ForwardedFrom   string          `json:"forwarded_from,omitempty"`
	CallerName      string          `json:"caller_name,omitempty"`
	URI             string          `json:"uri"`
	RingDuration    *int            `json:"ring_duration,omitempty"`
	SubresourceURIs orderedURIsJSON `json:"subresource_uris"`
}

// knownSeconds returns nil for the store's "unknown" (-1).
func knownSeconds(n int) *int {
	if n < 0 {
		return nil
	}
	return &n
}

func secondsText(n int) string {
	if n < 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func callURI(c store.Call) string {
	return apiRoot + "/Accounts/" + c.AccountSid + "/Calls/" + c.Sid
}

func apiVersion(v string) string {
	if v == "" {
		return "2012-04-24"
	}
	return v
}

func (s *Server) callJSON(c store.Call) callJSON {
	uri := callURI(c)
	return callJSON{
		Sid: c.Sid, DateCreated: s.restDate(c.DateCreated), DateUpdated: s.restDate(c.DateUpdated),
		ParentCallSid: c.ParentCallSid, AccountSid: c.AccountSid, To: c.To, From: c.From,
		PhoneNumberSid: c.PhoneNumberSid, Status: c.Status,
		StartTime: s.isoDate(c.StartTime), EndTime: s.isoDate(c.EndTime),
		Duration: knownSeconds(c.Duration), Price: c.Price, PriceUnit: c.PriceUnit,
		Direction: c.Direction, AnsweredBy: c.AnsweredBy, APIVersion: apiVersion(c.APIVersion),
		ForwardedFrom: c.ForwardedFrom, CallerName: c.CallerName,
		URI: uri + jsonSuffix, RingDuration: knownSeconds(c.RingDuration),
		SubresourceURIs: orderedURIsJSON{
			{"notifications", uri + "/Notifications" + jsonSuffix},
			{"recordings", uri + "/Recordings" + jsonSuffix},
		},
	}
}

// callXML is the XML Call, children in upstream's order; absent values are
// empty elements.
type callXML struct {
	XMLName         struct{} `xml:"Call"`
	Sid             string   `xml:"Sid"`
	DateCreated     string   `xml:"DateCreated"`
	DateUpdated     string   `xml:"DateUpdated"`
	ParentCallSid   string   `xml:"ParentCallSid"`
	AccountSid      string   `xml:"AccountSid"`
	To              string   `xml:"To"`
	From            string   `xml:"From"`
	PhoneNumberSid  string   `xml:"PhoneNumberSid"`
	Status          string   `xml:"Status"`
	StartTime       string   `xml:"StartTime"`
	EndTime         string   `xml:"EndTime"`
	Duration        string   `xml:"Duration"`
	Price           string   `xml:"Price"`
	PriceUnit       string   `xml:"PriceUnit"`
	Direction       string   `xml:"Direction"`
	AnsweredBy      string   `xml:"AnsweredBy"`
	APIVersion      string   `xml:"ApiVersion"`
	ForwardedFrom   string   `xml:"ForwardedFrom"`
	CallerName      string   `xml:"CallerName"`
	URI             string   `xml:"Uri"`
	SubresourceURIs struct {
		Notifications string `xml:"Notifications"`
		Recordings    string `xml:"Recordings"`
	} `xml:"SubresourceUris"`
	RingDuration string `xml:"Ring_duration"`
}

func (s *Server) callXML(c store.Call) callXML {
	uri := callURI(c)
	x := callXML{
		Sid: c.Sid, DateCreated: s.restDate(c.DateCreated), DateUpdated: s.restDate(c.DateUpdated),
		ParentCallSid: c.ParentCallSid, AccountSid: c.AccountSid, To: c.To, From: c.From,
		PhoneNumberSid: c.PhoneNumberSid, Status: c.Status,
		StartTime: s.isoDate(c.StartTime), EndTime: s.isoDate(c.EndTime),
		Duration: secondsText(c.Duration), Price: c.Price, PriceUnit: c.PriceUnit,
		Direction: c.Direction, AnsweredBy: c.AnsweredBy, APIVersion: apiVersion(c.APIVersion),
		ForwardedFrom: c.ForwardedFrom, CallerName: c.CallerName, URI: uri,
		RingDuration: secondsText(c.RingDuration),
	}
	x.SubresourceURIs.Notifications = uri + "/Notifications"
	x.SubresourceURIs.Recordings = uri + "/Recordings"
	return x
}

type callEnvelope struct {
	XMLName struct{} `xml:"RestcommResponse"`
	Call    callXML  `xml:"Call"`
}

// callListEnvelope is a page of the Calls list in XML.
type callListEnvelope struct {
	XMLName struct{} `xml:"RestcommResponse"`
	Calls   struct {
		pageXML
		Calls []callXML `xml:"Call"`
	} `xml:"Calls"`
}

// callLegsEnvelope holds the legs of one create in XML: a <Calls> element
// without paging attributes (upstream's were stale garbage).
type callLegsEnvelope struct {
	XMLName struct{} `xml:"RestcommResponse"`
	Calls   struct {
		Calls []callXML `xml:"Call"`
	} `xml:"Calls"`
}

type callListJSON struct {
	pageJSON
	Calls []callJSON `json:"calls"`
}
