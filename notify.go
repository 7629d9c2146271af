package eonpro

import (
	"context"
	"fmt"
	"time"
)

// Notification channels.
const (
	ChannelEmail = "email"
	ChannelSMS   = "sms"
)

// Message is a notification to one person. Bodies may carry one-time codes
// and links, so production senders never log them.
type Message struct {
	Channel string
	To      string
	Subject string
	// Body is the plain text (the whole message of a text); HTML, when
	// set, is an e-mail's HTML part.
	Body string
	HTML string
	// From overrides the sender's configured address or number (a
	// clinic's own), when set.
	From string
	// StatusCallback, when set, is where the provider reports delivery
	// (Twilio's status callbacks).
	StatusCallback string
}

// Notifier sends messages: by e-mail (SES) and SMS (Twilio) in production;
// in development to the log and the outbox table. Services call it after
// their transaction commits.
type Notifier interface {
	Notify(ctx context.Context, m Message) error
}

// SendResult is a provider's acceptance of one message.
type SendResult struct {
	// ProviderID is the provider's id of the message (SES MessageId,
	// Twilio SID), for delivery reports.
	ProviderID string
	// Status is the provider's first status ("sent" for SES, "queued" or
	// "accepted" for Twilio).
	Status string
}

// Sender hands one message of one channel to an outside provider (the
// adapters in ses/ and twilio/). It returns a *DeliveryError when the
// provider refused the message.
type Sender interface {
	Send(ctx context.Context, m Message) (SendResult, error)
}

// DeliveryError is a provider's refusal of a message. Code is the
// provider's own (an SES exception name, a Twilio error number); Permanent
// tells that sending it again cannot succeed (an invalid or unsubscribed
// number, an unverified sender), so a job gives up instead of retrying.
// Message never holds the recipient or the body.
type DeliveryError struct {
	Provider  string
	Code      string
	Message   string
	Permanent bool
}

func (e *DeliveryError) Error() string {
	kind := "temporary"
	if e.Permanent {
		kind = "permanent"
	}
	return fmt.Sprintf("%s: %s delivery error %s: %s", e.Provider, kind, e.Code, e.Message)
}

// OutboxMessage is a message the development sender kept (in the outbox
// table and the log) instead of sending it.
type OutboxMessage struct {
	Message
	CreatedAt time.Time
}
