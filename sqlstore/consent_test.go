package sqlstore_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

// consentCanary records a consent signed with the canary as the name.
func consentCanary(t *testing.T, e *canaryEnv, canary string) []string {
	t.Helper()
	ctx := actingAs(phiClinicA, eonpro.RoleAdmin)
	_, err := sqlstore.NewConsentService(e.db, e.ring).CreateConsent(ctx, createPatient(t, e.phiEnv, ctx),
		eonpro.NewConsent{Kind: eonpro.ConsentTreatment, Version: "v1", SignedName: canary})
	if err != nil {
		t.Fatal(err)
	}
	return []string{canary}
}

func TestConsents(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newDocEnv(t, db)
		ctx := eonpro.NewContextWithRequestMeta(e.adminA, eonpro.RequestMeta{IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (iPhone)"})
		c, err := e.consents.CreateConsent(ctx, e.patientA, eonpro.NewConsent{Kind: eonpro.ConsentTelehealth,
			Version: "2026-01", SignedName: "  Ada Lovelace "})
		if err != nil {
			t.Fatal(err)
		}
		want := &eonpro.Consent{ID: c.ID, PatientID: e.patientA, Kind: eonpro.ConsentTelehealth, Version: "2026-01",
			SignedName: "Ada Lovelace", SignedAt: c.SignedAt, IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (iPhone)",
			RecordedBy: eonpro.PrincipalFromContext(ctx).UserID}
		if diff := cmp.Diff(want, c); diff != "" {
			t.Errorf("CreateConsent mismatch (-want +got):\n%s", diff)
		}
		if age := time.Since(c.SignedAt); age < 0 || age > time.Minute || c.SignedAt.Location() != time.UTC {
			t.Errorf("signed at %v, want now in UTC", c.SignedAt)
		}
		t.Run("List", func(t *testing.T) {
			sms, err := e.consents.CreateConsent(ctx, e.patientA, eonpro.NewConsent{Kind: eonpro.ConsentSMS, Version: "v1", SignedName: "Ada"})
			if err != nil {
				t.Fatal(err)
			}
			list, next, err := e.consents.FindConsents(e.adminA, eonpro.ConsentFilter{PatientID: e.patientA})
			if err != nil || next != "" || len(list) != 2 || list[0].ID != sms.ID {
				t.Fatalf("FindConsents = %v, %q, %v", list, next, err)
			}
			if diff := cmp.Diff(c, list[1]); diff != "" {
				t.Errorf("listed consent mismatch (-want +got):\n%s", diff)
			}
			kind := eonpro.ConsentTelehealth
			list, _, err = e.consents.FindConsents(e.adminA, eonpro.ConsentFilter{PatientID: e.patientA, Kind: &kind, Limit: 1})
			if err != nil || len(list) != 1 || list[0].ID != c.ID {
				t.Errorf("FindConsents(kind=telehealth) = %v, %v", list, err)
			}
			bad := eonpro.ConsentKind("marketing")
			if _, _, err := e.consents.FindConsents(e.adminA, eonpro.ConsentFilter{PatientID: e.patientA, Kind: &bad}); eonpro.ErrorFields(err)["kind"] == "" {
				t.Errorf("kind=marketing: %v, want EINVALID naming kind", err)
			}
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			_, err := e.consents.CreateConsent(ctx, e.patientA, eonpro.NewConsent{Kind: "marketing", Version: "two words",
				SignedName: "Ada\x00"})
			if diff := cmp.Diff([]string{"kind", "signed_name", "version"}, sortedKeys(eonpro.ErrorFields(err))); diff != "" || eonpro.ErrorCode(err) != eonpro.EINVALID {
				t.Errorf("CreateConsent = %v: fields mismatch (-want +got):\n%s", err, diff)
			}
			for _, nc := range []eonpro.NewConsent{{Kind: "sms", Version: "v1"}, {Kind: "sms", SignedName: "A"},
				{Kind: "sms", Version: "v1", SignedName: strings.Repeat("a", 201)}, {Kind: "sms", Version: strings.Repeat("1", 65), SignedName: "A"}} {
				if _, err := e.consents.CreateConsent(ctx, e.patientA, nc); eonpro.ErrorCode(err) != eonpro.EINVALID {
					t.Errorf("CreateConsent(%+v) = %v, want EINVALID", nc, err)
				}
			}
		})
		t.Run("ErrOtherClinic", func(t *testing.T) {
			nc := eonpro.NewConsent{Kind: eonpro.ConsentTreatment, Version: "v1", SignedName: "Mallory"}
			_, other := e.consents.CreateConsent(e.adminB, e.patientA, nc)
			_, missing := e.consents.CreateConsent(e.adminB, eonpro.NewID(), nc)
			_, _, otherList := e.consents.FindConsents(e.adminB, eonpro.ConsentFilter{PatientID: e.patientA})
			for name, err := range map[string]error{"create": other, "create missing": missing, "list": otherList} {
				if eonpro.ErrorCode(err) != eonpro.ENOTFOUND || eonpro.ErrorMessage(err) != "Patient not found." {
					t.Errorf("%s for clinic A's patient from B: %v, want ENOTFOUND", name, err)
				}
			}
			if _, err := e.consents.CreateConsent(actingAs(phiClinicA, eonpro.RoleBilling), e.patientA, nc); eonpro.ErrorCode(err) != eonpro.EFORBIDDEN {
				t.Errorf("create as billing: %v, want EFORBIDDEN", err)
			}
		})
		t.Run("ErrEvidenceChanged", func(t *testing.T) {
			for _, s := range []sqlstore.Stmt{updateConsentVersion, updateConsentIP, deleteConsent} {
				err := db.InClinic(context.Background(), phiClinicA, func(tx *sqlstore.Tx) error {
					_, err := tx.Exec(context.Background(), s, phiClinicA, c.ID)
					return err
				})
				if err == nil {
					t.Errorf("%s succeeded on a consent", s.Name)
				}
			}
		})
		t.Run("Audit", func(t *testing.T) {
			events := trail(t, db, phiClinicA)
			if !slices.Contains(events, "phi.create consent "+c.ID+" "+e.patientA) || !slices.Contains(events, "phi.view consent_list  "+e.patientA) {
				t.Errorf("consent events missing from %q", events)
			}
		})
	})
}

var (
	updateConsentVersion = sqlstore.Stmt{Name: "test_update_consent_version", SQL: `
UPDATE consents SET version = 'v9' WHERE clinic_id = $1 AND id = $2`}
	updateConsentIP = sqlstore.Stmt{Name: "test_update_consent_ip", SQL: `
UPDATE consents SET ip = '192.0.2.1' WHERE clinic_id = $1 AND id = $2`}
	deleteConsent = sqlstore.Stmt{Name: "test_delete_consent", SQL: `
DELETE FROM consents WHERE clinic_id = $1 AND id = $2`}
)

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
