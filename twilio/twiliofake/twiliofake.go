// Package twiliofake is an in-process fake of Twilio's Messages API for
// tests: an HTTP server speaking the real wire format (POST
// /2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded
// parameters, HTTP Basic auth with the account SID and auth token, the
// Message resource or Twilio's JSON error in answer), so the real
// twilio-go client runs against it unchanged. It keeps the messages it
// accepted, an opt-out list, queued failures, and posts signed status
// callbacks as Twilio does.
package twiliofake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// apiVersion is the version of the Messages API the fake speaks.
const apiVersion = "2010-04-01"

// Fake is a running fake of Twilio. Its URL (of the embedded server) is
// the base URL to give the client. Close it when done.
type Fake struct {
	*httptest.Server
	// AccountSID and AuthToken are the only credentials the fake accepts.
	AccountSID string
	AuthToken  string

	mu       sync.Mutex
	messages []SentSMS
	optedOut map[string]bool
	failures []apiError
}

// SentSMS is a message the fake accepted, with its latest status.
type SentSMS struct {
	SID                 string
	To                  string
	From                string // empty until a Messaging Service picks a number
	MessagingServiceSID string
	Body                string
	StatusCallback      string
	Status              string
	ErrorCode           int // set when delivered as failed or undelivered
	NumSegments         int
	DateCreated         time.Time
}

// New starts a fake Twilio with a random account SID and auth token.
func New() *Fake {
	f := &Fake{
		AccountSID: "AC" + randomHex(16),
		AuthToken:  randomHex(16),
		optedOut:   map[string]bool{},
	}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serveHTTP))
	return f
}

// Messages returns the messages accepted so far, oldest first.
func (f *Fake) Messages() []SentSMS {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]SentSMS(nil), f.messages...)
}

// FailNext makes the next request to create a message (with the right
// credentials) fail with Twilio's error of that HTTP status and code,
// such as 429 and 20429 for throttling or 500 and 20500. Calls queue up.
func (f *Fake) FailNext(httpStatus, code int, message string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, apiError{Code: code, Message: message, Status: httpStatus})
}

// OptOut puts number on the opt-out list, as when its owner replied STOP:
// sending to it fails with 21610. (Twilio keeps the list per sender; the
// fake keeps one for the account.)
func (f *Fake) OptOut(number string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.optedOut[number] = true
}

// apiError is Twilio's JSON error, its fields in Twilio's order.
type apiError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

func fail(status, code int, format string, args ...any) *apiError {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...), Status: status}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *Fake) serveHTTP(w http.ResponseWriter, r *http.Request) {
	msg, ae := f.serve(r)
	if ae != nil {
		ae.MoreInfo = fmt.Sprintf("https://www.twilio.com/docs/errors/%d", ae.Code)
		if ae.Status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		}
		writeJSON(w, ae.Status, ae)
		return
	}
	writeJSON(w, http.StatusCreated, f.resource(msg))
}

var messagesPath = regexp.MustCompile(`^/2010-04-01/Accounts/([^/]+)/Messages\.json$`)

// serve checks a request as Twilio does (path, method, credentials,
// queued failures, parameters) and records the message it creates.
func (f *Fake) serve(r *http.Request) (SentSMS, *apiError) {
	match := messagesPath.FindStringSubmatch(r.URL.Path)
	if match == nil {
		return SentSMS{}, fail(http.StatusNotFound, 20404, "The requested resource %s was not found", r.URL.Path)
	}
	if r.Method != http.MethodPost {
		return SentSMS{}, fail(http.StatusMethodNotAllowed, 20004, "Method not allowed")
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != f.AccountSID || pass != f.AuthToken {
		return SentSMS{}, fail(http.StatusUnauthorized, 20003, "Authenticate")
	}
	if match[1] != f.AccountSID {
		return SentSMS{}, fail(http.StatusNotFound, 20404, "The requested resource %s was not found", r.URL.Path)
	}
	if ae := f.nextFailure(); ae != nil {
		return SentSMS{}, ae
	}
	if err := r.ParseForm(); err != nil {
		return SentSMS{}, fail(http.StatusBadRequest, 20001, "Unable to parse the request body")
	}
	return f.create(r.PostForm.Get("To"), r.PostForm.Get("From"), r.PostForm.Get("MessagingServiceSid"),
		r.PostForm.Get("Body"), r.PostForm.Get("StatusCallback"))
}

func (f *Fake) nextFailure() *apiError {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.failures) == 0 {
		return nil
	}
	ae := f.failures[0]
	f.failures = f.failures[1:]
	return &ae
}

