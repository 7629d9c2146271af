package web

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
)

// adminSetup makes clinics alpha and beta with an admin each and a staff
// member of alpha.
func adminSetup(e *idEnv) {
	e.clinic("alpha")
	e.clinic("beta")
	e.user("admin@alpha.test", false, "alpha", eonpro.RoleAdmin)
	e.user("staff@alpha.test", false, "alpha", eonpro.RoleStaff)
	e.user("admin@beta.test", false, "beta", eonpro.RoleAdmin)
}

// adminSignedIn is a browserLike client signed in as email.
func adminSignedIn(e *idEnv, email string) *browserLike {
	b := e.browserLike()
	b.signIn(email)
	return b
}

// adminSettingsForm is a valid settings form for alpha.
func adminSettingsForm() url.Values {
	return url.Values{"name": {"Alpha Health"}, "time_zone": {"America/Chicago"}, "primary_color": {"#0f766e"},
		"logo_url": {""}, "custom_css": {"main{max-width:60rem}"}, "mfa_roles": {"admin", "provider"},
		"idle_timeout_minutes": {"20"}, "absolute_session_hours": {"10"}}
}

var adminKeyRe = regexp.MustCompile(`ek_[0-9a-f]{10}_[A-Za-z0-9_\-]+`)

// adminCreateKey creates an API key through the page and returns the
// secret shown and the page.
func adminCreateKey(t *testing.T, b *browserLike, name string, perms ...string) (string, pageAnswer) {
	t.Helper()
	p := b.post("/admin/api-keys", url.Values{"name": {name}, "permissions": perms})
	key := adminKeyRe.FindString(p.Body)
	if p.Status != http.StatusCreated || key == "" {
		t.Fatalf("create key: %d %s", p.Status, p.Body)
	}
	return key, p
}

func TestUIAdminPages(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		adminSetup(e)
		admin := adminSignedIn(e, "admin@alpha.test")
		staff := adminSignedIn(e, "staff@alpha.test")
		for path, want := range map[string]string{
			"/admin/settings": "Clinic settings", "/admin/api-keys": "Create a key", "/admin/audit": "Chain verification",
			"/admin/audit/verify": "Audit chain verification",
		} {
			t.Run("OK"+path, func(t *testing.T) {
				p := admin.get(path)
				if p.Status != 200 || !strings.Contains(p.Body, want) || p.Header.Get("Cache-Control") != "no-store" {
					t.Errorf("%d %v %s", p.Status, p.Header, p.Body)
				}
			})
			t.Run("ErrForbidden"+path, func(t *testing.T) {
				if p := staff.get(path); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "Not allowed") {
					t.Errorf("staff: %d %s", p.Status, p.Body)
				}
			})
		}
		t.Run("ErrForbiddenPost", func(t *testing.T) {
			if p := staff.post("/admin/settings", adminSettingsForm()); p.Status != http.StatusForbidden {
				t.Errorf("settings: %d", p.Status)
			}
			if p := staff.post("/admin/api-keys", url.Values{"name": {"x"}, "permissions": {"clinic:read"}}); p.Status != http.StatusForbidden {
				t.Errorf("api key: %d", p.Status)
			}
		})
	})
}

func TestUIAdminSettings(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		adminSetup(e)
		b := adminSignedIn(e, "admin@alpha.test")

		t.Run("ErrInvalid", func(t *testing.T) {
			f := adminSettingsForm()
			f.Set("name", "Kept Name")
			f.Set("primary_color", "red")
			f.Set("idle_timeout_minutes", "soon")
			f.Set("new_flag", "Not A Flag")
			p := b.post("/admin/settings", f)
			if p.Status != http.StatusUnprocessableEntity {
				t.Fatalf("%d %s", p.Status, p.Body)
			}
			for _, want := range []string{
				`aria-describedby="primary_color-error"`, `id="primary_color-error">must be a colour like #1a73e8<`,
				`id="idle_timeout_minutes-error">must be a whole number<`, `id="new_flag-error">`,
				`value="Kept Name"`, `value="soon"`, `value="Not A Flag"`,
			} {
				if !strings.Contains(p.Body, want) {
					t.Errorf("missing %q in\n%s", want, p.Body)
				}
			}
			if c := adminClinic(t, e, "alpha"); c.Name != "Alpha Clinic" {
				t.Errorf("an invalid form saved: %q", c.Name)
			}
		})
		t.Run("OK", func(t *testing.T) {
			f := adminSettingsForm()
			f.Set("new_flag", "beta-reports")
			p := b.post("/admin/settings", f)
			if p.Status != http.StatusSeeOther || p.Location != "/admin/settings?saved=1" {
				t.Fatalf("%d %q %s", p.Status, p.Location, p.Body)
			}
			page := b.get(p.Location)
			for _, want := range []string{"The settings were saved.", `value="Alpha Health"`, `value="#0f766e"`,
				`value="beta-reports" checked`, `value="admin" checked`, `value="staff">`, `value="20"`} {
				if !strings.Contains(page.Body, want) {
					t.Errorf("missing %q", want)
				}
			}
			css := e.do("GET", "/brand.css", nil, "X-Clinic", "alpha")
			if want := ":root{--brand:#0f766e;}\nmain{max-width:60rem}"; string(css.Raw) != want {
				t.Errorf("brand.css %q, want %q", css.Raw, want)
			}
			c := adminClinic(t, e, "alpha")
			if c.Settings.SecurityPolicy.IdleTimeoutMinutes != 20 || c.TimeZone != "America/Chicago" || !c.Settings.FeatureFlags["beta-reports"] {
				t.Errorf("saved: %+v", c)
			}
			// Unchecked, the flag is turned off.
			if p := b.post("/admin/settings", adminSettingsForm()); p.Status != http.StatusSeeOther {
				t.Fatalf("%d %s", p.Status, p.Body)
			}
			if c := adminClinic(t, e, "alpha"); c.Settings.FeatureFlags["beta-reports"] {
				t.Errorf("flag still on")
			}
		})
	})
}

