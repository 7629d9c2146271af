package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestProviderValidation(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		w := seedProviders(e)
		admin := w.hdr["admin"]
		valid := func(change map[string]any) map[string]any {
			body := map[string]any{"user_id": w.doc.ID, "credentials": []string{"MD"}, "npi": "1234567893"}
			for k, v := range change {
				if v == nil {
					delete(body, k)
				} else {
					body[k] = v
				}
			}
			return body
		}
		lic := func(state, number, expires string) []map[string]string {
			return []map[string]string{{"state": "TX", "number": "1", "expires_on": "2027-01-01"},
				{"state": state, "number": number, "expires_on": expires}}
		}
		t.Run("Create", func(t *testing.T) {
			for _, tc := range []struct {
				name   string
				body   map[string]any
				fields []string
			}{
				{"no user", valid(map[string]any{"user_id": nil}), []string{"user_id"}},
				{"staff member", valid(map[string]any{"user_id": w.staff.ID}), []string{"user_id"}},
				{"other clinic's provider", valid(map[string]any{"user_id": w.betaDoc.ID}), []string{"user_id"}},
				{"unknown user", valid(map[string]any{"user_id": "nobody"}), []string{"user_id"}},
				{"no credentials", valid(map[string]any{"credentials": nil}), []string{"credentials"}},
				{"unknown credential", valid(map[string]any{"credentials": []string{"MD", "Dr."}}), []string{"credentials"}},
				{"no NPI", valid(map[string]any{"npi": nil}), []string{"npi"}},
				{"NPI check digit", valid(map[string]any{"npi": "1234567890"}), []string{"npi"}},
				{"NPI length", valid(map[string]any{"npi": "123456789"}), []string{"npi"}},
				{"DEA check digit", valid(map[string]any{"dea_number": "AB1234564"}), []string{"dea_number"}},
				{"DEA registrant type", valid(map[string]any{"dea_number": "QB1234563"}), []string{"dea_number"}},
				{"DEA format", valid(map[string]any{"dea_number": "1234567"}), []string{"dea_number"}},
				{"empty specialty", valid(map[string]any{"specialties": []string{" "}}), []string{"specialties"}},
				{"long bio", valid(map[string]any{"bio": strings.Repeat("b", 4001)}), []string{"bio"}},
				{"license state", valid(map[string]any{"licenses": lic("ZZ", "1", "2027-01-01")}), []string{"licenses[1].state"}},
				{"license number", valid(map[string]any{"licenses": lic("CA", "#1", "2027-01-01")}), []string{"licenses[1].number"}},
				{"license date", valid(map[string]any{"licenses": lic("CA", "1", "2027-02-30")}), []string{"licenses[1].expires_on"}},
				{"license date form", valid(map[string]any{"licenses": lic("CA", "1", "01/02/2027")}), []string{"licenses[1].expires_on"}},
				{"all at once", map[string]any{"dea_number": "x", "licenses": lic("", "", "")},
					[]string{"credentials", "dea_number", "licenses[1].expires_on", "licenses[1].number", "licenses[1].state", "npi", "user_id"}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					res := e.forTest(t).do("POST", "/api/v1/providers", tc.body, admin...)
					wantProviderFields(t, res, tc.fields)
				})
			}
		})
		t.Run("ErrUnknownField", func(t *testing.T) {
			e := e.forTest(t)
			for _, field := range []string{"clinic_id", "id", "name", "created_at"} {
				res := e.do("POST", "/api/v1/providers", valid(map[string]any{field: "x"}), admin...)
				if res.Status != http.StatusUnprocessableEntity || res.field(field) != "is not a known field" {
					t.Errorf("POST with %s: %d %s, want 400 naming it", field, res.Status, res.Raw)
				}
			}
		})
		pr := w.create(t, valid(nil))
		t.Run("Update", func(t *testing.T) {
			for _, tc := range []struct {
				name   string
				body   map[string]any
				fields []string
			}{
				{"NPI", map[string]any{"npi": "1234567894"}, []string{"npi"}},
				{"empty credentials", map[string]any{"credentials": []string{}}, []string{"credentials"}},
				{"DEA", map[string]any{"dea_number": "AB123456"}, []string{"dea_number"}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					res := e.forTest(t).do("PATCH", "/api/v1/providers/"+pr.ID, tc.body, admin...)
					wantProviderFields(t, res, tc.fields)
				})
			}
			res := e.do("PATCH", "/api/v1/providers/"+pr.ID, map[string]any{"licenses": []string{}}, admin...)
			if res.Status != http.StatusUnprocessableEntity || res.field("licenses") == "" {
				t.Errorf("PATCH licenses: %d %s, want 422 (licenses have their own routes)", res.Status, res.Raw)
			}
		})
		t.Run("License", func(t *testing.T) {
			path := "/api/v1/providers/" + pr.ID + "/licenses"
			res := e.do("POST", path, map[string]string{"state": "TX", "number": "T1", "expires_on": "2027-01-01"}, admin...)
			if res.Status != http.StatusCreated {
				t.Fatalf("add license: %d %s", res.Status, res.Raw)
			}
			id, _ := res.Body["id"].(string)
			for _, tc := range []struct {
				name, method, path string
				body               map[string]string
				fields             []string
			}{
				{"missing", "POST", path, map[string]string{}, []string{"expires_on", "number", "state"}},
				{"territory ok but date not", "POST", path, map[string]string{"state": "PR", "number": "1", "expires_on": "2027-13-01"}, []string{"expires_on"}},
				{"long number", "POST", path, map[string]string{"state": "TX", "number": strings.Repeat("1", 41), "expires_on": "2027-01-01"}, []string{"number"}},
				{"ancient date", "POST", path, map[string]string{"state": "TX", "number": "1", "expires_on": "0001-01-01"}, []string{"expires_on"}},
				{"patch state", "PATCH", path + "/" + id, map[string]string{"state": "Texas"}, []string{"state"}},
				{"patch date", "PATCH", path + "/" + id, map[string]string{"expires_on": ""}, []string{"expires_on"}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					wantProviderFields(t, e.forTest(t).do(tc.method, tc.path, tc.body, admin...), tc.fields)
				})
			}
		})
	})
}

// wantProviderFields fails unless res is a 422 naming exactly fields.
func wantProviderFields(t *testing.T, res response, fields []string) {
	t.Helper()
	var body struct {
		Error struct{ Fields map[string]string }
	}
	decodeInto(t, res, &body)
	got := []string{}
	for f := range body.Error.Fields {
		got = append(got, f)
	}
	if d := cmp.Diff(fields, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); res.Status != http.StatusUnprocessableEntity || d != "" {
		t.Errorf("%d %s\nfields mismatch (-want +got):\n%s", res.Status, res.Raw, d)
	}
}
