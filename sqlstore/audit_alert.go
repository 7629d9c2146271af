package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/eonpro/eonpro"
)

// AlertWindow is how long the alerts of one kind in one chain are gathered
// into one message: the first event of a quiet kind alerts at once, the
// rest of the window's events in one summary when it ends.
const AlertWindow = 15 * time.Minute

// maxAlertActors caps the distinct actors a window names; the events of
// any others are only counted.
const maxAlertActors = 20

// alertVerifyKind is the window kind of failed chain verifications.
const alertVerifyKind = "audit.verify_failed"

// alertWindow is a row of audit_alert_windows.
type alertWindow struct {
	clinicID string
	kind     string
	openedAt time.Time
	pending  int64    // events since the last message
	actors   []string // their first distinct actors ("user <id>", "system")
	others   int64    // pending events by actors beyond maxAlertActors
}

var (
	insertAlertWindow = Stmt{Name: "insert_audit_alert_window", SQL: `
INSERT INTO audit_alert_windows (clinic_id, kind, opened_at)
VALUES ($1, $2, $3)
ON CONFLICT (clinic_id, kind) DO NOTHING`}
	selectAlertWindow = Stmt{Name: "select_audit_alert_window_for_update", SQL: `
SELECT clinic_id, kind, opened_at, pending, actors, other_events
FROM audit_alert_windows
WHERE clinic_id = $1 AND kind = $2
FOR UPDATE`, SQLite: `
SELECT clinic_id, kind, opened_at, pending, actors, other_events
FROM audit_alert_windows
WHERE clinic_id = $1 AND kind = $2`}
	updateAlertWindow = Stmt{Name: "update_audit_alert_window", SQL: `
UPDATE audit_alert_windows
SET opened_at = $3,
    pending = $4,
    actors = $5,
    other_events = $6
WHERE clinic_id = $1 AND kind = $2`}
)

// countAlert books one critical event of kind in its chain's window inside
// tx and reports whether it opened the window, and so is to be sent at
// once. The insert, or else the row lock, makes concurrent writers on any
// replica see each other's events: exactly one of them opens a window.
func countAlert(ctx context.Context, tx *Tx, clinicID, kind, actor string) (bool, error) {
	now := tx.db.Now()
	var ws []*alertWindow
	// A quiet window the flush deletes between the insert and the select
	// is gone: insert again, once.
	for try := 0; len(ws) == 0; try++ {
		if try == 2 {
			return false, fmt.Errorf("alert window %q of %q vanished", kind, clinicID)
		}
		n, err := tx.Exec(ctx, insertAlertWindow, clinicID, kind, now)
		if err != nil || n == 1 {
			return n == 1, err
		}
		rows, err := tx.Query(ctx, selectAlertWindow, clinicID, kind)
		if err != nil {
			return false, err
		}
		if ws, err = scanAlertWindows(rows); err != nil {
			return false, err
		}
	}
	w := ws[0]
	opened := w.pending == 0 && !now.Before(w.openedAt.Add(AlertWindow))
	if opened {
		w = &alertWindow{clinicID: clinicID, kind: kind, openedAt: now}
	} else {
		w.add(actor)
	}
	return opened, saveAlertWindow(ctx, tx, w)
}

// add counts one more event by actor.
func (w *alertWindow) add(actor string) {
	w.pending++
	switch {
	case slices.Contains(w.actors, actor):
	case len(w.actors) < maxAlertActors:
		w.actors = append(w.actors, actor)
	default:
		w.others++
	}
}

func saveAlertWindow(ctx context.Context, tx *Tx, w *alertWindow) error {
	actors, err := json.Marshal(append([]string{}, w.actors...))
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, updateAlertWindow, w.clinicID, w.kind, w.openedAt, w.pending, string(actors), w.others)
	return err
}

