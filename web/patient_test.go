package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/eonpro/eonpro"
)

// patientRecord creates a patient in a clinic (slug) as its staff would,
// linked to userID when given.
func (e *idEnv) patientRecord(slug, userID, given, family string) *eonpro.Patient {
	e.t.Helper()
	ctx := eonpro.NewContextWithPrincipal(context.Background(), &eonpro.Principal{UserID: "seed", ClinicID: e.clinics[slug].ID,
		Role: eonpro.RoleStaff, Permissions: eonpro.RolePermissions[eonpro.RoleStaff]})
	p, err := e.patientSvc.CreatePatient(ctx, eonpro.NewPatient{GivenName: given, FamilyName: family, UserID: userID,
		Address: eonpro.Address{State: "TX"}})
	if err != nil {
		e.t.Fatalf("create patient: %v", err)
	}
	return p
}

// patientWorld is clinics alpha and beta with a staff member, a billing
// clerk and a patient user in alpha, and beta's admin; tokens by name.
type patientWorld struct {
	e      *idEnv
	tokens map[string]string
}

func seedPatients(e *idEnv) *patientWorld {
	e.t.Helper()
	e.clinic("alpha")
	e.clinic("beta")
	w := &patientWorld{e: e, tokens: map[string]string{}}
	for _, u := range []struct {
		name, slug string
		role       eonpro.Role
	}{
		{"staff", "alpha", eonpro.RoleStaff}, {"billing", "alpha", eonpro.RoleBilling},
		{"patient", "alpha", eonpro.RolePatient}, {"beta", "beta", eonpro.RoleAdmin},
	} {
		e.user(u.name+"@"+u.slug+".test", false, u.slug, u.role)
		w.tokens[u.name] = e.login(u.name + "@" + u.slug + ".test")
	}
	return w
}

// as sends a request as the named user.
func (w *patientWorld) as(name, method, path string, body any) response {
	w.e.t.Helper()
	return w.e.do(method, path, body, bearer(w.tokens[name])...)
}

// ada is a patient with every field set, as a request body.
func ada() map[string]any {
	return map[string]any{
		"given_name": "Ada", "family_name": "Lovelace", "preferred_name": "Countess", "date_of_birth": "1980-04-23",
		"sex_at_birth": "female", "gender_identity": "woman", "email": "ada@example.test", "phone": "+15125550100",
		"address":           map[string]string{"line1": "1 Analytical Way", "line2": "", "city": "Austin", "state": "TX", "postal_code": "78701"},
		"external_ids":      map[string]string{"lifefile": "LF-1"},
		"emergency_contact": map[string]string{"name": "Charles Babbage", "relationship": "friend", "phone": "+15125550101"},
		"allergies":         []map[string]string{{"substance": "Penicillin", "reaction": "hives", "severity": "moderate"}},
		"medications":       []map[string]string{{"name": "Metformin", "dose": "500 mg", "frequency": "twice daily"}},
		"tags":              []string{"vip"},
		"intake":            map[string]any{"goal": "lose 10 lb"},
	}
}

func TestPatientsAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		w := seedPatients(e)
		res := w.as("staff", "POST", "/api/v1/patients", ada())
		id, _ := res.Body["id"].(string)
		if res.Status != http.StatusCreated || id == "" || res.Body["mrn"] != "MRN-000001" || res.Body["status"] != "active" {
			t.Fatalf("create: %d %s", res.Status, res.Raw)
		}
		t.Run("Get", func(t *testing.T) {
			got := w.as("billing", "GET", "/api/v1/patients/"+id, nil)
			if got.Status != http.StatusOK {
				t.Fatalf("%d %s", got.Status, got.Raw)
			}
			if d := cmp.Diff(res.Body, got.Body); d != "" {
				t.Errorf("read back mismatch (-want +got):\n%s", d)
			}
			for k, v := range ada() {
				want, _ := json.Marshal(v)
				if have, _ := json.Marshal(got.Body[k]); string(have) != string(want) {
					t.Errorf("%s = %s, want %s", k, have, want)
				}
			}
		})
		t.Run("Patch", func(t *testing.T) {
			got := w.as("staff", "PATCH", "/api/v1/patients/"+id, map[string]any{"preferred_name": "", "tags": []string{"vip", "Follow-Up"}})
			if got.Status != http.StatusOK || got.Body["preferred_name"] != "" || got.Body["given_name"] != "Ada" ||
				fmt.Sprint(got.Body["tags"]) != "[vip follow-up]" {
				t.Errorf("%d %s", got.Status, got.Raw)
			}
		})
		t.Run("ErrBillingWrites", func(t *testing.T) {
			if got := w.as("billing", "PATCH", "/api/v1/patients/"+id, map[string]any{"given_name": "X"}); got.Status != http.StatusForbidden {
				t.Errorf("%d %s", got.Status, got.Raw)
			}
		})
		t.Run("ErrReadOnly", func(t *testing.T) {
			for _, field := range []string{"mrn", "id", "created_at", "clinic_id"} {
				got := w.as("staff", "PATCH", "/api/v1/patients/"+id, map[string]any{field: "x"})
				if got.Status != http.StatusUnprocessableEntity || got.field(field) != "is not a known field" {
					t.Errorf("PATCH %s: %d %s", field, got.Status, got.Raw)
				}
			}
			body := ada()
			body["status"] = "archived"
			if got := w.as("staff", "POST", "/api/v1/patients", body); got.Status != http.StatusUnprocessableEntity || got.field("status") == "" {
				t.Errorf("POST with a status: %d %s", got.Status, got.Raw)
			}
		})
		t.Run("Archive", func(t *testing.T) {
			if got := w.as("staff", "DELETE", "/api/v1/patients/"+id, nil); got.Status != http.StatusNoContent {
				t.Fatalf("%d %s", got.Status, got.Raw)
			}
			if got := w.as("staff", "GET", "/api/v1/patients/"+id, nil); got.Body["status"] != "archived" {
				t.Errorf("archived patient: %d %s", got.Status, got.Raw)
			}
			if got := w.as("staff", "GET", "/api/v1/patients?q=ada", nil); strings.Contains(string(got.Raw), id) {
				t.Errorf("archived patient listed: %s", got.Raw)
			}
			if got := w.as("staff", "GET", "/api/v1/patients?q=ada&status=archived", nil); !strings.Contains(string(got.Raw), id) {
				t.Errorf("archived patient not listed with status=archived: %s", got.Raw)
			}
		})
		t.Run("Audit", func(t *testing.T) {
			e.user("admin@alpha.test", false, "alpha", eonpro.RoleAdmin)
			got := e.do("GET", "/api/v1/audit?patient_id="+id, nil, bearer(e.login("admin@alpha.test"))...)
			var actions []string
			for _, ev := range got.Body["data"].([]any) {
				actions = append(actions, ev.(map[string]any)["action"].(string))
			}
			if d := cmp.Diff([]string{"phi.view", "phi.delete", "phi.update", "phi.view", "phi.create"}, actions); d != "" {
				t.Errorf("audit events of the patient mismatch (-want +got):\n%s", d)
			}
		})
	})
}

