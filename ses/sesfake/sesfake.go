// Package sesfake is an in-process fake of the Amazon SES v2 API for
// tests: an HTTP server speaking the real wire protocol (restJson1: POST
// /v2/email/outbound-emails with a JSON body, SigV4-signed requests,
// errors named by the X-Amzn-ErrorType header with a JSON message), so the
// real aws-sdk-go-v2 sesv2 client runs against it unchanged and yields its
// typed errors. It implements SendEmail with simple content, checks the
// signature with the fake's secret, and refuses senders that are not
// verified, as the SES sandbox does.
package sesfake

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// The fake's region and static credentials; a request signed with others
// is refused.
const (
	Region    = "us-east-1"
	AccessKey = "AKIDFAKESES"
	SecretKey = "fake-ses-secret"
)

// maxBody is SES v2's limit on a message (40 MB), which bounds the body.
const maxBody = 40 << 20

// SentEmail is one message the fake accepted.
type SentEmail struct {
	MessageID        string
	From             string
	To               []string
	Subject          string
	Text             string
	HTML             string
	ConfigurationSet string
}

// Fake is a running fake SES v2. Its URL is the endpoint to give the
// client. Close it when done.
type Fake struct {
	*httptest.Server

	mu       sync.Mutex
	sent     []SentEmail
	verified map[string]bool // addresses and domains, lower case
	failures []*apiError
	requests int
}

// New starts a fake SES with no verified identities: every send fails
// until the sender's address or domain is verified.
func New() *Fake {
	f := &Fake{verified: map[string]bool{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serveHTTP))
	return f
}

// Credentials returns the static credentials the fake accepts.
func (f *Fake) Credentials() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, "")
}

// Config returns an SDK configuration in the fake's region with its
// credentials; the endpoint is f.URL, set on the client.
func (f *Fake) Config() aws.Config {
	return aws.Config{Region: Region, Credentials: f.Credentials()}
}

// VerifyIdentity lets an address ("clinic@example.com") or a whole domain
// ("example.com") send.
func (f *Fake) VerifyIdentity(identity string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.verified[strings.ToLower(identity)] = true
}

// FailNext makes the next SendEmail that passes the protocol and signature
// checks fail with the exception code (such as "TooManyRequestsException")
// and HTTP status (429). Calls queue up, one failure per request. The
// message names the recipients, as some SES messages do, so tests catch a
// sender that passes the provider's text on.
func (f *Fake) FailNext(code string, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, &apiError{Code: code, Status: status})
}

// Messages returns the messages accepted so far, oldest first.
func (f *Fake) Messages() []SentEmail {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]SentEmail(nil), f.sent...)
}

// Requests returns how many SendEmail requests the fake has answered,
// refused ones included.
func (f *Fake) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// apiError is an error of the SES API: its code is the exception name.
type apiError struct {
	Code    string
	Message string
	Status  int
}

