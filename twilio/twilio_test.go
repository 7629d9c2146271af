package twilio_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/twilio/twilio-go/client"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/twilio"
	"github.com/eonpro/eonpro/twilio/twiliofake"
	"github.com/eonpro/eonpro/twilio/twiliosig"
)

const (
	number  = "+15005550006"
	patient = "+15551230001"
	code    = "Your EONPRO code is 482913"
)

var service = "MG" + strings.Repeat("c", 32)

func sms(to, body string) eonpro.Message {
	return eonpro.Message{Channel: eonpro.ChannelSMS, To: to, Body: body}
}

func TestSend(t *testing.T) {
	ignore := cmpopts.IgnoreFields(twiliofake.SentSMS{}, "SID", "DateCreated")
	for _, tt := range []struct {
		name       string
		from       string
		msg        eonpro.Message
		wantStatus string
		want       twiliofake.SentSMS
	}{
		{"FromNumber", number, sms(patient, code), "queued",
			twiliofake.SentSMS{To: patient, From: number, Body: code, Status: "queued", NumSegments: 1}},
		{"FromService", service, sms(patient, code), "accepted",
			twiliofake.SentSMS{To: patient, MessagingServiceSID: service, Body: code, Status: "accepted"}},
		{"FromOverride", service, eonpro.Message{Channel: eonpro.ChannelSMS, To: patient, Body: code, From: "+15005550007"}, "queued",
			twiliofake.SentSMS{To: patient, From: "+15005550007", Body: code, Status: "queued", NumSegments: 1}},
		{"StatusCallback", number, eonpro.Message{Channel: eonpro.ChannelSMS, To: patient, Body: code, StatusCallback: "https://clinic.example/twilio/status"}, "queued",
			twiliofake.SentSMS{To: patient, From: number, Body: code, StatusCallback: "https://clinic.example/twilio/status", Status: "queued", NumSegments: 1}},
		{"AlphanumericSenderStartingMG", "MGClinic", sms(patient, code), "queued",
			twiliofake.SentSMS{To: patient, From: "MGClinic", Body: code, Status: "queued", NumSegments: 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := twiliofake.New()
			defer f.Close()
			s := twilio.New(f.AccountSID, f.AuthToken, tt.from, twilio.WithBaseURL(f.URL))
			res, err := s.Send(context.Background(), tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			sent := f.Messages()
			if len(sent) != 1 {
				t.Fatalf("the fake recorded %d messages, want 1", len(sent))
			}
			if diff := cmp.Diff(eonpro.SendResult{ProviderID: sent[0].SID, Status: tt.wantStatus}, res); diff != "" {
				t.Errorf("SendResult mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, sent[0], ignore); diff != "" {
				t.Errorf("recorded message mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSendRefused(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(*twiliofake.Fake)
		token string
		msg   eonpro.Message
		want  *eonpro.DeliveryError
	}{
		{"ErrWrongToken", nil, "0123456789abcdef0123456789abcdef", sms(patient, code),
			&eonpro.DeliveryError{Provider: "twilio", Code: "20003", Message: "authentication failed: check the account SID and auth token"}},
		{"ErrThrottled", failNext(429, 20429, "Too Many Requests"), "", sms(patient, code),
			&eonpro.DeliveryError{Provider: "twilio", Code: "20429", Message: "too many requests"}},
		{"ErrServer", failNext(500, 20500, "Internal Server Error"), "", sms(patient, code),
			&eonpro.DeliveryError{Provider: "twilio", Code: "20500", Message: "HTTP 500, see https://www.twilio.com/docs/errors/20500"}},
		{"ErrInvalidNumber", nil, "", sms("555-0100", code),
			&eonpro.DeliveryError{Provider: "twilio", Code: "21211", Message: "the recipient number is not a valid phone number", Permanent: true}},
		{"ErrOptedOut", func(f *twiliofake.Fake) { f.OptOut(patient) }, "", sms(patient, code),
			&eonpro.DeliveryError{Provider: "twilio", Code: "21610", Message: "the recipient has unsubscribed (replied STOP)", Permanent: true}},
		{"ErrBodyTooLong", nil, "", sms(patient, strings.Repeat(code, 70)),
			&eonpro.DeliveryError{Provider: "twilio", Code: "21617", Message: "the message body is longer than 1600 characters", Permanent: true}},
		{"ErrNotMobile", failNext(400, 21614, "'To' number "+patient+" is not a valid mobile number"), "", sms(patient, code),
			&eonpro.DeliveryError{Provider: "twilio", Code: "21614", Message: "the recipient number is not a mobile number", Permanent: true}},
		{"ErrOtherClientError", failNext(400, 21999, "Something about "+patient), "", sms(patient, code),
			&eonpro.DeliveryError{Provider: "twilio", Code: "21999", Message: "HTTP 400, see https://www.twilio.com/docs/errors/21999", Permanent: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := twiliofake.New()
			defer f.Close()
			if tt.setup != nil {
				tt.setup(f)
			}
			token := f.AuthToken
			if tt.token != "" {
				token = tt.token
			}
			_, err := twilio.New(f.AccountSID, token, number, twilio.WithBaseURL(f.URL)).Send(context.Background(), tt.msg)
			var de *eonpro.DeliveryError
			if !errors.As(err, &de) {
				t.Fatalf("Send = %v, want a *eonpro.DeliveryError", err)
			}
			if diff := cmp.Diff(tt.want, de); diff != "" {
				t.Errorf("DeliveryError mismatch (-want +got):\n%s", diff)
			}
			noPHI(t, err, tt.msg)
			if n := len(f.Messages()); n != 0 {
				t.Errorf("the fake recorded %d messages, want none", n)
			}
		})
	}
}

func failNext(status, code int, message string) func(*twiliofake.Fake) {
	return func(f *twiliofake.Fake) { f.FailNext(status, code, message) }
}

// noPHI fails the test when err's text holds the message's recipient or
// body.
func noPHI(t *testing.T, err error, m eonpro.Message) {
	t.Helper()
	for _, phi := range []string{m.To, m.Body} {
		if s := err.Error(); phi != "" && strings.Contains(s, phi) {
			t.Errorf("the error holds the recipient or the body: %s", s)
		}
	}
}

func TestSendInvalid(t *testing.T) {
	for _, tt := range []struct {
		name string
		from string
		opt  twilio.Option
		msg  eonpro.Message
	}{
		{"ErrEmail", number, nil, eonpro.Message{Channel: eonpro.ChannelEmail, To: "pat@example.com", Subject: "Code", Body: code}},
		{"ErrNoRecipient", number, nil, sms("", code)},
		{"ErrNoBody", number, nil, sms(patient, "")},
		{"ErrNoSender", "", nil, sms(patient, code)},
		{"ErrBaseURL", number, twilio.WithBaseURL("not a url"), sms(patient, code)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := twiliofake.New()
			defer f.Close()
			opts := []twilio.Option{twilio.WithBaseURL(f.URL)}
			if tt.opt != nil {
				opts = append(opts, tt.opt)
			}
			_, err := twilio.New(f.AccountSID, f.AuthToken, tt.from, opts...).Send(context.Background(), tt.msg)
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if tt.name != "ErrBaseURL" && eonpro.ErrorCode(err) != eonpro.EINVALID {
				t.Errorf("Send = %v, want EINVALID", err)
			}
			noPHI(t, err, tt.msg)
			if n := len(f.Messages()); n != 0 {
				t.Errorf("the fake recorded %d messages, want none", n)
			}
		})
	}
}

func TestSendUnreachable(t *testing.T) {
	f := twiliofake.New()
	f.Close()
	m := sms(patient, code)
	_, err := twilio.New(f.AccountSID, f.AuthToken, number, twilio.WithBaseURL(f.URL)).Send(context.Background(), m)
	var de *eonpro.DeliveryError
	if err == nil || errors.As(err, &de) {
		t.Fatalf("Send = %v, want a transport error, not a refusal", err)
	}
	noPHI(t, err, m)
}

func TestSendCanceled(t *testing.T) {
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-block }))
	defer slow.Close()
	defer close(block)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := twilio.New("AC"+strings.Repeat("0", 32), "token", number, twilio.WithBaseURL(slow.URL)).Send(ctx, sms(patient, code))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Send = %v, want context.Canceled", err)
	}
}

func TestWithHTTPClient(t *testing.T) {
	f := twiliofake.New()
	defer f.Close()
	var calls int
	var mu sync.Mutex
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		return http.DefaultTransport.RoundTrip(r)
	})}
	s := twilio.New(f.AccountSID, f.AuthToken, number, twilio.WithBaseURL(f.URL), twilio.WithHTTPClient(hc))
	if _, err := s.Send(context.Background(), sms(patient, code)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 1 {
		t.Errorf("the HTTP client's transport made %d requests, want 1", calls)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestStatusCallback sends through the adapter, lets the fake report
// delivery to an endpoint, and checks the callback with twiliosig.
func TestStatusCallback(t *testing.T) {
	f := twiliofake.New()
	defer f.Close()
	var mu sync.Mutex
	var form url.Values
	var sig string
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		defer mu.Unlock()
		form, sig = r.PostForm, r.Header.Get(twiliosig.Header)
	}))
	defer app.Close()
	callback := app.URL + "/twilio/status?clinic=c1"
	m := eonpro.Message{Channel: eonpro.ChannelSMS, To: patient, Body: code, StatusCallback: callback}
	res, err := twilio.New(f.AccountSID, f.AuthToken, number, twilio.WithBaseURL(f.URL)).Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.DeliverStatus(context.Background(), res.ProviderID, "failed"); err != nil {
		t.Fatal(err)
	}
	if got := form.Get("MessageSid") + " " + form.Get("MessageStatus") + " " + form.Get("ErrorCode"); got != res.ProviderID+" failed 30008" {
		t.Errorf("callback reports %q", got)
	}
	for _, tt := range []struct {
		name  string
		token string
		url   string
		edit  func(url.Values)
		want  bool
	}{
		{"OK", f.AuthToken, callback, func(url.Values) {}, true},
		{"ErrChangedStatus", f.AuthToken, callback, func(v url.Values) { v.Set("MessageStatus", "delivered") }, false},
		{"ErrAddedParam", f.AuthToken, callback, func(v url.Values) { v.Set("Body", "x") }, false},
		{"ErrOtherURL", f.AuthToken, app.URL + "/twilio/status?clinic=c2", func(url.Values) {}, false},
		{"ErrOtherToken", strings.Repeat("f", 32), callback, func(url.Values) {}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			params := url.Values{}
			for k, v := range form {
				params[k] = append([]string(nil), v...)
			}
			tt.edit(params)
			if got := twiliosig.ValidSignature(tt.token, tt.url, params, sig); got != tt.want {
				t.Errorf("ValidSignature = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSignatureAgreesWithSDK checks twiliosig against twilio-go's own
// RequestValidator, which web cannot use without importing the SDK.
func TestSignatureAgreesWithSDK(t *testing.T) {
	params := map[string]string{"MessageSid": "SM" + strings.Repeat("1", 32), "MessageStatus": "delivered", "To": patient, "From": number}
	values := url.Values{}
	for k, v := range params {
		values.Set(k, v)
	}
	for _, tt := range []struct {
		name string
		url  string
		sig  string
	}{
		{"OK", "https://clinic.example/twilio/status?c=1", twiliosig.Sign("tok", "https://clinic.example/twilio/status?c=1", values)},
		{"PortAdded", "https://clinic.example:443/twilio/status", twiliosig.Sign("tok", "https://clinic.example/twilio/status", values)},
		{"PortRemoved", "https://clinic.example/twilio/status", twiliosig.Sign("tok", "https://clinic.example:443/twilio/status", values)},
		{"ErrWrong", "https://clinic.example/twilio/status", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := client.NewRequestValidator("tok")
			if sdk, ours := v.Validate(tt.url, params, tt.sig), twiliosig.ValidSignature("tok", tt.url, values, tt.sig); sdk != ours {
				t.Errorf("twilio-go says %v, twiliosig %v", sdk, ours)
			}
		})
	}
}
