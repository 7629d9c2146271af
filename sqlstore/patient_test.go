package sqlstore_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

// patientEnv is the patient service on the two clinics of a phiEnv, with
// a staff member's context in each.
type patientEnv struct {
	*phiEnv
	t            *testing.T
	svc          *sqlstore.PatientService
	staffA       context.Context
	staffB       context.Context
	users        *sqlstore.UserService
	patientUsers int
}

func newPatientEnv(t *testing.T, db *sqlstore.DB) *patientEnv {
	pe := newPHIEnv(t, db)
	return &patientEnv{phiEnv: pe, t: t, svc: sqlstore.NewPatientService(db, pe.ring),
		staffA: actingAs(phiClinicA, eonpro.RoleStaff), staffB: actingAs(phiClinicB, eonpro.RoleStaff),
		users: sqlstore.NewUserService(db, nil, nil)}
}

// fullPatient sets every field.
func fullPatient() eonpro.NewPatient {
	return eonpro.NewPatient{
		GivenName: "Ada", FamilyName: "Lovelace", PreferredName: "Countess", DateOfBirth: "1980-04-23",
		SexAtBirth: "female", GenderIdentity: "woman", Email: "Ada@Example.test", Phone: "+15125550100",
		Address:          eonpro.Address{Line1: "1 Analytical Way", Line2: "Suite 2", City: "Austin", State: "tx", PostalCode: "78701"},
		ExternalIDs:      map[string]string{"lifefile": "LF-1"},
		EmergencyContact: eonpro.EmergencyContact{Name: "Charles Babbage", Relationship: "friend", Phone: "+15125550101"},
		Allergies:        []eonpro.Allergy{{Substance: "Penicillin", Reaction: "hives", Severity: "moderate"}},
		Medications:      []eonpro.Medication{{Name: "Metformin", Dose: "500 mg", Frequency: "twice daily"}},
		Tags:             []string{"VIP", "weight-loss"},
		Intake:           json.RawMessage(`{ "goal": "lose 10 lb" }`),
	}
}

// create makes a patient in the clinic of ctx.
func (e *patientEnv) create(ctx context.Context, n eonpro.NewPatient) *eonpro.Patient {
	e.t.Helper()
	p, err := e.svc.CreatePatient(ctx, n)
	if err != nil {
		e.t.Fatalf("CreatePatient: %v", err)
	}
	return p
}

// patientUser makes a user who is a member of clinic with role.
func (e *patientEnv) patientUser(clinicID string, role eonpro.Role) *eonpro.User {
	e.t.Helper()
	e.patientUsers++
	u, err := e.users.CreateUser(context.Background(), eonpro.NewUser{Email: "patient" + strings.Repeat("x", e.patientUsers) + "@example.test"})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.users.AddMembership(context.Background(), u.ID, clinicID, role); err != nil {
		e.t.Fatal(err)
	}
	return u
}

