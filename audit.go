package eonpro

import (
	"context"
	"io"
	"slices"
	"time"
)

// AuditAction names what an audit event records.
type AuditAction string

// Audit actions. Add new ones here: events with an unknown action are
// refused, so a typo cannot hide an event from the filters.
const (
	ActionLogin                 AuditAction = "auth.login"
	ActionLoginFailed           AuditAction = "auth.login_failed"
	ActionLogout                AuditAction = "auth.logout"
	ActionMFAEnrolled           AuditAction = "auth.mfa_enrolled"
	ActionMFAFailed             AuditAction = "auth.mfa_failed"
	ActionMFADisabled           AuditAction = "auth.mfa_disabled"
	ActionPasswordChanged       AuditAction = "auth.password_changed"
	ActionPasswordReset         AuditAction = "auth.password_reset"
	ActionLocked                AuditAction = "auth.locked"
	ActionUnlocked              AuditAction = "auth.unlocked"
	ActionSessionRevoked        AuditAction = "session.revoked"
	ActionAPIKeyCreated         AuditAction = "apikey.created"
	ActionAPIKeyRevoked         AuditAction = "apikey.revoked"
	ActionMemberInvited         AuditAction = "member.invited"
	ActionMemberRoleChanged     AuditAction = "member.role_changed"
	ActionMemberRemoved         AuditAction = "member.removed"
	ActionInvitationAccepted    AuditAction = "invitation.accepted"
	ActionInvitationDeclined    AuditAction = "invitation.declined"
	ActionInvitationRevoked     AuditAction = "invitation.revoked"
	ActionClinicSettingsChanged AuditAction = "clinic.settings_changed"
	ActionAccessDenied          AuditAction = "access.denied"
	ActionCrossClinic           AuditAction = "access.cross_clinic"
	ActionSuperAdminAccess      AuditAction = "access.super_admin"
	ActionPHIView               AuditAction = "phi.view"
	ActionPHISearch             AuditAction = "phi.search"
	ActionPHICreate             AuditAction = "phi.create"
	ActionPHIUpdate             AuditAction = "phi.update"
	ActionPHIDelete             AuditAction = "phi.delete"
	ActionPHIExport             AuditAction = "phi.export"
	ActionPHIPrint              AuditAction = "phi.print"
	ActionKeyRotated            AuditAction = "key.rotated"
	ActionEmergencyAccess       AuditAction = "emergency.access"
	ActionAuditExported         AuditAction = "audit.exported"
	ActionProviderCreated       AuditAction = "provider.created"
	ActionProviderUpdated       AuditAction = "provider.updated"
	ActionLicenseAdded          AuditAction = "license.added"
	ActionLicenseUpdated        AuditAction = "license.updated"
	ActionLicenseRemoved        AuditAction = "license.removed"
)

// AuditActions lists every known action.
var AuditActions = []AuditAction{
	ActionLogin, ActionLoginFailed, ActionLogout, ActionMFAEnrolled, ActionMFAFailed, ActionMFADisabled, ActionPasswordChanged,
	ActionPasswordReset, ActionLocked, ActionUnlocked, ActionSessionRevoked, ActionAPIKeyCreated, ActionAPIKeyRevoked,
	ActionMemberInvited, ActionMemberRoleChanged, ActionMemberRemoved, ActionInvitationAccepted, ActionInvitationDeclined,
	ActionInvitationRevoked, ActionClinicSettingsChanged, ActionAccessDenied,
	ActionCrossClinic, ActionSuperAdminAccess, ActionPHIView, ActionPHISearch, ActionPHICreate, ActionPHIUpdate, ActionPHIDelete,
	ActionPHIExport, ActionPHIPrint, ActionKeyRotated, ActionEmergencyAccess, ActionAuditExported,
	ActionProviderCreated, ActionProviderUpdated, ActionLicenseAdded, ActionLicenseUpdated, ActionLicenseRemoved,
}