// adminClinic reads a clinic as the system.
func adminClinic(t *testing.T, e *idEnv, slug string) *eonpro.Clinic {
	t.Helper()
	c, err := sqlstore.NewClinicService(e.db).FindClinicByRef(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestUIAdminAPIKeys(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		adminSetup(e)
		b := adminSignedIn(e, "admin@alpha.test")

		t.Run("ErrInvalid", func(t *testing.T) {
			p := b.post("/admin/api-keys", url.Values{"name": {""}})
			if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="key-name-error"`) ||
				!strings.Contains(p.Body, `id="key-perms-error"`) {
				t.Errorf("%d %s", p.Status, p.Body)
			}
			p = b.post("/admin/api-keys", url.Values{"name": {"Too much"}, "permissions": {"platform:admin"}})
			if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `value="Too much"`) {
				t.Errorf("a permission not held: %d %s", p.Status, p.Body)
			}
		})
		key, created := adminCreateKey(t, b, "Lab feed", "clinic:read", "patients:read")
		t.Run("ShownOnce", func(t *testing.T) {
			if !strings.Contains(created.Body, "will not be shown again") || created.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("%v %s", created.Header, created.Body)
			}
			list := b.get("/admin/api-keys")
			if list.Status != 200 || !strings.Contains(list.Body, "Lab feed") || strings.Contains(list.Body, key) ||
				!strings.Contains(list.Body, key[:len("ek_")+10]) || !strings.Contains(list.Body, "patients:read") {
				t.Errorf("list: %d %s", list.Status, list.Body)
			}
			secret := key[len("ek_")+11:]
			if strings.Contains(e.log.String(), secret) || strings.Contains(created.Location, secret) {
				t.Error("the secret is in the log or a URL")
			}
		})
		if res := e.do("GET", "/api/v1/clinic", nil, bearer(key)...); res.Status != http.StatusOK {
			t.Fatalf("the new key: %d %s", res.Status, res.Raw)
		}
		id := regexp.MustCompile(`/admin/api-keys/([^/]+)/revoke`).FindStringSubmatch(b.get("/admin/api-keys").Body)
		if id == nil {
			t.Fatal("no revoke link")
		}
		t.Run("ErrOtherClinic", func(t *testing.T) {
			other := adminSignedIn(e, "admin@beta.test")
			confirm := other.get("/admin/api-keys/" + id[1] + "/revoke")
			missing := other.get("/admin/api-keys/no-such-key/revoke")
			if confirm.Status != 404 || withoutRequestIDs(confirm.Body) != withoutRequestIDs(missing.Body) {
				t.Errorf("confirm page: %d %s", confirm.Status, confirm.Body)
			}
			if p := other.post("/admin/api-keys/"+id[1]+"/revoke", nil); p.Status != 404 {
				t.Errorf("revoke: %d", p.Status)
			}
			if res := e.do("GET", "/api/v1/clinic", nil, bearer(key)...); res.Status != http.StatusOK {
				t.Errorf("the key after another clinic's attempt: %d", res.Status)
			}
		})
		t.Run("Revoke", func(t *testing.T) {
			confirm := b.get("/admin/api-keys/" + id[1] + "/revoke")
			if confirm.Status != 200 || !strings.Contains(confirm.Body, "Revoke the key <strong>Lab feed</strong>") {
				t.Fatalf("confirm: %d %s", confirm.Status, confirm.Body)
			}
			p := b.post("/admin/api-keys/"+id[1]+"/revoke", nil)
			if p.Status != http.StatusSeeOther || p.Location != "/admin/api-keys?revoked=1" {
				t.Fatalf("%d %q", p.Status, p.Location)
			}
			if list := b.get(p.Location); !strings.Contains(list.Body, "The key was revoked.") || !strings.Contains(list.Body, "revoked 20") {
				t.Errorf("list: %s", list.Body)
			}
			if res := e.do("GET", "/api/v1/clinic", nil, bearer(key)...); res.Status != http.StatusUnauthorized {
				t.Errorf("the revoked key: %d %s", res.Status, res.Raw)
			}
		})
	})
}

var adminBadgeRe = regexp.MustCompile(`<span class="badge">([a-z_.]+)</span>`)

// adminActions lists the actions of the audit page's rows.
func adminActions(body string) []string {
	var out []string
	for _, m := range adminBadgeRe.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// adminHTMX requests path as htmx does and returns the body.
func adminHTMX(t *testing.T, b *browserLike, path string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", b.e.srv.URL+path, nil)
	req.Header.Set("HX-Request", "true")
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %s", path, res.StatusCode, raw)
	}
	return string(raw)
}

// adminRecordViews records n phi.view events of the system in alpha.
func adminRecordViews(t *testing.T, e *idEnv, n int) {
	t.Helper()
	for range n {
		if err := e.audit.Record(context.Background(), eonpro.AuditEvent{ClinicID: e.clinics["alpha"].ID, Action: eonpro.ActionPHIView,
			ActorType: eonpro.ActorSystem, ResourceType: "patient", ResourceID: "p1"}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestUIAdminAudit(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		adminSetup(e)
		b := adminSignedIn(e, "admin@alpha.test")
		adminRecordViews(t, e, 1)
		adminCreateKey(t, b, "One", "clinic:read")
		adminCreateKey(t, b, "Two", "clinic:read")
		if p := b.post("/admin/settings", adminSettingsForm()); p.Status != http.StatusSeeOther {
			t.Fatalf("settings: %d", p.Status)
		}

		t.Run("Filters", func(t *testing.T) {
			all := adminActions(b.get("/admin/audit").Body)
			p := b.get("/admin/audit?action=apikey.created")
			got := adminActions(p.Body)
			if p.Status != 200 || len(got) != 2 || len(all) != 4 || !strings.Contains(p.Body, `value="apikey.created" selected`) {
				t.Errorf("%d: %v of %v", p.Status, got, all)
			}
			for _, a := range got {
				if a != "apikey.created" {
					t.Errorf("filtered by action: %v", got)
				}
			}
			actor := e.users["admin@alpha.test"].ID
			byActor := b.get("/admin/audit?actor_id=" + actor).Body
			if got := adminActions(byActor); len(got) != 3 {
				t.Errorf("by actor: %v of %v", got, all)
			}
			if name := e.users["admin@alpha.test"].Name; !strings.Contains(byActor, name+" (admin)") {
				t.Errorf("the actor is not named %q", name)
			}
			if got := adminActions(b.get("/admin/audit?from=2026-11-24").Body); len(got) != 0 {
				t.Errorf("from tomorrow: %v", got)
			}
			if got := adminActions(b.get("/admin/audit?from=2026-11-23&to=2026-11-23").Body); len(got) != len(all) {
				t.Errorf("today: %v of %v", got, all)
			}
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			p := b.get("/admin/audit?from=yesterday")
			if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="from-error"`) || !strings.Contains(p.Body, `value="yesterday"`) {
				t.Errorf("%d %s", p.Status, p.Body)
			}
		})
		t.Run("Pages", func(t *testing.T) {
			adminRecordViews(t, e, 54)
			first := b.get("/admin/audit?action=phi.view")
			next := regexp.MustCompile(`href="(/admin/audit\?[^"]*cursor=[^"]+)"`).FindStringSubmatch(first.Body)
			if len(adminActions(first.Body)) != 50 || next == nil {
				t.Fatalf("first page: %d rows, next %v", len(adminActions(first.Body)), next)
			}
			second := b.get(strings.ReplaceAll(next[1], "&amp;", "&"))
			if got := adminActions(second.Body); len(got) != 5 || got[0] != "phi.view" || strings.Contains(second.Body, `id="audit-next"`) {
				t.Errorf("second page: %v", got)
			}
		})
		t.Run("CSV", func(t *testing.T) {
			p := b.get("/admin/audit")
			if !strings.Contains(p.Body, `href="/admin/audit/export.csv" id="audit-csv"`) {
				t.Errorf("no CSV link")
			}
			csv := b.get("/admin/audit/export.csv?action=apikey.created")
			lines := strings.Split(strings.TrimSpace(csv.Body), "\n")
			if csv.Status != 200 || !strings.HasPrefix(csv.Header.Get("Content-Type"), "text/csv") || len(lines) != 3 ||
				!strings.HasPrefix(lines[0], "id,time,clinic_id") || !strings.Contains(lines[1], "apikey.created") {
				t.Errorf("%d %v %q", csv.Status, csv.Header, csv.Body)
			}
			if bad := b.get("/admin/audit/export.csv?to=never"); bad.Status != http.StatusUnprocessableEntity {
				t.Errorf("a bad date: %d", bad.Status)
			}
		})
		t.Run("Verify", func(t *testing.T) {
			if p := b.get("/admin/audit"); !strings.Contains(p.Body, `hx-get="/admin/audit/verify" hx-trigger="load"`) {
				t.Errorf("the audit page does not load the verification")
			}
			if p := b.get("/admin/audit/verify"); !strings.Contains(p.Body, `<span class="status-ok" id="verify-status">OK</span>`) {
				t.Errorf("intact chain: %s", p.Body)
			} else if !strings.Contains(p.Body, `id="verify-checkpoints"`) || !strings.Contains(p.Body, "<li>checkpoint directory: ") {
				t.Errorf("the checkpoints and their sources are not shown: %s", p.Body)
			}
			if frag := adminHTMX(t, b, "/admin/audit/verify"); !strings.HasPrefix(strings.TrimSpace(frag), "<p><span class=\"status-ok\"") {
				t.Errorf("fragment: %s", frag)
			}
			evs, _, err := e.audit.FindAuditEvents(eonpro.NewContextWithPrincipal(context.Background(), &eonpro.Principal{
				ClinicID: e.clinics["alpha"].ID, Permissions: []eonpro.Permission{eonpro.PermAuditRead}}), eonpro.AuditFilter{Limit: 200})
			if err != nil {
				t.Fatal(err)
			}
			bad := evs[len(evs)-2] // the second event of the chain
			tamper := []sqlstore.Stmt{
				{Name: "test_admin_drop_trigger", SQL: `DROP TRIGGER audit_events_no_change ON audit_events`, SQLite: `DROP TRIGGER audit_events_no_update`},
				{Name: "test_admin_modify", SQL: `UPDATE audit_events SET actor_id = 'someone' WHERE id = $1`},
			}
			for i, st := range tamper {
				if err := e.db.InTx(context.Background(), func(tx *sqlstore.Tx) error {
					_, err := tx.Exec(context.Background(), st, []any{bad.ID}[:i]...)
					return err
				}); err != nil {
					t.Fatal(err)
				}
			}
			p := b.get("/admin/audit/verify")
			if !strings.Contains(p.Body, `id="verify-status">BROKEN</span>`) || !strings.Contains(p.Body, "event #2 (<code>"+bad.ID+"</code>)") {
				t.Errorf("broken chain: %s", p.Body)
			}
		})
	})
}

