package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/eonpro/eonpro"
)

// Page sizes of the audit lists.
const (
	auditDefaultLimit = 50
	auditMaxLimit     = 200
	auditExportBatch  = 500
	maxFilterID       = 100
)

const auditColumns = `id, COALESCE(clinic_id, ''), seq, occurred_at, actor_type, actor_id, actor_role, action,
    resource_type, resource_id, patient_id, outcome, ip, user_agent, request_id, session_id, detail, prev_hash, hash`

// The filter of the audit lists; $7 is the cursor (a seq), $8 the limit.
const (
	auditFilterPG = `
FROM audit_events
WHERE clinic_id = $1
  AND ($2::text IS NULL OR actor_id = $2)
  AND ($3::text IS NULL OR patient_id = $3)
  AND ($4::text IS NULL OR action = $4)
  AND ($5::timestamptz IS NULL OR occurred_at >= $5)
  AND ($6::timestamptz IS NULL OR occurred_at < $6)`
	auditFilterSQLite = `
FROM audit_events
WHERE clinic_id = $1
  AND ($2 IS NULL OR actor_id = $2)
  AND ($3 IS NULL OR patient_id = $3)
  AND ($4 IS NULL OR action = $4)
  AND ($5 IS NULL OR occurred_at >= $5)
  AND ($6 IS NULL OR occurred_at < $6)`
)

var (
	selectAuditPage = Stmt{Name: "select_audit_page",
		SQL: `SELECT ` + auditColumns + auditFilterPG + `
  AND ($7::bigint IS NULL OR seq < $7)
ORDER BY seq DESC
LIMIT $8`,
		SQLite: `SELECT ` + auditColumns + auditFilterSQLite + `
  AND ($7 IS NULL OR seq < $7)
ORDER BY seq DESC
LIMIT $8`}
	selectAuditExport = Stmt{Name: "select_audit_export",
		SQL: `SELECT ` + auditColumns + auditFilterPG + `
  AND ($7::bigint IS NULL OR seq > $7)
ORDER BY seq
LIMIT $8`,
		SQLite: `SELECT ` + auditColumns + auditFilterSQLite + `
  AND ($7 IS NULL OR seq > $7)
ORDER BY seq
LIMIT $8`}
	selectAccessLog = Stmt{Name: "select_access_log", SQL: `
SELECT a.occurred_at, a.actor_type, a.actor_id, COALESCE(u.name, ''), a.actor_role, a.action, a.seq
FROM audit_events a
LEFT JOIN users u ON a.actor_type = 'user' AND u.id = a.actor_id
WHERE a.clinic_id = $1
  AND a.patient_id = $2
  AND a.action IN ('phi.view', 'phi.create', 'phi.update', 'phi.delete', 'phi.print', 'phi.export', 'emergency.access')
  AND a.outcome = 'success'
  AND ($3::bigint IS NULL OR a.seq < $3)
ORDER BY a.seq DESC
LIMIT $4`, SQLite: `
SELECT a.occurred_at, a.actor_type, a.actor_id, COALESCE(u.name, ''), a.actor_role, a.action, a.seq
FROM audit_events a
LEFT JOIN users u ON a.actor_type = 'user' AND u.id = a.actor_id
WHERE a.clinic_id = $1
  AND a.patient_id = $2
  AND a.action IN ('phi.view', 'phi.create', 'phi.update', 'phi.delete', 'phi.print', 'phi.export', 'emergency.access')
  AND a.outcome = 'success'
  AND ($3 IS NULL OR a.seq < $3)
ORDER BY a.seq DESC
LIMIT $4`}
)

// scanAuditEvent reads a row of auditColumns.
func scanAuditEvent(rows *Rows) (*eonpro.AuditEvent, error) {
	var ev eonpro.AuditEvent
	var action, detail string
	if err := rows.Scan(&ev.ID, &ev.ClinicID, &ev.Seq, &ev.Time, &ev.ActorType, &ev.ActorID, &ev.ActorRole, &action,
		&ev.ResourceType, &ev.ResourceID, &ev.PatientID, &ev.Outcome, &ev.IP, &ev.UserAgent, &ev.RequestID,
		&ev.SessionID, &detail, &ev.PrevHash, &ev.Hash); err != nil {
		return nil, err
	}
	ev.Action = eonpro.AuditAction(action)
	if err := json.Unmarshal([]byte(detail), &ev.Detail); err != nil {
		return nil, fmt.Errorf("audit event %s: detail: %w", ev.ID, err)
	}
	if ev.Detail == nil {
		ev.Detail = map[string]string{}
	}
	return &ev, nil
}

