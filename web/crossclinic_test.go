package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

// crossSeed is two clinics, each with an admin, and a person who works in
// beta only: the target of everything alpha's admin tries.
func crossSeed(e *idEnv) (alphaAdmin, betaAdmin []string, person *eonpro.User, personTok string) {
	e.clinic("alpha")
	e.clinic("beta")
	e.user("admin@alpha.test", false, "alpha", eonpro.RoleAdmin)
	e.user("admin@beta.test", false, "beta", eonpro.RoleAdmin)
	person = e.userWithPhone("person@beta.test", "+15125550401", false, eonpro.RoleStaff, "beta")
	alphaAdmin = with(bearer(e.login("admin@alpha.test")), []string{"X-Clinic", "alpha"})
	betaAdmin = with(bearer(e.login("admin@beta.test")), []string{"X-Clinic", "beta"})
	return alphaAdmin, betaAdmin, person, e.phoneSignIn(person.Phone)
}

// TestCrossClinicInvitation: alpha's admin "adds" beta's person. Nothing
// of the person changes: no membership, no session revoked, no policy of
// alpha's applies to them, and the answers are those of a new address.
func TestCrossClinicInvitation(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		alpha, _, person, tok := crossSeed(e)
		existing := e.do("POST", "/api/v1/clinic/members", map[string]string{"email": person.Email, "role": "billing"}, alpha...)
		fresh := e.do("POST", "/api/v1/clinic/members", map[string]string{"email": "nobody@beta.test", "role": "billing"}, alpha...)
		if existing.Status != http.StatusCreated || fresh.Status != http.StatusCreated {
			t.Fatalf("invitations: %d %s / %d %s", existing.Status, existing.Raw, fresh.Status, fresh.Raw)
		}
		for _, k := range []string{"id", "email", "created_at", "expires_at"} {
			delete(existing.Body, k)
			delete(fresh.Body, k)
		}
		if d := diff(fresh.Body, existing.Body); d != "" {
			t.Errorf("an account's invitation differs from a new address's (-new +existing):\n%s", d)
		}
		if strings.Contains(string(existing.Raw), person.ID) || (person.Name != "" && strings.Contains(string(existing.Raw), person.Name)) {
			t.Errorf("the answer names the account: %s", existing.Raw)
		}
		// Alpha tries everything it could do to a member.
		for _, tc := range []struct {
			method string
			body   any
		}{{"PATCH", map[string]string{"role": "staff"}}, {"DELETE", nil}} {
			if res := e.do(tc.method, "/api/v1/clinic/members/"+person.ID, tc.body, alpha...); res.Status != http.StatusNotFound {
				t.Errorf("%s the person from alpha: %d %s, want 404", tc.method, res.Status, res.Raw)
			}
		}
		pol := map[string]any{"security_policy": map[string]any{"mfa_roles": []string{"billing", "staff"}, "idle_timeout_minutes": 5, "absolute_session_hours": 1}}
		if res := e.do("PATCH", "/api/v1/clinic", pol, alpha...); res.Status != http.StatusOK {
			t.Fatalf("alpha's policy: %d %s", res.Status, res.Raw)
		}
		e.clock.Add(10 * time.Minute) // past alpha's idle limit, within beta's 15 minutes
		res := e.do("GET", "/api/v1/clinic", nil, with(bearer(tok), []string{"X-Clinic", "beta"})...)
		if res.Status != http.StatusOK || res.Body["slug"] != "beta" {
			t.Errorf("the person in beta after alpha's attempts: %d %s", res.Status, res.Raw)
		}
		me := e.do("GET", "/api/v1/me", nil, bearer(tok)...)
		if strings.Contains(string(me.Raw), e.clinics["alpha"].ID) {
			t.Errorf("the person has something of alpha: %s", me.Raw)
		}
	})
}