func scanAlertWindows(rows *Rows) ([]*alertWindow, error) {
	defer rows.Close()
	var out []*alertWindow
	for rows.Next() {
		var w alertWindow
		var actors string
		if err := rows.Scan(&w.clinicID, &w.kind, &w.openedAt, &w.pending, &actors, &w.others); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(actors), &w.actors); err != nil {
			return nil, fmt.Errorf("alert window actors: %w", err)
		}
		out = append(out, &w)
	}
	return out, rows.Err()
}

// alertActor names who acted, by type and id only.
func alertActor(actorType, actorID string) string {
	return strings.TrimSpace(actorType + " " + actorID)
}

// principalActor names the principal of ctx as alertActor does, the
// system when there is none.
func principalActor(ctx context.Context) string {
	switch p := eonpro.PrincipalFromContext(ctx); {
	case p == nil:
		return eonpro.ActorSystem
	case p.APIKeyID != "":
		return alertActor(eonpro.ActorAPIKey, p.APIKeyID)
	default:
		return alertActor(eonpro.ActorUser, p.UserID)
	}
}

var (
	selectDueAlertWindows = Stmt{Name: "select_due_audit_alert_windows", SQL: `
SELECT clinic_id, kind, opened_at, pending, actors, other_events
FROM audit_alert_windows
WHERE pending > 0 AND opened_at <= $1
ORDER BY clinic_id, kind
FOR UPDATE SKIP LOCKED`, SQLite: `
SELECT clinic_id, kind, opened_at, pending, actors, other_events
FROM audit_alert_windows
WHERE pending > 0 AND opened_at <= $1
ORDER BY clinic_id, kind`}
	deleteQuietAlertWindows = Stmt{Name: "delete_quiet_audit_alert_windows", SQL: `
DELETE FROM audit_alert_windows
WHERE pending = 0 AND opened_at <= $1`}
)

