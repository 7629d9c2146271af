package sqlstore

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/eonpro/eonpro"
)

var _ eonpro.AuditService = (*AuditService)(nil)

// AuditService implements eonpro.AuditService. Other services record
// their events with recordAudit inside their own transaction, or with
// DB.RecordAudit for events that stand alone.
type AuditService struct {
	db       *DB
	notify   eonpro.Notifier
	patients eonpro.PatientLookup
	key      ed25519.PrivateKey
	sink     string
	anchors  []eonpro.AuditAnchor
	interval time.Duration
}

// AuditOptions configure NewAuditService.
type AuditOptions struct {
	// Notifier sends the alerts of critical events and failed
	// verifications to the clinic's admins (super admins for the
	// platform chain).
	Notifier eonpro.Notifier
	// Patients finds a user's own patient record; nil finds none.
	Patients eonpro.PatientLookup
	// SigningKey signs checkpoints; it never enters the database.
	SigningKey ed25519.PrivateKey
	// CheckpointDir is the sink the checkpoints are written to.
	CheckpointDir string
	// Anchors also receive every checkpoint, where the database's writer
	// cannot rewrite them; Verify holds the chain to theirs too.
	Anchors []eonpro.AuditAnchor
	// CheckpointInterval is how often the checkpoint job runs (default
	// DefaultCheckpointInterval). Checkpoint signs an unmoved head again
	// after half of it, and Verify fails a chain with events older than
	// twice it whose newest checkpoint is that old too.
	CheckpointInterval time.Duration
}

// DefaultCheckpointInterval is the CheckpointInterval of AuditOptions
// that set none.
const DefaultCheckpointInterval = 15 * time.Minute

// NewAuditService returns the audit service on db. It also becomes the
// alert sender of every critical event recorded on db, by any service.
func NewAuditService(db *DB, opts AuditOptions) (*AuditService, error) {
	if len(opts.SigningKey) != ed25519.PrivateKeySize {
		return nil, errors.New("audit: a checkpoint signing key is required")
	}
	if opts.CheckpointDir == "" {
		return nil, errors.New("audit: a checkpoint directory is required")
	}
	if opts.Patients == nil {
		opts.Patients = noPatients{}
	}
	if opts.CheckpointInterval <= 0 {
		opts.CheckpointInterval = DefaultCheckpointInterval
	}
	s := &AuditService{db: db, notify: opts.Notifier, patients: opts.Patients, key: opts.SigningKey, sink: opts.CheckpointDir,
		anchors: opts.Anchors, interval: opts.CheckpointInterval}
	if s.notify != nil {
		alert := s.alertEvent
		db.audit.alert.Store(&alert)
	}
	return s, nil
}

// noPatients is the patient lookup of an audit service that serves no
// access log (the command line's).
type noPatients struct{}

func (noPatients) FindPatientIDByUser(context.Context, string, string) (string, error) {
	return "", eonpro.Errorf(eonpro.ENOTFOUND, "You have no patient record in this clinic.")
}

// Record appends a standalone event; see DB.RecordAudit.
func (s *AuditService) Record(ctx context.Context, ev eonpro.AuditEvent) error {
	return s.db.RecordAudit(ctx, ev)
}

// auditTimeout bounds RecordAudit's write, which no request can cancel.
const auditTimeout = 10 * time.Second

// RecordAudit appends ev to its chain in a transaction of its own: for
// events that go with no write of their own, such as a failed sign-in or
// a read of PHI. The chain is ev.ClinicID, else the clinic of the
// request, else the platform chain. An event that cannot be stored goes
// to the fallback file, and the error returned must fail the request.
//
// What ev records has already happened (the record was read), so the
// write does not depend on the client staying connected: it runs detached
// from ctx's cancellation, under auditTimeout of its own.
func (db *DB) RecordAudit(ctx context.Context, ev eonpro.AuditEvent) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	if ev.ClinicID == "" {
		ev.ClinicID = eonpro.ClinicIDFromContext(ctx)
	}
	fillAuditEvent(ctx, &ev, db.Now())
	fn := func(tx *Tx) error { return recordAudit(ctx, tx, ev) }
	var err error
	if ev.ClinicID != "" {
		err = db.InClinic(ctx, ev.ClinicID, fn)
	} else {
		err = db.InTx(ctx, fn)
	}
	if err != nil {
		var aw *auditWriteError
		if !errors.As(err, &aw) { // failed to begin or commit: transact did not see the event
			db.keepAudit(ctx, ev, err)
		}
		return fmt.Errorf("record audit event: %w", err)
	}
	return nil
}

