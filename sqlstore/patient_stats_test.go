package sqlstore_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

func TestPatientStats(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newPatientEnv(t, db)
		for range 3 {
			e.create(e.staffA, eonpro.NewPatient{GivenName: "Ada", FamilyName: "Lovelace", DateOfBirth: "1980-04-23", Address: eonpro.Address{State: "TX"}})
		}
		archived := e.create(e.staffA, eonpro.NewPatient{GivenName: "Bob", FamilyName: "Byron", DateOfBirth: "1980-04-23", Address: eonpro.Address{State: "TX"}})
		if err := e.svc.ArchivePatient(e.staffA, archived.ID); err != nil {
			t.Fatal(err)
		}
		e.create(e.staffB, eonpro.NewPatient{GivenName: "Eve", FamilyName: "Other", DateOfBirth: "1980-04-23", Address: eonpro.Address{State: "TX"}})
		t.Run("OK", func(t *testing.T) {
			st, err := e.svc.PatientStats(e.staffA)
			if err != nil {
				t.Fatal(err)
			}
			if len(st.PerDay) != eonpro.StatsDays {
				t.Fatalf("%d days, want %d", len(st.PerDay), eonpro.StatsDays)
			}
			today := db.Now().Format(time.DateOnly)
			want := eonpro.DayCount{Day: today, Count: 4}
			if diff := cmp.Diff(want, st.PerDay[eonpro.StatsDays-1]); diff != "" {
				t.Errorf("today mismatch (-want +got):\n%s", diff)
			}
			st.PerDay = nil
			if diff := cmp.Diff(&eonpro.PatientStats{Total: 4, Active: 3, AddedWeek: 4, AddedMonth: 4}, st); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			_, err := e.svc.PatientStats(actingAs(phiClinicA, eonpro.RolePatient))
			if eonpro.ErrorCode(err) != eonpro.EFORBIDDEN {
				t.Fatalf("err = %v, want EFORBIDDEN", err)
			}
		})
	})
}

func TestFindRecentlyViewedPatients(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newPatientEnv(t, db)
		a := e.create(e.staffA, eonpro.NewPatient{GivenName: "Ada", FamilyName: "Lovelace", DateOfBirth: "1980-04-23", Address: eonpro.Address{State: "TX"}})
		b := e.create(e.staffA, eonpro.NewPatient{GivenName: "Bob", FamilyName: "Byron", DateOfBirth: "1980-04-23", Address: eonpro.Address{State: "TX"}})
		c := e.create(e.staffA, eonpro.NewPatient{GivenName: "Cy", FamilyName: "Other", DateOfBirth: "1980-04-23", Address: eonpro.Address{State: "TX"}})
		me := actingAs(phiClinicA, eonpro.RoleStaff)
		for _, id := range []string{a.ID, b.ID, a.ID} {
			if _, err := e.svc.FindPatientByID(me, id); err != nil {
				t.Fatal(err)
			}
		}
		// Another member's view is not mine.
		if _, err := e.svc.FindPatientByID(e.staffA, c.ID); err != nil {
			t.Fatal(err)
		}
		t.Run("OK", func(t *testing.T) {
			vs, err := e.svc.FindRecentlyViewedPatients(me, 10)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range vs {
				got = append(got, v.Patient.GivenName)
				if v.ViewedAt.IsZero() {
					t.Errorf("%s: no view time", v.Patient.ID)
				}
			}
			if diff := cmp.Diff([]string{"Ada", "Bob"}, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
		t.Run("Limit", func(t *testing.T) {
			vs, err := e.svc.FindRecentlyViewedPatients(me, 1)
			if err != nil || len(vs) != 1 || vs[0].Patient.ID != a.ID {
				t.Fatalf("got %v, %v; want Ada only", vs, err)
			}
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			_, err := e.svc.FindRecentlyViewedPatients(me, 0)
			if eonpro.ErrorFields(err)["limit"] == "" {
				t.Fatalf("err = %v, want a limit field error", err)
			}
		})
		t.Run("ErrOtherClinic", func(t *testing.T) {
			other := eonpro.NewContextWithPrincipal(me, &eonpro.Principal{UserID: eonpro.PrincipalFromContext(me).UserID,
				ClinicID: phiClinicB, Role: eonpro.RoleStaff, Permissions: eonpro.RolePermissions[eonpro.RoleStaff]})
			vs, err := e.svc.FindRecentlyViewedPatients(other, 10)
			if err != nil || len(vs) != 0 {
				t.Fatalf("got %v, %v; want none", vs, err)
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			_, err := e.svc.FindRecentlyViewedPatients(actingAs(phiClinicA, eonpro.RolePatient), 10)
			if eonpro.ErrorCode(err) != eonpro.EFORBIDDEN {
				t.Fatalf("err = %v, want EFORBIDDEN", err)
			}
		})
	})
}
