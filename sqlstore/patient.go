package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/phi"
)

var (
	_ eonpro.PatientService = (*PatientService)(nil)
	_ eonpro.PatientLookup  = (*PatientService)(nil)
)

// PatientService implements eonpro.PatientService, and the patient lookup
// of the audit service. PHI is encrypted with the key ring before it is
// written and decrypted after it is read; searches go through blind
// indexes (patient_search.go).
type PatientService struct {
	db   *DB
	ring *phi.KeyRing
}

// NewPatientService returns the patient service on db, encrypting with ring.
func NewPatientService(db *DB, ring *phi.KeyRing) *PatientService {
	return &PatientService{db: db, ring: ring}
}

// patientColumns lists the columns scanPatient reads: the plain ones, then
// patientFields in order.
const patientColumns = `p.id, p.mrn, p.status, p.user_id, p.created_at, p.updated_at,
    p.given_name, p.family_name, p.preferred_name, p.date_of_birth, p.sex_at_birth, p.gender_identity,
    p.email, p.phone, p.address, p.external_ids, p.emergency_contact, p.allergies, p.medications, p.tags, p.intake`

var (
	nextPatientMRN = Stmt{Name: "next_patient_mrn", SQL: `
INSERT INTO patient_mrn_counters (clinic_id, last_mrn) VALUES ($1, 1)
ON CONFLICT (clinic_id) DO UPDATE SET last_mrn = patient_mrn_counters.last_mrn + 1
RETURNING last_mrn`}
	insertPatient = Stmt{Name: "insert_patient", SQL: `
INSERT INTO patients (
    id,
    clinic_id,
    mrn,
    status,
    user_id,
    given_name,
    family_name,
    preferred_name,
    date_of_birth,
    sex_at_birth,
    gender_identity,
    email,
    phone,
    address,
    external_ids,
    emergency_contact,
    allergies,
    medications,
    tags,
    intake,
    email_index,
    phone_index,
    dob_index,
    family_name_index,
    created_at,
    updated_at
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
    $21, $22, $23, $24, $25, $26)`}
	updatePatientRow = Stmt{Name: "update_patient", SQL: `
UPDATE patients
SET status = $3,
    user_id = $4,
    given_name = $5,
    family_name = $6,
    preferred_name = $7,
    date_of_birth = $8,
    sex_at_birth = $9,
    gender_identity = $10,
    email = $11,
    phone = $12,
    address = $13,
    external_ids = $14,
    emergency_contact = $15,
    allergies = $16,
    medications = $17,
    tags = $18,
    intake = $19,
    email_index = $20,
    phone_index = $21,
    dob_index = $22,
    family_name_index = $23,
    updated_at = $24
WHERE clinic_id = $1
  AND id = $2`}
	selectPatient = Stmt{Name: "select_patient", SQL: `
SELECT ` + patientColumns + `
FROM patients p
WHERE p.clinic_id = $1
  AND p.id = $2`}
	// lockPatient reads a patient to change it: the row lock keeps two
	// changes at once from writing back each other's old values; SQLite
	// has one writer, so it needs no lock.
	lockPatient = Stmt{Name: "select_patient_for_update", SQL: `
SELECT ` + patientColumns + `
FROM patients p
WHERE p.clinic_id = $1
  AND p.id = $2
FOR UPDATE`, SQLite: `
SELECT ` + patientColumns + `
FROM patients p
WHERE p.clinic_id = $1
  AND p.id = $2`}
	deletePatientPrefixes = Stmt{Name: "delete_patient_name_prefixes", SQL: `
DELETE FROM patient_name_prefixes WHERE clinic_id = $1 AND patient_id = $2`}
	insertPatientPrefix = Stmt{Name: "insert_patient_name_prefix", SQL: `
INSERT INTO patient_name_prefixes (clinic_id, prefix_index, patient_id) VALUES ($1, $2, $3)`}
	deletePatientTags = Stmt{Name: "delete_patient_tags", SQL: `
DELETE FROM patient_tags WHERE clinic_id = $1 AND patient_id = $2`}
	insertPatientTag = Stmt{Name: "insert_patient_tag", SQL: `
INSERT INTO patient_tags (clinic_id, tag_index, patient_id) VALUES ($1, $2, $3)`}
)