// auditArgs validates f and returns the arguments $2 to $7 of the filter.
func auditArgs(f eonpro.AuditFilter) ([]any, error) {
	if f.ActorID != nil && len(*f.ActorID) > maxFilterID {
		return nil, eonpro.FieldError("actor_id", "is too long")
	}
	if f.PatientID != nil && len(*f.PatientID) > maxFilterID {
		return nil, eonpro.FieldError("patient_id", "is too long")
	}
	if f.Action != nil && !f.Action.Valid() {
		return nil, eonpro.FieldError("action", "is not a known audit action")
	}
	if f.From != nil && f.To != nil && !f.From.Before(*f.To) {
		return nil, eonpro.FieldError("to", "must be after from")
	}
	var action *string
	if f.Action != nil {
		s := string(*f.Action)
		action = &s
	}
	cursor, err := parseCursor(f.Cursor)
	if err != nil {
		return nil, err
	}
	return []any{f.ActorID, f.PatientID, action, f.From, f.To, cursor}, nil
}

// parseCursor reads a page cursor: the seq of the last event shown.
func parseCursor(s string) (*int64, error) {
	if s == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 {
		return nil, eonpro.FieldError("cursor", "is not a cursor from a previous page")
	}
	return &n, nil
}

func pageLimit(limit int) (int, error) {
	if limit == 0 {
		return auditDefaultLimit, nil
	}
	if limit < 1 || limit > auditMaxLimit {
		return 0, eonpro.FieldError("limit", fmt.Sprintf("must be 1 to %d", auditMaxLimit))
	}
	return limit, nil
}

// FindAuditEvents lists events of the clinic of the request, newest first.
func (s *AuditService) FindAuditEvents(ctx context.Context, f eonpro.AuditFilter) ([]*eonpro.AuditEvent, string, error) {
	p := eonpro.PrincipalFromContext(ctx)
	if !p.Can(eonpro.PermAuditRead) {
		return nil, "", eonpro.Errorf(eonpro.EFORBIDDEN, "You may not read the audit log.")
	}
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return nil, "", err
	}
	args, err := auditArgs(f)
	if err != nil {
		return nil, "", err
	}
	out := []*eonpro.AuditEvent{}
	err = s.db.ViewClinic(ctx, p.ClinicID, func(tx *Tx) error {
		out = out[:0]
		rows, err := tx.Query(ctx, selectAuditPage, append(append([]any{p.ClinicID}, args...), limit+1)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			ev, err := scanAuditEvent(rows)
			if err != nil {
				return err
			}
			out = append(out, ev)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", fmt.Errorf("find audit events: %w", err)
	}
	out, next := cutPage(out, limit, func(e *eonpro.AuditEvent) string { return strconv.FormatInt(e.Seq, 10) })
	return out, next, nil
}

// FindAccessLog lists the accesses to the principal's own patient record.
func (s *AuditService) FindAccessLog(ctx context.Context, limit int, cursor string) ([]*eonpro.AccessLogEntry, string, error) {
	p := eonpro.PrincipalFromContext(ctx)
	if !p.Can(eonpro.PermOwnRecord) {
		return nil, "", eonpro.Errorf(eonpro.EFORBIDDEN, "Only patients have an access log.")
	}
	limit, err := pageLimit(limit)
	if err != nil {
		return nil, "", err
	}
	after, err := parseCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	out := []*eonpro.AccessLogEntry{}
	patientID, err := s.patients.FindPatientIDByUser(ctx, p.ClinicID, p.UserID)
	if eonpro.ErrorCode(err) == eonpro.ENOTFOUND {
		return out, "", nil // no record yet: no one has seen it
	} else if err != nil {
		return nil, "", err
	}
	var seqs []int64
	err = s.db.ViewClinic(ctx, p.ClinicID, func(tx *Tx) error {
		out, seqs = out[:0], seqs[:0]
		rows, err := tx.Query(ctx, selectAccessLog, p.ClinicID, patientID, after, limit+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e eonpro.AccessLogEntry
			var action string
			var seq int64
			if err := rows.Scan(&e.Time, &e.ActorType, &e.ActorID, &e.ActorName, &e.ActorRole, &action, &seq); err != nil {
				return err
			}
			e.Action = eonpro.AuditAction(action)
			out, seqs = append(out, &e), append(seqs, seq)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, "", fmt.Errorf("find access log: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = strconv.FormatInt(seqs[limit-1], 10)
	}
	return out, next, nil
}
