package sqlstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

// searchPeople are the patients of the search tests, by a short name.
var searchPeople = []struct {
	key string
	n   eonpro.NewPatient
}{
	{"ada", eonpro.NewPatient{GivenName: "Ada", FamilyName: "Lovelace", DateOfBirth: "1980-04-23", Email: "ada@example.test",
		Phone: "+15125550100", Tags: []string{"VIP"}}},
	{"john", eonpro.NewPatient{GivenName: "John", FamilyName: "Smith", DateOfBirth: "1975-01-02", Email: "john@example.test",
		Phone: "+15125550101", Tags: []string{"vip", "diabetes"}}},
	{"jane", eonpro.NewPatient{GivenName: "Jane", FamilyName: "Smithson", DateOfBirth: "1980-04-23", Email: "jane@example.test"}},
	{"jose", eonpro.NewPatient{GivenName: "José", FamilyName: "Muñoz", PreferredName: "Pepe", Email: "Jose@Example.TEST"}},
	{"zoe", eonpro.NewPatient{GivenName: "Zoë", FamilyName: "O'Brien"}},
	{"mary", eonpro.NewPatient{GivenName: "Mary-Ann", FamilyName: "Smith-Jones"}},
	{"ming", eonpro.NewPatient{GivenName: "明", FamilyName: "王"}},
}

// seedSearch creates searchPeople in clinic A (and John's twin in B) and
// returns their ids by key.
func (e *patientEnv) seedSearch() map[string]string {
	e.t.Helper()
	ids := map[string]string{}
	for _, sp := range searchPeople {
		n := sp.n
		n.Address = eonpro.Address{State: "TX"}
		ids[sp.key] = e.create(e.staffA, n).ID
	}
	twin := searchPeople[1].n
	twin.Address = eonpro.Address{State: "TX"}
	e.create(e.staffB, twin)
	return ids
}

func ptr(s string) *string { return &s }

func TestFindPatients(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newPatientEnv(t, db)
		ids := e.seedSearch()
		if err := e.svc.ArchivePatient(e.staffA, ids["ada"]); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name string
			f    eonpro.PatientFilter
			want []string // keys, newest first
		}{
			{"All", eonpro.PatientFilter{}, []string{"ming", "mary", "zoe", "jose", "jane", "john"}},
			{"Archived", eonpro.PatientFilter{Status: ptr("archived")}, []string{"ada"}},
			{"QPrefix", eonpro.PatientFilter{Q: ptr("smi")}, []string{"mary", "jane", "john"}},
			{"QOneLetter", eonpro.PatientFilter{Q: ptr("j")}, []string{"mary", "jose", "jane", "john"}},
			{"QCaseFolded", eonpro.PatientFilter{Q: ptr("SMI")}, []string{"mary", "jane", "john"}},
			{"QLongerThanIndexed", eonpro.PatientFilter{Q: ptr("smiths")}, []string{"jane"}},
			{"QWholeName", eonpro.PatientFilter{Q: ptr("Smith")}, []string{"mary", "jane", "john"}},
			{"QAccentsFolded", eonpro.PatientFilter{Q: ptr("munoz")}, []string{"jose"}},
			{"QAccentsTyped", eonpro.PatientFilter{Q: ptr("MUÑ")}, []string{"jose"}},
			{"QPreferredName", eonpro.PatientFilter{Q: ptr("pep")}, []string{"jose"}},
			{"QApostrophe", eonpro.PatientFilter{Q: ptr("o'br")}, []string{"zoe"}},
			{"QApostropheOmitted", eonpro.PatientFilter{Q: ptr("obri")}, []string{"zoe"}},
			{"QHyphenatedPart", eonpro.PatientFilter{Q: ptr("jon")}, []string{"mary"}},
			{"QTwoWords", eonpro.PatientFilter{Q: ptr("john smi")}, []string{"john"}},
			{"QTwoWordsLong", eonpro.PatientFilter{Q: ptr("jane smithso")}, []string{"jane"}},
			{"QOtherScript", eonpro.PatientFilter{Q: ptr("王")}, []string{"ming"}},
			{"QArchivedNotListed", eonpro.PatientFilter{Q: ptr("ada")}, nil},
			{"QArchived", eonpro.PatientFilter{Q: ptr("ada"), Status: ptr("archived")}, []string{"ada"}},
			{"QNoMatch", eonpro.PatientFilter{Q: ptr("xyz")}, nil},
			{"Email", eonpro.PatientFilter{Email: ptr(" JOSE@example.test")}, []string{"jose"}},
			{"Phone", eonpro.PatientFilter{Phone: ptr("+1 (512) 555-0101")}, []string{"john"}},
			{"DOB", eonpro.PatientFilter{DOB: ptr("1980-04-23")}, []string{"jane"}},
			{"DOBUSFormat", eonpro.PatientFilter{DOB: ptr("4/23/1980"), Status: ptr("archived")}, []string{"ada"}},
			{"FamilyNameExact", eonpro.PatientFilter{FamilyName: ptr("SMITH")}, []string{"john"}},
			{"FamilyNameFolded", eonpro.PatientFilter{FamilyName: ptr("smith jones")}, []string{"mary"}},
			{"Tag", eonpro.PatientFilter{Tag: ptr("VIP")}, []string{"john"}},
			{"Combined", eonpro.PatientFilter{Q: ptr("sm"), DOB: ptr("1980-04-23")}, []string{"jane"}},
			{"CombinedTag", eonpro.PatientFilter{Q: ptr("jo"), Tag: ptr("diabetes")}, []string{"john"}},
			{"CombinedNone", eonpro.PatientFilter{Email: ptr("john@example.test"), Q: ptr("jane")}, nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				ps, next, err := e.svc.FindPatients(e.staffA, tt.f)
				if err != nil || next != "" {
					t.Fatalf("FindPatients: %v, next %q", err, next)
				}
				var want []string
				for _, k := range tt.want {
					want = append(want, ids[k])
				}
				if d := cmp.Diff(want, patientIDs(ps), cmpopts.EquateEmpty()); d != "" {
					t.Errorf("found mismatch (-want +got):\n%s", d)
				}
			})
		}
		t.Run("OtherClinic", func(t *testing.T) {
			ps, _, err := e.svc.FindPatients(e.staffB, eonpro.PatientFilter{Q: ptr("smi")})
			if err != nil || len(ps) != 1 || ps[0].ID == ids["john"] {
				t.Errorf("clinic B's search for smi: %v %v", patientIDs(ps), err)
			}
			if ps, _, _ := e.svc.FindPatients(e.staffB, eonpro.PatientFilter{Email: ptr("ada@example.test"), Status: ptr("archived")}); len(ps) != 0 {
				t.Errorf("clinic B finds clinic A's patient by e-mail")
			}
		})
	})
}

