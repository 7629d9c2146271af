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

var selectClinicOutbox = Stmt{Name: "select_clinic_outbox", SQL: `
SELECT channel, recipient, subject, body, created_at
FROM outbox
WHERE recipient IN (
    SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.clinic_id = $1
    UNION
    SELECT u.phone FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.clinic_id = $1 AND u.phone IS NOT NULL
    UNION
    SELECT i.email FROM invitations i WHERE i.clinic_id = $1)
ORDER BY created_at DESC, id DESC
LIMIT $2`}

// FindClinicMessages lists the newest messages (at most limit) the
// development sender kept for the people of a clinic: its members and the
// addresses it invited. Development only: the bodies carry codes.
func (n *OutboxNotifier) FindClinicMessages(ctx context.Context, clinicID string, limit int) ([]*eonpro.OutboxMessage, error) {
	var out []*eonpro.OutboxMessage
	err := n.db.View(ctx, func(tx *Tx) (err error) {
		out, err = queryAll(ctx, tx, selectClinicOutbox, func(rows scanner) (*eonpro.OutboxMessage, error) {
			var m eonpro.OutboxMessage
			err := rows.Scan(&m.Channel, &m.To, &m.Subject, &m.Body, &m.CreatedAt)
			return &m, err
		}, clinicID, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("find outbox: %w", err)
	}
	return out, nil
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