// Valid reports whether a is a known action.
func (a AuditAction) Valid() bool { return slices.Contains(AuditActions, a) }

// Critical reports whether an event with action a alerts the clinic's
// admins as soon as it is committed: a locked account (repeated failed
// sign-ins), an attempt on another clinic's data, and emergency access.
// Alerts are aggregated: the first event of a kind in a clinic alerts at
// once, the others of the next window (15 minutes) in one summary.
func (a AuditAction) Critical() bool {
	return a == ActionLocked || a == ActionCrossClinic || a == ActionEmergencyAccess
}

// Who acted.
const (
	ActorUser   = "user"
	ActorAPIKey = "api_key"
	ActorSystem = "system"
)

// How it went.
const (
	OutcomeSuccess = "success"
	OutcomeDenied  = "denied"
	OutcomeError   = "error"
)

// AuditEvent is one entry of a clinic's append-only, hash-chained audit
// trail (events of no clinic, such as a failed sign-in with an unknown
// e-mail, form the platform chain, ClinicID ""). Detail never holds PHI:
// ids, counts, field names and codes only.
type AuditEvent struct {
	ID           string            `json:"id"`
	Time         time.Time         `json:"time"`
	ClinicID     string            `json:"clinic_id"`
	Seq          int64             `json:"seq"`
	ActorType    string            `json:"actor_type"`
	ActorID      string            `json:"actor_id"`
	ActorRole    string            `json:"actor_role"`
	Action       AuditAction       `json:"action"`
	ResourceType string            `json:"resource_type"`
	ResourceID   string            `json:"resource_id"`
	PatientID    string            `json:"patient_id"`
	Outcome      string            `json:"outcome"`
	IP           string            `json:"ip"`
	UserAgent    string            `json:"user_agent"`
	RequestID    string            `json:"request_id"`
	SessionID    string            `json:"session_id"`
	Detail       map[string]string `json:"detail"`
	PrevHash     string            `json:"prev_hash"`
	Hash         string            `json:"hash"`
}

// AuditFilter selects audit events of the clinic of the request; nil
// fields do not filter. Limit is 1 to 200 (0 means 50); Cursor is the
// next_cursor of the previous page.
type AuditFilter struct {
	ActorID   *string
	PatientID *string
	Action    *AuditAction
	From      *time.Time // inclusive
	To        *time.Time // exclusive
	Limit     int
	Cursor    string
}

// AccessLogEntry is one access to a patient's record, as the patient sees
// it: when, by whom and what was done.
type AccessLogEntry struct {
	Time      time.Time   `json:"time"`
	ActorType string      `json:"actor_type"`
	ActorID   string      `json:"actor_id"`
	ActorName string      `json:"actor_name"`
	ActorRole string      `json:"actor_role"`
	Action    AuditAction `json:"action"`
}

// VerifyResult is the outcome of checking one audit chain. When OK is
// false, FirstBadSeq is the first position that fails and FirstBad the id
// of the event stored there (nil when it is missing: a truncated tail).
type VerifyResult struct {
	ClinicID    string  `json:"clinic_id"`
	OK          bool    `json:"ok"`
	Count       int64   `json:"count"`
	FirstBad    *string `json:"first_bad"`
	FirstBadSeq int64   `json:"first_bad_seq,omitempty"`
	Reason      string  `json:"reason,omitempty"`
	// Checkpoints is how many distinct signed checkpoints the chain was
	// held to, over every source.
	Checkpoints int `json:"checkpoints"`
	// Sources lists where the checkpoints were read from (the checkpoint
	// directory, then each anchor) and what each held.
	Sources []CheckpointSource `json:"sources"`
	// NewestCheckpoint is the time of the newest checkpoint of any source
	// (zero when there is none) and CheckpointAge its age at verification
	// (nanoseconds in JSON). A chain with events older than twice the
	// checkpoint interval fails when its newest checkpoint is that old.
	NewestCheckpoint time.Time     `json:"newest_checkpoint,omitzero"`
	CheckpointAge    time.Duration `json:"checkpoint_age,omitempty"`
}

