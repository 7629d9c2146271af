package sqlstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

var (
	countPatients = sqlstore.Stmt{Name: "test_count_patients", SQL: `
SELECT count(*) FROM patients`}
	countPatientsOf = sqlstore.Stmt{Name: "test_count_patients_of", SQL: `
SELECT count(*) FROM patients WHERE clinic_id = $1`}
	countPrefixesOf = sqlstore.Stmt{Name: "test_count_prefixes_of", SQL: `
SELECT count(*) FROM patient_name_prefixes WHERE clinic_id = $1`}
	moveMRNCounter = sqlstore.Stmt{Name: "test_move_mrn_counter", SQL: `
UPDATE patient_mrn_counters SET last_mrn = last_mrn + 100 WHERE clinic_id = $1`}
	insertForeignPatient = sqlstore.Stmt{Name: "test_insert_foreign_patient", SQL: `
INSERT INTO patients (id, clinic_id, mrn, created_at, updated_at) VALUES ($1, $2, 'MRN-999999', now(), now())`}
)

// TestPatientRowSecurity shows the second wall: a role that is neither
// superuser nor BYPASSRLS (as production's should be), in a transaction
// InClinic opened for clinic A, sees none of clinic B's rows even when a
// statement asks for them by clinic, changes none, and cannot write any.
func TestPatientRowSecurity(t *testing.T) {
	requireEngine(t, sqlstore.Postgres)
	ctx := context.Background()
	db := sqltest.Open(t, sqlstore.Postgres, nil)
	e := newPatientEnv(t, db)
	e.create(e.staffA, eonpro.NewPatient{GivenName: "Ada", FamilyName: "Alpha", Address: eonpro.Address{State: "TX"}})
	e.create(e.staffB, eonpro.NewPatient{GivenName: "Bob", FamilyName: "Beta", Address: eonpro.Address{State: "TX"}})
	role := rlsRole(t, db)
	if _, err := db.Pool().Exec(ctx, "GRANT SELECT, INSERT, UPDATE ON patients, patient_name_prefixes, patient_tags, patient_mrn_counters TO "+role); err != nil {
		t.Fatal(err)
	}
	asRole := func(tx *sqlstore.Tx) error {
		_, err := tx.PgxTx().Exec(ctx, "SET LOCAL ROLE "+role)
		return err
	}
	count := func(tx *sqlstore.Tx, s sqlstore.Stmt, args ...any) int {
		var n int
		if err := tx.QueryRow(ctx, s, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	err := db.InClinic(ctx, phiClinicA, func(tx *sqlstore.Tx) error {
		if n := count(tx, countPatientsOf, phiClinicB); n != 1 {
			t.Errorf("as superuser, clinic B's patients: %d, want 1 (the wall to test is RLS)", n)
		}
		if err := asRole(tx); err != nil {
			return err
		}
		for _, c := range []struct {
			what string
			got  int
			want int
		}{
			{"every patient", count(tx, countPatients), 1},
			{"clinic A's patients", count(tx, countPatientsOf, phiClinicA), 1},
			{"clinic B's patients", count(tx, countPatientsOf, phiClinicB), 0},
			{"clinic B's name prefixes", count(tx, countPrefixesOf, phiClinicB), 0},
		} {
			if c.got != c.want {
				t.Errorf("%s seen from clinic A: %d, want %d", c.what, c.got, c.want)
			}
		}
		if n, err := tx.Exec(ctx, moveMRNCounter, phiClinicB); err != nil || n != 0 {
			t.Errorf("clinic B's MRN counter changed from clinic A: %d rows, %v", n, err)
		}
		_, err := tx.Exec(ctx, insertForeignPatient, eonpro.NewID(), phiClinicB)
		return err
	})
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42501" {
		t.Errorf("insert into clinic B from clinic A: %v, want a row-level security violation (42501)", err)
	}
	err = db.View(ctx, func(tx *sqlstore.Tx) error {
		if err := asRole(tx); err != nil {
			return err
		}
		if n := count(tx, countPatients); n != 0 {
			t.Errorf("patients seen without a clinic: %d, want 0", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
