package sqlstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/phi"
)

// Limits on patient fields.
const (
	maxNameLen       = 100
	maxLineLen       = 200
	maxListEntries   = 100
	maxTags          = 20
	maxTagLen        = 50
	maxExternalIDs   = 20
	maxIntakeBytes   = 64 << 10
	earliestBirthday = "1900-01-01"
)

var (
	zipRe        = regexp.MustCompile(`^[0-9]{5}(-[0-9]{4})?$`)
	externalIDRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,49}$`)
	severities   = []string{"", "mild", "moderate", "severe"}
)

// fieldErrors collects the problems of an input, keyed by JSON name.
type fieldErrors map[string]string

func (fe fieldErrors) err() error {
	if len(fe) == 0 {
		return nil
	}
	return &eonpro.Error{Code: eonpro.EINVALID, Message: "Some fields are invalid.", Fields: fe}
}

// text cleans v (eonpro.CleanText: NFC, trimmed) and reports a problem
// when it is too long or holds invisible or control characters; the
// cleaned value is returned either way.
func (fe fieldErrors) text(field, v string, limit int) string {
	v, ok := eonpro.CleanText(v)
	if !ok {
		fe[field] = eonpro.InvisibleTextMessage
	} else if utf8.RuneCountInString(v) > limit {
		fe[field] = fmt.Sprintf("must be at most %d characters", limit)
	}
	return v
}

// setText sets *dst to the checked *v when v is given.
func (fe fieldErrors) setText(field string, v *string, dst *string, limit int) {
	if v != nil {
		*dst = fe.text(field, *v, limit)
	}
}

// applyPatientUpdate validates upd and applies it to p. The names and the
// address state are required of every patient, whatever the update sets.
// Linking a user is checked in the transaction (checkPatientUser).
func applyPatientUpdate(p *eonpro.Patient, upd eonpro.PatientUpdate, now time.Time) error {
	fe := fieldErrors{}
	fe.setText("given_name", upd.GivenName, &p.GivenName, maxNameLen)
	fe.setText("family_name", upd.FamilyName, &p.FamilyName, maxNameLen)
	fe.setText("preferred_name", upd.PreferredName, &p.PreferredName, maxNameLen)
	fe.setText("gender_identity", upd.GenderIdentity, &p.GenderIdentity, maxNameLen)
	if upd.DateOfBirth != nil {
		p.DateOfBirth = fe.birthday(*upd.DateOfBirth, now)
	}
	if upd.SexAtBirth != nil {
		if p.SexAtBirth = strings.ToLower(strings.TrimSpace(*upd.SexAtBirth)); p.SexAtBirth != "" && !slices.Contains(eonpro.SexesAtBirth, p.SexAtBirth) {
			fe["sex_at_birth"] = "must be one of " + strings.Join(eonpro.SexesAtBirth, ", ")
		}
	}
	fe.applyContact(p, upd)
	fe.applyClinical(p, upd)
	if upd.Status != nil {
		if p.Status = *upd.Status; p.Status != eonpro.PatientActive && p.Status != eonpro.PatientArchived {
			fe["status"] = "must be active or archived"
		}
	}
	if upd.UserID != nil {
		p.UserID = strings.TrimSpace(*upd.UserID)
	}
	for field, v := range map[string]string{"given_name": p.GivenName, "family_name": p.FamilyName, "address.state": p.Address.State} {
		if v == "" && fe[field] == "" {
			fe[field] = "is required"
		}
	}
	return fe.err()
}

// birthday checks a date of birth: YYYY-MM-DD, a real date, not in the
// future and not before 1900.
func (fe fieldErrors) birthday(v string, now time.Time) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	t, err := time.Parse(time.DateOnly, v)
	switch {
	case err != nil:
		fe["date_of_birth"] = "must be a real date like 1980-04-23"
	case t.After(now):
		fe["date_of_birth"] = "must not be in the future"
	case v < earliestBirthday:
		fe["date_of_birth"] = "must not be before " + earliestBirthday
	}
	return v
}

func (fe fieldErrors) applyContact(p *eonpro.Patient, upd eonpro.PatientUpdate) {
	if upd.Email != nil {
		if p.Email = strings.TrimSpace(*upd.Email); p.Email != "" && !validEmail(p.Email) {
			fe["email"] = "must be a valid e-mail address"
		}
	}
	if upd.Phone != nil {
		if p.Phone = strings.TrimSpace(*upd.Phone); p.Phone != "" && !e164.MatchString(p.Phone) {
			fe["phone"] = "must be in E.164 form, like +15125550100"
		}
	}
	if a := upd.Address; a != nil {
		p.Address = eonpro.Address{
			Line1:      fe.text("address.line1", a.Line1, maxLineLen),
			Line2:      fe.text("address.line2", a.Line2, maxLineLen),
			City:       fe.text("address.city", a.City, maxLineLen),
			State:      strings.ToUpper(strings.TrimSpace(a.State)),
			PostalCode: strings.TrimSpace(a.PostalCode),
		}
		if p.Address.State != "" && !eonpro.ValidUSState(p.Address.State) {
			fe["address.state"] = "must be a two-letter US state or territory code, like TX"
		}
		if p.Address.PostalCode != "" && !zipRe.MatchString(p.Address.PostalCode) {
			fe["address.postal_code"] = "must be a US ZIP code like 78701 or 78701-1234"
		}
	}
	if c := upd.EmergencyContact; c != nil {
		p.EmergencyContact = eonpro.EmergencyContact{
			Name:         fe.text("emergency_contact.name", c.Name, maxLineLen),
			Relationship: fe.text("emergency_contact.relationship", c.Relationship, maxNameLen),
			Phone:        strings.TrimSpace(c.Phone),
		}
		if p.EmergencyContact.Phone != "" && !e164.MatchString(p.EmergencyContact.Phone) {
			fe["emergency_contact.phone"] = "must be in E.164 form, like +15125550100"
		}
	}
	if upd.ExternalIDs != nil {
		p.ExternalIDs = fe.externalIDs(*upd.ExternalIDs)
	}
}

func (fe fieldErrors) externalIDs(in map[string]string) map[string]string {
	if len(in) > maxExternalIDs {
		fe["external_ids"] = fmt.Sprintf("must have at most %d entries", maxExternalIDs)
	}
	out := map[string]string{}
	for system, id := range in {
		if !externalIDRe.MatchString(system) {
			fe["external_ids"] = "names must be lower-case letters, digits, dots, hyphens or underscores"
		}
		if out[system] = fe.text("external_ids."+system, id, maxLineLen); out[system] == "" {
			fe["external_ids."+system] = "is required"
		}
	}
	return out
}

func (fe fieldErrors) applyClinical(p *eonpro.Patient, upd eonpro.PatientUpdate) {
	if upd.Allergies != nil {
		p.Allergies = fe.allergies(*upd.Allergies)
	}
	if upd.Medications != nil {
		p.Medications = fe.medications(*upd.Medications)
	}
	if upd.Tags != nil {
		p.Tags = fe.tags(*upd.Tags)
	}
	if upd.Intake != nil {
		p.Intake = fe.intake(*upd.Intake)
	}
}

func (fe fieldErrors) allergies(in []eonpro.Allergy) []eonpro.Allergy {
	if len(in) > maxListEntries {
		fe["allergies"] = fmt.Sprintf("must have at most %d entries", maxListEntries)
	}
	out := []eonpro.Allergy{}
	for i, a := range in {
		at := fmt.Sprintf("allergies[%d].", i)
		a = eonpro.Allergy{Substance: fe.text(at+"substance", a.Substance, maxLineLen),
			Reaction: fe.text(at+"reaction", a.Reaction, maxLineLen), Severity: strings.ToLower(strings.TrimSpace(a.Severity))}
		if a.Substance == "" {
			fe[at+"substance"] = "is required"
		}
		if !slices.Contains(severities, a.Severity) {
			fe[at+"severity"] = "must be mild, moderate or severe"
		}
		out = append(out, a)
	}
	return out
}

func (fe fieldErrors) medications(in []eonpro.Medication) []eonpro.Medication {
	if len(in) > maxListEntries {
		fe["medications"] = fmt.Sprintf("must have at most %d entries", maxListEntries)
	}
	out := []eonpro.Medication{}
	for i, m := range in {
		at := fmt.Sprintf("medications[%d].", i)
		m = eonpro.Medication{Name: fe.text(at+"name", m.Name, maxLineLen),
			Dose: fe.text(at+"dose", m.Dose, maxNameLen), Frequency: fe.text(at+"frequency", m.Frequency, maxNameLen)}
		if m.Name == "" {
			fe[at+"name"] = "is required"
		}
		out = append(out, m)
	}
	return out
}

// tags are case-folded and kept once each.
func (fe fieldErrors) tags(in []string) []string {
	if len(in) > maxTags {
		fe["tags"] = fmt.Sprintf("must have at most %d tags", maxTags)
	}
	out := []string{}
	for _, t := range in {
		t, _ = eonpro.CleanText(t) // what it refuses is no letter or digit either
		t, _ = phi.Normalize(phi.KindTag, t)
		ok := t != "" && utf8.RuneCountInString(t) <= maxTagLen && !strings.ContainsFunc(t, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(" -_", r)
		})
		if !ok {
			fe["tags"] = fmt.Sprintf("must be 1 to %d letters, digits, spaces, hyphens or underscores each", maxTagLen)
		} else if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// intake must be a JSON object; it is kept compact.
func (fe fieldErrors) intake(in json.RawMessage) json.RawMessage {
	in = bytes.TrimSpace(in)
	if len(in) == 0 || string(in) == "null" {
		return json.RawMessage(`{}`)
	}
	var out bytes.Buffer
	if in[0] != '{' || json.Compact(&out, in) != nil {
		fe["intake"] = "must be a JSON object"
	} else if out.Len() > maxIntakeBytes {
		fe["intake"] = fmt.Sprintf("must be at most %d bytes", maxIntakeBytes)
	}
	return out.Bytes()
}