// e164 is the number format the fake accepts. Twilio also reads national
// numbers; EONPRO always sends E.164.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// create validates the parameters in Twilio's order and with its codes and
// messages (21211's names the number, as Twilio's does, so tests can see
// that the adapter does not pass it on).
func (f *Fake) create(to, from, service, body, callback string) (SentSMS, *apiError) {
	switch {
	case to == "":
		return SentSMS{}, fail(http.StatusBadRequest, 21604, "A 'To' phone number is required.")
	case from == "" && service == "":
		return SentSMS{}, fail(http.StatusBadRequest, 21603, "A 'From' phone number is required.")
	case body == "":
		return SentSMS{}, fail(http.StatusBadRequest, 21602, "Message body is required.")
	case !e164.MatchString(to):
		return SentSMS{}, fail(http.StatusBadRequest, 21211, "The 'To' number %s is not a valid phone number.", to)
	case utf8.RuneCountInString(body) > 1600:
		return SentSMS{}, fail(http.StatusBadRequest, 21617, "The concatenated message body exceeds the 1600 character limit.")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.optedOut[to] {
		return SentSMS{}, fail(http.StatusBadRequest, 21610, "Attempt to send to unsubscribed recipient")
	}
	m := SentSMS{
		SID: "SM" + randomHex(16), To: to, From: from, MessagingServiceSID: service,
		Body: body, StatusCallback: callback, Status: "queued",
		NumSegments: segments(body), DateCreated: time.Now().UTC().Truncate(time.Second),
	}
	if from == "" {
		// A Messaging Service has accepted the message but not yet
		// picked a number, so Twilio has counted no segments.
		m.Status, m.NumSegments = "accepted", 0
	}
	f.messages = append(f.messages, m)
	return m, nil
}

// message is Twilio's Message resource as the Messages API answers it:
// every field present, null where Twilio has no value, counts as strings,
// dates in RFC 2822.
type message struct {
	AccountSID          string            `json:"account_sid"`
	APIVersion          string            `json:"api_version"`
	Body                string            `json:"body"`
	DateCreated         string            `json:"date_created"`
	DateSent            *string           `json:"date_sent"`
	DateUpdated         string            `json:"date_updated"`
	Direction           string            `json:"direction"`
	ErrorCode           *int              `json:"error_code"`
	ErrorMessage        *string           `json:"error_message"`
	From                *string           `json:"from"`
	MessagingServiceSID *string           `json:"messaging_service_sid"`
	NumMedia            string            `json:"num_media"`
	NumSegments         string            `json:"num_segments"`
	Price               *string           `json:"price"`
	PriceUnit           string            `json:"price_unit"`
	SID                 string            `json:"sid"`
	Status              string            `json:"status"`
	SubresourceURIs     map[string]string `json:"subresource_uris"`
	To                  string            `json:"to"`
	URI                 string            `json:"uri"`
}

func (f *Fake) resource(m SentSMS) message {
	uri := fmt.Sprintf("/%s/Accounts/%s/Messages/%s", apiVersion, f.AccountSID, m.SID)
	date := m.DateCreated.Format(time.RFC1123Z)
	return message{
		AccountSID: f.AccountSID, APIVersion: apiVersion, Body: m.Body,
		DateCreated: date, DateUpdated: date, Direction: "outbound-api",
		From: optional(m.From), MessagingServiceSID: optional(m.MessagingServiceSID),
		NumMedia: "0", NumSegments: fmt.Sprint(m.NumSegments), PriceUnit: "USD",
		SID: m.SID, Status: m.Status, To: m.To, URI: uri + ".json",
		SubresourceURIs: map[string]string{"media": uri + "/Media.json"},
	}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// randomHex returns n random bytes in lower-case hex, the digits of
// Twilio's SIDs after their two-letter prefix.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}
