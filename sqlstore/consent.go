package sqlstore

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/phi"
)

var _ eonpro.ConsentService = (*ConsentService)(nil)

// consentSignedName is the PHI column of consents: the patient's name as
// signed. The IP address and user agent are the request's, which the
// audit event of the consent holds in the clear as every event does.
var consentSignedName = phi.Column{Table: "consents", Column: "signed_name", IDColumn: "id", ClinicColumn: "clinic_id"}

func init() { phi.Register(consentSignedName) }

// maxSignedName caps the name a consent is signed with, in characters.
const maxSignedName = 200

var consentVersionRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)

// ConsentService implements eonpro.ConsentService.
type ConsentService struct {
	db   *DB
	ring *phi.KeyRing
}

// NewConsentService returns the consent service.
func NewConsentService(db *DB, ring *phi.KeyRing) *ConsentService {
	return &ConsentService{db: db, ring: ring}
}

var (
	// insertConsent inserts nothing unless the patient is the clinic's.
	insertConsent = Stmt{Name: "insert_consent", SQL: `
INSERT INTO consents (
    id,
    clinic_id,
    patient_id,
    kind,
    version,
    signed_name,
    signed_at,
    ip,
    user_agent,
    recorded_by
)
SELECT $1, clinic_id, id, $4, $5, $6, $7, $8, $9, $10
FROM patients
WHERE clinic_id = $2
  AND id = $3`}
	selectConsentPage = Stmt{Name: "select_consent_page", SQL: `
SELECT id, patient_id, kind, version, signed_name, signed_at, ip, user_agent, recorded_by
FROM consents
WHERE clinic_id = $1
  AND patient_id = $2
  AND ($3::text IS NULL OR kind = $3)
  AND ($4::text IS NULL OR id < $4)
ORDER BY id DESC
LIMIT $5`, SQLite: `
SELECT id, patient_id, kind, version, signed_name, signed_at, ip, user_agent, recorded_by
FROM consents
WHERE clinic_id = $1
  AND patient_id = $2
  AND ($3 IS NULL OR kind = $3)
  AND ($4 IS NULL OR id < $4)
ORDER BY id DESC
LIMIT $5`}
)

func scanConsent(rows scanner) (*eonpro.Consent, error) {
	var c eonpro.Consent
	err := rows.Scan(&c.ID, &c.PatientID, &c.Kind, &c.Version, &c.SignedName, &c.SignedAt, &c.IP, &c.UserAgent, &c.RecordedBy)
	return &c, err
}

// CreateConsent records the signature with the time of the store's clock
// and the origin of the request, and phi.create, in one transaction.
func (s *ConsentService) CreateConsent(ctx context.Context, patientID string, nc eonpro.NewConsent) (*eonpro.Consent, error) {
	p := eonpro.PrincipalFromContext(ctx)
	if !p.Can(eonpro.PermPatientsWrite) {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "You may not record consents.")
	}
	c, err := newConsent(nc)
	if err != nil {
		return nil, err
	}
	meta := eonpro.RequestMetaFromContext(ctx)
	c.ID, c.PatientID, c.RecordedBy = eonpro.NewID(), patientID, p.UserID
	c.SignedAt = s.db.Now().UTC().Truncate(time.Microsecond)
	c.IP, c.UserAgent = cleanText(meta.IP, 64), cleanText(meta.UserAgent, 512)
	sealed, err := s.ring.Encrypt(ctx, p.ClinicID, consentSignedName.Field(c.ID), c.SignedName)
	if err != nil {
		return nil, fmt.Errorf("create consent: %w", err)
	}
	err = s.db.InClinic(ctx, p.ClinicID, func(tx *Tx) error {
		n, err := tx.Exec(ctx, insertConsent, c.ID, p.ClinicID, patientID, string(c.Kind), c.Version, sealed,
			c.SignedAt, c.IP, c.UserAgent, c.RecordedBy)
		if err != nil {
			return err
		} else if n == 0 {
			return eonpro.Errorf(eonpro.ENOTFOUND, "Patient not found.")
		}
		return recordAudit(ctx, tx, eonpro.AuditEvent{Action: eonpro.ActionPHICreate, ResourceType: "consent",
			ResourceID: c.ID, PatientID: patientID, Detail: map[string]string{"kind": string(c.Kind), "version": c.Version}})
	})
	if err != nil {
		return nil, fmt.Errorf("create consent: %w", err)
	}
	return c, nil
}

// newConsent validates the input, trimmed.
func newConsent(nc eonpro.NewConsent) (*eonpro.Consent, error) {
	signedName, clean := eonpro.CleanText(nc.SignedName)
	c := &eonpro.Consent{Kind: nc.Kind, Version: strings.TrimSpace(nc.Version), SignedName: signedName}
	fields := map[string]string{}
	if !c.Kind.Valid() {
		fields["kind"] = "must be one of telehealth, treatment, privacy_notice, sms"
	}
	if !consentVersionRe.MatchString(c.Version) {
		fields["version"] = "must be 1 to 64 letters, digits, dots, hyphens, underscores or colons, like 2026-01 or v3.1"
	}
	switch n := utf8.RuneCountInString(c.SignedName); {
	case !clean:
		fields["signed_name"] = eonpro.InvisibleTextMessage
	case n == 0:
		fields["signed_name"] = "is required"
	case n > maxSignedName:
		fields["signed_name"] = fmt.Sprintf("must be at most %d characters", maxSignedName)
	}
	if len(fields) > 0 {
		return nil, &eonpro.Error{Code: eonpro.EINVALID, Message: "Some fields are invalid.", Fields: fields}
	}
	return c, nil
}

// FindConsents lists a patient's consents, newest first, and records
// phi.view.
func (s *ConsentService) FindConsents(ctx context.Context, f eonpro.ConsentFilter) ([]*eonpro.Consent, string, error) {
	p := eonpro.PrincipalFromContext(ctx)
	if !canReadRecords(p) {
		return nil, "", eonpro.Errorf(eonpro.EFORBIDDEN, "You may not see consents.")
	}
	var kind *string
	if f.Kind != nil {
		if !f.Kind.Valid() {
			return nil, "", eonpro.FieldError("kind", "must be one of telehealth, treatment, privacy_notice, sms")
		}
		k := string(*f.Kind)
		kind = &k
	}
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return nil, "", err
	}
	cursor, err := idCursor(f.Cursor)
	if err != nil {
		return nil, "", err
	}
	var out []*eonpro.Consent
	err = s.db.ViewClinic(ctx, p.ClinicID, func(tx *Tx) error {
		if err := requireReadable(ctx, tx, p, f.PatientID); err != nil {
			return err
		}
		out, err = queryAll(ctx, tx, selectConsentPage, scanConsent, p.ClinicID, f.PatientID, kind, cursor, limit+1)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("find consents: %w", err)
	}
	out, next := cutPage(out, limit, func(c *eonpro.Consent) string { return c.ID })
	for _, c := range out {
		if c.SignedName, err = s.ring.Decrypt(ctx, p.ClinicID, consentSignedName.Field(c.ID), c.SignedName); err != nil {
			return nil, "", fmt.Errorf("find consents: %w", err)
		}
	}
	err = s.db.RecordAudit(ctx, eonpro.AuditEvent{Action: eonpro.ActionPHIView, ResourceType: "consent_list",
		PatientID: f.PatientID, Detail: map[string]string{"count": strconv.Itoa(len(out))}})
	if err != nil {
		return nil, "", fmt.Errorf("find consents: %w", err)
	}
	return out, next, nil
}
