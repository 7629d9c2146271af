package eonpro

import (
	"context"
	"encoding/json"
	"slices"
	"time"
)

// Patient statuses. Nothing is deleted: a patient who leaves is archived.
const (
	PatientActive   = "active"
	PatientArchived = "archived"
)

// SexesAtBirth are the values of Patient.SexAtBirth ("" when not given).
var SexesAtBirth = []string{"female", "male", "intersex", "unknown"}

// Patient is a person a clinic cares for. Everything but the id, MRN,
// status, linked user and times is PHI and is stored encrypted.
type Patient struct {
	ID  string `json:"id"`
	MRN string `json:"mrn"`

	GivenName      string  `json:"given_name"`
	FamilyName     string  `json:"family_name"`
	PreferredName  string  `json:"preferred_name"`
	DateOfBirth    string  `json:"date_of_birth"` // YYYY-MM-DD, "" when not given
	SexAtBirth     string  `json:"sex_at_birth"`
	GenderIdentity string  `json:"gender_identity"`
	Email          string  `json:"email"`
	Phone          string  `json:"phone"` // E.164
	Address        Address `json:"address"`
	// ExternalIDs are the patient's ids in other systems, by system name.
	ExternalIDs      map[string]string `json:"external_ids"`
	EmergencyContact EmergencyContact  `json:"emergency_contact"`
	Allergies        []Allergy         `json:"allergies"`
	Medications      []Medication      `json:"medications"`
	Tags             []string          `json:"tags"`
	// Intake holds the answers of the intake forms, a JSON object.
	Intake json.RawMessage `json:"intake"`

	Status string `json:"status"`
	// UserID is the portal user (role patient) who is this patient.
	UserID    string    `json:"user_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Address is a US postal address; State is a two-letter code (USStates),
// which decides where the patient may be treated from.
type Address struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2"`
	City       string `json:"city"`
	State      string `json:"state"`
	PostalCode string `json:"postal_code"`
}

// EmergencyContact is whom to call about the patient.
type EmergencyContact struct {
	Name         string `json:"name"`
	Relationship string `json:"relationship"`
	Phone        string `json:"phone"`
}

// Allergy is a substance the patient reacts to. Severity is "", mild,
// moderate or severe.
type Allergy struct {
	Substance string `json:"substance"`
	Reaction  string `json:"reaction"`
	Severity  string `json:"severity"`
}

// Medication is a medicine the patient currently takes.
type Medication struct {
	Name      string `json:"name"`
	Dose      string `json:"dose"`
	Frequency string `json:"frequency"`
}

// NewPatient is the input of CreatePatient. The MRN, status and times
// are the store's to set.
type NewPatient struct {
	GivenName        string            `json:"given_name"`
	FamilyName       string            `json:"family_name"`
	PreferredName    string            `json:"preferred_name"`
	DateOfBirth      string            `json:"date_of_birth"`
	SexAtBirth       string            `json:"sex_at_birth"`
	GenderIdentity   string            `json:"gender_identity"`
	Email            string            `json:"email"`
	Phone            string            `json:"phone"`
	Address          Address           `json:"address"`
	ExternalIDs      map[string]string `json:"external_ids"`
	EmergencyContact EmergencyContact  `json:"emergency_contact"`
	Allergies        []Allergy         `json:"allergies"`
	Medications      []Medication      `json:"medications"`
	Tags             []string          `json:"tags"`
	Intake           json.RawMessage   `json:"intake"`
	UserID           string            `json:"user_id"`
}

// PatientUpdate holds the fields to change; nil means keep. Lists, maps
// and objects are replaced whole.
type PatientUpdate struct {
	GivenName        *string            `json:"given_name"`
	FamilyName       *string            `json:"family_name"`
	PreferredName    *string            `json:"preferred_name"`
	DateOfBirth      *string            `json:"date_of_birth"`
	SexAtBirth       *string            `json:"sex_at_birth"`
	GenderIdentity   *string            `json:"gender_identity"`
	Email            *string            `json:"email"`
	Phone            *string            `json:"phone"`
	Address          *Address           `json:"address"`
	ExternalIDs      *map[string]string `json:"external_ids"`
	EmergencyContact *EmergencyContact  `json:"emergency_contact"`
	Allergies        *[]Allergy         `json:"allergies"`
	Medications      *[]Medication      `json:"medications"`
	Tags             *[]string          `json:"tags"`
	Intake           *json.RawMessage   `json:"intake"`
	Status           *string            `json:"status"`
	UserID           *string            `json:"user_id"`
}