func TestPatientsValidation(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		w := seedPatients(e)
		for _, tt := range []struct {
			field string
			set   map[string]any
		}{
			{"given_name", map[string]any{"given_name": " "}},
			{"family_name", map[string]any{"family_name": ""}},
			{"given_name", map[string]any{"given_name": strings.Repeat("a", 101)}},
			{"preferred_name", map[string]any{"preferred_name": "tab\there"}},
			{"given_name", map[string]any{"given_name": "\u200b"}},
			{"family_name", map[string]any{"family_name": "Love\u202elace"}},
			{"address.line1", map[string]any{"address": map[string]string{"state": "TX", "line1": "\ufeff1 Main St"}}},
			{"date_of_birth", map[string]any{"date_of_birth": "2999-01-01"}},
			{"date_of_birth", map[string]any{"date_of_birth": "1980-02-30"}},
			{"date_of_birth", map[string]any{"date_of_birth": "04/23/1980"}},
			{"date_of_birth", map[string]any{"date_of_birth": "1899-12-31"}},
			{"sex_at_birth", map[string]any{"sex_at_birth": "f"}},
			{"email", map[string]any{"email": "ada@"}},
			{"email", map[string]any{"email": "ada example.test"}},
			{"phone", map[string]any{"phone": "512-555-0100"}},
			{"address.state", map[string]any{"address": map[string]string{"state": "XX"}}},
			{"address.state", map[string]any{"address": map[string]string{"state": "Texas"}}},
			{"address.state", map[string]any{"address": map[string]string{"city": "Austin"}}},
			{"address.postal_code", map[string]any{"address": map[string]string{"state": "TX", "postal_code": "7870"}}},
			{"emergency_contact.phone", map[string]any{"emergency_contact": map[string]string{"name": "B", "phone": "555"}}},
			{"external_ids", map[string]any{"external_ids": map[string]string{"Life File": "1"}}},
			{"allergies[0].substance", map[string]any{"allergies": []map[string]string{{"reaction": "hives"}}}},
			{"allergies[0].severity", map[string]any{"allergies": []map[string]string{{"substance": "x", "severity": "deadly"}}}},
			{"medications[0].name", map[string]any{"medications": []map[string]string{{"dose": "1"}}}},
			{"tags", map[string]any{"tags": []string{"a/b"}}},
			{"intake", map[string]any{"intake": []int{1}}},
		} {
			t.Run(tt.field, func(t *testing.T) {
				body := ada()
				for k, v := range tt.set {
					body[k] = v
				}
				res := w.as("staff", "POST", "/api/v1/patients", body)
				if res.Status != http.StatusUnprocessableEntity || res.errCode() != eonpro.EINVALID || res.field(tt.field) == "" {
					t.Errorf("%v: %d %s, want 422 naming %s", tt.set, res.Status, res.Raw, tt.field)
				}
			})
		}
		t.Run("EveryProblemAtOnce", func(t *testing.T) {
			res := w.as("staff", "POST", "/api/v1/patients", map[string]any{"email": "x", "phone": "1", "date_of_birth": "soon"})
			fields, _ := res.Body["error"].(map[string]any)["fields"].(map[string]any)
			var keys []string
			for k := range fields {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if d := cmp.Diff([]string{"address.state", "date_of_birth", "email", "family_name", "given_name", "phone"}, keys); d != "" {
				t.Errorf("field errors mismatch (-want +got):\n%s", d)
			}
		})
		t.Run("ErrUnknownField", func(t *testing.T) {
			body := ada()
			body["ssn"] = "123-45-6789"
			res := w.as("staff", "POST", "/api/v1/patients", body)
			if res.Status != http.StatusUnprocessableEntity || res.field("ssn") != "is not a known field" || strings.Contains(string(res.Raw), "6789") {
				t.Errorf("%d %s", res.Status, res.Raw)
			}
		})
		t.Run("ErrWrongType", func(t *testing.T) {
			if res := w.as("staff", "POST", "/api/v1/patients", `{"given_name": 7}`); res.Status != http.StatusBadRequest {
				t.Errorf("%d %s", res.Status, res.Raw)
			}
		})
		t.Run("ErrListFilter", func(t *testing.T) {
			for query, field := range map[string]string{"limit=500": "limit", "limit=0": "limit", "dob=tomorrow": "dob",
				"status=gone": "status", "cursor=x": "cursor", "q=%20-": "q", "phone=call": "phone"} {
				res := w.as("staff", "GET", "/api/v1/patients?"+query, nil)
				if res.Status != http.StatusUnprocessableEntity || res.field(field) == "" {
					t.Errorf("?%s: %d %s", query, res.Status, res.Raw)
				}
			}
		})
	})
}

// listPatients returns the names of a page and its cursor.
func (w *patientWorld) listPatients(query url.Values) ([]string, string) {
	w.e.t.Helper()
	res := w.as("staff", "GET", "/api/v1/patients?"+query.Encode(), nil)
	if res.Status != http.StatusOK {
		w.e.t.Fatalf("GET ?%s: %d %s", query.Encode(), res.Status, res.Raw)
	}
	var names []string
	for _, p := range res.Body["data"].([]any) {
		p := p.(map[string]any)
		names = append(names, p["given_name"].(string)+" "+p["family_name"].(string))
	}
	next, _ := res.Body["next_cursor"].(string)
	return names, next
}

