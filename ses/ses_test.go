package ses_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/ses"
	"github.com/eonpro/eonpro/ses/sesfake"
)

const platformFrom = "EONPRO <no-reply@eonpro.example>"

func email(to, subject, body, html string) eonpro.Message {
	return eonpro.Message{Channel: eonpro.ChannelEmail, To: to, Subject: subject, Body: body, HTML: html}
}

func newFake(t *testing.T) *sesfake.Fake {
	t.Helper()
	fake := sesfake.New()
	t.Cleanup(fake.Close)
	fake.VerifyIdentity("eonpro.example")
	return fake
}

func TestSend(t *testing.T) {
	fromClinic := email("pat@example.org", "Your code", "Code 123456", "")
	fromClinic.From = "Sunrise Clinic <hello@sunrise.example>"
	for _, tt := range []struct {
		name string
		m    eonpro.Message
		opts []ses.Option
		want sesfake.SentEmail
	}{
		{"TextOnly", email("pat@example.org", "Your code", "Code 123456", ""), nil,
			sesfake.SentEmail{From: platformFrom, To: []string{"pat@example.org"}, Subject: "Your code", Text: "Code 123456"}},
		{"TextAndHTML", email("pat@example.org", "Visit ✓", "See you at 10:00.", "<p>See you at <b>10:00</b>.</p>"), nil,
			sesfake.SentEmail{From: platformFrom, To: []string{"pat@example.org"}, Subject: "Visit ✓", Text: "See you at 10:00.", HTML: "<p>See you at <b>10:00</b>.</p>"}},
		{"ClinicSender", fromClinic, nil,
			sesfake.SentEmail{From: "Sunrise Clinic <hello@sunrise.example>", To: []string{"pat@example.org"}, Subject: "Your code", Text: "Code 123456"}},
		{"ConfigurationSet", email("pat@example.org", "Hi", "Hello", ""), []ses.Option{ses.WithConfigurationSet("eonpro-events")},
			sesfake.SentEmail{From: platformFrom, To: []string{"pat@example.org"}, Subject: "Hi", Text: "Hello", ConfigurationSet: "eonpro-events"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake(t)
			fake.VerifyIdentity("hello@sunrise.example")
			s := ses.New(fake.Config(), platformFrom, append(tt.opts, ses.WithEndpoint(fake.URL))...)
			res, err := s.Send(context.Background(), tt.m)
			if err != nil {
				t.Fatal(err)
			}
			sent := fake.Messages()
			if len(sent) != 1 {
				t.Fatalf("the fake holds %d messages, want 1", len(sent))
			}
			if diff := cmp.Diff(eonpro.SendResult{ProviderID: sent[0].MessageID, Status: "sent"}, res); diff != "" || res.ProviderID == "" {
				t.Errorf("result mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, sent[0], cmpopts.IgnoreFields(sesfake.SentEmail{}, "MessageID")); diff != "" {
				t.Errorf("sent mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSendDeliveryErrors(t *testing.T) {
	wrongSecret := credentials.NewStaticCredentialsProvider(sesfake.AccessKey, "not-the-secret", "")
	unknownKey := credentials.NewStaticCredentialsProvider("AKIDSOMEONEELSE", sesfake.SecretKey, "")
	for _, tt := range []struct {
		name   string
		fail   string // code the fake answers, with status
		status int
		creds  *credentials.StaticCredentialsProvider
		from   string // overrides the verified platform sender
		want   eonpro.DeliveryError
	}{
		{name: "ErrThrottled", fail: "TooManyRequestsException", status: 429,
			want: eonpro.DeliveryError{Code: "TooManyRequestsException"}},
		{name: "ErrQuota", fail: "LimitExceededException", status: 400,
			want: eonpro.DeliveryError{Code: "LimitExceededException"}},
		{name: "ErrServer", fail: "InternalServiceErrorException", status: 500,
			want: eonpro.DeliveryError{Code: "InternalServiceErrorException"}},
		{name: "ErrRejected", fail: "MessageRejected", status: 400,
			want: eonpro.DeliveryError{Code: "MessageRejected", Permanent: true}},
		{name: "ErrSendingPaused", fail: "SendingPausedException", status: 400,
			want: eonpro.DeliveryError{Code: "SendingPausedException", Permanent: true}},
		{name: "ErrAccountSuspended", fail: "AccountSuspendedException", status: 400,
			want: eonpro.DeliveryError{Code: "AccountSuspendedException", Permanent: true}},
		{name: "ErrConfigurationSetMissing", fail: "NotFoundException", status: 404,
			want: eonpro.DeliveryError{Code: "NotFoundException", Permanent: true}},
		{name: "ErrUnverifiedSender", from: "Other <x@unverified.example>",
			want: eonpro.DeliveryError{Code: "MailFromDomainNotVerifiedException", Permanent: true}},
		{name: "ErrWrongSecret", creds: &wrongSecret,
			want: eonpro.DeliveryError{Code: "SignatureDoesNotMatch"}},
		{name: "ErrUnknownKey", creds: &unknownKey,
			want: eonpro.DeliveryError{Code: "UnrecognizedClientException"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake(t)
			if tt.fail != "" {
				fake.FailNext(tt.fail, tt.status)
			}
			cfg := fake.Config()
			if tt.creds != nil {
				cfg.Credentials = *tt.creds
			}
			m := email("pat@example.org", "Lab result ready", "Your HbA1c is 6.1", "<p>Your HbA1c is 6.1</p>")
			m.From = tt.from
			_, err := ses.New(cfg, platformFrom, ses.WithEndpoint(fake.URL)).Send(context.Background(), m)
			var de *eonpro.DeliveryError
			if !errors.As(err, &de) {
				t.Fatalf("Send = %v, want a *DeliveryError", err)
			}
			tt.want.Provider = "ses"
			if diff := cmp.Diff(tt.want, *de, cmpopts.IgnoreFields(eonpro.DeliveryError{}, "Message")); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
			assertNoPHI(t, err, m)
			if got := fake.Requests(); got != 1 {
				t.Errorf("the fake answered %d requests, want 1 (the SDK must not retry)", got)
			}
			if len(fake.Messages()) != 0 {
				t.Error("the fake recorded a refused message")
			}
		})
	}
}

// assertNoPHI fails when err's text holds the recipient, subject or a body.
func assertNoPHI(t *testing.T, err error, m eonpro.Message) {
	t.Helper()
	for _, s := range []string{m.To, m.Subject, m.Body, m.HTML, "HbA1c"} {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error %q holds %q", err, s)
		}
	}
}

func TestSendNoAnswer(t *testing.T) {
	fake := sesfake.New()
	fake.Close()
	m := email("pat@example.org", "Lab result ready", "Your HbA1c is 6.1", "")
	_, err := ses.New(fake.Config(), platformFrom, ses.WithEndpoint(fake.URL)).Send(context.Background(), m)
	var de *eonpro.DeliveryError
	if err == nil || errors.As(err, &de) {
		t.Fatalf("Send to a closed endpoint = %v, want a plain (temporary) error", err)
	}
	assertNoPHI(t, err, m)
}

func TestSendInvalid(t *testing.T) {
	sms := eonpro.Message{Channel: eonpro.ChannelSMS, To: "+15555550100", Body: "Code 123456"}
	for _, tt := range []struct {
		name string
		m    eonpro.Message
	}{
		{"ErrSMS", sms},
		{"ErrNoRecipient", email("", "Hi", "Hello", "")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake(t)
			_, err := ses.New(fake.Config(), platformFrom, ses.WithEndpoint(fake.URL)).Send(context.Background(), tt.m)
			if got := eonpro.ErrorCode(err); got != eonpro.EINVALID {
				t.Errorf("Send = %v (code %q), want %q", err, got, eonpro.EINVALID)
			}
			if err != nil {
				assertNoPHI(t, err, tt.m)
			}
			if fake.Requests() != 0 {
				t.Error("the message went to SES")
			}
		})
	}
}
