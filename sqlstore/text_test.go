package sqlstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

// TestTextFields checks that every service refuses names and short text
// holding invisible, direction-override or control characters, naming
// the field and never echoing the value, and keeps text in NFC.
func TestTextFields(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newDocEnv(t, db)
		patients := sqlstore.NewPatientService(db, e.ring)
		c := newAuditEnv(t, db).clinic("textsafe")
		pr := providerIn(t, db, c, "1234567893")
		providers := sqlstore.NewProviderService(db)
		newPatient := func(fn func(*eonpro.NewPatient)) func() error {
			return func() error {
				n := eonpro.NewPatient{GivenName: "Ada", FamilyName: "Lovelace", Address: eonpro.Address{State: "TX"}}
				fn(&n)
				_, err := patients.CreatePatient(e.adminA, n)
				return err
			}
		}
		str := func(s string) *string { return &s }
		tests := []struct {
			name, field, message string
			call                 func() error
		}{
			{"PatientZeroWidthGivenName", "given_name", eonpro.InvisibleTextMessage,
				newPatient(func(n *eonpro.NewPatient) { n.GivenName = "\u200b" })},
			{"PatientBlankGivenName", "given_name", "is required",
				newPatient(func(n *eonpro.NewPatient) { n.GivenName = " \t " })},
			{"PatientRightToLeftOverride", "family_name", eonpro.InvisibleTextMessage,
				newPatient(func(n *eonpro.NewPatient) { n.FamilyName = "Love\u202ecalel" })},
			{"PatientBOM", "preferred_name", eonpro.InvisibleTextMessage,
				newPatient(func(n *eonpro.NewPatient) { n.PreferredName = "\ufeffAddie" })},
			{"PatientControl", "gender_identity", eonpro.InvisibleTextMessage,
				newPatient(func(n *eonpro.NewPatient) { n.GenderIdentity = "wo\x1bman" })},
			{"PatientSoftHyphen", "address.line1", eonpro.InvisibleTextMessage,
				newPatient(func(n *eonpro.NewPatient) { n.Address.Line1 = "1 Analyt\u00adical Way" })},
			{"PatientTagCharacter", "address.city", eonpro.InvisibleTextMessage,
				newPatient(func(n *eonpro.NewPatient) { n.Address.City = "Austin\U000e0041" })},
			{"PatientPrivateUse", "emergency_contact.name", eonpro.InvisibleTextMessage,
				newPatient(func(n *eonpro.NewPatient) { n.EmergencyContact.Name = "Charles\ue000" })},
			{"PatientAllergy", "allergies[0].substance", eonpro.InvisibleTextMessage,
				newPatient(func(n *eonpro.NewPatient) { n.Allergies = []eonpro.Allergy{{Substance: "Peni\u200dcillin"}} })},
			{"PatientMedication", "medications[0].name", eonpro.InvisibleTextMessage,
				newPatient(func(n *eonpro.NewPatient) { n.Medications = []eonpro.Medication{{Name: "\u2066Metformin\u2069"}} })},
			{"PatientExternalID", "external_ids.lifefile", eonpro.InvisibleTextMessage,
				newPatient(func(n *eonpro.NewPatient) { n.ExternalIDs = map[string]string{"lifefile": "LF\u200f1"} })},
			{"PatientTag", "tags", "", newPatient(func(n *eonpro.NewPatient) { n.Tags = []string{"vip\u200b"} })},
			{"PatientUpdate", "given_name", eonpro.InvisibleTextMessage, func() error {
				_, err := patients.UpdatePatient(e.adminA, e.patientA, eonpro.PatientUpdate{GivenName: str("\u200b")})
				return err
			}},
			{"ProviderSpecialty", "specialties", eonpro.InvisibleTextMessage, func() error {
				_, err := providers.UpdateProvider(admin(c), pr.ID, eonpro.ProviderUpdate{Specialties: &[]string{"Cardio\u200blogy"}})
				return err
			}},
			{"ProviderBio", "bio", "", func() error {
				_, err := providers.UpdateProvider(admin(c), pr.ID, eonpro.ProviderUpdate{Bio: str("Sees adults.\n\u202eTrusted")})
				return err
			}},
			{"ClinicName", "name", eonpro.InvisibleTextMessage, func() error {
				_, err := sqlstore.NewClinicService(db).CreateClinic(context.Background(), "rlo", "\u202eClinic")
				return err
			}},
			{"ClinicRename", "name", eonpro.InvisibleTextMessage, func() error {
				_, err := sqlstore.NewClinicService(db).UpdateClinic(admin(c), c.ID, eonpro.ClinicUpdate{Name: str("Clinic\u200b")})
				return err
			}},
			{"UserName", "name", eonpro.InvisibleTextMessage, func() error {
				_, err := sqlstore.NewUserService(db, nil, nil).CreateUser(context.Background(),
					eonpro.NewUser{Email: "zw@example.test", Name: "Ada\u200b"})
				return err
			}},
			{"ConsentSignedName", "signed_name", eonpro.InvisibleTextMessage, func() error {
				_, err := e.consents.CreateConsent(e.adminA, e.patientA,
					eonpro.NewConsent{Kind: eonpro.ConsentTelehealth, Version: "v1", SignedName: "\u200b"})
				return err
			}},
			{"DocumentFilename", "file", "", func() error {
				_, err := e.docs.CreateDocument(e.adminA, e.patientA, eonpro.NewDocument{Kind: eonpro.DocumentLabResult,
					Filename: "labs\u202efdp.exe", ContentType: "application/pdf", Content: pdf("x")})
				return err
			}},
		}
		for _, tc := range tests {
			t.Run("Err"+tc.name, func(t *testing.T) {
				err := tc.call()
				got := eonpro.ErrorFields(err)[tc.field]
				if eonpro.ErrorCode(err) != eonpro.EINVALID || got == "" || (tc.message != "" && got != tc.message) {
					t.Fatalf("err = %v %v, want invalid naming %s", err, eonpro.ErrorFields(err), tc.field)
				}
				for _, leak := range []string{"Ada", "Love", "Clinic", "Peni", "Metformin", "Austin", "labs"} {
					if strings.Contains(got, leak) || strings.Contains(eonpro.ErrorMessage(err), leak) {
						t.Errorf("the error echoes the value: %q", got)
					}
				}
			})
		}
		t.Run("NFC", func(t *testing.T) {
			p, err := patients.CreatePatient(e.adminA, eonpro.NewPatient{GivenName: "Rene\u0301e", FamilyName: " Zoe\u0308 ",
				Address: eonpro.Address{State: "TX", City: "San Jose\u0301"}, Tags: []string{"Cafe\u0301"}})
			if err != nil {
				t.Fatal(err)
			}
			got, err := patients.FindPatientByID(e.adminA, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.GivenName != "Ren\u00e9e" || got.FamilyName != "Zo\u00eb" || got.Address.City != "San Jos\u00e9" ||
				len(got.Tags) != 1 || got.Tags[0] != "caf\u00e9" {
				t.Errorf("stored %+q %+q %+q %+q, want NFC", got.GivenName, got.FamilyName, got.Address.City, got.Tags)
			}
			bio := "Sees adults.\r\nSpeaks Espan\u0303ol."
			upd, err := providers.UpdateProvider(admin(c), pr.ID, eonpro.ProviderUpdate{Bio: &bio})
			if err != nil {
				t.Fatal(err)
			}
			if upd.Bio != "Sees adults.\nSpeaks Espa\u00f1ol." {
				t.Errorf("bio = %+q, want LF line breaks and NFC", upd.Bio)
			}
		})
	})
}