func TestPatientsSearch(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		w := seedPatients(e)
		for _, p := range []map[string]any{
			{"given_name": "John", "family_name": "Smith", "email": "john@example.test", "phone": "+15125550111", "date_of_birth": "1975-01-02", "tags": []string{"vip"}},
			{"given_name": "Jane", "family_name": "Smithson", "date_of_birth": "1980-04-23"},
			{"given_name": "José", "family_name": "Muñoz"},
			{"given_name": "Zoë", "family_name": "Ng"},
		} {
			p["address"] = map[string]string{"state": "TX"}
			if res := w.as("staff", "POST", "/api/v1/patients", p); res.Status != http.StatusCreated {
				t.Fatalf("create: %d %s", res.Status, res.Raw)
			}
		}
		for _, tt := range []struct {
			query string
			want  []string
		}{
			{"", []string{"Zoë Ng", "José Muñoz", "Jane Smithson", "John Smith"}},
			{"q=smi", []string{"Jane Smithson", "John Smith"}},
			{"q=SMITHS", []string{"Jane Smithson"}},
			{"q=mu%C3%B1", []string{"José Muñoz"}},
			{"q=zoe", []string{"Zoë Ng"}},
			{"q=jo+smi", []string{"John Smith"}},
			{"email=JOHN@example.test", []string{"John Smith"}},
			{"phone=%2B15125550111", []string{"John Smith"}},
			{"dob=1980-04-23", []string{"Jane Smithson"}},
			{"family_name=smith", []string{"John Smith"}},
			{"tag=VIP", []string{"John Smith"}},
			{"q=nobody", nil},
		} {
			q, _ := url.ParseQuery(tt.query)
			if got, next := w.listPatients(q); !slices.Equal(got, tt.want) || next != "" {
				t.Errorf("?%s: %q next %q, want %q", tt.query, got, next, tt.want)
			}
		}
		t.Run("Pages", func(t *testing.T) {
			var all []string
			q := url.Values{"limit": {"3"}}
			for pages := 0; ; pages++ {
				got, next := w.listPatients(q)
				all = append(all, got...)
				if next == "" {
					break
				}
				if pages > 3 {
					t.Fatal("no end of pages")
				}
				q.Set("cursor", next)
			}
			if want := []string{"Zoë Ng", "José Muñoz", "Jane Smithson", "John Smith"}; !slices.Equal(all, want) {
				t.Errorf("pages: %q, want %q", all, want)
			}
			res := w.as("staff", "GET", "/api/v1/patients", nil)
			if !strings.Contains(string(res.Raw), `"next_cursor":null`) {
				t.Errorf("last page: %s", res.Raw)
			}
		})
		t.Run("ErrOtherClinic", func(t *testing.T) {
			res := w.as("beta", "GET", "/api/v1/patients?q=smi", nil)
			if res.Status != http.StatusOK || !strings.Contains(string(res.Raw), `"data":[]`) {
				t.Errorf("beta searches: %d %s", res.Status, res.Raw)
			}
		})
	})
}

func TestPatientsIsolation(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		w := seedPatients(e)
		p := e.patientRecord("alpha", "", "Ada", "Lovelace")
		for _, tc := range []struct {
			method string
			body   any
		}{
			{"GET", nil},
			{"PATCH", map[string]any{"given_name": "Mallory"}},
			{"PATCH", map[string]any{"given_name": ""}},
			{"DELETE", nil},
		} {
			other := w.as("beta", tc.method, "/api/v1/patients/"+p.ID, tc.body)
			missing := w.as("beta", tc.method, "/api/v1/patients/"+eonpro.NewID(), tc.body)
			if missing.Status != http.StatusNotFound {
				t.Errorf("%s a missing patient: %d %s", tc.method, missing.Status, missing.Raw)
			}
			sameAnswer(t, tc.method+" alpha's patient from beta", other, missing)
		}
		if got := w.as("staff", "GET", "/api/v1/patients/"+p.ID, nil); got.Body["given_name"] != "Ada" || got.Body["status"] != "active" {
			t.Errorf("alpha's patient after beta's attempts: %s", got.Raw)
		}
	})
}

