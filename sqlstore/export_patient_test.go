package sqlstore

import (
	"context"
	"fmt"

	"github.com/eonpro/eonpro"
)

// SeedPatients stores patients in one clinic as CreatePatient does, but
// batch at a time in one transaction each and without audit events: for
// the tests and benchmarks that need thousands. The patients are created
// in order, so the last is the newest.
func (s *PatientService) SeedPatients(ctx context.Context, clinicID string, in []eonpro.NewPatient, batch int) error {
	for start := 0; start < len(in); start += batch {
		chunk := in[start:min(len(in), start+batch)]
		ps := make([]*eonpro.Patient, len(chunk))
		sps := make([]*sealedPatient, len(chunk))
		for i, n := range chunk {
			now := s.now()
			ps[i] = &eonpro.Patient{ID: eonpro.NewID(), Status: eonpro.PatientActive, CreatedAt: now, UpdatedAt: now}
			if err := applyPatientUpdate(ps[i], n.Update(), now); err != nil {
				return fmt.Errorf("patient %d: %w", start+i, err)
			}
			var err error
			if sps[i], err = s.seal(ctx, clinicID, ps[i]); err != nil {
				return err
			}
		}
		err := s.db.InClinic(ctx, clinicID, func(tx *Tx) error {
			for i, p := range ps {
				if err := insertPatientRow(ctx, tx, p, sps[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func SearchStmts() []Stmt {
	return []Stmt{searchPatientsByEmail, searchPatientsByName, searchPatientsByTag, searchPatientsByStatus, searchPatientsByFamilyName}
}