func TestFindPatientsInvalid(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newPatientEnv(t, db)
		for _, tt := range []struct {
			field string
			f     eonpro.PatientFilter
		}{
			{"q", eonpro.PatientFilter{Q: ptr(" - ' ")}},
			{"q", eonpro.PatientFilter{Q: ptr("a b c d")}},
			{"email", eonpro.PatientFilter{Email: ptr(" ")}},
			{"phone", eonpro.PatientFilter{Phone: ptr("call me")}},
			{"dob", eonpro.PatientFilter{DOB: ptr("1980-02-30")}},
			{"family_name", eonpro.PatientFilter{FamilyName: ptr("--")}},
			{"tag", eonpro.PatientFilter{Tag: ptr("")}},
			{"status", eonpro.PatientFilter{Status: ptr("deleted")}},
			{"limit", eonpro.PatientFilter{Limit: 201}},
			{"limit", eonpro.PatientFilter{Limit: -1}},
			{"cursor", eonpro.PatientFilter{Cursor: "page-2"}},
		} {
			t.Run(tt.field, func(t *testing.T) {
				_, _, err := e.svc.FindPatients(e.staffA, tt.f)
				if eonpro.ErrorCode(err) != eonpro.EINVALID || eonpro.ErrorFields(err)[tt.field] == "" {
					t.Errorf("err = %v %v, want EINVALID naming %s", err, eonpro.ErrorFields(err), tt.field)
				}
			})
		}
	})
}

// allPages follows the cursor from the first page to the last.
func (e *patientEnv) allPages(ctx context.Context, f eonpro.PatientFilter) (pages [][]string) {
	e.t.Helper()
	for {
		ps, next, err := e.svc.FindPatients(ctx, f)
		if err != nil {
			e.t.Fatal(err)
		}
		pages = append(pages, patientIDs(ps))
		if next == "" {
			return pages
		}
		f.Cursor = next
	}
}

func TestFindPatientsPages(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newPatientEnv(t, db)
		// The first seven are the Smithsons, the oldest; 230 Smittys
		// follow, which the indexed prefix "smit" finds too, so a search
		// for "smiths" reads past them in batches.
		var in []eonpro.NewPatient
		for i := range 237 {
			family := "Smitty"
			if i < 7 {
				family = "Smithson"
			}
			in = append(in, eonpro.NewPatient{GivenName: fmt.Sprintf("P%03d", i), FamilyName: family, Address: eonpro.Address{State: "TX"}})
		}
		if err := e.svc.SeedPatients(context.Background(), phiClinicA, in, 100); err != nil {
			t.Fatal(err)
		}
		all, _, err := e.svc.FindPatients(e.staffA, eonpro.PatientFilter{Limit: 200, Q: ptr("smithson")})
		if err != nil || len(all) != 7 {
			t.Fatalf("all Smithsons: %d %v", len(all), err)
		}
		for _, tt := range []struct {
			name string
			f    eonpro.PatientFilter
			want []int
		}{
			{"Indexed", eonpro.PatientFilter{Q: ptr("smi"), Limit: 100}, []int{100, 100, 37}},
			{"Exact", eonpro.PatientFilter{FamilyName: ptr("smithson"), Limit: 3}, []int{3, 3, 1}},
			{"CheckedAfterDecryption", eonpro.PatientFilter{Q: ptr("smithson"), Limit: 3}, []int{3, 3, 1}},
			{"ExactPageSize", eonpro.PatientFilter{Q: ptr("smiths"), Limit: 7}, []int{7}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				pages := e.allPages(e.staffA, tt.f)
				var sizes []int
				seen := map[string]bool{}
				for _, p := range pages {
					sizes = append(sizes, len(p))
					for _, id := range p {
						if seen[id] {
							t.Errorf("%s on two pages", id)
						}
						seen[id] = true
					}
				}
				if d := cmp.Diff(tt.want, sizes); d != "" {
					t.Errorf("page sizes mismatch (-want +got):\n%s", d)
				}
			})
		}
		t.Run("DefaultLimit", func(t *testing.T) {
			if ps, next, _ := e.svc.FindPatients(e.staffA, eonpro.PatientFilter{}); len(ps) != 50 || next != ps[49].ID {
				t.Errorf("first page: %d patients, next %q", len(ps), next)
			}
		})
	})
}
