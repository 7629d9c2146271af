package eonpro

import "context"

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
	Body    string
}

// Notifier sends messages: by e-mail (SES) and SMS (Twilio) in production;
// in development to the log and the outbox table. Services call it after
// their transaction commits.
type Notifier interface {
	Notify(ctx context.Context, m Message) error
}