// auditWriteError is the failure of an audit write, carrying the event so
// that transact can put it in the fallback file once the transaction has
// finally failed (and not on each retry).
type auditWriteError struct {
	ev  eonpro.AuditEvent
	err error
}

func (e *auditWriteError) Error() string { return "write audit event: " + e.err.Error() }
func (e *auditWriteError) Unwrap() error { return e.err }

// recordAudit appends ev to its clinic's chain inside tx: the caller's
// change and its audit event commit together or not at all. ev.ClinicID
// defaults to the transaction's clinic; the id, time, actor and request
// fields default from ctx. Return its error: a failed audit write must fail
// the caller (fail closed), and the event then goes to the fallback file.
// A critical event alerts the clinic's admins once tx commits when it opens
// an alert window; later events of the window are counted with it, in tx,
// and summarised by FlushAlerts.
func recordAudit(ctx context.Context, tx *Tx, ev eonpro.AuditEvent) error {
	if ev.ClinicID == "" {
		ev.ClinicID = tx.ClinicID()
	}
	fillAuditEvent(ctx, &ev, tx.db.Now())
	err := validAuditEvent(&ev)
	if err == nil && tx.ClinicID() != "" && ev.ClinicID != tx.ClinicID() {
		err = errors.New("audit event of another clinic than the transaction's")
	}
	if err == nil {
		err = appendAudit(ctx, tx, &ev)
	}
	if err != nil {
		return &auditWriteError{ev: ev, err: err}
	}
	if ev.Action.Critical() {
		if err := bookAlert(ctx, tx, ev); err != nil {
			return &auditWriteError{ev: ev, err: err}
		}
	}
	return nil
}

var (
	selectAuditHead = Stmt{Name: "select_audit_head_for_update", SQL: `
SELECT seq, hash FROM audit_heads WHERE clinic_id = $1 FOR UPDATE`, SQLite: `
SELECT seq, hash FROM audit_heads WHERE clinic_id = $1`}
	insertAuditHead = Stmt{Name: "insert_audit_head", SQL: `
INSERT INTO audit_heads (clinic_id, seq, hash) VALUES ($1, 0, $2)
ON CONFLICT (clinic_id) DO NOTHING`}
	updateAuditHead = Stmt{Name: "update_audit_head", SQL: `
UPDATE audit_heads SET seq = $2, hash = $3 WHERE clinic_id = $1`}
	insertAuditEvent = Stmt{Name: "insert_audit_event", SQL: `
INSERT INTO audit_events (
    id,
    clinic_id,
    seq,
    occurred_at,
    actor_type,
    actor_id,
    actor_role,
    action,
    resource_type,
    resource_id,
    patient_id,
    outcome,
    ip,
    user_agent,
    request_id,
    session_id,
    detail,
    prev_hash,
    hash
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`}
)

// appendAudit links ev to the head of its chain and inserts it. The head
// row is locked (FOR UPDATE on PostgreSQL; SQLite has one writer) until
// the transaction ends, so concurrent writers queue instead of forking.
func appendAudit(ctx context.Context, tx *Tx, ev *eonpro.AuditEvent) error {
	var seq int64
	err := tx.QueryRow(ctx, selectAuditHead, ev.ClinicID).Scan(&seq, &ev.PrevHash)
	if err == ErrNoRows {
		if _, err := tx.Exec(ctx, insertAuditHead, ev.ClinicID, eonpro.GenesisHash); err != nil {
			return err
		}
		err = tx.QueryRow(ctx, selectAuditHead, ev.ClinicID).Scan(&seq, &ev.PrevHash)
	}
	if err != nil {
		return err
	}
	ev.Seq = seq + 1
	if ev.Hash, err = ev.ComputeHash(); err != nil {
		return err
	}
	detail, err := json.Marshal(ev.Detail)
	if err != nil {
		return err
	}
	var clinicID *string
	if ev.ClinicID != "" {
		clinicID = &ev.ClinicID
	}
	if _, err := tx.Exec(ctx, insertAuditEvent, ev.ID, clinicID, ev.Seq, ev.Time, ev.ActorType, ev.ActorID,
		ev.ActorRole, string(ev.Action), ev.ResourceType, ev.ResourceID, ev.PatientID, ev.Outcome, ev.IP,
		ev.UserAgent, ev.RequestID, ev.SessionID, string(detail), ev.PrevHash, ev.Hash); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, updateAuditHead, ev.ClinicID, ev.Seq, ev.Hash)
	return err
}

