// Package ses sends e-mail through Amazon SES v2 (SendEmail with simple
// content): the eonpro.Sender of the e-mail channel. It turns SES's
// refusals into *eonpro.DeliveryError, permanent or temporary, so the job
// that sends knows whether to retry. Neither the recipient nor the body
// ever appears in its errors.
package ses

import (
	"cmp"
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/eonpro/eonpro"
)

var _ eonpro.Sender = (*Sender)(nil)

// Sender sends e-mail through one SES account and region.
type Sender struct {
	client    *sesv2.Client
	from      string
	configSet string
}

// Option configures a Sender.
type Option func(*options)

type options struct {
	configSet string
	endpoint  string
}

// WithConfigurationSet names the SES configuration set every message is
// sent with (event publishing of deliveries, bounces and complaints).
func WithConfigurationSet(name string) Option {
	return func(o *options) { o.configSet = name }
}

// WithEndpoint overrides the service address (the fake in tests, a VPC
// endpoint).
func WithEndpoint(url string) Option {
	return func(o *options) { o.endpoint = url }
}

// New returns a sender with cfg's region and credentials (see awsconf)
// that sends from the address from ("Clinic <no-reply@example.com>" or a
// bare address) unless a message names its own.
func New(cfg aws.Config, from string, opts ...Option) *Sender {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	client := sesv2.NewFromConfig(cfg, func(so *sesv2.Options) {
		// One attempt: the job that sends retries with backoff and keeps
		// the failure visible. SDK retries inside a job attempt would
		// multiply the attempts, hold a worker through their backoff, and
		// resend a message SES may already have accepted when only its
		// answer was lost.
		so.RetryMaxAttempts = 1
		if o.endpoint != "" {
			so.BaseEndpoint = aws.String(o.endpoint)
		}
	})
	return &Sender{client: client, from: from, configSet: o.configSet}
}

// Send hands m to SES and returns its MessageId. It returns EINVALID for a
// message that is not an e-mail or has no recipient, a *DeliveryError when
// SES refused the message, and another error when SES did not answer
// (temporary).
func (s *Sender) Send(ctx context.Context, m eonpro.Message) (eonpro.SendResult, error) {
	if m.Channel != eonpro.ChannelEmail {
		return eonpro.SendResult{}, eonpro.Errorf(eonpro.EINVALID, "SES sends e-mail, not %q messages.", m.Channel)
	}
	if m.To == "" {
		return eonpro.SendResult{}, eonpro.Errorf(eonpro.EINVALID, "The e-mail has no recipient.")
	}
	out, err := s.client.SendEmail(ctx, s.input(m))
	if err != nil {
		return eonpro.SendResult{}, classify(err)
	}
	return eonpro.SendResult{ProviderID: aws.ToString(out.MessageId), Status: "sent"}, nil
}

func (s *Sender) input(m eonpro.Message) *sesv2.SendEmailInput {
	body := &types.Body{Text: utf8(m.Body)}
	if m.HTML != "" {
		body.Html = utf8(m.HTML)
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(cmp.Or(m.From, s.from)),
		Destination:      &types.Destination{ToAddresses: []string{m.To}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: utf8(m.Subject),
			Body:    body,
		}},
	}
	if s.configSet != "" {
		in.ConfigurationSetName = aws.String(s.configSet)
	}
	return in
}

func utf8(s string) *types.Content {
	return &types.Content{Data: aws.String(s), Charset: aws.String("UTF-8")}
}
