package sqlstore

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"unicode"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/phi"
)

// patientField is a PHI column of patients and how its plaintext is read
// from and written to a Patient. JSON-valued fields are stored as their
// JSON text; an empty value is stored as "" (absent).
type patientField struct {
	column string
	get    func(*eonpro.Patient) (string, error)
	set    func(*eonpro.Patient, string) error
}

// patientFields are the PHI columns in the order of patientColumns and of
// the statements that write them. The names come first: a search that
// checks names after decryption opens only those of a candidate.
var patientFields = []patientField{
	textField("given_name", func(p *eonpro.Patient) *string { return &p.GivenName }),
	textField("family_name", func(p *eonpro.Patient) *string { return &p.FamilyName }),
	textField("preferred_name", func(p *eonpro.Patient) *string { return &p.PreferredName }),
	textField("date_of_birth", func(p *eonpro.Patient) *string { return &p.DateOfBirth }),
	textField("sex_at_birth", func(p *eonpro.Patient) *string { return &p.SexAtBirth }),
	textField("gender_identity", func(p *eonpro.Patient) *string { return &p.GenderIdentity }),
	textField("email", func(p *eonpro.Patient) *string { return &p.Email }),
	textField("phone", func(p *eonpro.Patient) *string { return &p.Phone }),
	jsonField("address", func(p *eonpro.Patient) *eonpro.Address { return &p.Address }),
	jsonField("external_ids", func(p *eonpro.Patient) *map[string]string { return &p.ExternalIDs }),
	jsonField("emergency_contact", func(p *eonpro.Patient) *eonpro.EmergencyContact { return &p.EmergencyContact }),
	jsonField("allergies", func(p *eonpro.Patient) *[]eonpro.Allergy { return &p.Allergies }),
	jsonField("medications", func(p *eonpro.Patient) *[]eonpro.Medication { return &p.Medications }),
	jsonField("tags", func(p *eonpro.Patient) *[]string { return &p.Tags }),
	jsonField("intake", func(p *eonpro.Patient) *json.RawMessage { return &p.Intake }),
}

// nameFields is how many of patientFields are names.
const nameFields = 3

func init() {
	for _, f := range patientFields {
		phi.Register(phi.Column{Table: "patients", Column: f.column, IDColumn: "id", ClinicColumn: "clinic_id"})
	}
}

func textField(column string, at func(*eonpro.Patient) *string) patientField {
	return patientField{column: column,
		get: func(p *eonpro.Patient) (string, error) { return *at(p), nil },
		set: func(p *eonpro.Patient, v string) error { *at(p) = v; return nil },
	}
}

func jsonField[T any](column string, at func(*eonpro.Patient) *T) patientField {
	var zero T
	empty, _ := json.Marshal(zero)
	return patientField{column: column,
		get: func(p *eonpro.Patient) (string, error) {
			b, err := json.Marshal(*at(p))
			if err != nil || string(b) == string(empty) || string(b) == "[]" || string(b) == "{}" {
				return "", err
			}
			return string(b), nil
		},
		set: func(p *eonpro.Patient, v string) error {
			if v == "" {
				return nil
			}
			return json.Unmarshal([]byte(v), at(p))
		},
	}
}

// sealedPatient is a patient as stored: the ciphertext of each of
// patientFields, the blind indexes of its exact-search fields, and the
// index rows of its name prefixes and tags.
type sealedPatient struct {
	values                                        []string
	emailIndex, phoneIndex, dobIndex, familyIndex string
	prefixes, tags                                []string
}

// seal encrypts p's PHI for its row and computes its blind indexes.
func (s *PatientService) seal(ctx context.Context, clinicID string, p *eonpro.Patient) (*sealedPatient, error) {
	sp := &sealedPatient{}
	for _, f := range patientFields {
		plain, err := f.get(p)
		if err != nil {
			return nil, err
		}
		ct, err := s.ring.Encrypt(ctx, clinicID, phi.Field{Table: "patients", Column: f.column, RowID: p.ID}, plain)
		if err != nil {
			return nil, err
		}
		sp.values = append(sp.values, ct)
	}
	var err error
	for _, ix := range []struct {
		dst   *string
		kind  phi.Kind
		value string
	}{
		{&sp.emailIndex, phi.KindEmail, p.Email},
		{&sp.phoneIndex, phi.KindPhone, p.Phone},
		{&sp.dobIndex, phi.KindDateOfBirth, p.DateOfBirth},
		{&sp.familyIndex, phi.KindLastName, p.FamilyName},
	} {
		if *ix.dst, err = s.ring.BlindIndex(ctx, clinicID, ix.kind, ix.value); err != nil {
			return nil, err
		}
	}
	if sp.prefixes, err = s.indexes(ctx, clinicID, phi.KindNamePrefix, namePrefixes(p)); err != nil {
		return nil, err
	}
	sp.tags, err = s.indexes(ctx, clinicID, phi.KindTag, p.Tags)
	return sp, err
}

// indexes returns the distinct blind indexes of values.
func (s *PatientService) indexes(ctx context.Context, clinicID string, kind phi.Kind, values []string) ([]string, error) {
	var out []string
	for _, v := range values {
		ix, err := s.ring.BlindIndex(ctx, clinicID, kind, v)
		if err != nil {
			return nil, err
		}
		if ix != "" && !slices.Contains(out, ix) {
			out = append(out, ix)
		}
	}
	return out, nil
}

// open decrypts patientFields[from:to] of a stored patient.
func (s *PatientService) open(ctx context.Context, clinicID string, sp *storedPatient, from, to int) error {
	for i := from; i < to; i++ {
		f := patientFields[i]
		plain, err := s.ring.Decrypt(ctx, clinicID, phi.Field{Table: "patients", Column: f.column, RowID: sp.ID}, sp.values[i])
		if err != nil {
			return err
		}
		if err := f.set(&sp.Patient, plain); err != nil {
			return err
		}
	}
	return nil
}

// prefixLetters is how many leading letters of each word of a name are
// indexed for search as the user types. More would leak more (see
// docs/security.md); longer query words are matched on the decrypted
// names of the candidates the first letters find.
const prefixLetters = 4

// nameWords splits a name at spaces and hyphens and normalises each word
// as names are indexed: case folded, accents and punctuation removed.
func nameWords(name string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(name, func(r rune) bool { return unicode.IsSpace(r) || r == '-' }) {
		if w, _ = phi.Normalize(phi.KindNamePrefix, w); w != "" && !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// namePrefixes returns the first 1 to prefixLetters letters of each word
// of the patient's names.
func namePrefixes(p *eonpro.Patient) []string {
	var out []string
	for _, name := range []string{p.GivenName, p.FamilyName, p.PreferredName} {
		for _, w := range nameWords(name) {
			r := []rune(w)
			for n := 1; n <= min(len(r), prefixLetters); n++ {
				if pre := string(r[:n]); !slices.Contains(out, pre) {
					out = append(out, pre)
				}
			}
		}
	}
	return out
}

// truncateWord returns the part of a query word that is indexed.
func truncateWord(w string) (string, bool) {
	r := []rune(w)
	if len(r) <= prefixLetters {
		return w, false
	}
	return string(r[:prefixLetters]), true
}

// namesStartWith reports whether every word starts a word of p's names.
func namesStartWith(p *eonpro.Patient, words []string) bool {
	names := nameWords(p.GivenName + " " + p.FamilyName + " " + p.PreferredName)
	for _, w := range words {
		if !slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, w) }) {
			return false
		}
	}
	return true
}
