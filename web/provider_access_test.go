package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/eonpro/eonpro"
)

// TestProviderPermissions: every role that reads providers reads them,
// and only admins write.
func TestProviderPermissions(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		w := seedProviders(e)
		pr := w.create(t, map[string]any{"user_id": w.doc.ID, "credentials": []string{"MD"}, "npi": "1234567893",
			"licenses": []map[string]string{{"state": "TX", "number": "1", "expires_on": "2027-01-01"}}})
		lic := "/api/v1/providers/" + pr.ID + "/licenses"
		for _, who := range []string{"doc", "staff", "billing"} {
			t.Run(who, func(t *testing.T) {
				e := e.forTest(t)
				for _, path := range []string{"/api/v1/providers", "/api/v1/providers?state=TX", "/api/v1/providers/" + pr.ID, lic} {
					if res := e.do("GET", path, nil, w.hdr[who]...); res.Status != http.StatusOK || !strings.Contains(string(res.Raw), pr.ID) {
						t.Errorf("GET %s: %d %s, want 200 showing the provider", path, res.Status, res.Raw)
					}
				}
				for _, tc := range []struct{ method, path, body string }{
					{"POST", "/api/v1/providers", `{"user_id":"` + w.nurse.ID + `","credentials":["RN"],"npi":"1245319599"}`},
					{"PATCH", "/api/v1/providers/" + pr.ID, `{"bio":"changed"}`},
					{"POST", lic, `{"state":"CA","number":"2","expires_on":"2027-01-01"}`},
					{"PATCH", lic + "/" + pr.Licenses[0].ID, `{"number":"3"}`},
					{"DELETE", lic + "/" + pr.Licenses[0].ID, ""},
				} {
					if res := e.do(tc.method, tc.path, tc.body, w.hdr[who]...); res.Status != http.StatusForbidden {
						t.Errorf("%s %s: %d %s, want 403", tc.method, tc.path, res.Status, res.Raw)
					}
				}
			})
		}
		res := e.do("GET", "/api/v1/providers/"+pr.ID, nil, w.hdr["admin"]...)
		var got eonpro.Provider
		decodeInto(t, res, &got)
		if d := cmp.Diff(pr, &got); d != "" {
			t.Errorf("provider changed by refused writes (-want +got):\n%s", d)
		}
	})
}

// TestProviderIsolation: beta's admin sees alpha's providers and licenses
// as missing, byte for byte, and cannot make one of alpha's members a
// provider of beta.
func TestProviderIsolation(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		w := seedProviders(e)
		pr := w.create(t, map[string]any{"user_id": w.doc.ID, "credentials": []string{"MD"}, "npi": "1234567893",
			"licenses": []map[string]string{{"state": "TX", "number": "1", "expires_on": "2027-01-01"}}})
		beta := w.hdr["betaadmin"]
		alphaLic := pr.Licenses[0].ID
		for _, tc := range []struct{ method, path, body string }{
			{"GET", "/api/v1/providers/%s", ""},
			{"PATCH", "/api/v1/providers/%s", `{"bio":"taken over"}`},
			{"GET", "/api/v1/providers/%s/licenses", ""},
			{"POST", "/api/v1/providers/%s/licenses", `{"state":"CA","number":"2","expires_on":"2027-01-01"}`},
			{"PATCH", "/api/v1/providers/%s/licenses/" + alphaLic, `{"number":"3"}`},
			{"DELETE", "/api/v1/providers/%s/licenses/" + alphaLic, ""},
		} {
			other := e.do(tc.method, strings.Replace(tc.path, "%s", pr.ID, 1), tc.body, beta...)
			missing := e.do(tc.method, strings.Replace(tc.path, "%s", eonpro.NewID(), 1), tc.body, beta...)
			if missing.Status != http.StatusNotFound {
				t.Errorf("%s %s of a missing provider: %d %s, want 404", tc.method, tc.path, missing.Status, missing.Raw)
			}
			sameAnswer(t, tc.method+" "+tc.path+" of alpha's provider", other, missing)
		}
		res := e.do("GET", "/api/v1/providers", nil, beta...)
		if res.Status != http.StatusOK || strings.Contains(string(res.Raw), pr.ID) {
			t.Errorf("beta's list: %d %s", res.Status, res.Raw)
		}
		res = e.do("POST", "/api/v1/providers", map[string]any{"user_id": w.doc.ID, "credentials": []string{"MD"}, "npi": "1245319599"}, beta...)
		if res.Status != http.StatusUnprocessableEntity || res.field("user_id") == "" {
			t.Errorf("beta makes alpha's member its provider: %d %s, want 422 naming user_id", res.Status, res.Raw)
		}
		res = e.do("POST", "/api/v1/providers", map[string]any{"user_id": w.betaDoc.ID, "credentials": []string{"MD"},
			"npi": "1234567893", "clinic_id": e.clinics["alpha"].ID}, beta...)
		if res.Status != http.StatusUnprocessableEntity || res.field("clinic_id") != "is not a known field" {
			t.Errorf("POST naming a clinic: %d %s, want 400", res.Status, res.Raw)
		}
		// The NPI is unique per clinic: beta may list the same clinician.
		res = e.do("POST", "/api/v1/providers", map[string]any{"user_id": w.betaDoc.ID, "credentials": []string{"MD"}, "npi": "1234567893"}, beta...)
		if res.Status != http.StatusCreated {
			t.Errorf("beta's provider with alpha's provider's NPI: %d %s, want 201", res.Status, res.Raw)
		}
		res = e.do("GET", "/api/v1/providers/"+pr.ID, nil, w.hdr["admin"]...)
		var got eonpro.Provider
		decodeInto(t, res, &got)
		if d := cmp.Diff(pr, &got); d != "" {
			t.Errorf("alpha's provider changed by beta (-want +got):\n%s", d)
		}
	})
}