func badRequest(format string, args ...any) *apiError {
	return &apiError{Code: "BadRequestException", Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

func (f *Fake) serveHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Amzn-RequestId", rand.Text())
	w.Header().Set("Content-Type", "application/json")
	out, ae := f.handle(r)
	if ae != nil {
		w.Header().Set("X-Amzn-ErrorType", ae.Code)
		w.WriteHeader(ae.Status)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": ae.Message})
		return
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (f *Fake) handle(r *http.Request) (any, *apiError) {
	if r.Method != http.MethodPost || r.URL.Path != "/v2/email/outbound-emails" {
		return nil, &apiError{Code: "UnknownOperationException", Message: "no operation " + r.Method + " " + r.URL.Path + " in the fake", Status: http.StatusNotFound}
	}
	f.mu.Lock()
	f.requests++
	f.mu.Unlock()
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return nil, badRequest("body: %v", err)
	}
	if ae := checkSignature(r, body); ae != nil {
		return nil, ae
	}
	var in sendEmailRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, badRequest("body: %v", err)
	}
	return f.sendEmail(in)
}

// sendEmailRequest is the JSON body of SendEmail, with the fields the
// fake reads; the names are the API's member names, as on the wire.
type sendEmailRequest struct {
	FromEmailAddress string
	Destination      *struct {
		ToAddresses, CcAddresses, BccAddresses []string
	}
	Content *struct {
		Simple *struct {
			Subject *content
			Body    *struct{ Text, Html *content }
		}
		Raw, Template json.RawMessage
	}
	ConfigurationSetName string
}

type content struct{ Data, Charset string }

func (c *content) data() string {
	if c == nil {
		return ""
	}
	return c.Data
}

// sendEmail validates the request as SES does, then answers a queued
// failure, refuses an unverified sender, or records the message.
func (f *Fake) sendEmail(in sendEmailRequest) (any, *apiError) {
	if ae := validate(in); ae != nil {
		return nil, ae
	}
	to := in.Destination.ToAddresses
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.failures) > 0 {
		ae := f.failures[0]
		f.failures = f.failures[1:]
		return nil, &apiError{Code: ae.Code, Status: ae.Status, Message: "injected failure for " + strings.Join(to, ", ")}
	}
	from, _ := mail.ParseAddress(in.FromEmailAddress)
	if !f.isVerified(from.Address) {
		return nil, &apiError{Code: "MailFromDomainNotVerifiedException", Status: http.StatusBadRequest,
			Message: "Email address is not verified. The following identities failed the check in region " + strings.ToUpper(Region) + ": " + from.Address}
	}
	// Shaped as SES's ids: a time, a random part, a counter.
	id := fmt.Sprintf("0100%012x-%s-000000", time.Now().UnixMilli(), strings.ToLower(rand.Text()))
	s := in.Content.Simple
	f.sent = append(f.sent, SentEmail{
		MessageID:        id,
		From:             in.FromEmailAddress,
		To:               to,
		Subject:          s.Subject.data(),
		Text:             s.Body.Text.data(),
		HTML:             s.Body.Html.data(),
		ConfigurationSet: in.ConfigurationSetName,
	})
	return map[string]string{"MessageId": id}, nil
}

// validate answers BadRequestException for a request SES would refuse,
// and for raw and template content, which the fake does not implement.
func validate(in sendEmailRequest) *apiError {
	switch {
	case in.FromEmailAddress == "":
		return badRequest("Missing required field FromEmailAddress.")
	case in.Destination == nil || len(in.Destination.ToAddresses)+len(in.Destination.CcAddresses)+len(in.Destination.BccAddresses) == 0:
		return badRequest("Missing required field Destination.")
	case len(in.Destination.CcAddresses)+len(in.Destination.BccAddresses) > 0:
		return badRequest("The fake accepts ToAddresses only.")
	case in.Content == nil:
		return badRequest("Missing required field Content.")
	case in.Content.Simple == nil:
		return badRequest("The fake implements Simple content only.")
	case in.Content.Simple.Subject.data() == "":
		return badRequest("Missing required field Subject.")
	case in.Content.Simple.Body == nil || in.Content.Simple.Body.Text == nil && in.Content.Simple.Body.Html == nil:
		return badRequest("Missing required field Body.")
	}
	if _, err := mail.ParseAddress(in.FromEmailAddress); err != nil {
		return badRequest("Invalid sender address.")
	}
	for _, a := range in.Destination.ToAddresses {
		if _, err := mail.ParseAddress(a); err != nil {
			return badRequest("Invalid recipient address.")
		}
	}
	return nil
}

// isVerified reports whether the address, or its domain, is a verified
// identity. The caller holds f.mu.
func (f *Fake) isVerified(addr string) bool {
	addr = strings.ToLower(addr)
	_, domain, _ := strings.Cut(addr, "@")
	return f.verified[addr] || f.verified[domain]
}
