package web

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/eonpro/eonpro"
)

// TestLicenses adds, lists, renews and removes a provider's licenses. The
// subtests run in order on one provider.
func TestLicenses(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		w := seedProviders(e)
		admin := w.hdr["admin"]
		pr := w.create(t, map[string]any{"user_id": w.doc.ID, "credentials": []string{"PMHNP"}, "npi": "1234567893"})
		path := "/api/v1/providers/" + pr.ID + "/licenses"
		var tx, ny *eonpro.License
		list := func(t *testing.T) []*eonpro.License {
			t.Helper()
			var page struct{ Data []*eonpro.License }
			res := e.do("GET", path, nil, w.hdr["staff"]...)
			if res.Status != http.StatusOK {
				t.Fatalf("list: %d %s", res.Status, res.Raw)
			}
			decodeInto(t, res, &page)
			return page.Data
		}
		t.Run("Add", func(t *testing.T) {
			e := e.forTest(t)
			for _, l := range []**eonpro.License{&tx, &ny} {
				body := map[string]string{"state": "TX", "number": "abc-123", "expires_on": "2027-02-28"}
				if l == &ny {
					body = map[string]string{"state": "NY", "number": "301234", "expires_on": "2026-12-01"}
				}
				res := e.do("POST", path, body, admin...)
				if res.Status != http.StatusCreated {
					t.Fatalf("add: %d %s", res.Status, res.Raw)
				}
				decodeInto(t, res, l)
			}
			want := &eonpro.License{ID: tx.ID, ProviderID: pr.ID, State: "TX", Number: "ABC-123", ExpiresOn: "2027-02-28",
				CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()}
			if d := cmp.Diff(want, tx); d != "" {
				t.Errorf("license mismatch (-want +got):\n%s", d)
			}
			if d := cmp.Diff([]*eonpro.License{ny, tx}, list(t)); d != "" {
				t.Errorf("list mismatch (-want +got):\n%s", d)
			}
		})
		t.Run("ErrDuplicate", func(t *testing.T) {
			e := e.forTest(t)
			res := e.do("POST", path, map[string]string{"state": "tx", "number": "ABC-123", "expires_on": "2029-01-01"}, admin...)
			if res.Status != http.StatusConflict || res.field("number") == "" {
				t.Errorf("same number and state: %d %s, want 409 naming number", res.Status, res.Raw)
			}
			res = e.do("PATCH", path+"/"+ny.ID, map[string]string{"state": "TX", "number": "abc-123"}, admin...)
			if res.Status != http.StatusConflict {
				t.Errorf("PATCH onto another license: %d %s, want 409", res.Status, res.Raw)
			}
		})
		t.Run("Renew", func(t *testing.T) {
			e := e.forTest(t)
			res := e.do("PATCH", path+"/"+ny.ID, map[string]string{"expires_on": "2028-12-01"}, admin...)
			var got eonpro.License
			decodeInto(t, res, &got)
			want := *ny
			want.ExpiresOn = "2028-12-01"
			if d := cmp.Diff(&want, &got); res.Status != http.StatusOK || d != "" {
				t.Errorf("renew: %d, mismatch (-want +got):\n%s", res.Status, d)
			}
			ny = &got
			res = e.do("GET", "/api/v1/providers/"+pr.ID, nil, admin...)
			var p eonpro.Provider
			decodeInto(t, res, &p)
			if d := cmp.Diff([]*eonpro.License{ny, tx}, p.Licenses); d != "" {
				t.Errorf("provider's licenses mismatch (-want +got):\n%s", d)
			}
		})
		t.Run("Remove", func(t *testing.T) {
			e := e.forTest(t)
			if res := e.do("DELETE", path+"/"+tx.ID, nil, admin...); res.Status != http.StatusNoContent {
				t.Fatalf("delete: %d %s", res.Status, res.Raw)
			}
			if d := cmp.Diff([]*eonpro.License{ny}, list(t)); d != "" {
				t.Errorf("list after delete mismatch (-want +got):\n%s", d)
			}
			for _, method := range []string{"DELETE", "PATCH"} {
				if res := e.do(method, path+"/"+tx.ID, "{}", admin...); res.Status != http.StatusNotFound {
					t.Errorf("%s a removed license: %d %s, want 404", method, res.Status, res.Raw)
				}
			}
		})
		t.Run("ErrOtherProvider", func(t *testing.T) {
			e := e.forTest(t)
			nurse := w.create(t, map[string]any{"user_id": w.nurse.ID, "credentials": []string{"RN"}, "npi": "1245319599"})
			other := e.do("PATCH", "/api/v1/providers/"+nurse.ID+"/licenses/"+ny.ID, map[string]string{"number": "1"}, admin...)
			missing := e.do("PATCH", "/api/v1/providers/"+nurse.ID+"/licenses/"+eonpro.NewID(), map[string]string{"number": "1"}, admin...)
			if missing.Status != http.StatusNotFound {
				t.Errorf("missing license: %d %s, want 404", missing.Status, missing.Raw)
			}
			sameAnswer(t, "another provider's license", other, missing)
			if d := cmp.Diff([]*eonpro.License{ny}, list(t)); d != "" {
				t.Errorf("licenses changed (-want +got):\n%s", d)
			}
		})
	})
}