// TestUIJobs: the admin's page of background jobs answers, and only
// admins open it; the API lists by state and names a bad one.
func TestUIJobs(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		membersSeed(e)
		admin := e.browserLike()
		admin.signIn("admin@alpha.test")
		membersExpect(t, "jobs", admin.get("/admin/jobs"), 200, "Background jobs", "No failed jobs.")
		staff := e.browserLike()
		staff.signIn("staff@alpha.test")
		membersExpect(t, "staff", staff.get("/admin/jobs"), 403)
		tok := with(bearer(e.login("admin@alpha.test")), []string{"X-Clinic", "alpha"})
		if res := e.do("GET", "/api/v1/jobs?state=failed", nil, tok...); res.Status != 200 || !strings.Contains(string(res.Raw), `"data":[]`) {
			t.Errorf("jobs: %d %s", res.Status, res.Raw)
		}
		if res := e.do("GET", "/api/v1/jobs?state=lost", nil, tok...); res.Status != 422 || res.field("state") == "" {
			t.Errorf("a bad state: %d %s, want 422 naming state", res.Status, res.Raw)
		}
		if res := e.do("POST", "/api/v1/jobs/abc/retry", nil, tok...); res.Status != 404 {
			t.Errorf("a bad id: %d %s, want 404", res.Status, res.Raw)
		}
	})
}
