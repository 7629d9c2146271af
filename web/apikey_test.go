package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/eonpro/eonpro"
)

// apiKeyBody is an API key as the API shows it.
type apiKeyBody struct {
	ID          string              `json:"id"`
	Name        string              `json:"name"`
	Prefix      string              `json:"prefix"`
	Permissions []eonpro.Permission `json:"permissions"`
	CreatedBy   string              `json:"created_by"`
	LastUsedAt  *time.Time          `json:"last_used_at"`
	RevokedAt   *time.Time          `json:"revoked_at"`
	Key         string              `json:"key"`
}

// createKey makes an API key with the session tok and returns it.
func (e *idEnv) createKey(tok, name string, perms ...eonpro.Permission) apiKeyBody {
	e.t.Helper()
	res := e.do("POST", "/api/v1/api-keys", map[string]any{"name": name, "permissions": perms}, bearer(tok)...)
	var k apiKeyBody
	decode(e.t, res, &k)
	if res.Status != http.StatusCreated || k.Key == "" {
		e.t.Fatalf("create key: %d %s", res.Status, res.Raw)
	}
	return k
}

// listKeys lists the clinic's keys with tok.
func (e *idEnv) listKeys(tok string) []apiKeyBody {
	e.t.Helper()
	res := e.do("GET", "/api/v1/api-keys", nil, bearer(tok)...)
	var got struct {
		Data []apiKeyBody `json:"data"`
	}
	decode(e.t, res, &got)
	if res.Status != http.StatusOK {
		e.t.Fatalf("list keys: %d %s", res.Status, res.Raw)
	}
	if strings.Contains(string(res.Raw), `"key"`) {
		e.t.Errorf("the list shows a secret: %s", res.Raw)
	}
	return got.Data
}