// FlushAlerts sends one summary for every alert window that has ended
// with events not yet told and returns how many it sent. A summary opens
// the next window of its kind, so a steady flood is told once a window.
// The windows are claimed in a transaction before anything is sent: a
// summary that then fails to go out is logged, never sent twice. The
// system and super admins only; EFORBIDDEN otherwise.
func (s *AuditService) FlushAlerts(ctx context.Context) (int, error) {
	if p := eonpro.PrincipalFromContext(ctx); p != nil && !p.SuperAdmin {
		return 0, eonpro.Errorf(eonpro.EFORBIDDEN, "Only platform administrators may send audit alerts.")
	}
	if s.notify == nil {
		return 0, nil // nothing could tell them: keep the windows for a service that can
	}
	var due []*alertWindow
	err := s.db.InTx(ctx, func(tx *Tx) error {
		now := s.db.Now()
		rows, err := tx.Query(ctx, selectDueAlertWindows, now.Add(-AlertWindow))
		if err != nil {
			return err
		}
		if due, err = scanAlertWindows(rows); err != nil {
			return err
		}
		for _, w := range due {
			if err := saveAlertWindow(ctx, tx, &alertWindow{clinicID: w.clinicID, kind: w.kind, openedAt: now}); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, deleteQuietAlertWindows, now.Add(-AlertWindow))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("flush audit alerts: %w", err)
	}
	for _, w := range due {
		subject, body := w.summary()
		s.alertAdmins(ctx, w.clinicID, subject, body)
	}
	return len(due), nil
}

// summary is the message of a window's pending events: counts and ids
// only, as every alert.
func (w *alertWindow) summary() (subject, body string) {
	who := fmt.Sprintf("%d actor", len(w.actors))
	if len(w.actors) != 1 {
		who += "s"
	}
	who += ": " + strings.Join(w.actors, ", ")
	if w.others > 0 {
		who = fmt.Sprintf("more than %d actors: %s, and %d events by others", maxAlertActors,
			strings.Join(w.actors, ", "), w.others)
	}
	since := w.openedAt.Format(time.RFC3339)
	every := fmt.Sprintf("Alerts of one kind are sent at most once every %d minutes; the audit log holds every event.",
		int(AlertWindow.Minutes()))
	if w.kind == alertVerifyKind {
		return fmt.Sprintf("Security alert: audit verification failed (%d more)", w.pending),
			fmt.Sprintf("The audit trail failed verification %d more times since %s, checked by %s.\n\n%s "+
				"Keep the database and the checkpoint files as they are and run eonpro audit verify.", w.pending, since, who, every)
	}
	return fmt.Sprintf("Security alert: %s (%d more)", w.kind, w.pending),
		fmt.Sprintf("%d more %s events since %s, from %s.\n\n%s Review them in the audit log (GET /api/v1/audit?action=%s).",
			w.pending, w.kind, since, who, every, w.kind)
}

// bookAlert counts a critical event in its alert window inside tx and,
// when the event opens the window, has tx alert the admins once it
// commits. A process without an alert sender (the command line) books
// nothing: it would open a window whose first message no one sent.
func bookAlert(ctx context.Context, tx *Tx, ev eonpro.AuditEvent) error {
	opened := true
	if tx.db.audit.alert.Load() != nil {
		var err error
		if opened, err = countAlert(ctx, tx, ev.ClinicID, string(ev.Action), alertActor(ev.ActorType, ev.ActorID)); err != nil {
			return err
		}
	}
	if !opened {
		return nil
	}
	// The alert is a job of the event's transaction: sent after commit,
	// retried, never sent for a rolled-back event. A process without a
	// job queue (the command line) alerts in process after commit.
	err := tx.Enqueue(ctx, AuditAlertJob{ClinicID: ev.ClinicID, EventID: ev.ID})
	if errors.Is(err, ErrNoQueue) {
		tx.onCommit = append(tx.onCommit, func(ctx context.Context) { tx.db.alertAudit(ctx, ev) })
		return nil
	}
	return err
}

// AuditAlertJob sends the alert of one committed critical audit event
// (AuditService.SendAlert), by ids.
type AuditAlertJob struct {
	ClinicID string `json:"clinic_id"`
	EventID  string `json:"event_id"`
}

// Kind names the job's worker.
func (AuditAlertJob) Kind() string { return "audit_alert" }

var selectAlertEvent = Stmt{Name: "select_alert_event", SQL: `
SELECT id, action, outcome, occurred_at, actor_type, actor_id
FROM audit_events
WHERE COALESCE(clinic_id, '') = $1 AND id = $2`}

// SendAlert sends the alert of a committed critical event by its id.
func (s *AuditService) SendAlert(ctx context.Context, clinicID, eventID string) error {
	if p := eonpro.PrincipalFromContext(ctx); p != nil && !p.SuperAdmin {
		return eonpro.Errorf(eonpro.EFORBIDDEN, "Only the system sends audit alerts.")
	}
	ev := eonpro.AuditEvent{ClinicID: clinicID}
	err := s.db.viewChain(ctx, clinicID, func(tx *Tx) error {
		return tx.QueryRow(ctx, selectAlertEvent, clinicID, eventID).Scan(&ev.ID, &ev.Action, &ev.Outcome, &ev.Time,
			&ev.ActorType, &ev.ActorID)
	})
	if errors.Is(err, ErrNoRows) {
		return eonpro.Errorf(eonpro.ENOTFOUND, "Audit event not found.")
	} else if err != nil {
		return fmt.Errorf("send audit alert: %w", err)
	}
	s.alertEvent(ctx, ev)
	return nil
}

// openVerifyWindow books a failed verification of a chain in its alert
// window and reports whether it opened it. If the window cannot be booked
// it reports true: a broken chain is worth a second message.
func (s *AuditService) openVerifyWindow(ctx context.Context, clinicID string) bool {
	var opened bool
	err := s.db.InTx(ctx, func(tx *Tx) error {
		var err error
		opened, err = countAlert(ctx, tx, clinicID, alertVerifyKind, principalActor(ctx))
		return err
	})
	if err != nil {
		s.db.log.ErrorContext(ctx, "audit alert window not booked", "clinic_id", clinicID, "kind", alertVerifyKind, "err", err)
		return true
	}
	return opened
}
