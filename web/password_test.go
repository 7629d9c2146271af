package web

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/eonpro/eonpro"
)

// linkCode finds the code in reset and invitation e-mails: 43 characters
// after a colon at the end of a line.
var linkCode = regexp.MustCompile(`(?m): ([A-Za-z0-9_-]{43})$`)

func TestPasswordReset(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha")
		const newPassword = "a brand new passphrase"
		forgot := func(e *idEnv, email string) response {
			e.t.Helper()
			res := e.do("POST", "/api/v1/auth/password/forgot", map[string]string{"email": email})
			if res.Status != http.StatusAccepted {
				e.t.Fatalf("forgot %s: %d %s, want 202", email, res.Status, res.Raw)
			}
			return res
		}
		reset := func(e *idEnv, code, pw string) response {
			e.t.Helper()
			return e.do("POST", "/api/v1/auth/password/reset", map[string]string{"token": code, "password": pw})
		}

		t.Run("OK", func(t *testing.T) {
			e := e.under(t)
			e.user("reset@alpha.test", false, "alpha", eonpro.RoleStaff)
			tok := e.login("reset@alpha.test")
			known := forgot(e, "Reset@Alpha.test")
			unknown := forgot(e, "nobody@alpha.test")
			if diff := cmp.Diff(string(known.Raw), string(unknown.Raw)); diff != "" {
				t.Errorf("forgot answers differ (-known +unknown):\n%s", diff)
			}
			e.noMessage("nobody@alpha.test")
			code := e.sentCode("reset@alpha.test", linkCode)
			if res := reset(e, code, "short"); res.Status != http.StatusUnprocessableEntity || res.field("password") == "" {
				t.Errorf("reset to a short password: %d %s, want 422 field password", res.Status, res.Raw)
			}
			if res := reset(e, code, newPassword); res.Status != http.StatusNoContent {
				t.Fatalf("reset: %d %s, want 204", res.Status, res.Raw)
			}
			if s := e.status("GET", "/api/v1/me", bearer(tok)...); s != http.StatusUnauthorized {
				t.Errorf("a session from before the reset: %d, want 401", s)
			}
			if res := e.postLogin("reset@alpha.test", testPassword); res.Status != http.StatusUnauthorized {
				t.Errorf("old password: %d, want 401", res.Status)
			}
			if res := e.postLogin("reset@alpha.test", newPassword); res.Status != http.StatusOK {
				t.Errorf("new password: %d %s, want 200", res.Status, res.Raw)
			}
			if res := reset(e, code, "yet another passphrase"); res.Status != http.StatusUnauthorized || res.errCode() != eonpro.EUNAUTHN {
				t.Errorf("second use of the code: %d %s, want 401", res.Status, res.Raw)
			}
		})

		t.Run("Expiry", func(t *testing.T) {
			e := e.under(t)
			e.user("slow@alpha.test", false, "alpha", eonpro.RoleStaff)
			forgot(e, "slow@alpha.test")
			code := e.sentCode("slow@alpha.test", linkCode)
			e.clock.Add(29 * time.Minute)
			forgot(e, "slow@alpha.test")
			later := e.sentCode("slow@alpha.test", linkCode)
			e.clock.Add(time.Minute)
			if res := reset(e, code, newPassword); res.Status != http.StatusUnauthorized {
				t.Errorf("code at 30 min: %d %s, want 401", res.Status, res.Raw)
			}
			if res := reset(e, later, newPassword); res.Status != http.StatusNoContent {
				t.Errorf("code at 1 min: %d %s, want 204", res.Status, res.Raw)
			}
		})

		t.Run("ErrBadInput", func(t *testing.T) {
			e := e.under(t)
			if res := reset(e, "", ""); res.Status != http.StatusUnprocessableEntity || res.field("token") == "" || res.field("password") == "" {
				t.Errorf("reset without fields: %d %s, want 422 naming token and password", res.Status, res.Raw)
			}
			if res := reset(e, "made-up", newPassword); res.Status != http.StatusUnauthorized {
				t.Errorf("reset with a made-up code: %d %s, want 401", res.Status, res.Raw)
			}
			if res := e.do("POST", "/api/v1/auth/password/forgot", `{}`); res.Status != http.StatusUnprocessableEntity || res.field("email") == "" {
				t.Errorf("forgot without e-mail: %d %s, want 422 field email", res.Status, res.Raw)
			}
		})

		t.Run("Invitation", func(t *testing.T) {
			e := e.under(t)
			e.user("admin@alpha.test", false, "alpha", eonpro.RoleAdmin)
			admin := e.login("admin@alpha.test")
			inv := e.do("POST", "/api/v1/clinic/members", map[string]string{"email": "new@alpha.test", "name": "New Hire", "role": "provider"}, bearer(admin)...)
			if inv.Status != http.StatusCreated {
				t.Fatalf("invite: %d %s", inv.Status, inv.Raw)
			}
			if res := e.postLogin("new@alpha.test", newPassword); res.Status != http.StatusUnauthorized {
				t.Errorf("login before setting a password: %d, want 401", res.Status)
			}
			code := e.sentCode("new@alpha.test", linkCode)
			if res := reset(e, code, newPassword); res.Status != http.StatusNoContent {
				t.Fatalf("set password with the invitation: %d %s, want 204", res.Status, res.Raw)
			}
			var got loginBody
			decode(t, e.postLogin("new@alpha.test", newPassword), &got)
			if got.Token == "" || len(got.Memberships) != 1 || got.Memberships[0].Role != eonpro.RoleProvider {
				t.Errorf("login of the invitee: %+v", got)
			}
			if res := reset(e, code, "yet another passphrase"); res.Status != http.StatusUnauthorized {
				t.Errorf("second use of the invitation: %d, want 401", res.Status)
			}
		})
	})
}

