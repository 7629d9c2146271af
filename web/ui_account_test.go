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

func TestUIAccountPassword(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		seedAccount(e)
		b := e.signedIn("staff@alpha.test")
		wantPage(t, b.get("/account"), http.StatusOK, `id="account-name">Test staff<`, "staff@alpha.test",
			`<label for="current_password">`)
		for _, tt := range []struct {
			name         string
			form         url.Values
			field, error string
		}{
			{"ErrEmpty", url.Values{}, "current_password", "is required"},
			{"ErrMismatch", url.Values{"current_password": {testPassword}, "new_password": {"a much longer passphrase"},
				"confirm_password": {"something else"}}, "confirm_password", "does not match"},
			{"ErrWrongCurrent", url.Values{"current_password": {"wrong"}, "new_password": {"a much longer passphrase"},
				"confirm_password": {"a much longer passphrase"}}, "current_password", "is wrong"},
			{"ErrWeakNew", url.Values{"current_password": {testPassword}, "new_password": {"short"},
				"confirm_password": {"short"}}, "new_password", "Use at least"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				p := b.post("/account/password", tt.form)
				wantPage(t, p, http.StatusUnprocessableEntity, `id="`+tt.field+`-error">`+tt.error,
					`aria-describedby="`+tt.field+`-error"`)
			})
		}
		t.Run("OK", func(t *testing.T) {
			other := e.signedIn("staff@alpha.test")
			p := b.post("/account/password", url.Values{"current_password": {testPassword},
				"new_password": {"a much longer passphrase"}, "confirm_password": {"a much longer passphrase"}})
			if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/login") {
				t.Fatalf("%d %q %s", p.Status, p.Location, p.Body)
			}
			// Every session ended, this one too.
			for name, c := range map[string]*browserLike{"this": b, "other": other} {
				if p := c.get("/account"); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/login") {
					t.Errorf("%s session after the change: %d %q", name, p.Status, p.Location)
				}
			}
			p = e.browserLike().send("POST", "/login", url.Values{"email": {"staff@alpha.test"}, "password": {"a much longer passphrase"}})
			if p.Status != http.StatusSeeOther {
				t.Errorf("sign in with the new password: %d", p.Status)
			}
		})
	})
}

var (
	secretRe = regexp.MustCompile(`id="mfa-secret">([A-Z2-7]+)<`)
	codesRe  = regexp.MustCompile(`<li><code>([^<]+)</code></li>`)
)

