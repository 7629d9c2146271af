package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/eonpro/eonpro"
)

// acctWorld is seedDocuments' alpha and beta, with a patient record of
// alpha linked to the patient member, and a provider with a TX license.
type acctWorld struct {
	*docWorld
	own, provider string
}

func seedAccount(e *idEnv) *acctWorld {
	e.t.Helper()
	w := &acctWorld{docWorld: seedDocuments(e)}
	ctx := eonpro.NewContextWithPrincipal(context.Background(), &eonpro.Principal{UserID: e.users["admin@alpha.test"].ID,
		ClinicID: e.clinics["alpha"].ID, Role: eonpro.RoleAdmin, Permissions: eonpro.RolePermissions[eonpro.RoleAdmin]})
	p, err := e.patientSvc.CreatePatient(ctx, eonpro.NewPatient{GivenName: "Ada", FamilyName: "Lovelace",
		DateOfBirth: "1980-04-23", Address: eonpro.Address{State: "TX"}, UserID: e.users["patient@alpha.test"].ID})
	if err != nil {
		e.t.Fatal(err)
	}
	w.own = p.ID
	prov := e.user("provider@alpha.test", false, "alpha", eonpro.RoleProvider)
	res := e.do("POST", "/api/v1/providers", map[string]any{"user_id": prov.ID, "credentials": []string{"MD"},
		"npi": "1234567893", "licenses": []map[string]string{{"state": "TX", "number": "TX-1", "expires_on": "2030-01-01"}}},
		bearer(w.admin)...)
	w.provider, _ = res.Body["id"].(string)
	if res.Status != http.StatusCreated {
		e.t.Fatalf("create provider: %d %s", res.Status, res.Raw)
	}
	return w
}

// signedIn is a browserLike client signed in as email.
func (e *idEnv) signedIn(email string) *browserLike {
	e.t.Helper()
	b := e.browserLike()
	b.signIn(email)
	return b
}

// wantPage checks a page's status and that its body holds each of want.
func wantPage(t *testing.T, p pageAnswer, status int, want ...string) {
	t.Helper()
	if p.Status != status {
		t.Fatalf("status %d, want %d: %s", p.Status, status, p.Body)
	}
	for _, s := range want {
		if !strings.Contains(p.Body, s) {
			t.Errorf("page lacks %q:\n%s", s, p.Body)
		}
	}
}

func TestUIAccountDashboard(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		w := seedAccount(e)
		if res := e.do("GET", "/api/v1/patients/"+w.own, nil, bearer(w.staff)...); res.Status != http.StatusOK {
			t.Fatalf("view patient: %d", res.Status)
		}
		t.Run("OK", func(t *testing.T) {
			p := e.signedIn("staff@alpha.test").get("/")
			wantPage(t, p, http.StatusOK, `id="stat-total">2<`, `id="stat-active">2<`, `id="stat-week">2<`,
				`id="stat-month">2<`, `<svg class="day-chart"`, `<title>2026-11-23: 2</title>`, `id="recently-viewed"`,
				`href="/patients/`+w.own+`">Lovelace, Ada</a>`)
			if strings.Contains(p.Body, "style=") {
				t.Error("inline style on the dashboard")
			}
			if n := strings.Count(p.Body, `<rect class="bar"`); n != eonpro.StatsDays {
				t.Errorf("%d bars, want %d", n, eonpro.StatsDays)
			}
		})
		t.Run("RecentlyViewedIsMine", func(t *testing.T) {
			p := e.signedIn("admin@alpha.test").get("/")
			wantPage(t, p, http.StatusOK, "You have not opened a patient")
		})
		t.Run("PatientGoesToPortal", func(t *testing.T) {
			if p := e.signedIn("patient@alpha.test").get("/"); p.Status != http.StatusSeeOther || p.Location != "/portal" {
				t.Errorf("%d %q", p.Status, p.Location)
			}
		})
	})
}

func TestUIAccountProviders(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		w := seedAccount(e)
		admin := e.signedIn("admin@alpha.test")
		path := "/providers/" + w.provider
		t.Run("List", func(t *testing.T) {
			p := e.signedIn("staff@alpha.test").get("/providers")
			wantPage(t, p, http.StatusOK, "Test provider", "1234567893", "<td>TX</td>")
		})
		t.Run("Profile", func(t *testing.T) {
			p := e.signedIn("staff@alpha.test").get(path)
			wantPage(t, p, http.StatusOK, "<h1>Test provider, MD</h1>", "<td>TX-1</td>", "2030-01-01")
			if strings.Contains(p.Body, `id="add-license"`) {
				t.Error("staff (providers:read) see the add-license form")
			}
		})
		t.Run("ErrStaffAddsLicense", func(t *testing.T) {
			p := e.signedIn("staff@alpha.test").post(path+"/licenses", url.Values{"state": {"CA"}, "number": {"CA-1"}, "expires_on": {"2030-01-01"}})
			wantPage(t, p, http.StatusForbidden, "Not allowed")
		})
		t.Run("ErrInvalidLicense", func(t *testing.T) {
			p := admin.post(path+"/licenses", url.Values{"state": {"ZZ"}, "number": {"CA-9"}, "expires_on": {"soon"}})
			wantPage(t, p, http.StatusUnprocessableEntity, `<p class="field-error" id="state-error">must be a US state`,
				`aria-describedby="state-error"`, `id="expires_on-error"`, `value="CA-9"`, `value="ZZ"`)
			if strings.Contains(p.Body, `id="number-error"`) {
				t.Error("a valid number is marked")
			}
		})
		t.Run("AddAndExpire", func(t *testing.T) {
			p := admin.post(path+"/licenses", url.Values{"state": {"ca"}, "number": {"CA-2"}, "expires_on": {"2031-06-30"}})
			if p.Status != http.StatusSeeOther || p.Location != path {
				t.Fatalf("add: %d %q %s", p.Status, p.Location, p.Body)
			}
			p = admin.get(path)
			wantPage(t, p, http.StatusOK, "<td>CA</td><td>CA-2</td><td>2031-06-30</td>")
			id := regexp.MustCompile(`/licenses/([0-9a-f-]{36})/expire`).FindStringSubmatch(p.Body)
			if id == nil {
				t.Fatal("no expire button")
			}
			if p = admin.post(path+"/licenses/"+id[1]+"/expire", nil); p.Status != http.StatusSeeOther {
				t.Fatalf("expire: %d %s", p.Status, p.Body)
			}
			wantPage(t, admin.get(path), http.StatusOK, `<span class="badge expired">expired</span>`)
		})
		t.Run("ErrOtherClinic", func(t *testing.T) {
			beta := e.signedIn("admin@beta.test")
			p := beta.get(path)
			wantPage(t, p, http.StatusNotFound, notFoundMessage)
			missing := beta.get("/providers/" + eonpro.NewID())
			if withoutRequestIDs(missing.Body) != withoutRequestIDs(p.Body) {
				t.Error("another clinic's provider reads unlike a missing one")
			}
		})
		t.Run("ErrPatient", func(t *testing.T) {
			wantPage(t, e.signedIn("patient@alpha.test").get("/providers"), http.StatusForbidden)
		})
	})
}
