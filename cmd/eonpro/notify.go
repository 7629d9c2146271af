package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/awsconf"
	"github.com/eonpro/eonpro/ses"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/twilio"
	"github.com/eonpro/eonpro/web"
)

// deliveryNotifier sends each message through the provider configured for
// its channel (Twilio for texts, SES for e-mail) and the others to the
// development outbox (the log and the outbox table).
type deliveryNotifier struct {
	senders  map[string]eonpro.Sender
	fallback eonpro.Notifier
	log      *slog.Logger
}

// Notify hands m to its channel's provider. The log names the channel, the
// provider's message id or error code: never the recipient or the body.
func (n *deliveryNotifier) Notify(ctx context.Context, m eonpro.Message) error {
	s := n.senders[m.Channel]
	if s == nil {
		return n.fallback.Notify(ctx, m)
	}
	res, err := s.Send(ctx, m)
	if err != nil {
		var de *eonpro.DeliveryError
		if errors.As(err, &de) {
			n.log.WarnContext(ctx, "message refused", "channel", m.Channel, "provider", de.Provider, "code", de.Code,
				"permanent", de.Permanent)
		}
		return fmt.Errorf("notify by %s: %w", m.Channel, err)
	}
	n.log.InfoContext(ctx, "message sent", "channel", m.Channel, "provider_id", res.ProviderID, "status", res.Status)
	return nil
}

// openNotifier builds the platform's message sender: the providers the
// environment configures (EONPRO_SES_FROM, EONPRO_TWILIO_*), the
// development outbox for the rest.
func (m *Main) openNotifier(ctx context.Context) error {
	n := &deliveryNotifier{senders: map[string]eonpro.Sender{}, fallback: sqlstore.NewOutboxNotifier(m.db, m.log), log: m.log}
	if c := m.Config; c.SESFrom != "" {
		cfg, err := awsconf.Load(ctx, c.AWSRegion)
		if err != nil {
			return fmt.Errorf("e-mail through SES: %w", err)
		}
		var opts []ses.Option
		if c.SESEndpoint != "" {
			opts = append(opts, ses.WithEndpoint(c.SESEndpoint))
		}
		if c.SESConfigurationSet != "" {
			opts = append(opts, ses.WithConfigurationSet(c.SESConfigurationSet))
		}
		n.senders[eonpro.ChannelEmail] = ses.New(cfg, c.SESFrom, opts...)
		m.log.Info("e-mail", "provider", "ses")
	}
	if c := m.Config; c.TwilioToken != "" {
		var opts []twilio.Option
		if c.TwilioBaseURL != "" {
			opts = append(opts, twilio.WithBaseURL(c.TwilioBaseURL))
		}
		n.senders[eonpro.ChannelSMS] = twilio.New(c.TwilioAccountSID, c.TwilioToken, c.TwilioFrom, opts...)
		m.log.Info("text messages", "provider", "twilio")
	}
	m.notify = n
	return nil
}

// notifier is the sender openNotifier built (the development outbox when
// it has not run: operator commands).
func (m *Main) notifier() eonpro.Notifier {
	if m.notify == nil {
		return sqlstore.NewOutboxNotifier(m.db, m.log)
	}
	return m.notify
}

// devOutbox is the development outbox page's source: outside production
// only, as the messages it shows carry codes.
func (m *Main) devOutbox() web.OutboxFunc {
	if m.Config.Env == "production" {
		return nil
	}
	return sqlstore.NewOutboxNotifier(m.db, m.log).FindClinicMessages
}