func TestUIAccountMFA(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		seedAccount(e)
		e.clinic("secure", eonpro.RoleStaff)
		e.user("staff@secure.test", false, "secure", eonpro.RoleStaff)
		t.Run("EnrolAndDisable", func(t *testing.T) {
			b := e.signedIn("staff@alpha.test")
			p := b.get("/account/mfa")
			wantPage(t, p, http.StatusOK, `src="data:image/png;base64,`, `<label for="code">`)
			m := secretRe.FindStringSubmatch(p.Body)
			if m == nil {
				t.Fatalf("no secret: %s", p.Body)
			}
			p = b.post("/account/mfa/confirm", url.Values{"code": {"000000"}, "secret": {m[1]}})
			wantPage(t, p, http.StatusUnprocessableEntity, `id="code-error"`, `aria-invalid="true"`, m[1])
			p = b.post("/account/mfa/confirm", url.Values{"code": {e.totpNow(m[1])}, "secret": {m[1]}})
			wantPage(t, p, http.StatusOK, "They are shown only now")
			codes := codesRe.FindAllStringSubmatch(p.Body, -1)
			if len(codes) != 10 {
				t.Fatalf("%d backup codes, want 10", len(codes))
			}
			wantPage(t, b.get("/account/mfa"), http.StatusOK, `id="mfa-on"`, "Turn it off")
			wantPage(t, b.get("/account"), http.StatusOK, `id="mfa-state">on<`)
			p = b.post("/account/mfa/disable", url.Values{"password": {"wrong"}, "code": {codes[0][1]}})
			wantPage(t, p, http.StatusUnprocessableEntity, `id="password-error">is wrong`)
			p = b.post("/account/mfa/disable", url.Values{"password": {testPassword}, "code": {codes[1][1]}})
			if p.Status != http.StatusSeeOther {
				t.Fatalf("disable: %d %s", p.Status, p.Body)
			}
			wantPage(t, b.get("/account"), http.StatusOK, `id="mfa-state">off<`)
		})
		t.Run("RequiredByPolicy", func(t *testing.T) {
			b := e.browserLike()
			p := b.send("POST", "/login", url.Values{"email": {"staff@secure.test"}, "password": {testPassword}})
			if p.Status != http.StatusSeeOther || p.Location != "/account/mfa" {
				t.Fatalf("sign in: %d %q", p.Status, p.Location)
			}
			if p := b.get("/account"); p.Status != http.StatusSeeOther || p.Location != "/account/mfa" {
				t.Errorf("before enrolling, /account: %d %q", p.Status, p.Location)
			}
			// Someone who will not enrol now can still sign out.
			quitter := e.browserLike()
			quitter.send("POST", "/login", url.Values{"email": {"staff@secure.test"}, "password": {testPassword}})
			if p := quitter.post("/logout", nil); p.Status != http.StatusSeeOther || p.Location != "/login" {
				t.Errorf("sign out before enrolling: %d %q", p.Status, p.Location)
			}
			if p := quitter.get("/account/mfa"); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/login") {
				t.Errorf("after signing out: %d %q", p.Status, p.Location)
			}
			p = b.get("/account/mfa")
			wantPage(t, p, http.StatusOK, "Your clinic requires two-factor authentication", `src="data:image/png;base64,`)
			m := secretRe.FindStringSubmatch(p.Body)
			if m == nil {
				t.Fatalf("no secret: %s", p.Body)
			}
			p = b.post("/account/mfa/confirm", url.Values{"code": {e.totpNow(m[1])}})
			wantPage(t, p, http.StatusOK, `id="backup-codes"`)
			if p := b.get("/account"); p.Status != http.StatusOK {
				t.Errorf("after enrolling, /account: %d %q", p.Status, p.Location)
			}
		})
	})
}

func TestUIAccountSessions(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		seedAccount(e)
		b, other := e.signedIn("staff@alpha.test"), e.signedIn("staff@alpha.test")
		p := b.get("/account/sessions")
		wantPage(t, p, http.StatusOK, `id="current-session">this device<`)
		ids := regexp.MustCompile(`/account/sessions/([0-9a-f-]{36})/revoke`).FindAllStringSubmatch(p.Body, -1)
		current := regexp.MustCompile(`(?s)<tr class="current">.*?/account/sessions/([0-9a-f-]{36})/revoke`).FindStringSubmatch(p.Body)
		if len(ids) < 3 || current == nil { // seedDocuments signed in by the API too
			t.Fatalf("%d sessions, current %v", len(ids), current)
		}
		t.Run("RevokeOther", func(t *testing.T) {
			wantPage(t, other.get("/account"), http.StatusOK)
			var revoked int
			for _, id := range ids {
				if id[1] != current[1] {
					if p := b.post("/account/sessions/"+id[1]+"/revoke", nil); p.Status != http.StatusSeeOther || p.Location != "/account/sessions" {
						t.Fatalf("revoke: %d %q", p.Status, p.Location)
					}
					revoked++
				}
			}
			if p := other.get("/account"); p.Status != http.StatusSeeOther {
				t.Errorf("the other device is still signed in: %d", p.Status)
			}
			wantPage(t, b.get("/account"), http.StatusOK)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			wantPage(t, b.post("/account/sessions/"+eonpro.NewID()+"/revoke", nil), http.StatusNotFound, notFoundMessage)
		})
		t.Run("ErrCSRF", func(t *testing.T) {
			wantPage(t, b.post("/account/sessions/"+current[1]+"/revoke", url.Values{"csrf": {"forged"}}), http.StatusForbidden)
		})
		t.Run("RevokeCurrent", func(t *testing.T) {
			if p := b.post("/account/sessions/"+current[1]+"/revoke", nil); p.Status != http.StatusSeeOther || p.Location != "/login" {
				t.Fatalf("%d %q", p.Status, p.Location)
			}
			if p := b.get("/account"); p.Status != http.StatusSeeOther {
				t.Errorf("still signed in: %d", p.Status)
			}
		})
	})
}