func TestPatientCRUD(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newPatientEnv(t, db)
		var created *eonpro.Patient
		t.Run("Create", func(t *testing.T) {
			created = e.create(e.staffA, fullPatient())
			want := &eonpro.Patient{ID: created.ID, MRN: "MRN-000001", GivenName: "Ada", FamilyName: "Lovelace",
				PreferredName: "Countess", DateOfBirth: "1980-04-23", SexAtBirth: "female", GenderIdentity: "woman",
				Email: "Ada@Example.test", Phone: "+15125550100",
				Address:          eonpro.Address{Line1: "1 Analytical Way", Line2: "Suite 2", City: "Austin", State: "TX", PostalCode: "78701"},
				ExternalIDs:      map[string]string{"lifefile": "LF-1"},
				EmergencyContact: eonpro.EmergencyContact{Name: "Charles Babbage", Relationship: "friend", Phone: "+15125550101"},
				Allergies:        []eonpro.Allergy{{Substance: "Penicillin", Reaction: "hives", Severity: "moderate"}},
				Medications:      []eonpro.Medication{{Name: "Metformin", Dose: "500 mg", Frequency: "twice daily"}},
				Tags:             []string{"vip", "weight-loss"}, Intake: json.RawMessage(`{"goal":"lose 10 lb"}`),
				Status: eonpro.PatientActive, CreatedAt: created.CreatedAt, UpdatedAt: created.CreatedAt}
			if d := cmp.Diff(want, created); d != "" {
				t.Errorf("created mismatch (-want +got):\n%s", d)
			}
			got, err := e.svc.FindPatientByID(e.staffA, created.ID)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(created, got); d != "" {
				t.Errorf("found mismatch (-want +got):\n%s", d)
			}
		})
		t.Run("MRNPerClinic", func(t *testing.T) {
			min := eonpro.NewPatient{GivenName: "B", FamilyName: "C", Address: eonpro.Address{State: "CA"}}
			if p := e.create(e.staffA, min); p.MRN != "MRN-000002" {
				t.Errorf("second MRN in clinic A = %s", p.MRN)
			}
			if p := e.create(e.staffB, min); p.MRN != "MRN-000001" {
				t.Errorf("first MRN in clinic B = %s", p.MRN)
			}
		})
		t.Run("EmptyListsAsJSON", func(t *testing.T) {
			p := e.create(e.staffA, eonpro.NewPatient{GivenName: "D", FamilyName: "E", Address: eonpro.Address{State: "NY"}})
			b, _ := json.Marshal(p)
			for _, want := range []string{`"allergies":[]`, `"medications":[]`, `"tags":[]`, `"external_ids":{}`, `"intake":{}`} {
				if !strings.Contains(string(b), want) {
					t.Errorf("%s lacks %s", b, want)
				}
			}
		})
		t.Run("Update", func(t *testing.T) {
			given, empty, dob := "Augusta", "", "1981-12-10"
			tags := []string{"Follow-Up"}
			got, err := e.svc.UpdatePatient(e.staffA, created.ID, eonpro.PatientUpdate{GivenName: &given,
				PreferredName: &empty, DateOfBirth: &dob, Tags: &tags})
			if err != nil {
				t.Fatal(err)
			}
			want := *created
			want.GivenName, want.PreferredName, want.DateOfBirth, want.Tags = given, "", dob, []string{"follow-up"}
			want.UpdatedAt = got.UpdatedAt
			if d := cmp.Diff(&want, got); d != "" {
				t.Errorf("updated mismatch (-want +got):\n%s", d)
			}
			again, _ := e.svc.FindPatientByID(e.staffA, created.ID)
			if d := cmp.Diff(got, again); d != "" {
				t.Errorf("read back mismatch (-want +got):\n%s", d)
			}
		})
		t.Run("ErrUpdateInvalid", func(t *testing.T) {
			blank, bad := " ", "1980-02-30"
			_, err := e.svc.UpdatePatient(e.staffA, created.ID, eonpro.PatientUpdate{FamilyName: &blank, DateOfBirth: &bad})
			fields := eonpro.ErrorFields(err)
			if eonpro.ErrorCode(err) != eonpro.EINVALID || fields["family_name"] == "" || fields["date_of_birth"] == "" {
				t.Errorf("err = %v %v", err, fields)
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			billing := actingAs(phiClinicA, eonpro.RoleBilling)
			if _, err := e.svc.CreatePatient(billing, fullPatient()); eonpro.ErrorCode(err) != eonpro.EFORBIDDEN {
				t.Errorf("billing creates: %v", err)
			}
			if _, err := e.svc.FindPatientByID(billing, created.ID); err != nil {
				t.Errorf("billing reads: %v", err)
			}
			patient := actingAs(phiClinicA, eonpro.RolePatient)
			if _, err := e.svc.FindPatientByID(patient, created.ID); eonpro.ErrorCode(err) != eonpro.EFORBIDDEN {
				t.Errorf("patient reads another: %v", err)
			}
			if _, _, err := e.svc.FindPatients(patient, eonpro.PatientFilter{}); eonpro.ErrorCode(err) != eonpro.EFORBIDDEN {
				t.Errorf("patient lists: %v", err)
			}
		})
		t.Run("ErrOtherClinic", func(t *testing.T) {
			name := "Mallory"
			_, missing := e.svc.FindPatientByID(e.staffB, eonpro.NewID())
			for what, err := range map[string]error{
				"find":    second(e.svc.FindPatientByID(e.staffB, created.ID)),
				"update":  second(e.svc.UpdatePatient(e.staffB, created.ID, eonpro.PatientUpdate{GivenName: &name})),
				"archive": e.svc.ArchivePatient(e.staffB, created.ID),
			} {
				if eonpro.ErrorCode(err) != eonpro.ENOTFOUND || eonpro.ErrorMessage(err) != eonpro.ErrorMessage(missing) {
					t.Errorf("%s another clinic's patient: %v, want as missing: %v", what, err, missing)
				}
			}
			if got, _ := e.svc.FindPatientByID(e.staffA, created.ID); got.GivenName == name || got.Status != eonpro.PatientActive {
				t.Errorf("clinic B changed clinic A's patient: %+v", got)
			}
		})
		t.Run("Archive", func(t *testing.T) {
			for range 2 { // archiving twice is no error
				if err := e.svc.ArchivePatient(e.staffA, created.ID); err != nil {
					t.Fatal(err)
				}
			}
			got, err := e.svc.FindPatientByID(e.staffA, created.ID)
			if err != nil || got.Status != eonpro.PatientArchived || got.GivenName != "Augusta" {
				t.Errorf("archived patient: %+v %v", got, err)
			}
			active := eonpro.PatientActive
			if got, err := e.svc.UpdatePatient(e.staffA, created.ID, eonpro.PatientUpdate{Status: &active}); err != nil || got.Status != active {
				t.Errorf("restore: %+v %v", got, err)
			}
		})
	})
}