func TestAPIKeys(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha")
		e.clinic("beta")
		admin := e.user("admin@alpha.test", false, "alpha", eonpro.RoleAdmin)
		e.user("staff@alpha.test", false, "alpha", eonpro.RoleStaff)
		e.user("admin@beta.test", false, "beta", eonpro.RoleAdmin)
		tok := e.login("admin@alpha.test")

		t.Run("OK", func(t *testing.T) {
			e := e.under(t)
			k := e.createKey(tok, "  reporting ", eonpro.PermMembersRead, eonpro.PermClinicRead, eonpro.PermClinicRead)
			if !strings.HasPrefix(k.Key, "ek_"+k.Prefix+"_") || len(k.Prefix) != 10 {
				t.Errorf("key %q does not start with ek_ and its prefix %q", k.Key, k.Prefix)
			}
			want := apiKeyBody{ID: k.ID, Name: "reporting", Prefix: k.Prefix, CreatedBy: admin.ID,
				Permissions: []eonpro.Permission{eonpro.PermClinicRead, eonpro.PermMembersRead}}
			got := k
			got.Key = ""
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("created key mismatch (-want +got):\n%s", diff)
			}
			if list := e.listKeys(tok); len(list) != 1 || list[0].ID != k.ID || list[0].LastUsedAt != nil {
				t.Errorf("list before use: %+v", list)
			}
			e.clock.Add(time.Minute)
			res := e.do("GET", "/api/v1/clinic", nil, bearer(k.Key)...)
			if res.Status != http.StatusOK || res.Body["slug"] != "alpha" {
				t.Errorf("GET /clinic with the key: %d %s, want alpha", res.Status, res.Raw)
			}
			if s := e.status("GET", "/api/v1/clinic/members", with(bearer(k.Key), []string{"X-Clinic", "alpha"})...); s != http.StatusOK {
				t.Errorf("GET /clinic/members with the key naming its clinic: %d, want 200", s)
			}
			if list := e.listKeys(tok); len(list) != 1 || list[0].LastUsedAt == nil || !list[0].LastUsedAt.Equal(e.clock.Now()) {
				t.Errorf("last_used_at after use at %v: %+v", e.clock.Now(), list)
			}
		})

		t.Run("ErrOutsidePermissions", func(t *testing.T) {
			e := e.under(t)
			k := e.createKey(tok, "read only", eonpro.PermClinicRead)
			for _, r := range []struct{ method, path string }{
				{"GET", "/api/v1/clinic/members"},
				{"PATCH", "/api/v1/clinic"},
				{"GET", "/api/v1/api-keys"},
				{"POST", "/api/v1/api-keys"},
				{"GET", "/api/v1/admin/clinics"},
			} {
				if res := e.do(r.method, r.path, nil, bearer(k.Key)...); res.Status != http.StatusForbidden || res.errCode() != eonpro.EFORBIDDEN {
					t.Errorf("%s %s with a clinic:read key: %d %s, want 403", r.method, r.path, res.Status, res.Raw)
				}
			}
			// Another clinic answers as a missing one (issue 10 #8).
			if s := e.status("GET", "/api/v1/clinic", with(bearer(k.Key), []string{"X-Clinic", "beta"})...); s != http.StatusNotFound {
				t.Errorf("the key naming another clinic: %d, want 404", s)
			}
			if s := e.status("GET", "/api/v1/clinic", bearer(k.Key)...); s != http.StatusOK {
				t.Errorf("the key on its own route: %d, want 200", s)
			}
		})

		t.Run("ErrNotASession", func(t *testing.T) {
			e := e.under(t)
			k := e.createKey(tok, "everything", eonpro.RolePermissions[eonpro.RoleAdmin]...)
			if res := e.do("POST", "/api/v1/api-keys", map[string]any{"name": "child", "permissions": []string{"clinic:read"}}, bearer(k.Key)...); res.Status != http.StatusForbidden {
				t.Errorf("a key making keys: %d %s, want 403", res.Status, res.Raw)
			}
			sid := e.currentSessionID(tok)
			for _, r := range []struct{ method, path string }{
				{"GET", "/api/v1/me/sessions"},
				{"DELETE", "/api/v1/me/sessions/" + sid},
				{"POST", "/api/v1/auth/refresh"},
				{"POST", "/api/v1/auth/logout"},
			} {
				if res := e.do(r.method, r.path, nil, bearer(k.Key)...); res.Status != http.StatusUnauthorized {
					t.Errorf("%s %s with a key: %d %s, want 401 (sessions only)", r.method, r.path, res.Status, res.Raw)
				}
			}
			if s := e.status("GET", "/api/v1/me", bearer(tok)...); s != http.StatusOK {
				t.Errorf("the creator's session after the key's attempts: %d, want 200", s)
			}
		})

		t.Run("ErrInvalid", func(t *testing.T) {
			e := e.under(t)
			for _, tc := range []struct {
				name  string
				body  any
				field string
			}{
				{"NotHeld", map[string]any{"name": "x", "permissions": []string{"clinic:read", "own_record"}}, "permissions"},
				{"PlatformAdmin", map[string]any{"name": "x", "permissions": []string{"platform:admin"}}, "permissions"},
				{"Unknown", map[string]any{"name": "x", "permissions": []string{"everything"}}, "permissions"},
				{"NoPermissions", map[string]any{"name": "x", "permissions": []string{}}, "permissions"},
				{"NoName", map[string]any{"name": " ", "permissions": []string{"clinic:read"}}, "name"},
				{"LongName", map[string]any{"name": strings.Repeat("n", 101), "permissions": []string{"clinic:read"}}, "name"},
			} {
				if res := e.do("POST", "/api/v1/api-keys", tc.body, bearer(tok)...); res.Status != http.StatusUnprocessableEntity || res.field(tc.field) == "" {
					t.Errorf("%s: %d %s, want 422 field %s", tc.name, res.Status, res.Raw, tc.field)
				}
			}
			if res := e.do("POST", "/api/v1/api-keys", `{"name":"x","permissions":["clinic:read"],"clinic_id":"beta"}`, bearer(tok)...); res.Status != http.StatusUnprocessableEntity {
				t.Errorf("a key naming its clinic: %d %s, want 422", res.Status, res.Raw)
			}
		})

		t.Run("ErrNotAdmin", func(t *testing.T) {
			e := e.under(t)
			staff := e.login("staff@alpha.test")
			body := map[string]any{"name": "mine", "permissions": []string{"clinic:read"}}
			if res := e.do("POST", "/api/v1/api-keys", body, bearer(staff)...); res.Status != http.StatusForbidden {
				t.Errorf("staff creating a key: %d %s, want 403", res.Status, res.Raw)
			}
			if s := e.status("GET", "/api/v1/api-keys", bearer(staff)...); s != http.StatusForbidden {
				t.Errorf("staff listing keys: %d, want 403", s)
			}
		})

		t.Run("Revoke", func(t *testing.T) {
			e := e.under(t)
			k := e.createKey(tok, "short lived", eonpro.PermClinicRead)
			if s := e.status("GET", "/api/v1/clinic", bearer(k.Key)...); s != http.StatusOK {
				t.Fatalf("key before revoking: %d", s)
			}
			beta := e.login("admin@beta.test")
			if s := e.status("DELETE", "/api/v1/api-keys/"+k.ID, bearer(beta)...); s != http.StatusNotFound {
				t.Errorf("another clinic's admin revoking: %d, want 404", s)
			}
			if s := e.status("DELETE", "/api/v1/api-keys/"+k.ID, bearer(tok)...); s != http.StatusNoContent {
				t.Fatalf("revoke: %d, want 204", s)
			}
			if res := e.do("GET", "/api/v1/clinic", nil, bearer(k.Key)...); res.Status != http.StatusUnauthorized || res.errCode() != eonpro.EUNAUTHN {
				t.Errorf("revoked key: %d %s, want 401", res.Status, res.Raw)
			}
			for _, id := range []string{k.ID, eonpro.NewID(), "not-an-id"} {
				if res := e.do("DELETE", "/api/v1/api-keys/"+id, nil, bearer(tok)...); res.Status != http.StatusNotFound || res.errCode() != eonpro.ENOTFOUND {
					t.Errorf("revoke %s again or unknown: %d %s, want 404", id, res.Status, res.Raw)
				}
			}
			for _, l := range e.listKeys(tok) {
				if l.ID == k.ID && l.RevokedAt == nil {
					t.Errorf("the list does not show the key revoked: %+v", l)
				}
			}
		})

		t.Run("ErrForged", func(t *testing.T) {
			e := e.under(t)
			k := e.createKey(tok, "genuine", eonpro.PermClinicRead)
			for name, bad := range map[string]string{
				"WrongSecret": "ek_" + k.Prefix + "_" + strings.Repeat("A", 43),
				"NoSecret":    "ek_" + k.Prefix,
				"ShortPrefix": "ek_abc_" + strings.Repeat("A", 43),
				"Truncated":   k.Key[:len(k.Key)-1],
			} {
				if s := e.status("GET", "/api/v1/clinic", bearer(bad)...); s != http.StatusUnauthorized {
					t.Errorf("%s: %d, want 401", name, s)
				}
			}
		})

		t.Run("NarrowedToCreatorsRole", func(t *testing.T) {
			e := e.under(t)
			e.user("second@alpha.test", false, "alpha", eonpro.RoleAdmin)
			second := e.login("second@alpha.test")
			k := e.createKey(second, "members", eonpro.PermClinicRead, eonpro.PermMembersRead)
			if s := e.status("GET", "/api/v1/clinic/members", bearer(k.Key)...); s != http.StatusOK {
				t.Fatalf("key before the creator's demotion: %d", s)
			}
			uid := e.users["second@alpha.test"].ID
			if res := e.do("PATCH", "/api/v1/clinic/members/"+uid, map[string]string{"role": "billing"}, bearer(tok)...); res.Status != http.StatusOK {
				t.Fatalf("demote: %d %s", res.Status, res.Raw)
			}
			if s := e.status("GET", "/api/v1/clinic/members", bearer(k.Key)...); s != http.StatusForbidden {
				t.Errorf("members:read key of a billing creator: %d, want 403", s)
			}
			if s := e.status("GET", "/api/v1/clinic", bearer(k.Key)...); s != http.StatusOK {
				t.Errorf("clinic:read key of a billing creator: %d, want 200", s)
			}
		})
	})
}
