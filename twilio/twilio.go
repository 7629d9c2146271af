// Package twilio sends text messages through Twilio's Messaging API with
// the official twilio-go client. Only jobs/ and cmd/ import it; the web
// package checks Twilio's callbacks with twilio/twiliosig, which does not
// need the SDK.
package twilio

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/eonpro/eonpro"
)

// Provider is the DeliveryError provider name of Twilio's refusals.
const Provider = "twilio"

// Sender sends eonpro.ChannelSMS messages through Twilio. It is safe for
// concurrent use.
type Sender struct {
	accountSID string
	authToken  string
	from       string
	baseURL    *url.URL
	httpClient *http.Client
	err        error
}

// Option configures a Sender.
type Option func(*Sender)

// WithBaseURL sends the API requests to base (only its scheme and host are
// used) instead of https://api.twilio.com, as tests do with twiliofake.
// twilio-go has no setting for it: its API services keep their base URL
// unexported, so the Sender's transport rewrites each request's scheme and
// host.
func WithBaseURL(base string) Option {
	return func(s *Sender) {
		u, err := url.Parse(base)
		if err != nil || u.Scheme == "" || u.Host == "" {
			s.err = fmt.Errorf("twilio: base URL %q is not an absolute URL", base)
			return
		}
		s.baseURL = u
	}
}

// WithHTTPClient sends the requests with c (its transport and timeout)
// instead of a client with a 10-second timeout that follows no redirects,
// twilio-go's default.
func WithHTTPClient(c *http.Client) Option {
	return func(s *Sender) { s.httpClient = c }
}

// New returns a Sender for the account. from is the default sender: an
// E.164 number (+15005550006) or a Messaging Service SID (MG…), which lets
// Twilio pick the number.
func New(accountSID, authToken, from string, opts ...Option) *Sender {
	s := &Sender{
		accountSID: accountSID,
		authToken:  authToken,
		from:       from,
		httpClient: &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// Send creates the message with Twilio. The result's Status is "queued"
// from a number and "accepted" from a Messaging Service. A refusal is a
// *eonpro.DeliveryError (see deliveryError for which are permanent); a
// message Twilio cannot take (not a text, no recipient, body or sender)
// is an EINVALID error; a failure to reach Twilio is returned wrapped, and
// is worth retrying. Subject and HTML are ignored: a text has only a body.
func (s *Sender) Send(ctx context.Context, m eonpro.Message) (eonpro.SendResult, error) {
	if err := s.check(m); err != nil {
		return eonpro.SendResult{}, err
	}
	msg, err := s.api(ctx).CreateMessage(s.params(m))
	if err != nil {
		return eonpro.SendResult{}, deliveryError(err)
	}
	if msg.Sid == nil || msg.Status == nil {
		return eonpro.SendResult{}, fmt.Errorf("twilio: send message: the answer has no sid or status")
	}
	return eonpro.SendResult{ProviderID: *msg.Sid, Status: *msg.Status}, nil
}

func (s *Sender) check(m eonpro.Message) error {
	switch {
	case s.err != nil:
		return s.err
	case m.Channel != eonpro.ChannelSMS:
		return eonpro.Errorf(eonpro.EINVALID, "Twilio sends text messages, not %q messages.", m.Channel)
	case m.To == "":
		return eonpro.Errorf(eonpro.EINVALID, "A text message needs a recipient number.")
	case m.Body == "":
		return eonpro.Errorf(eonpro.EINVALID, "A text message needs a body.")
	case m.From == "" && s.from == "":
		return eonpro.Errorf(eonpro.EINVALID, "No sender number or messaging service is configured for text messages.")
	}
	return nil
}

func (s *Sender) params(m eonpro.Message) *openapi.CreateMessageParams {
	p := (&openapi.CreateMessageParams{}).SetTo(m.To).SetBody(m.Body)
	if from := cmp.Or(m.From, s.from); isServiceSID(from) {
		p.SetMessagingServiceSid(from)
	} else {
		p.SetFrom(from)
	}
	if m.StatusCallback != "" {
		p.SetStatusCallback(m.StatusCallback)
	}
	return p
}

// isServiceSID reports whether from is a Messaging Service SID: "MG" and
// 32 hex digits (an alphanumeric sender ID may also begin with MG).
func isServiceSID(from string) bool {
	hex := strings.TrimPrefix(from, "MG")
	return len(from) == 34 && len(hex) == 32 && strings.Trim(strings.ToLower(hex), "0123456789abcdef") == ""
}

// api returns twilio-go's Messages API for one call. The client takes no
// context (it makes its requests with context.Background), so each call
// gets a transport that gives the requests ctx; the connections are still
// pooled by the shared underlying transport. The request handler is built
// directly rather than by twilio.NewRestClientWithParams, which would
// also read TWILIO_EDGE and TWILIO_REGION from the environment: the
// configuration comes from New alone.
func (s *Sender) api(ctx context.Context) *openapi.ApiService {
	hc := *s.httpClient
	hc.Transport = &transport{ctx: ctx, base: s.baseURL, next: s.httpClient.Transport}
	c := &client.Client{Credentials: client.NewCredentials(s.accountSID, s.authToken), HTTPClient: &hc}
	c.SetAccountSid(s.accountSID)
	return openapi.NewApiService(&client.RequestHandler{Client: c})
}

// transport gives each request the caller's context and, when base is
// set, its scheme and host.
type transport struct {
	ctx  context.Context
	base *url.URL
	next http.RoundTripper
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(t.ctx)
	if t.base != nil {
		r.URL.Scheme = t.base.Scheme
		r.URL.Host = t.base.Host
		r.Host = ""
	}
	if t.next == nil {
		return http.DefaultTransport.RoundTrip(r)
	}
	return t.next.RoundTrip(r)
}
