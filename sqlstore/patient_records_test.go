package sqlstore_test

import (
	"context"
	"testing"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

// TestOwnRecords: a patient reads the documents and consents of their
// own record, and another patient's are answered as missing.
func TestOwnRecords(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		pe := newPatientEnv(t, db)
		e := newDocEnvOn(t, pe.phiEnv, 1<<20)
		u := pe.patientUser(phiClinicA, eonpro.RolePatient)
		own := pe.create(e.adminA, eonpro.NewPatient{GivenName: "Ada", FamilyName: "Lovelace", DateOfBirth: "1980-04-23",
			Address: eonpro.Address{State: "TX"}, UserID: u.ID})
		mine := e.upload(t, e.adminA, own.ID, "mine.pdf", pdf("mine"))
		theirs := e.upload(t, e.adminA, e.patientA, "theirs.pdf", pdf("theirs"))
		for _, id := range []string{own.ID, e.patientA} {
			if _, err := e.consents.CreateConsent(e.adminA, id, eonpro.NewConsent{Kind: eonpro.ConsentTreatment,
				Version: "v1", SignedName: "Ada Lovelace"}); err != nil {
				t.Fatal(err)
			}
		}
		me := eonpro.NewContextWithPrincipal(context.Background(), &eonpro.Principal{UserID: u.ID, ClinicID: phiClinicA,
			Role: eonpro.RolePatient, Permissions: eonpro.RolePermissions[eonpro.RolePatient]})
		t.Run("OK", func(t *testing.T) {
			ds, _, err := e.docs.FindDocuments(me, eonpro.DocumentFilter{PatientID: own.ID})
			if err != nil || len(ds) != 1 || ds[0].ID != mine.ID {
				t.Errorf("FindDocuments = %v, %v; want mine.pdf", ds, err)
			}
			if _, body, err := e.docs.FindDocumentContent(me, mine.ID); err != nil || string(body) != string(pdf("mine")) {
				t.Errorf("FindDocumentContent: %v", err)
			}
			cs, _, err := e.consents.FindConsents(me, eonpro.ConsentFilter{PatientID: own.ID})
			if err != nil || len(cs) != 1 {
				t.Errorf("FindConsents = %v, %v; want one", cs, err)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, _, listErr := e.docs.FindDocuments(me, eonpro.DocumentFilter{PatientID: e.patientA})
			_, _, contentErr := e.docs.FindDocumentContent(me, theirs.ID)
			_, _, consentErr := e.consents.FindConsents(me, eonpro.ConsentFilter{PatientID: e.patientA})
			for name, err := range map[string]error{"documents": listErr, "content": contentErr, "consents": consentErr} {
				if eonpro.ErrorCode(err) != eonpro.ENOTFOUND {
					t.Errorf("another patient's %s: %v, want ENOTFOUND", name, err)
				}
			}
		})
	})
}
