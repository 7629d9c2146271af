package sqlstore

import (
	"context"
	"time"

	"github.com/eonpro/eonpro"
)

// sendTimeout bounds one background send.
const sendTimeout = time.Minute

// sendLater sends m after the caller has answered. Requests that must not
// tell whether an account exists (forgotten password, unlock code) do the
// same database work for every address and hand the one message of a
// known address to the background: sending it costs a transaction with
// the development outbox and a network call with SES, and a request that
// waited for it would answer measurably later for real accounts.
//
// A message is lost if the process stops before it is sent; the person
// asks again. Once jobs can be enqueued in a store transaction, the
// message becomes a job of that transaction and is retried.
func (s *AuthService) sendLater(ctx context.Context, m eonpro.Message) {
	s.sending.Add(1)
	go func() {
		defer s.sending.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
		defer cancel()
		if err := s.notify.Notify(ctx, m); err != nil {
			// The recipient and body stay out of the log: contact details
			// and one-time codes.
			s.db.log.ErrorContext(ctx, "send message", "channel", m.Channel, "subject", m.Subject, "err", err)
		}
	}()
}

// Wait blocks until the messages handed to the background have been sent
// or have failed. The server calls it on shutdown before closing the
// database; tests call it before reading the outbox.
func (s *AuthService) Wait() { s.sending.Wait() }