// TestProviderAudit: each write records its event, with the actor, in the
// clinic's chain.
func TestProviderAudit(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		w := seedProviders(e)
		admin := w.hdr["admin"]
		pr := w.create(t, map[string]any{"user_id": w.doc.ID, "credentials": []string{"MD"}, "npi": "1234567893",
			"licenses": []map[string]string{{"state": "TX", "number": "1", "expires_on": "2027-01-01"}}})
		path := "/api/v1/providers/" + pr.ID
		if res := e.do("PATCH", path, map[string]any{"bio": "x", "npi": "1245319599"}, admin...); res.Status != http.StatusOK {
			t.Fatalf("PATCH: %d %s", res.Status, res.Raw)
		}
		res := e.do("POST", path+"/licenses", map[string]string{"state": "CA", "number": "2", "expires_on": "2027-01-01"}, admin...)
		ca, _ := res.Body["id"].(string)
		if res := e.do("PATCH", path+"/licenses/"+ca, map[string]string{"expires_on": "2028-01-01"}, admin...); res.Status != http.StatusOK {
			t.Fatalf("PATCH license: %d %s", res.Status, res.Raw)
		}
		if res := e.do("DELETE", path+"/licenses/"+pr.Licenses[0].ID, nil, admin...); res.Status != http.StatusNoContent {
			t.Fatalf("DELETE license: %d %s", res.Status, res.Raw)
		}
		type event struct {
			Action, ResourceType, ResourceID string
			Detail                           map[string]string
		}
		want := []event{
			{"provider.created", "provider", pr.ID, map[string]string{"user_id": w.doc.ID}},
			{"license.added", "license", pr.Licenses[0].ID, map[string]string{"provider_id": pr.ID, "state": "TX", "expires_on": "2027-01-01"}},
			{"provider.updated", "provider", pr.ID, map[string]string{"fields": "bio,npi"}},
			{"license.added", "license", ca, map[string]string{"provider_id": pr.ID, "state": "CA", "expires_on": "2027-01-01"}},
			{"license.updated", "license", ca, map[string]string{"provider_id": pr.ID, "state": "CA", "expires_on": "2028-01-01"}},
			{"license.removed", "license", pr.Licenses[0].ID, map[string]string{"provider_id": pr.ID, "state": "TX", "expires_on": "2027-01-01"}},
		}
		var page auditList[*eonpro.AuditEvent]
		decodeInto(t, e.do("GET", "/api/v1/audit?limit=200", nil, admin...), &page)
		var got []event
		adminID := e.users["admin@alpha.test"].ID
		for i := len(page.Data) - 1; i >= 0; i-- { // oldest first
			ev := page.Data[i]
			if strings.HasPrefix(string(ev.Action), "provider.") || strings.HasPrefix(string(ev.Action), "license.") {
				got = append(got, event{string(ev.Action), ev.ResourceType, ev.ResourceID, ev.Detail})
				if ev.ActorID != adminID || ev.ActorRole != "admin" || ev.ClinicID != e.clinics["alpha"].ID || ev.RequestID == "" {
					t.Errorf("event %s: actor %s (%s), clinic %s, request %q", ev.Action, ev.ActorID, ev.ActorRole, ev.ClinicID, ev.RequestID)
				}
			}
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("events mismatch (-want +got):\n%s", d)
		}
		res = e.do("GET", "/api/v1/audit/verify", nil, admin...)
		if res.Status != http.StatusOK || res.Body["ok"] != true {
			t.Errorf("verify: %d %s", res.Status, res.Raw)
		}
	})
}