// Audit export formats.
const (
	ExportCSV  = "csv"
	ExportJSON = "json"
)

// AuditService records and reads the audit trail.
type AuditService interface {
	// Record appends ev to its clinic's chain (ev.ClinicID, else the
	// clinic of the request, else the platform chain) in a transaction of
	// its own, filling the id, time, actor and request fields it lacks
	// from the context. If it cannot be stored it goes to the fallback
	// file and Record returns the error: the caller must fail.
	Record(ctx context.Context, ev AuditEvent) error
	// FindAuditEvents lists events of the clinic of the request, newest
	// first, and the cursor of the next page ("" at the end). Needs
	// audit:read; returns EFORBIDDEN, EINVALID naming the field.
	FindAuditEvents(ctx context.Context, f AuditFilter) ([]*AuditEvent, string, error)
	// FindAccessLog lists who viewed, created, changed, archived, printed
	// or exported the principal's own patient record, newest first (empty
	// while they have no record in the clinic). Needs own_record; returns
	// EFORBIDDEN, EINVALID.
	FindAccessLog(ctx context.Context, limit int, cursor string) ([]*AccessLogEntry, string, error)
	// Verify checks a clinic's chain ("" for the platform chain) against
	// its hashes, its head and the signed checkpoints of the checkpoint
	// directory and every anchor, and fails it when its newest checkpoint
	// is older than twice the checkpoint interval while it has events
	// that old. A broken chain is an OK=false result, not an error, and
	// alerts the clinic's admins; a checkpoint source that cannot be read
	// is an error.
	// Clinic admins may verify their own clinic, super admins and the
	// system any chain; EFORBIDDEN otherwise.
	Verify(ctx context.Context, clinicID string) (*VerifyResult, error)
	// Export streams the events of the clinic of the request that match
	// f (oldest first, ignoring Limit and Cursor) to w as CSV or a JSON
	// array, after recording audit.exported. Needs audit:read; returns
	// EFORBIDDEN, EINVALID naming the field.
	Export(ctx context.Context, f AuditFilter, format string, w io.Writer) error
	// Checkpoint signs the head of every chain that moved since its last
	// checkpoint, or whose last checkpoint is older than half the
	// checkpoint interval, and writes it to the anchors and the sink. The
	// system and super admins only; EFORBIDDEN otherwise.
	Checkpoint(ctx context.Context) ([]*AuditCheckpoint, error)
	// FlushAlerts sends one summary per alert window that has ended with
	// critical events (or failed verifications) not yet told, and returns
	// how many it sent. The system and super admins only; EFORBIDDEN
	// otherwise.
	FlushAlerts(ctx context.Context) (int, error)
	// SendAlert tells the admins of a clinic (super admins for the
	// platform chain, clinicID "") about one committed critical event, by
	// its id; the job that runs after the event's transaction calls it.
	// Returns ENOTFOUND for an event not in that chain.
	SendAlert(ctx context.Context, clinicID, eventID string) error
}

// PatientLookup finds a signed-in user's own patient record, for their
// access log.
type PatientLookup interface {
	// FindPatientIDByUser returns the id of the patient record userID
	// holds in clinicID. Returns ENOTFOUND.
	FindPatientIDByUser(ctx context.Context, clinicID, userID string) (string, error)
}

const requestMetaKey contextKey = 101

// NewContextWithRequestMeta returns a copy of ctx carrying where the
// request came from, for the audit events recorded while serving it.
func NewContextWithRequestMeta(ctx context.Context, m RequestMeta) context.Context {
	return context.WithValue(ctx, requestMetaKey, m)
}

// RequestMetaFromContext returns the request's origin, or the zero value.
func RequestMetaFromContext(ctx context.Context) RequestMeta {
	m, _ := ctx.Value(requestMetaKey).(RequestMeta)
	return m
}
