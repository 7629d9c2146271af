package sesfake_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/eonpro/eonpro/ses/sesfake"
)

func client(fake *sesfake.Fake) *sesv2.Client {
	return sesv2.New(sesv2.Options{
		Region:           sesfake.Region,
		BaseEndpoint:     aws.String(fake.URL),
		Credentials:      fake.Credentials(),
		RetryMaxAttempts: 1,
	})
}

func input(from, subject string) *sesv2.SendEmailInput {
	return &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(from),
		Destination:      &types.Destination{ToAddresses: []string{"pat@example.org"}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(subject)},
			Body:    &types.Body{Text: &types.Content{Data: aws.String("Hello")}},
		}},
	}
}

func TestSendEmailOK(t *testing.T) {
	fake := sesfake.New()
	defer fake.Close()
	fake.VerifyIdentity("Clinic.Example")
	out, err := client(fake).SendEmail(context.Background(), input("Clinic <hi@clinic.example>", "Hi"))
	if err != nil {
		t.Fatal(err)
	}
	want := []sesfake.SentEmail{{
		MessageID: aws.ToString(out.MessageId),
		From:      "Clinic <hi@clinic.example>",
		To:        []string{"pat@example.org"},
		Subject:   "Hi",
		Text:      "Hello",
	}}
	if diff := cmp.Diff(want, fake.Messages()); diff != "" || want[0].MessageID == "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

// TestSendEmailErrors checks that the SDK reads the fake's errors as its
// typed exceptions.
func TestSendEmailErrors(t *testing.T) {
	raw := input("hi@clinic.example", "Hi")
	raw.Content = &types.EmailContent{Raw: &types.RawMessage{Data: []byte("Subject: Hi\r\n\r\nHello")}}
	for _, tt := range []struct {
		name   string
		fail   string
		status int
		in     *sesv2.SendEmailInput
		is     func(error) bool
	}{
		{"ErrUnverifiedSender", "", 0, input("hi@elsewhere.example", "Hi"), isA[*types.MailFromDomainNotVerifiedException]},
		{"ErrThrottled", "TooManyRequestsException", 429, input("hi@clinic.example", "Hi"), isA[*types.TooManyRequestsException]},
		{"ErrRejected", "MessageRejected", 400, input("hi@clinic.example", "Hi"), isA[*types.MessageRejected]},
		{"ErrNotFound", "NotFoundException", 404, input("hi@clinic.example", "Hi"), isA[*types.NotFoundException]},
		{"ErrNoSubject", "", 0, input("hi@clinic.example", ""), isA[*types.BadRequestException]},
		{"ErrRawContent", "", 0, raw, isA[*types.BadRequestException]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := sesfake.New()
			defer fake.Close()
			fake.VerifyIdentity("hi@clinic.example")
			if tt.fail != "" {
				fake.FailNext(tt.fail, tt.status)
			}
			_, err := client(fake).SendEmail(context.Background(), tt.in)
			if !tt.is(err) {
				t.Errorf("SendEmail = %v", err)
			}
			if len(fake.Messages()) != 0 {
				t.Error("the fake recorded a refused message")
			}
		})
	}
}

func isA[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

// TestSignature sends hand-made requests, signed or not, and checks the
// fake's answer as SES gives it: status, X-Amzn-ErrorType, JSON message.
func TestSignature(t *testing.T) {
	const path = "/v2/email/outbound-emails"
	body := `{"FromEmailAddress":"hi@clinic.example","Destination":{"ToAddresses":["pat@example.org"]},"Content":{"Simple":{"Subject":{"Data":"Hi"},"Body":{"Text":{"Data":"Hello"}}}}}`
	good := aws.Credentials{AccessKeyID: sesfake.AccessKey, SecretAccessKey: sesfake.SecretKey}
	for _, tt := range []struct {
		name     string
		method   string
		path     string
		creds    *aws.Credentials
		region   string
		tamper   bool // change the body after signing
		want     int
		wantType string
	}{
		{"OK", "POST", path, &good, sesfake.Region, false, 200, ""},
		{"OKQuery", "POST", path + "?b=2&a=x%20y&a=1", &good, sesfake.Region, false, 200, ""},
		{"ErrUnsigned", "POST", path, nil, "", false, 403, "MissingAuthenticationTokenException"},
		{"ErrUnknownKey", "POST", path, &aws.Credentials{AccessKeyID: "AKIDOTHER", SecretAccessKey: sesfake.SecretKey}, sesfake.Region, false, 403, "UnrecognizedClientException"},
		{"ErrWrongSecret", "POST", path, &aws.Credentials{AccessKeyID: sesfake.AccessKey, SecretAccessKey: "wrong"}, sesfake.Region, false, 403, "SignatureDoesNotMatch"},
		{"ErrOtherRegion", "POST", path, &good, "eu-west-1", false, 403, "SignatureDoesNotMatch"},
		{"ErrTamperedBody", "POST", path, &good, sesfake.Region, true, 403, "SignatureDoesNotMatch"},
		{"ErrUnknownOperation", "GET", "/v2/email/identities", &good, sesfake.Region, false, 404, "UnknownOperationException"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := sesfake.New()
			defer fake.Close()
			fake.VerifyIdentity("clinic.example")
			req, _ := http.NewRequest(tt.method, fake.URL+tt.path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if tt.creds != nil {
				sum := sha256.Sum256([]byte(body))
				err := v4.NewSigner().SignHTTP(context.Background(), *tt.creds, req, hex.EncodeToString(sum[:]), "ses", tt.region, time.Now())
				if err != nil {
					t.Fatal(err)
				}
			}
			if tt.tamper {
				// Same length, so Content-Length still matches.
				req.Body = io.NopCloser(strings.NewReader(strings.Replace(body, "Hello", "Hallo", 1)))
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var out map[string]string
			if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
				t.Fatal(err)
			}
			got := []any{res.StatusCode, res.Header.Get("X-Amzn-ErrorType")}
			if diff := cmp.Diff([]any{tt.want, tt.wantType}, got); diff != "" {
				t.Errorf("status, error type mismatch (-want +got):\n%s\nbody %v", diff, out)
			}
			if tt.want == 200 && out["MessageId"] == "" || tt.want != 200 && out["message"] == "" {
				t.Errorf("body %v", out)
			}
		})
	}
}