// fillAuditEvent sets what ev leaves empty from ctx: the id, the time
// (kept to the microsecond both engines store), the actor (type and id
// together, when ActorType is empty) from the principal or else the
// system, the role, the request id, IP, user agent and session.
func fillAuditEvent(ctx context.Context, ev *eonpro.AuditEvent, now time.Time) {
	if ev.ID == "" {
		ev.ID = eonpro.NewID()
	}
	if ev.Time.IsZero() {
		ev.Time = now
	}
	ev.Time = ev.Time.UTC().Truncate(time.Microsecond)
	p := eonpro.PrincipalFromContext(ctx)
	if ev.ActorType == "" {
		ev.ActorType, ev.ActorID = eonpro.ActorSystem, ""
		if p != nil && p.APIKeyID != "" {
			ev.ActorType, ev.ActorID = eonpro.ActorAPIKey, p.APIKeyID
		} else if p != nil {
			ev.ActorType, ev.ActorID = eonpro.ActorUser, p.UserID
		}
	}
	if ev.ActorRole == "" && p != nil {
		ev.ActorRole = string(p.Role)
		if ev.ActorRole == "" && p.SuperAdmin {
			ev.ActorRole = "super_admin"
		}
	}
	if ev.SessionID == "" && p != nil {
		ev.SessionID = p.SessionID
	}
	if ev.Outcome == "" {
		ev.Outcome = eonpro.OutcomeSuccess
	}
	meta := eonpro.RequestMetaFromContext(ctx)
	ev.IP = cleanText(cmp.Or(ev.IP, meta.IP), 64)
	ev.UserAgent = cleanText(cmp.Or(ev.UserAgent, meta.UserAgent), 512)
	ev.RequestID = cleanText(cmp.Or(ev.RequestID, eonpro.RequestIDFromContext(ctx)), 64)
}

// cleanText makes client-supplied text storable on both engines (valid
// UTF-8 without NUL) and caps it at limit bytes, so that an odd user
// agent cannot fail the audit write and with it the request.
func cleanText(s string, limit int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	for len(s) > limit {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

// Limits on detail, which holds ids, counts and codes, never PHI.
const (
	maxDetailEntries = 32
	maxDetailKey     = 64
	maxDetailValue   = 512
)

func validAuditEvent(ev *eonpro.AuditEvent) error {
	switch {
	case !ev.Action.Valid():
		return fmt.Errorf("audit action %q is unknown", ev.Action)
	case ev.ActorType != eonpro.ActorUser && ev.ActorType != eonpro.ActorAPIKey && ev.ActorType != eonpro.ActorSystem:
		return fmt.Errorf("audit actor type %q is unknown", ev.ActorType)
	case ev.Outcome != eonpro.OutcomeSuccess && ev.Outcome != eonpro.OutcomeDenied && ev.Outcome != eonpro.OutcomeError:
		return fmt.Errorf("audit outcome %q is unknown", ev.Outcome)
	case len(ev.Detail) > maxDetailEntries:
		return errors.New("audit detail has too many entries")
	}
	for k, v := range ev.Detail {
		if k == "" || len(k) > maxDetailKey || len(v) > maxDetailValue || !utf8.ValidString(k+v) || strings.ContainsRune(k+v, 0) {
			return fmt.Errorf("audit detail %q is empty, too long or not text", k)
		}
	}
	return nil
}