// storedPatient is a row of patients: the plain columns read, the PHI
// still sealed in values (patientFields order) until opened.
type storedPatient struct {
	eonpro.Patient
	values []string
}

func scanPatient(row scanner) (*storedPatient, error) {
	sp := &storedPatient{values: make([]string, len(patientFields))}
	var userID *string
	dest := []any{&sp.ID, &sp.MRN, &sp.Status, &userID, &sp.CreatedAt, &sp.UpdatedAt}
	for i := range sp.values {
		dest = append(dest, &sp.values[i])
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	if userID != nil {
		sp.UserID = *userID
	}
	return sp, nil
}

// readPatient reads and decrypts one patient; ENOTFOUND when stmt finds
// none in the clinic.
func (s *PatientService) readPatient(ctx context.Context, tx *Tx, stmt Stmt, key string) (*eonpro.Patient, error) {
	sp, err := scanPatient(tx.QueryRow(ctx, stmt, tx.ClinicID(), key))
	if err == ErrNoRows {
		return nil, eonpro.Errorf(eonpro.ENOTFOUND, "Patient not found.")
	} else if err != nil {
		return nil, err
	}
	return s.openPatient(ctx, tx.ClinicID(), sp, 0)
}

// openPatient decrypts the PHI fields of a stored patient from the
// from'th on (those before are open already).
func (s *PatientService) openPatient(ctx context.Context, clinicID string, sp *storedPatient, from int) (*eonpro.Patient, error) {
	if err := s.open(ctx, clinicID, sp, from, len(patientFields)); err != nil {
		return nil, err
	}
	p := sp.Patient
	fillPatient(&p)
	return &p, nil
}

// fillPatient gives absent lists and objects their empty JSON form.
func fillPatient(p *eonpro.Patient) {
	if p.ExternalIDs == nil {
		p.ExternalIDs = map[string]string{}
	}
	if p.Allergies == nil {
		p.Allergies = []eonpro.Allergy{}
	}
	if p.Medications == nil {
		p.Medications = []eonpro.Medication{}
	}
	if p.Tags == nil {
		p.Tags = []string{}
	}
	if len(p.Intake) == 0 {
		p.Intake = json.RawMessage(`{}`)
	}
}

// CreatePatient adds a patient to the clinic of the request.
func (s *PatientService) CreatePatient(ctx context.Context, n eonpro.NewPatient) (*eonpro.Patient, error) {
	pr := eonpro.PrincipalFromContext(ctx)
	if !pr.Can(eonpro.PermPatientsWrite) {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "You may not add patients.")
	}
	now := s.now()
	p := &eonpro.Patient{ID: eonpro.NewID(), Status: eonpro.PatientActive, CreatedAt: now, UpdatedAt: now}
	upd := n.Update()
	if err := applyPatientUpdate(p, upd, now); err != nil {
		return nil, err
	}
	// Sealed before the transaction: the clinic's first keys are made in
	// a transaction of their own, which must not wait behind this one.
	sp, err := s.seal(ctx, pr.ClinicID, p)
	if err != nil {
		return nil, fmt.Errorf("create patient: %w", err)
	}
	err = s.db.InClinic(ctx, pr.ClinicID, func(tx *Tx) error {
		if err := checkPatientUser(ctx, tx, p.UserID); err != nil {
			return err
		}
		if err := insertPatientRow(ctx, tx, p, sp); err != nil {
			return err
		}
		return recordAudit(ctx, tx, eonpro.AuditEvent{Action: eonpro.ActionPHICreate, ResourceType: "patient",
			ResourceID: p.ID, PatientID: p.ID, Detail: map[string]string{"fields": strings.Join(upd.Fields(), ",")}})
	})
	if err != nil {
		return nil, fmt.Errorf("create patient: %w", patientConflict(err))
	}
	fillPatient(p)
	return p, nil
}

