package sqlstore

import (
	"context"
	"fmt"

	"github.com/eonpro/eonpro"
)

var (
	selectPatientByUser = Stmt{Name: "select_patient_by_user", SQL: `
SELECT ` + patientColumns + `
FROM patients p
WHERE p.clinic_id = $1
  AND p.user_id = $2`}
	lockPatientByUser = Stmt{Name: "select_patient_by_user_for_update", SQL: `
SELECT ` + patientColumns + `
FROM patients p
WHERE p.clinic_id = $1
  AND p.user_id = $2
FOR UPDATE`, SQLite: `
SELECT ` + patientColumns + `
FROM patients p
WHERE p.clinic_id = $1
  AND p.user_id = $2`}
	selectOwnPatient = Stmt{Name: "select_own_patient", SQL: `
SELECT id FROM patients WHERE clinic_id = $1 AND id = $2 AND user_id = $3`}
	selectPatientIDByUser = Stmt{Name: "select_patient_id_by_user", SQL: `
SELECT id FROM patients WHERE clinic_id = $1 AND user_id = $2`}
)

// errNoRecord is the answer to a user without a patient record.
func errNoRecord() error {
	return eonpro.Errorf(eonpro.ENOTFOUND, "You have no patient record in this clinic.")
}

// FindMyPatient returns the principal's own record, recording phi.view:
// a patient's access log shows their own views too.
func (s *PatientService) FindMyPatient(ctx context.Context) (*eonpro.PatientProfile, error) {
	pr := eonpro.PrincipalFromContext(ctx)
	if !pr.Can(eonpro.PermOwnRecord) {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "Only patients have a record of their own.")
	}
	p, err := s.view(ctx, pr.ClinicID, selectPatientByUser, pr.UserID)
	if eonpro.ErrorCode(err) == eonpro.ENOTFOUND {
		return nil, errNoRecord()
	} else if err != nil {
		return nil, err
	}
	return p.Profile(), nil
}

// UpdateMyPatient changes the fields of PatientProfileUpdate of the
// principal's own record.
func (s *PatientService) UpdateMyPatient(ctx context.Context, upd eonpro.PatientProfileUpdate) (*eonpro.PatientProfile, error) {
	pr := eonpro.PrincipalFromContext(ctx)
	if !pr.Can(eonpro.PermOwnRecord) {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "Only patients have a record of their own.")
	}
	p, err := s.change(ctx, pr.ClinicID, lockPatientByUser, pr.UserID, upd.Update(), eonpro.ActionPHIUpdate)
	if eonpro.ErrorCode(err) == eonpro.ENOTFOUND {
		return nil, errNoRecord()
	} else if err != nil {
		return nil, fmt.Errorf("update own patient record: %w", err)
	}
	return p.Profile(), nil
}

// FindPatientIDByUser implements eonpro.PatientLookup for the access log.
func (s *PatientService) FindPatientIDByUser(ctx context.Context, clinicID, userID string) (string, error) {
	var id string
	err := s.db.ViewClinic(ctx, clinicID, func(tx *Tx) error {
		return tx.QueryRow(ctx, selectPatientIDByUser, clinicID, userID).Scan(&id)
	})
	if err == ErrNoRows {
		return "", errNoRecord()
	} else if err != nil {
		return "", fmt.Errorf("find patient by user: %w", err)
	}
	return id, nil
}

// canReadRecords reports whether p may read some patient's documents and
// consents: any patient with patients:read, their own with own_record.
func canReadRecords(p *eonpro.Principal) bool {
	return p.Can(eonpro.PermPatientsRead) || p.Can(eonpro.PermOwnRecord)
}

// requireReadable checks that patientID is a patient of the transaction's
// clinic whose records p may read (see canReadRecords): a patient asking
// for another's is answered as for a missing one. Returns ENOTFOUND.
func requireReadable(ctx context.Context, tx *Tx, p *eonpro.Principal, patientID string) error {
	if p.Can(eonpro.PermPatientsRead) {
		return requirePatient(ctx, tx, tx.ClinicID(), patientID)
	}
	var id string
	err := tx.QueryRow(ctx, selectOwnPatient, tx.ClinicID(), patientID, p.UserID).Scan(&id)
	if err == ErrNoRows {
		return eonpro.Errorf(eonpro.ENOTFOUND, "Patient not found.")
	}
	return err
}
