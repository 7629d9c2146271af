package sqlstore_test

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
)

func init() {
	canaryFlows = append(canaryFlows, canaryFlow{name: "patient record", covers: []string{
		"patients.given_name", "patients.family_name", "patients.preferred_name", "patients.date_of_birth",
		"patients.sex_at_birth", "patients.gender_identity", "patients.email", "patients.phone", "patients.address",
		"patients.external_ids", "patients.emergency_contact", "patients.allergies", "patients.medications",
		"patients.tags", "patients.intake",
	}, write: patientCanary})
}

// patientCanary creates a patient whose every PHI field holds a canary
// (or, where the field takes only some values, a rare valid one), then
// changes the given name, searches and reads it back.
func patientCanary(t *testing.T, e *canaryEnv, canary string) []string {
	t.Helper()
	c := func(field string) string { return canary + strings.ToUpper(strings.ReplaceAll(field, "_", "")) }
	digits, _ := rand.Int(rand.Reader, big.NewInt(1e10))
	phone := fmt.Sprintf("+1%010d", digits)
	n := eonpro.NewPatient{
		GivenName: c("given"), FamilyName: c("family"), PreferredName: c("preferred"), DateOfBirth: "1937-05-19",
		SexAtBirth: "intersex", GenderIdentity: c("gender"), Email: c("email") + "@example.test", Phone: phone,
		Address:          eonpro.Address{Line1: c("line1"), City: c("city"), State: "TX"},
		ExternalIDs:      map[string]string{"lifefile": c("externalid")},
		EmergencyContact: eonpro.EmergencyContact{Name: c("contact")},
		Allergies:        []eonpro.Allergy{{Substance: c("allergy")}},
		Medications:      []eonpro.Medication{{Name: c("medication")}},
		Tags:             []string{c("tag")},
		Intake:           json.RawMessage(`{"answer":"` + c("intake") + `"}`),
	}
	svc := sqlstore.NewPatientService(e.db, e.ring)
	ctx := actingAs(phiClinicA, eonpro.RoleStaff)
	p, err := svc.CreatePatient(ctx, n)
	if err != nil {
		t.Fatalf("create: %v %v", err, eonpro.ErrorFields(err))
	}
	renamed := c("renamed")
	if _, err := svc.UpdatePatient(ctx, p.ID, eonpro.PatientUpdate{GivenName: &renamed}); err != nil {
		t.Fatal(err)
	}
	if ps, _, err := svc.FindPatients(ctx, eonpro.PatientFilter{Q: &renamed}); err != nil || len(ps) != 1 {
		t.Fatalf("search for the canary: %d %v", len(ps), err)
	}
	return []string{n.GivenName, renamed, n.FamilyName, n.PreferredName, n.DateOfBirth, n.SexAtBirth, n.GenderIdentity,
		n.Email, n.Phone, n.Address.Line1, n.Address.City, c("externalid"), c("contact"), c("allergy"), c("medication"),
		strings.ToLower(c("tag")), c("intake")}
}