// insertPatientRow gives p the clinic's next MRN and inserts it.
func insertPatientRow(ctx context.Context, tx *Tx, p *eonpro.Patient, sp *sealedPatient) error {
	var seq int64
	if err := tx.QueryRow(ctx, nextPatientMRN, tx.ClinicID()).Scan(&seq); err != nil {
		return err
	}
	p.MRN = fmt.Sprintf("MRN-%06d", seq)
	args := []any{p.ID, tx.ClinicID(), p.MRN, p.Status, nullable(p.UserID)}
	for _, v := range sp.values {
		args = append(args, v)
	}
	args = append(args, sp.emailIndex, sp.phoneIndex, sp.dobIndex, sp.familyIndex, p.CreatedAt, p.UpdatedAt)
	if _, err := tx.Exec(ctx, insertPatient, args...); err != nil {
		return err
	}
	return insertPatientIndexes(ctx, tx, p.ID, sp)
}

func insertPatientIndexes(ctx context.Context, tx *Tx, id string, sp *sealedPatient) error {
	for _, ix := range sp.prefixes {
		if _, err := tx.Exec(ctx, insertPatientPrefix, tx.ClinicID(), ix, id); err != nil {
			return err
		}
	}
	for _, ix := range sp.tags {
		if _, err := tx.Exec(ctx, insertPatientTag, tx.ClinicID(), ix, id); err != nil {
			return err
		}
	}
	return nil
}

// FindPatientByID returns a patient of the clinic of the request.
func (s *PatientService) FindPatientByID(ctx context.Context, id string) (*eonpro.Patient, error) {
	pr := eonpro.PrincipalFromContext(ctx)
	if !pr.Can(eonpro.PermPatientsRead) {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "You may not read patients.")
	}
	return s.view(ctx, pr.ClinicID, selectPatient, id)
}

// view reads one patient and records phi.view (in a transaction of its
// own: a read has no write to join).
func (s *PatientService) view(ctx context.Context, clinicID string, stmt Stmt, key string) (*eonpro.Patient, error) {
	if err := s.ring.EnsureKeys(ctx, clinicID); err != nil {
		return nil, fmt.Errorf("find patient: %w", err)
	}
	var p *eonpro.Patient
	err := s.db.ViewClinic(ctx, clinicID, func(tx *Tx) (err error) {
		p, err = s.readPatient(ctx, tx, stmt, key)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("find patient: %w", err)
	}
	err = s.db.RecordAudit(ctx, eonpro.AuditEvent{ClinicID: clinicID, Action: eonpro.ActionPHIView,
		ResourceType: "patient", ResourceID: p.ID, PatientID: p.ID})
	if err != nil {
		return nil, fmt.Errorf("find patient: %w", err)
	}
	return p, nil
}

// UpdatePatient changes a patient of the clinic of the request.
func (s *PatientService) UpdatePatient(ctx context.Context, id string, upd eonpro.PatientUpdate) (*eonpro.Patient, error) {
	pr := eonpro.PrincipalFromContext(ctx)
	if !pr.Can(eonpro.PermPatientsWrite) {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "You may not change patients.")
	}
	p, err := s.change(ctx, pr.ClinicID, lockPatient, id, upd, eonpro.ActionPHIUpdate)
	if err != nil {
		return nil, fmt.Errorf("update patient: %w", err)
	}
	return p, nil
}