func second[T any](_ T, err error) error { return err }

// trail returns the clinic's phi.* events, oldest first.
func (e *patientEnv) trail(clinicID string) []*eonpro.AuditEvent {
	e.t.Helper()
	a := newAuditEnv(e.t, e.db)
	action := eonpro.AuditAction("")
	var out []*eonpro.AuditEvent
	for _, act := range []eonpro.AuditAction{eonpro.ActionPHICreate, eonpro.ActionPHIView, eonpro.ActionPHISearch,
		eonpro.ActionPHIUpdate, eonpro.ActionPHIDelete} {
		action = act
		evs, _, err := a.svc.FindAuditEvents(actingAs(clinicID, eonpro.RoleAdmin), eonpro.AuditFilter{Action: &action, Limit: 200})
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, evs...)
	}
	return out
}

func TestPatientAudit(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newPatientEnv(t, db)
		p := e.create(e.staffA, fullPatient())
		if _, err := e.svc.FindPatientByID(e.staffA, p.ID); err != nil {
			t.Fatal(err)
		}
		q := "lov"
		if _, _, err := e.svc.FindPatients(e.staffA, eonpro.PatientFilter{Q: &q}); err != nil {
			t.Fatal(err)
		}
		email := "x@example.test"
		if _, err := e.svc.UpdatePatient(e.staffA, p.ID, eonpro.PatientUpdate{Email: &email}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.ArchivePatient(e.staffA, p.ID); err != nil {
			t.Fatal(err)
		}
		type event struct{ Action, PatientID, ResourceID, Fields, Count, IDs string }
		var got []event
		for _, ev := range e.trail(phiClinicA) {
			got = append(got, event{string(ev.Action), ev.PatientID, ev.ResourceID, ev.Detail["fields"], ev.Detail["count"], ev.Detail["ids"]})
			b, _ := json.Marshal(ev.Detail)
			for _, secret := range []string{"Ada", "Lovelace", "lov", "example", "1980", "5125550100"} {
				if strings.Contains(strings.ToLower(string(b)), strings.ToLower(secret)) {
					t.Errorf("%s event detail holds PHI %q: %s", ev.Action, secret, b)
				}
			}
		}
		want := []event{
			{"phi.create", p.ID, p.ID, "address,allergies,date_of_birth,email,emergency_contact,external_ids,family_name," +
				"gender_identity,given_name,intake,medications,phone,preferred_name,sex_at_birth,tags,user_id", "", ""},
			{"phi.view", p.ID, p.ID, "", "", ""},
			{"phi.search", "", "", "", "1", p.ID},
			{"phi.update", p.ID, p.ID, "email", "", ""},
			{"phi.delete", p.ID, p.ID, "status", "", ""},
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("audit events mismatch (-want +got):\n%s", d)
		}
	})
}