func TestChangePassword(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha")
		e.user("staff@alpha.test", false, "alpha", eonpro.RoleStaff)
		tok := e.login("staff@alpha.test")
		other := e.login("staff@alpha.test")
		change := func(current, next string) response {
			return e.do("POST", "/api/v1/me/password", map[string]string{"current_password": current, "new_password": next}, bearer(tok)...)
		}
		const next = "an entirely fresh passphrase"
		for _, tc := range []struct {
			name, current, next string
			fields              []string
		}{
			{"ErrWrongCurrent", "not the password at all", next, []string{"current_password"}},
			{"ErrShort", testPassword, "short", []string{"new_password"}},
			{"ErrCommon", testPassword, "Qwerty123456", []string{"new_password"}},
			{"ErrLong", testPassword, strings.Repeat("x", 129), []string{"new_password"}},
			{"ErrMissing", "", "", []string{"current_password", "new_password"}},
		} {
			res := change(tc.current, tc.next)
			if res.Status != http.StatusUnprocessableEntity {
				t.Errorf("%s: %d %s, want 422", tc.name, res.Status, res.Raw)
			}
			for _, f := range tc.fields {
				if res.field(f) == "" {
					t.Errorf("%s: field %s not named in %s", tc.name, f, res.Raw)
				}
			}
		}
		if s := e.status("GET", "/api/v1/me", bearer(tok)...); s != http.StatusOK {
			t.Fatalf("a failed change ended the session: %d", s)
		}
		if res := change(testPassword, next); res.Status != http.StatusNoContent {
			t.Fatalf("change: %d %s, want 204", res.Status, res.Raw)
		}
		for name, tk := range map[string]string{"this": tok, "another": other} {
			if s := e.status("GET", "/api/v1/me", bearer(tk)...); s != http.StatusUnauthorized {
				t.Errorf("%s session after the change: %d, want 401", name, s)
			}
		}
		if res := e.postLogin("staff@alpha.test", testPassword); res.Status != http.StatusUnauthorized {
			t.Errorf("old password: %d, want 401", res.Status)
		}
		if res := e.postLogin("staff@alpha.test", next); res.Status != http.StatusOK {
			t.Errorf("new password: %d %s, want 200", res.Status, res.Raw)
		}
	})
}