// ArchivePatient archives a patient of the clinic of the request.
func (s *PatientService) ArchivePatient(ctx context.Context, id string) error {
	pr := eonpro.PrincipalFromContext(ctx)
	if !pr.Can(eonpro.PermPatientsWrite) {
		return eonpro.Errorf(eonpro.EFORBIDDEN, "You may not archive patients.")
	}
	archived := eonpro.PatientArchived
	if _, err := s.change(ctx, pr.ClinicID, lockPatient, id, eonpro.PatientUpdate{Status: &archived}, eonpro.ActionPHIDelete); err != nil {
		return fmt.Errorf("archive patient: %w", err)
	}
	return nil
}

// change applies upd to the patient lock finds by key, in one
// transaction with its audit event (action). Archiving an archived
// patient changes nothing and records nothing.
func (s *PatientService) change(ctx context.Context, clinicID string, lock Stmt, key string, upd eonpro.PatientUpdate,
	action eonpro.AuditAction) (*eonpro.Patient, error) {
	// Loaded before the transaction, which then encrypts from the cache.
	if err := s.ring.EnsureKeys(ctx, clinicID); err != nil {
		return nil, err
	}
	var p *eonpro.Patient
	err := s.db.InClinic(ctx, clinicID, func(tx *Tx) (err error) {
		if p, err = s.readPatient(ctx, tx, lock, key); err != nil {
			return err
		}
		if action == eonpro.ActionPHIDelete && p.Status == eonpro.PatientArchived {
			return nil
		}
		now := s.now()
		if err := applyPatientUpdate(p, upd, now); err != nil {
			return err
		}
		if upd.UserID != nil {
			if err := checkPatientUser(ctx, tx, p.UserID); err != nil {
				return err
			}
		}
		p.UpdatedAt = now
		if err := s.savePatient(ctx, tx, p); err != nil {
			return err
		}
		return recordAudit(ctx, tx, eonpro.AuditEvent{Action: action, ResourceType: "patient", ResourceID: p.ID,
			PatientID: p.ID, Detail: map[string]string{"fields": strings.Join(upd.Fields(), ",")}})
	})
	if err != nil {
		return nil, patientConflict(err)
	}
	return p, nil
}

// savePatient writes a changed patient and replaces its index rows.
func (s *PatientService) savePatient(ctx context.Context, tx *Tx, p *eonpro.Patient) error {
	sp, err := s.seal(ctx, tx.ClinicID(), p)
	if err != nil {
		return err
	}
	args := []any{tx.ClinicID(), p.ID, p.Status, nullable(p.UserID)}
	for _, v := range sp.values {
		args = append(args, v)
	}
	args = append(args, sp.emailIndex, sp.phoneIndex, sp.dobIndex, sp.familyIndex, p.UpdatedAt)
	if _, err := tx.Exec(ctx, updatePatientRow, args...); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, deletePatientPrefixes, tx.ClinicID(), p.ID); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, deletePatientTags, tx.ClinicID(), p.ID); err != nil {
		return err
	}
	return insertPatientIndexes(ctx, tx, p.ID, sp)
}

// checkPatientUser checks that a user to link to a patient is a patient
// member of the transaction's clinic.
func checkPatientUser(ctx context.Context, tx *Tx, userID string) error {
	if userID == "" {
		return nil
	}
	m, err := findMember(ctx, tx, tx.ClinicID(), userID)
	if eonpro.ErrorCode(err) == eonpro.ENOTFOUND || (err == nil && m.Role != eonpro.RolePatient) {
		return eonpro.FieldError("user_id", "must be a member of this clinic with the patient role")
	}
	return err
}

// patientConflict names the one unique column a client can collide on.
func patientConflict(err error) error {
	if eonpro.ErrorCode(err) == eonpro.ECONFLICT && eonpro.ErrorFields(err) == nil {
		return &eonpro.Error{Code: eonpro.ECONFLICT, Message: "That user is linked to another patient.",
			Fields: map[string]string{"user_id": "is linked to another patient"}}
	}
	return err
}

// now is the store's clock to the microsecond both engines keep.
func (s *PatientService) now() time.Time { return s.db.Now() }

// nullable stores "" as NULL.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