func TestPatientPortal(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		w := seedPatients(e)
		t.Run("ErrNoRecord", func(t *testing.T) {
			if res := w.as("patient", "GET", "/api/v1/me/patient", nil); res.Status != http.StatusNotFound {
				t.Errorf("%d %s", res.Status, res.Raw)
			}
		})
		me := e.patientRecord("alpha", e.users["patient@alpha.test"].ID, "Ada", "Lovelace")
		e.patientRecord("alpha", "", "Eve", "Other")
		t.Run("Get", func(t *testing.T) {
			res := w.as("patient", "GET", "/api/v1/me/patient", nil)
			if res.Status != http.StatusOK || res.Body["id"] != me.ID || res.Body["mrn"] != me.MRN || res.Body["given_name"] != "Ada" {
				t.Fatalf("%d %s", res.Status, res.Raw)
			}
			for _, hidden := range []string{"tags", "intake", "external_ids", "status", "user_id"} {
				if _, ok := res.Body[hidden]; ok {
					t.Errorf("the patient sees %s: %s", hidden, res.Raw)
				}
			}
		})
		t.Run("Patch", func(t *testing.T) {
			res := w.as("patient", "PATCH", "/api/v1/me/patient", map[string]any{"preferred_name": "Addie", "email": "addie@example.test"})
			if res.Status != http.StatusOK || res.Body["preferred_name"] != "Addie" || res.Body["email"] != "addie@example.test" {
				t.Errorf("%d %s", res.Status, res.Raw)
			}
			if got, _ := e.patientSvc.FindPatientIDByUser(context.Background(), e.clinics["alpha"].ID, e.users["patient@alpha.test"].ID); got != me.ID {
				t.Errorf("record changed owner")
			}
			staff := w.as("staff", "GET", "/api/v1/patients/"+me.ID, nil)
			if staff.Body["preferred_name"] != "Addie" {
				t.Errorf("staff sees: %s", staff.Raw)
			}
		})
		t.Run("ErrClinicFields", func(t *testing.T) {
			for _, field := range []string{"given_name", "family_name", "date_of_birth", "tags", "status", "user_id", "mrn", "id"} {
				res := w.as("patient", "PATCH", "/api/v1/me/patient", map[string]any{field: "x"})
				if res.Status != http.StatusUnprocessableEntity || res.field(field) != "is not a known field" {
					t.Errorf("PATCH %s: %d %s", field, res.Status, res.Raw)
				}
			}
			res := w.as("patient", "PATCH", "/api/v1/me/patient", map[string]any{"address": map[string]string{"state": "ZZ"}})
			if res.Status != http.StatusUnprocessableEntity || res.field("address.state") == "" {
				t.Errorf("bad state: %d %s", res.Status, res.Raw)
			}
		})
		t.Run("ErrNotPatients", func(t *testing.T) {
			for _, route := range []string{"GET /api/v1/patients", "GET /api/v1/patients/" + me.ID, "POST /api/v1/patients"} {
				method, path, _ := strings.Cut(route, " ")
				if res := w.as("patient", method, path, "{}"); res.Status != http.StatusForbidden {
					t.Errorf("%s as the patient: %d %s", route, res.Status, res.Raw)
				}
			}
			if res := w.as("staff", "GET", "/api/v1/me/patient", nil); res.Status != http.StatusForbidden {
				t.Errorf("staff: %d %s", res.Status, res.Raw)
			}
		})
		t.Run("AccessLog", func(t *testing.T) {
			w.as("staff", "GET", "/api/v1/patients/"+me.ID, nil)
			got, res := auditGet[*eonpro.AccessLogEntry](t, e, "/api/v1/me/access-log", w.tokens["patient"])
			if res.Status != http.StatusOK || len(got.Data) == 0 {
				t.Fatalf("%d %s", res.Status, res.Raw)
			}
			newest := got.Data[0]
			if newest.ActorID != e.users["staff@alpha.test"].ID || newest.ActorRole != "staff" || newest.Action != eonpro.ActionPHIView {
				t.Errorf("newest access: %+v", newest)
			}
		})
	})
}
