package sqlstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

// TestDocumentsRotateAndReencrypt: after a rotation, re-encryption
// rewrites the PHI columns of documents and consents (the consent
// triggers allow it), and everything still reads; the content stays
// under the old key version, which is kept.
func TestDocumentsRotateAndReencrypt(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		e := newDocEnv(t, db)
		d := e.upload(t, e.adminA, e.patientA, "before.pdf", pdf("before"))
		c, err := e.consents.CreateConsent(e.adminA, e.patientA, eonpro.NewConsent{Kind: eonpro.ConsentPrivacyNotice,
			Version: "v2", SignedName: "Ada Lovelace"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.keys.RotateKeys(ctx, phiClinicA); err != nil {
			t.Fatal(err)
		}
		total := 0
		for {
			n, err := e.keys.ReencryptBatch(ctx, phiClinicA, 100)
			if err != nil {
				t.Fatalf("ReencryptBatch: %v", err)
			}
			if total += n; n == 0 {
				break
			}
		}
		if total < 3 { // the document's 2 columns, the consent's 1, the patient's
			t.Errorf("re-encrypted %d values, want at least 3", total)
		}
		if got := versionCounts(t, e.keys)["clinic-a"]; !strings.HasPrefix(got, "1:0 ") {
			t.Errorf("values per key version after re-encryption: %q, want none left under 1", got)
		}
		got, body, err := e.docs.FindDocumentContent(e.adminA, d.ID)
		if err != nil || got.Filename != "before.pdf" || !bytes.Equal(body, pdf("before")) {
			t.Errorf("document after re-encryption: %+v, %v", got, err)
		}
		list, _, err := e.consents.FindConsents(e.adminA, eonpro.ConsentFilter{PatientID: e.patientA})
		if err != nil || len(list) != 1 || list[0].SignedName != "Ada Lovelace" || list[0].ID != c.ID {
			t.Errorf("consents after re-encryption: %v, %v", list, err)
		}
	})
}

var (
	countDocumentRows = sqlstore.Stmt{Name: "test_count_document_rows", SQL: `SELECT count(*) FROM patient_documents`}
	countConsentRows  = sqlstore.Stmt{Name: "test_count_consent_rows", SQL: `SELECT count(*) FROM consents`}
	archiveAnyDoc     = sqlstore.Stmt{Name: "test_archive_any_document", SQL: `
UPDATE patient_documents SET status = 'archived', archived_at = updated_at WHERE id = $1`}
	insertDocForClinic = sqlstore.Stmt{Name: "test_insert_document_for_clinic", SQL: `
INSERT INTO patient_documents (id, clinic_id, patient_id, kind, filename, content_type, size, storage_key, sha256,
    uploaded_by, created_at, updated_at)
VALUES ($1, $2, $3, 'other', 'x', 'text/plain', 1, $4, 'x', 'x', now(), now())`}
)

// TestDocumentsRowSecurity: on PostgreSQL, a role without BYPASSRLS (the
// tests otherwise connect as a superuser, which bypasses it) sees,
// changes and adds rows of the transaction's clinic only, even with
// statements that forget the clinic_id condition.
func TestDocumentsRowSecurity(t *testing.T) {
	sqltest.Engines(t) // with CI=true, fails rather than skips without PostgreSQL
	db := sqltest.Open(t, sqlstore.Postgres, nil)
	ctx := context.Background()
	e := newDocEnv(t, db)
	d := e.upload(t, e.adminA, e.patientA, "a.pdf", pdf("a"))
	if _, err := e.consents.CreateConsent(e.adminA, e.patientA, eonpro.NewConsent{Kind: "sms", Version: "v1", SignedName: "Ada"}); err != nil {
		t.Fatal(err)
	}
	role := limitedRole(t, db)
	setRole := sqlstore.Stmt{Name: "test_set_role", SQL: "SET LOCAL ROLE " + role}
	counts := func(clinicID string) (docs, consents int64) {
		t.Helper()
		err := db.ViewClinic(ctx, clinicID, func(tx *sqlstore.Tx) error {
			if _, err := tx.Exec(ctx, setRole); err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, countDocumentRows).Scan(&docs); err != nil {
				return err
			}
			return tx.QueryRow(ctx, countConsentRows).Scan(&consents)
		})
		if err != nil {
			t.Fatal(err)
		}
		return docs, consents
	}
	if docs, consents := counts(phiClinicA); docs != 1 || consents != 1 {
		t.Errorf("clinic A sees %d documents and %d consents, want 1 and 1", docs, consents)
	}
	if docs, consents := counts(phiClinicB); docs != 0 || consents != 0 {
		t.Errorf("clinic B sees %d documents and %d consents of A", docs, consents)
	}
	err := db.InClinic(ctx, phiClinicB, func(tx *sqlstore.Tx) error {
		if _, err := tx.Exec(ctx, setRole); err != nil {
			return err
		}
		if n, err := tx.Exec(ctx, archiveAnyDoc, d.ID); err != nil || n != 0 {
			t.Errorf("clinic B archived A's document: %d rows, %v", n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.InClinic(ctx, phiClinicB, func(tx *sqlstore.Tx) error {
		if _, err := tx.Exec(ctx, setRole); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, insertDocForClinic, eonpro.NewID(), phiClinicA, e.patientA, eonpro.NewBlobKey())
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "row-level security") {
		t.Errorf("clinic B inserted a document for A: %v, want a row-level security violation", err)
	}
}

// limitedRole creates a role with table privileges but no BYPASSRLS,
// dropped when the test ends.
func limitedRole(t *testing.T, db *sqlstore.DB) string {
	t.Helper()
	ctx := context.Background()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	role := "eonpro_rls_" + hex.EncodeToString(b)
	exec := func(sql string) error {
		return db.InTx(ctx, func(tx *sqlstore.Tx) error {
			_, err := tx.Exec(ctx, sqlstore.Stmt{Name: "test_role", SQL: sql})
			return err
		})
	}
	if err := exec("CREATE ROLE " + role + " NOLOGIN NOBYPASSRLS"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := exec("DROP OWNED BY " + role); err != nil {
			t.Error(err)
		}
		if err := exec("DROP ROLE " + role); err != nil {
			t.Error(err)
		}
	})
	if err := exec("GRANT SELECT, INSERT, UPDATE ON patient_documents, consents, patients TO " + role); err != nil {
		t.Fatal(err)
	}
	return role
}
