package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/twilio"
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

// notifier is the platform's message sender: the providers configured by
// the environment, the development outbox for the rest. One per process.
func (m *Main) notifier() eonpro.Notifier {
	if m.notify != nil {
		return m.notify
	}
	n := &deliveryNotifier{senders: map[string]eonpro.Sender{}, fallback: sqlstore.NewOutboxNotifier(m.db, m.log), log: m.log}
	if c := m.Config; c.TwilioToken != "" {
		var opts []twilio.Option
		if c.TwilioBaseURL != "" {
			opts = append(opts, twilio.WithBaseURL(c.TwilioBaseURL))
		}
		n.senders[eonpro.ChannelSMS] = twilio.New(c.TwilioAccountSID, c.TwilioToken, c.TwilioFrom, opts...)
		m.log.Info("text messages", "provider", "twilio")
	}
	m.notify = n
	return n
}