func TestPatientPortal(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newPatientEnv(t, db)
		u := e.patientUser(phiClinicA, eonpro.RolePatient)
		n := fullPatient()
		n.UserID = u.ID
		p := e.create(e.staffA, n)
		other := e.create(e.staffA, eonpro.NewPatient{GivenName: "Eve", FamilyName: "Other", Address: eonpro.Address{State: "TX"}})
		me := eonpro.NewContextWithPrincipal(context.Background(), &eonpro.Principal{UserID: u.ID, ClinicID: phiClinicA,
			Role: eonpro.RolePatient, Permissions: eonpro.RolePermissions[eonpro.RolePatient]})

		t.Run("FindMyPatient", func(t *testing.T) {
			got, err := e.svc.FindMyPatient(me)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(p.Profile(), got); d != "" {
				t.Errorf("profile mismatch (-want +got):\n%s", d)
			}
		})
		t.Run("UpdateMyPatient", func(t *testing.T) {
			phone := "+15125550199"
			addr := eonpro.Address{Line1: "2 New St", City: "Dallas", State: "TX", PostalCode: "75201"}
			got, err := e.svc.UpdateMyPatient(me, eonpro.PatientProfileUpdate{Phone: &phone, Address: &addr})
			if err != nil {
				t.Fatal(err)
			}
			if got.Phone != phone || got.Address != addr || got.GivenName != "Ada" {
				t.Errorf("updated profile: %+v", got)
			}
			if o, _ := e.svc.FindPatientByID(e.staffA, other.ID); o.Phone != "" || o.Address.City != "" {
				t.Errorf("another patient changed: %+v", o)
			}
			bad := "12"
			if _, err := e.svc.UpdateMyPatient(me, eonpro.PatientProfileUpdate{Phone: &bad}); eonpro.ErrorFields(err)["phone"] == "" {
				t.Errorf("bad phone: %v", err)
			}
		})
		t.Run("AccessLogLookup", func(t *testing.T) {
			if id, err := e.svc.FindPatientIDByUser(context.Background(), phiClinicA, u.ID); id != p.ID || err != nil {
				t.Errorf("FindPatientIDByUser = %q, %v", id, err)
			}
			if _, err := e.svc.FindPatientIDByUser(context.Background(), phiClinicB, u.ID); eonpro.ErrorCode(err) != eonpro.ENOTFOUND {
				t.Errorf("in another clinic: %v", err)
			}
		})
		t.Run("ErrNoRecord", func(t *testing.T) {
			lone := e.patientUser(phiClinicA, eonpro.RolePatient)
			ctx := eonpro.NewContextWithPrincipal(context.Background(), &eonpro.Principal{UserID: lone.ID, ClinicID: phiClinicA,
				Role: eonpro.RolePatient, Permissions: eonpro.RolePermissions[eonpro.RolePatient]})
			if _, err := e.svc.FindMyPatient(ctx); eonpro.ErrorCode(err) != eonpro.ENOTFOUND {
				t.Errorf("FindMyPatient without a record: %v", err)
			}
			if _, err := e.svc.FindMyPatient(e.staffA); eonpro.ErrorCode(err) != eonpro.EFORBIDDEN {
				t.Errorf("FindMyPatient as staff: %v", err)
			}
		})
		t.Run("ErrLinkUser", func(t *testing.T) {
			staff := e.patientUser(phiClinicA, eonpro.RoleStaff)
			elsewhere := e.patientUser(phiClinicB, eonpro.RolePatient)
			for _, id := range []string{staff.ID, elsewhere.ID, eonpro.NewID()} {
				if _, err := e.svc.UpdatePatient(e.staffA, other.ID, eonpro.PatientUpdate{UserID: &id}); eonpro.ErrorFields(err)["user_id"] == "" {
					t.Errorf("link %s: %v", id, err)
				}
			}
			_, err := e.svc.UpdatePatient(e.staffA, other.ID, eonpro.PatientUpdate{UserID: &u.ID})
			if eonpro.ErrorCode(err) != eonpro.ECONFLICT || eonpro.ErrorFields(err)["user_id"] == "" {
				t.Errorf("link a user linked to another patient: %v", err)
			}
		})
	})
}

// patientIDs returns the ids of ps.
func patientIDs(ps []*eonpro.Patient) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}
