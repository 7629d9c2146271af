package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eonpro/eonpro"
)

// auditSink holds where the store sends what the audit trail cannot hold
// itself: events that failed to be written (the fallback file) and the
// alerts of critical events (sent by the AuditService, once there is one).
type auditSink struct {
	fallback string
	mu       sync.Mutex // serialises appends to the fallback file
	alert    atomic.Pointer[func(context.Context, eonpro.AuditEvent)]
}

// fallbackLine is one line of the fallback file.
type fallbackLine struct {
	At    time.Time         `json:"at"`
	Error string            `json:"error"`
	Event eonpro.AuditEvent `json:"event"`
}

// auditFailed keeps the event of a transaction that finally failed on its
// audit write (transact calls it once, after the last retry). When the
// caller cancelled (its client went away) the transaction rolled back
// with nothing done for the event to record: it is dropped, at INFO.
func (db *DB) auditFailed(ctx context.Context, err error) {
	var aw *auditWriteError
	switch {
	case !errors.As(err, &aw):
	case errors.Is(ctx.Err(), context.Canceled):
		db.log.InfoContext(ctx, "audit event dropped with its cancelled transaction", "event_id", aw.ev.ID,
			"action", string(aw.ev.Action), "clinic_id", aw.ev.ClinicID, "request_id", aw.ev.RequestID)
	default:
		db.keepAudit(ctx, aw.ev, aw.err)
	}
}

// keepAudit appends an event that could not be stored to the fallback
// file (JSON lines, mode 0600) and logs it by id. Events hold no PHI.
func (db *DB) keepAudit(ctx context.Context, ev eonpro.AuditEvent, cause error) {
	db.log.ErrorContext(ctx, "audit event not stored", "event_id", ev.ID, "action", string(ev.Action),
		"clinic_id", ev.ClinicID, "request_id", ev.RequestID, "fallback", db.audit.fallback, "err", cause)
	if db.audit.fallback == "" {
		return
	}
	line, err := json.Marshal(fallbackLine{At: db.Now(), Error: cause.Error(), Event: ev})
	if err == nil {
		err = db.audit.appendLine(append(line, '\n'))
	}
	if err != nil {
		db.log.ErrorContext(ctx, "audit fallback file not written", "event_id", ev.ID, "path", db.audit.fallback, "err", err)
	}
}

func (a *auditSink) appendLine(line []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(a.fallback), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(a.fallback, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(line)
	return errors.Join(err, f.Sync(), f.Close())
}

// alertAudit hands a committed critical event to the alert sender.
func (db *DB) alertAudit(ctx context.Context, ev eonpro.AuditEvent) {
	if send := db.audit.alert.Load(); send != nil {
		(*send)(context.WithoutCancel(ctx), ev)
		return
	}
	db.log.WarnContext(ctx, "critical audit event without an alert sender", "event_id", ev.ID, "action", string(ev.Action),
		"clinic_id", ev.ClinicID)
}

var (
	selectClinicAdminEmails = Stmt{Name: "select_clinic_admin_emails", SQL: `
SELECT u.email
FROM memberships m
JOIN users u ON u.id = m.user_id
WHERE m.clinic_id = $1 AND m.role = 'admin' AND u.status = 'active'
ORDER BY u.email_normalized`}
	selectSuperAdminEmails = Stmt{Name: "select_super_admin_emails", SQL: `
SELECT email FROM users WHERE super_admin AND status = 'active' ORDER BY email_normalized`}
)

// alertEvent tells the admins of the event's clinic (super admins for the
// platform chain) about a critical event, by id: alerts leave the
// platform by e-mail, so they carry no PHI and no IP address.
func (s *AuditService) alertEvent(ctx context.Context, ev eonpro.AuditEvent) {
	body := fmt.Sprintf("A critical audit event was recorded.\n\nAction: %s\nOutcome: %s\nTime: %s\nActor: %s %s\nEvent: %s\n\n"+
		"Review it in the audit log (GET /api/v1/audit?action=%s). Further %s events in the next %d minutes "+
		"are told in one summary.",
		ev.Action, ev.Outcome, ev.Time.Format(time.RFC3339), ev.ActorType, ev.ActorID, ev.ID, ev.Action, ev.Action,
		int(AlertWindow.Minutes()))
	s.alertAdmins(ctx, ev.ClinicID, "Security alert: "+string(ev.Action), body)
}

// alertVerify tells the admins that their chain failed verification, when
// that opens an alert window; later failures of the window are summarised
// by FlushAlerts.
func (s *AuditService) alertVerify(ctx context.Context, res *eonpro.VerifyResult) {
	if s.notify != nil && !s.openVerifyWindow(ctx, res.ClinicID) {
		return
	}
	body := fmt.Sprintf("The audit trail failed verification at position %d: %s\n\n"+
		"Someone may have changed the audit records. Keep the database and the checkpoint files as they are and "+
		"run eonpro audit verify.", res.FirstBadSeq, res.Reason)
	s.alertAdmins(ctx, res.ClinicID, "Security alert: audit verification failed", body)
}

func (s *AuditService) alertAdmins(ctx context.Context, clinicID, subject, body string) {
	ctx = context.WithoutCancel(ctx)
	if s.notify == nil {
		s.db.log.WarnContext(ctx, "audit alert without a notifier", "clinic_id", clinicID, "subject", subject)
		return
	}
	var to []string
	err := s.db.View(ctx, func(tx *Tx) error {
		stmt, args := selectClinicAdminEmails, []any{clinicID}
		if clinicID == "" {
			stmt, args = selectSuperAdminEmails, nil
		}
		rows, err := tx.Query(ctx, stmt, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var email string
			if err := rows.Scan(&email); err != nil {
				return err
			}
			to = append(to, email)
		}
		return rows.Err()
	})
	if err != nil {
		s.db.log.ErrorContext(ctx, "audit alert: find admins", "clinic_id", clinicID, "err", err)
		return
	}
	for _, addr := range to {
		m := eonpro.Message{Channel: eonpro.ChannelEmail, To: addr, Subject: subject, Body: body}
		if err := s.notify.Notify(ctx, m); err != nil {
			s.db.log.ErrorContext(ctx, "audit alert not sent", "clinic_id", clinicID, "err", err)
		}
	}
	s.db.log.WarnContext(ctx, "audit alert", "clinic_id", clinicID, "subject", subject, "recipients", len(to))
}