// Update returns the update that sets every field of n on an empty
// patient, so that creation and change are validated alike.
func (n NewPatient) Update() PatientUpdate {
	return PatientUpdate{GivenName: &n.GivenName, FamilyName: &n.FamilyName, PreferredName: &n.PreferredName,
		DateOfBirth: &n.DateOfBirth, SexAtBirth: &n.SexAtBirth, GenderIdentity: &n.GenderIdentity, Email: &n.Email,
		Phone: &n.Phone, Address: &n.Address, ExternalIDs: &n.ExternalIDs, EmergencyContact: &n.EmergencyContact,
		Allergies: &n.Allergies, Medications: &n.Medications, Tags: &n.Tags, Intake: &n.Intake, UserID: &n.UserID}
}

// Fields lists the JSON names of the fields the update sets, for audit
// events (names only: the values are PHI).
func (u PatientUpdate) Fields() []string {
	var out []string
	for name, set := range map[string]bool{
		"given_name": u.GivenName != nil, "family_name": u.FamilyName != nil, "preferred_name": u.PreferredName != nil,
		"date_of_birth": u.DateOfBirth != nil, "sex_at_birth": u.SexAtBirth != nil, "gender_identity": u.GenderIdentity != nil,
		"email": u.Email != nil, "phone": u.Phone != nil, "address": u.Address != nil, "external_ids": u.ExternalIDs != nil,
		"emergency_contact": u.EmergencyContact != nil, "allergies": u.Allergies != nil, "medications": u.Medications != nil,
		"tags": u.Tags != nil, "intake": u.Intake != nil, "status": u.Status != nil, "user_id": u.UserID != nil,
	} {
		if set {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// PatientFilter selects patients of the clinic of the request; nil fields
// do not filter, and all that are set must match. Email, Phone, DOB and
// FamilyName match exactly (after normalising case, accents and format);
// Q matches the start of words of the given, family and preferred names
// ("smi" finds Smith; "ada lov" finds Ada Lovelace). Status is active
// (the default) or archived. Limit is 1 to 200 (0 means 50); Cursor is the
// next_cursor of the previous page.
type PatientFilter struct {
	Q          *string
	Email      *string
	Phone      *string
	DOB        *string
	FamilyName *string
	Tag        *string
	Status     *string
	Limit      int
	Cursor     string
}

// PatientProfile is what a patient sees of their own record in the
// portal: no tags, intake, external ids or status, which are the clinic's.
type PatientProfile struct {
	ID               string           `json:"id"`
	MRN              string           `json:"mrn"`
	GivenName        string           `json:"given_name"`
	FamilyName       string           `json:"family_name"`
	PreferredName    string           `json:"preferred_name"`
	DateOfBirth      string           `json:"date_of_birth"`
	SexAtBirth       string           `json:"sex_at_birth"`
	GenderIdentity   string           `json:"gender_identity"`
	Email            string           `json:"email"`
	Phone            string           `json:"phone"`
	Address          Address          `json:"address"`
	EmergencyContact EmergencyContact `json:"emergency_contact"`
	Allergies        []Allergy        `json:"allergies"`
	Medications      []Medication     `json:"medications"`
	UpdatedAt        time.Time        `json:"updated_at"`
}

// Profile returns the patient's own view of p.
func (p *Patient) Profile() *PatientProfile {
	return &PatientProfile{ID: p.ID, MRN: p.MRN, GivenName: p.GivenName, FamilyName: p.FamilyName,
		PreferredName: p.PreferredName, DateOfBirth: p.DateOfBirth, SexAtBirth: p.SexAtBirth,
		GenderIdentity: p.GenderIdentity, Email: p.Email, Phone: p.Phone, Address: p.Address,
		EmergencyContact: p.EmergencyContact, Allergies: p.Allergies, Medications: p.Medications, UpdatedAt: p.UpdatedAt}
}

// PatientProfileUpdate holds what a patient may change of their own
// record; nil means keep. Names, date of birth and clinical lists are
// changed by the clinic.
type PatientProfileUpdate struct {
	PreferredName    *string           `json:"preferred_name"`
	GenderIdentity   *string           `json:"gender_identity"`
	Email            *string           `json:"email"`
	Phone            *string           `json:"phone"`
	Address          *Address          `json:"address"`
	EmergencyContact *EmergencyContact `json:"emergency_contact"`
}

// Update returns the same change as a PatientUpdate.
func (u PatientProfileUpdate) Update() PatientUpdate {
	return PatientUpdate{PreferredName: u.PreferredName, GenderIdentity: u.GenderIdentity, Email: u.Email,
		Phone: u.Phone, Address: u.Address, EmergencyContact: u.EmergencyContact}
}

// PatientService manages the patients of the clinic of the request. A
// patient of another clinic is answered exactly as a missing one.
type PatientService interface {
	// CreatePatient adds a patient with the clinic's next MRN. Needs
	// patients:write. Returns EFORBIDDEN; EINVALID naming the fields;
	// ECONFLICT when the user is already linked to another patient.
	CreatePatient(ctx context.Context, n NewPatient) (*Patient, error)
	// FindPatientByID returns a patient, active or archived, recording
	// phi.view. Needs patients:read. Returns EFORBIDDEN, ENOTFOUND.
	FindPatientByID(ctx context.Context, id string) (*Patient, error)
	// FindPatients lists the patients matching f, newest first, and the
	// cursor of the next page ("" at the end), recording phi.search with
	// the ids returned. Needs patients:read. Returns EFORBIDDEN; EINVALID
	// naming the filter field (q, email, phone, dob, family_name, tag,
	// status, limit, cursor).
	FindPatients(ctx context.Context, f PatientFilter) ([]*Patient, string, error)
	// UpdatePatient changes a patient. Needs patients:write. Returns
	// EFORBIDDEN; EINVALID naming the fields; ENOTFOUND; ECONFLICT when
	// the user is already linked to another patient.
	UpdatePatient(ctx context.Context, id string, upd PatientUpdate) (*Patient, error)
	// ArchivePatient archives a patient (archiving twice is no error).
	// Needs patients:write. Returns EFORBIDDEN, ENOTFOUND.
	ArchivePatient(ctx context.Context, id string) error
	// PatientStats counts the clinic's patients, and those added on each
	// of the last StatsDays days (UTC). Counts are not PHI: nothing is
	// recorded. Needs patients:read. Returns EFORBIDDEN.
	PatientStats(ctx context.Context) (*PatientStats, error)
	// FindRecentlyViewedPatients lists the patients the principal last
	// viewed (phi.view in the audit trail), most recent first, at most
	// limit (1 to 50), recording phi.search with the ids returned. Needs
	// patients:read. Returns EFORBIDDEN, EINVALID naming limit.
	FindRecentlyViewedPatients(ctx context.Context, limit int) ([]*PatientView, error)
	// FindMyPatient returns the principal's own record in the clinic.
	// Needs own_record. Returns EFORBIDDEN, ENOTFOUND without a record.
	FindMyPatient(ctx context.Context) (*PatientProfile, error)
	// UpdateMyPatient changes the principal's own record. Needs
	// own_record. Returns EFORBIDDEN, EINVALID naming the fields,
	// ENOTFOUND without a record.
	UpdateMyPatient(ctx context.Context, upd PatientProfileUpdate) (*PatientProfile, error)
}

// StatsDays is how many days PatientStats counts new patients for.
const StatsDays = 30

// PatientStats are the counts of a clinic's patients.
type PatientStats struct {
	Total  int `json:"total"`
	Active int `json:"active"`
	// AddedWeek and AddedMonth count patients added in the last 7 and 30
	// days, today included.
	AddedWeek  int `json:"added_week"`
	AddedMonth int `json:"added_month"`
	// PerDay has one entry for each of the last StatsDays days, oldest
	// first, today last.
	PerDay []DayCount `json:"per_day"`
}

// DayCount is how many patients were added on a day (YYYY-MM-DD, UTC).
type DayCount struct {
	Day   string `json:"day"`
	Count int    `json:"count"`
}

// PatientView is a patient the principal viewed, and when they last did.
type PatientView struct {
	Patient  *Patient  `json:"patient"`
	ViewedAt time.Time `json:"viewed_at"`
}