// TestClinicActionsStayInClinic: a person in alpha and beta. Alpha's role
// change, removal and policy end or limit their sessions in alpha only.
func TestClinicActionsStayInClinic(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha")
		e.clinic("beta")
		e.user("admin@alpha.test", false, "alpha", eonpro.RoleAdmin)
		alpha := with(bearer(e.login("admin@alpha.test")), []string{"X-Clinic", "alpha"})
		both := e.userWithPhone("both@eonpro.test", "+15125550402", false, eonpro.RoleStaff, "alpha", "beta")
		in := func(tok, slug string) int {
			return e.status("GET", "/api/v1/clinic", with(bearer(tok), []string{"X-Clinic", slug})...)
		}
		t.Run("RoleChange", func(t *testing.T) {
			tok := e.phoneSignIn(both.Phone)
			e.clock.Add(time.Second)
			if res := e.do("PATCH", "/api/v1/clinic/members/"+both.ID, map[string]string{"role": "billing"}, alpha...); res.Status != http.StatusOK {
				t.Fatalf("%d %s", res.Status, res.Raw)
			}
			if s := in(tok, "alpha"); s != http.StatusUnauthorized {
				t.Errorf("the old session in alpha: %d, want 401", s)
			}
			if s := in(tok, "beta"); s != http.StatusOK {
				t.Errorf("the old session in beta: %d, want 200", s)
			}
			e.clock.Add(time.Second)
			if s := in(e.phoneSignIn(both.Phone), "alpha"); s != http.StatusOK {
				t.Errorf("a new session in alpha: %d, want 200", s)
			}
		})
		t.Run("Policy", func(t *testing.T) {
			pol := map[string]any{"security_policy": map[string]any{"mfa_roles": []string{}, "idle_timeout_minutes": 5, "absolute_session_hours": 12}}
			if res := e.do("PATCH", "/api/v1/clinic", pol, alpha...); res.Status != http.StatusOK {
				t.Fatalf("%d %s", res.Status, res.Raw)
			}
			tok := e.phoneSignIn(both.Phone)
			e.clock.Add(10 * time.Minute) // idle past alpha's 5, within beta's 15
			if s := in(tok, "alpha"); s != http.StatusUnauthorized {
				t.Errorf("idle in alpha: %d, want 401", s)
			}
			if s := in(tok, "beta"); s != http.StatusOK {
				t.Errorf("idle in beta: %d, want 200", s)
			}
		})
		t.Run("Remove", func(t *testing.T) {
			tok := e.phoneSignIn(both.Phone)
			// The admin's session went idle in alpha above too.
			alpha := with(bearer(e.login("admin@alpha.test")), []string{"X-Clinic", "alpha"})
			if res := e.do("DELETE", "/api/v1/clinic/members/"+both.ID, nil, alpha...); res.Status != http.StatusNoContent {
				t.Fatalf("%d %s", res.Status, res.Raw)
			}
			if s := in(tok, "alpha"); s != http.StatusNotFound {
				t.Errorf("the removed member in alpha: %d, want 404", s)
			}
			if s := in(tok, "beta"); s != http.StatusOK {
				t.Errorf("the removed member in beta: %d, want 200", s)
			}
		})
	})
}

// TestNonMemberSeesNoClinic: a person of beta naming alpha gets what they
// get naming a clinic that does not exist, on the API and the pages.
func TestNonMemberSeesNoClinic(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		_, betaAdmin, _, _ := crossSeed(e)
		tok := betaAdmin[1][len("Bearer "):]
		for _, path := range []string{"/api/v1/me", "/api/v1/me/sessions"} {
			other := e.do("GET", path, nil, with(bearer(tok), []string{"X-Clinic", "alpha"})...)
			missing := e.do("GET", path, nil, with(bearer(tok), []string{"X-Clinic", "no-such-clinic"})...)
			if strings.Contains(string(other.Raw), e.clinics["alpha"].ID) {
				t.Errorf("%s names alpha: %s", path, other.Raw)
			}
			if other.Status != missing.Status || other.Body["clinic_id"] != missing.Body["clinic_id"] {
				t.Errorf("%s: %d %s, want as missing: %d %s", path, other.Status, other.Raw, missing.Status, missing.Raw)
			}
		}
		b := e.browserLike()
		b.signIn("admin@beta.test")
		u, _ := url.Parse(e.srv.URL)
		naming := func(slug, path string) pageAnswer {
			b.jar.SetCookies(u, []*http.Cookie{{Name: clinicCookie, Value: slug, Path: "/"}})
			return b.get(path)
		}
		for _, path := range []string{"/", "/account", "/patients", "/admin/members"} {
			other := naming("alpha", path)
			missing := naming("no-such-clinic", path)
			if strings.Contains(other.Body, "Alpha Clinic") {
				t.Errorf("%s shows alpha's name", path)
			}
			if other.Status != missing.Status {
				t.Errorf("%s: %d, want as missing: %d", path, other.Status, missing.Status)
			}
		}
	})
}

// TestFailedAuthLimited: made-up API keys from one address meet 429s.
func TestFailedAuthLimited(t *testing.T) {
	for _, engine := range sqltest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			big := eonpro.Rate{Count: 100000, Period: time.Minute}
			e := newIDEnv(t, engine, Rates{Strict: big, Standard: big, Relaxed: big, FailedAuth: eonpro.Rate{Count: 10, Period: time.Minute}})
			e.clinic("alpha")
			var limited int
			for i := range 40 {
				s := e.status("GET", "/api/v1/clinic", bearer("ek_"+strings.Repeat("x", 8)+string(rune('a'+i%26))+"_bogus")...)
				switch s {
				case http.StatusTooManyRequests:
					limited++
				case http.StatusUnauthorized:
				default:
					t.Errorf("bogus key: %d", s)
				}
			}
			if limited < 25 {
				t.Errorf("%d of 40 bogus keys got 429, want at least 25", limited)
			}
			// No credential costs nothing: an anonymous 401 is still a 401.
			if s := e.status("GET", "/api/v1/clinic"); s != http.StatusUnauthorized {
				t.Errorf("no credential: %d, want 401", s)
			}
		})
	}
}
