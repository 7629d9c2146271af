package sqlstore

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/eonpro/eonpro"
)

// OutboxNotifier is the development notification sender: it writes each
// message to the log and to the outbox table, where a developer (or a
// test) reads the codes and links it carries. Production uses the SES and
// Twilio adapters.
type OutboxNotifier struct {
	db  *DB
	log *slog.Logger
}

// NewOutboxNotifier returns the development sender.
func NewOutboxNotifier(db *DB, log *slog.Logger) *OutboxNotifier {
	return &OutboxNotifier{db: db, log: log}
}

var (
	insertOutbox = Stmt{Name: "insert_outbox", SQL: `
INSERT INTO outbox (id, channel, recipient, subject, body, created_at)
VALUES ($1, $2, $3, $4, $5, $6)`}
	selectOutbox = Stmt{Name: "select_outbox_latest", SQL: `
SELECT channel, recipient, subject, body
FROM outbox
WHERE recipient = $1
ORDER BY created_at DESC, id DESC
LIMIT 1`}
)

// Notify records and logs m.
func (n *OutboxNotifier) Notify(ctx context.Context, m eonpro.Message) error {
	err := n.db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, insertOutbox, eonpro.NewID(), m.Channel, m.To, m.Subject, m.Body, n.db.Now())
		return err
	})
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	n.log.InfoContext(ctx, "development notification (not sent)", "channel", m.Channel, "to", m.To, "subject", m.Subject, "body", m.Body)
	return nil
}

// LatestMessage returns the newest message to a recipient, for development
// and tests. Returns ENOTFOUND.
func (n *OutboxNotifier) LatestMessage(ctx context.Context, to string) (*eonpro.Message, error) {
	var m eonpro.Message
	err := n.db.View(ctx, func(tx *Tx) error {
		return tx.QueryRow(ctx, selectOutbox, to).Scan(&m.Channel, &m.To, &m.Subject, &m.Body)
	})
	if err == ErrNoRows {
		return nil, eonpro.Errorf(eonpro.ENOTFOUND, "No message.")
	}
	return &m, err
}