func TestUIAccountPortal(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		w := seedAccount(e)
		up := w.upload(w.admin, w.own, kindPart("lab_result"), pdfFile("labs.pdf", "mine"))
		doc, _ := up.Body["id"].(string)
		theirs, _ := w.upload(w.admin, w.patient, kindPart("lab_result"), pdfFile("theirs.pdf", "theirs")).Body["id"].(string)
		if doc == "" || theirs == "" {
			t.Fatalf("upload: %d %s", up.Status, up.Raw)
		}
		res := e.do("POST", "/api/v1/patients/"+w.own+"/consents", map[string]string{"kind": "telehealth",
			"version": "2026-01", "signed_name": "Ada Lovelace"}, bearer(w.admin)...)
		if res.Status != http.StatusCreated {
			t.Fatalf("consent: %d %s", res.Status, res.Raw)
		}
		// Staff open the patient's page: the record, its documents and its
		// consents are read, one visit.
		if p := e.signedIn("staff@alpha.test").get("/patients/" + w.own); p.Status != http.StatusOK {
			t.Fatalf("view: %d", p.Status)
		}
		b := e.signedIn("patient@alpha.test")
		t.Run("OK", func(t *testing.T) {
			p := b.get("/portal")
			wantPage(t, p, http.StatusOK, `id="portal-name">Ada Lovelace<`, `href="/portal/documents/`+doc+`"`, "labs.pdf",
				"telehealth", "version 2026-01", `<td>Test staff <span class="muted">(staff)</span></td><td>Viewed</td>`,
				`<td>Test admin <span class="muted">(admin)</span></td><td>Added</td>`)
			if n := strings.Count(p.Body, `<td>Test staff <span class="muted">(staff)</span></td><td>Viewed</td>`); n != 1 {
				t.Errorf("one visit listed %d times", n)
			}
			if strings.Contains(p.Body, "theirs.pdf") || strings.Contains(p.Body, "<td>You</td>") {
				t.Error("another patient's document, or the patient's own visits, listed")
			}
		})
		t.Run("Download", func(t *testing.T) {
			p := b.get("/portal/documents/" + doc)
			if p.Status != http.StatusOK || !strings.Contains(p.Body, "mine") || !strings.Contains(p.Header.Get("Content-Disposition"), "labs.pdf") {
				t.Errorf("%d %v %q", p.Status, p.Header, p.Body)
			}
		})
		t.Run("ErrAnotherPatientsDocument", func(t *testing.T) {
			p := b.get("/portal/documents/" + theirs)
			wantPage(t, p, http.StatusNotFound, notFoundMessage)
			if withoutRequestIDs(p.Body) != withoutRequestIDs(b.get("/portal/documents/"+eonpro.NewID()).Body) {
				t.Error("another patient's document reads unlike a missing one")
			}
		})
		t.Run("ErrStaff", func(t *testing.T) {
			staff := e.signedIn("staff@alpha.test")
			wantPage(t, staff.get("/portal"), http.StatusForbidden)
			wantPage(t, staff.get("/portal/documents/"+doc), http.StatusForbidden)
		})
		t.Run("ErrPatientOpensStaffPages", func(t *testing.T) {
			for _, path := range []string{"/providers", "/providers/" + w.provider} {
				wantPage(t, b.get(path), http.StatusForbidden)
			}
		})
		t.Run("Phone", func(t *testing.T) {
			css := b.get("/static/app.css")
			wantPage(t, css, http.StatusOK, "@media (max-width: 40rem)", ".portal { grid-template-columns: 1fr; }")
		})
	})
}
