package web

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pquerna/otp/totp"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
)

func TestMe(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha")
		e.clinic("beta")
		u := e.user("staff@alpha.test", false, "alpha", eonpro.RoleStaff)
		tok := e.login("staff@alpha.test")

		t.Run("OK", func(t *testing.T) {
			var got struct {
				UserID      string              `json:"user_id"`
				ClinicID    string              `json:"clinic_id"`
				Role        eonpro.Role         `json:"role"`
				Permissions []eonpro.Permission `json:"permissions"`
				Memberships []struct {
					ClinicSlug string `json:"clinic_slug"`
				} `json:"memberships"`
				MFAEnrollmentRequired bool `json:"mfa_enrollment_required"`
			}
			res := e.under(t).do("GET", "/api/v1/me", nil, bearer(tok)...)
			decode(t, res, &got)
			if res.Status != http.StatusOK || got.UserID != u.ID || got.ClinicID != e.clinics["alpha"].ID || got.Role != eonpro.RoleStaff ||
				len(got.Memberships) != 1 || got.Memberships[0].ClinicSlug != "alpha" || got.MFAEnrollmentRequired {
				t.Errorf("GET /me: %d %s", res.Status, res.Raw)
			}
			if diff := cmp.Diff(eonpro.RolePermissions[eonpro.RoleStaff], got.Permissions); diff != "" {
				t.Errorf("permissions mismatch (-want +got):\n%s", diff)
			}
		})

		t.Run("TwoClinics", func(t *testing.T) {
			e := e.under(t)
			both := e.user("both@alpha.test", false, "alpha", eonpro.RoleProvider)
			if err := sqlstore.NewUserService(e.db, e.notify, nil).AddMembership(context.Background(), both.ID, e.clinics["beta"].ID, eonpro.RoleBilling); err != nil {
				t.Fatal(err)
			}
			tok := e.login("both@alpha.test")
			for _, tc := range []struct {
				name, ref, clinicID string
				role                eonpro.Role
			}{
				{"Unnamed", "", "", ""},
				{"Alpha", "alpha", e.clinics["alpha"].ID, eonpro.RoleProvider},
				{"Beta", e.clinics["beta"].ID, e.clinics["beta"].ID, eonpro.RoleBilling},
			} {
				hdr := bearer(tok)
				if tc.ref != "" {
					hdr = with(hdr, []string{"X-Clinic", tc.ref})
				}
				var got struct {
					ClinicID    string              `json:"clinic_id"`
					Role        eonpro.Role         `json:"role"`
					Permissions []eonpro.Permission `json:"permissions"`
					Memberships []any               `json:"memberships"`
				}
				res := e.do("GET", "/api/v1/me", nil, hdr...)
				decode(t, res, &got)
				wantPerms := eonpro.RolePermissions[tc.role]
				if wantPerms == nil {
					wantPerms = []eonpro.Permission{}
				}
				if res.Status != http.StatusOK || got.ClinicID != tc.clinicID || got.Role != tc.role || len(got.Memberships) != 2 {
					t.Errorf("%s: %d %s", tc.name, res.Status, res.Raw)
				}
				if diff := cmp.Diff(wantPerms, got.Permissions); diff != "" {
					t.Errorf("%s: permissions mismatch (-want +got):\n%s", tc.name, diff)
				}
			}
		})

		t.Run("ErrNoCredential", func(t *testing.T) {
			res := e.under(t).do("GET", "/api/v1/me", nil)
			if res.Status != http.StatusUnauthorized || res.errCode() != eonpro.EUNAUTHN {
				t.Errorf("GET /me without a credential: %d %s, want 401", res.Status, res.Raw)
			}
		})
	})
}

// totpNow returns the current code for secret at the test clock.
func (e *idEnv) totpNow(secret string) string {
	e.t.Helper()
	code, err := totp.GenerateCode(secret, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return code
}

// wrongCode returns a 6-digit code that is valid at none of the steps the
// server accepts now (the current one and one either side).
func (e *idEnv) wrongCode(secret string) string {
	e.t.Helper()
	valid := map[string]bool{}
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		code, err := totp.GenerateCode(secret, e.clock.Now().Add(d))
		if err != nil {
			e.t.Fatal(err)
		}
		valid[code] = true
	}
	for _, c := range []string{"000000", "111111", "222222", "333333"} {
		if !valid[c] {
			return c
		}
	}
	panic("unreachable: three steps have at most three codes")
}

// enrolTOTP enrols the session's user in TOTP and returns the secret and
// the backup codes.
func (e *idEnv) enrolTOTP(tok string) (string, []string) {
	e.t.Helper()
	res := e.do("POST", "/api/v1/me/mfa/totp", nil, bearer(tok)...)
	secret, _ := res.Body["secret"].(string)
	if res.Status != http.StatusOK || secret == "" {
		e.t.Fatalf("enrol: %d %s", res.Status, res.Raw)
	}
	var got struct {
		BackupCodes []string `json:"backup_codes"`
	}
	res = e.do("POST", "/api/v1/me/mfa/totp/confirm", map[string]string{"code": e.totpNow(secret)}, bearer(tok)...)
	decode(e.t, res, &got)
	if res.Status != http.StatusOK || len(got.BackupCodes) != 10 {
		e.t.Fatalf("confirm: %d %s", res.Status, res.Raw)
	}
	return secret, got.BackupCodes
}

// mfaToken signs in a 2FA user and returns the challenge token.
func (e *idEnv) mfaToken(email string) string {
	e.t.Helper()
	var got loginBody
	res := e.postLogin(email, testPassword)
	decode(e.t, res, &got)
	if res.Status != http.StatusOK || !got.MFARequired || got.MFAToken == "" {
		e.t.Fatalf("login %s: %d %s, want an MFA challenge", email, res.Status, res.Raw)
	}
	if got.Token != "" || got.User.ID != "" || res.Header.Get("Set-Cookie") != "" {
		e.t.Errorf("the challenge came with a session: %s, Set-Cookie %q", res.Raw, res.Header.Get("Set-Cookie"))
	}
	return got.MFAToken
}

// answer posts a code to the MFA challenge.
func (e *idEnv) answer(mfaToken, code string) response {
	e.t.Helper()
	return e.do("POST", "/api/v1/auth/mfa", map[string]string{"mfa_token": mfaToken, "code": code})
}

// storedSecret reads a user's TOTP secret column as stored.
func (e *idEnv) storedSecret(userID string) string {
	e.t.Helper()
	var s string
	err := e.db.View(context.Background(), func(tx *sqlstore.Tx) error {
		return tx.QueryRow(context.Background(), sqlstore.Stmt{Name: "test_select_mfa_secret",
			SQL: `SELECT secret FROM mfa_factors WHERE user_id = $1`}, userID).Scan(&s)
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// TestTwoFactor walks a clinic that requires 2FA of admins: enrolment
// from a limited session, then sign-in with TOTP and backup codes.
func TestTwoFactor(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha", eonpro.RoleAdmin)
		u := e.user("admin@alpha.test", false, "alpha", eonpro.RoleAdmin)
		res := e.postLogin("admin@alpha.test", testPassword)
		var first loginBody
		decode(t, res, &first)
		tok := first.Token
		if res.Status != http.StatusOK || !first.MFAEnrollmentRequired || tok == "" || setCookie(res, sessionCookiePlain) == nil {
			t.Fatalf("login: %d %s, want a session limited to enrolling", res.Status, res.Raw)
		}
		var secret string
		var backups []string

		t.Run("EnrolmentOnly", func(t *testing.T) {
			e := e.under(t)
			for _, path := range []string{"/api/v1/clinic", "/api/v1/me/sessions", "/api/v1/clinic/members", "/api/v1/api-keys"} {
				if res := e.do("GET", path, nil, bearer(tok)...); res.Status != http.StatusForbidden || res.errCode() != eonpro.EFORBIDDEN {
					t.Errorf("GET %s: %d %s, want 403", path, res.Status, res.Raw)
				}
			}
			for _, path := range []string{"/api/v1/me/password", "/api/v1/api-keys"} {
				if s := e.status("POST", path, bearer(tok)...); s != http.StatusForbidden {
					t.Errorf("POST %s: %d, want 403", path, s)
				}
			}
			if res := e.do("GET", "/api/v1/me", nil, bearer(tok)...); res.Status != http.StatusOK || res.Body["mfa_enrollment_required"] != true {
				t.Errorf("GET /me: %d %s", res.Status, res.Raw)
			}
			if res := e.do("POST", "/api/v1/auth/refresh", nil, bearer(tok)...); res.Status != http.StatusOK || res.Body["mfa_enrollment_required"] != true {
				t.Errorf("refresh: %d %s, want 200 still limited", res.Status, res.Raw)
			}
			pending, _ := e.sessionOf("admin@alpha.test", testPassword)
			if s := e.status("POST", "/api/v1/auth/logout", bearer(pending)...); s != http.StatusNoContent {
				t.Errorf("logout of a limited session: %d, want 204", s)
			}
		})

		t.Run("Enrol", func(t *testing.T) {
			e := e.under(t)
			res := e.do("POST", "/api/v1/me/mfa/totp", nil, bearer(tok)...)
			secret, _ = res.Body["secret"].(string)
			url, _ := res.Body["otpauth_url"].(string)
			if res.Status != http.StatusOK || secret == "" || !strings.HasPrefix(url, "otpauth://totp/") || !strings.Contains(url, secret) {
				t.Fatalf("enrol: %d %s", res.Status, res.Raw)
			}
			if stored := e.storedSecret(u.ID); !strings.HasPrefix(stored, "s1:") || strings.Contains(stored, secret) {
				t.Errorf("stored secret %q is not sealed", stored)
			}
			confirm := func(code string) response {
				return e.do("POST", "/api/v1/me/mfa/totp/confirm", map[string]string{"code": code}, bearer(tok)...)
			}
			if res := confirm(e.wrongCode(secret)); res.Status != http.StatusUnprocessableEntity || res.field("code") == "" {
				t.Errorf("confirm with a wrong code: %d %s, want 422 field code", res.Status, res.Raw)
			}
			if res := confirm(""); res.Status != http.StatusUnprocessableEntity || res.field("code") == "" {
				t.Errorf("confirm without a code: %d %s, want 422 field code", res.Status, res.Raw)
			}
			var got struct {
				BackupCodes []string `json:"backup_codes"`
			}
			res = confirm(e.totpNow(secret))
			decode(t, res, &got)
			backups = got.BackupCodes
			if res.Status != http.StatusOK || len(backups) != 10 || len(slices.Compact(slices.Sorted(slices.Values(backups)))) != 10 {
				t.Fatalf("confirm: %d %s, want 10 distinct backup codes", res.Status, res.Raw)
			}
			if s := e.status("GET", "/api/v1/clinic", bearer(tok)...); s != http.StatusOK {
				t.Errorf("GET /clinic after enrolling: %d, want 200 (a full session)", s)
			}
			if res := confirm(e.totpNow(secret)); res.Status != http.StatusConflict {
				t.Errorf("confirm twice: %d %s, want 409", res.Status, res.Raw)
			}
			if s := e.status("POST", "/api/v1/me/mfa/totp", bearer(tok)...); s != http.StatusConflict {
				t.Errorf("enrol while enrolled: %d, want 409", s)
			}
			if stored := e.storedSecret(u.ID); strings.Contains(stored, secret) {
				t.Errorf("confirmed secret stored in the clear: %q", stored)
			}
		})
		if secret == "" || len(backups) != 10 {
			t.Fatal("enrolment failed")
		}

		t.Run("SignInWithTOTP", func(t *testing.T) {
			e := e.under(t)
			e.clock.Add(30 * time.Second) // the enrolment spent the current step
			code := e.totpNow(secret)
			res := e.answer(e.mfaToken("admin@alpha.test"), code)
			got, _ := res.Body["token"].(string)
			if res.Status != http.StatusOK || got == "" || setCookie(res, sessionCookiePlain) == nil || res.Body["mfa_enrollment_required"] != nil {
				t.Fatalf("answer: %d %s, want a full session", res.Status, res.Raw)
			}
			if s := e.status("GET", "/api/v1/clinic", bearer(got)...); s != http.StatusOK {
				t.Errorf("GET /clinic with the 2FA session: %d, want 200", s)
			}
			challenge := e.mfaToken("admin@alpha.test")
			if res := e.answer(challenge, code); res.Status != http.StatusUnauthorized {
				t.Errorf("the same code again: %d %s, want 401", res.Status, res.Raw)
			}
			if res := e.answer(challenge, e.wrongCode(secret)); res.Status != http.StatusUnauthorized || res.errCode() != eonpro.EUNAUTHN {
				t.Errorf("a wrong code: %d %s, want 401", res.Status, res.Raw)
			}
			e.clock.Add(30 * time.Second)
			if res := e.answer(challenge, e.totpNow(secret)); res.Status != http.StatusOK {
				t.Errorf("the next step's code: %d %s, want 200", res.Status, res.Raw)
			}
			e.clock.Add(30 * time.Second)
			if res := e.answer(challenge, e.totpNow(secret)); res.Status != http.StatusUnauthorized {
				t.Errorf("a used challenge: %d %s, want 401", res.Status, res.Raw)
			}
		})

		t.Run("SignInWithBackupCode", func(t *testing.T) {
			e := e.under(t)
			if res := e.answer(e.mfaToken("admin@alpha.test"), backups[0]); res.Status != http.StatusOK || res.Body["token"] == nil {
				t.Fatalf("backup code: %d %s, want 200", res.Status, res.Raw)
			}
			if res := e.answer(e.mfaToken("admin@alpha.test"), backups[0]); res.Status != http.StatusUnauthorized {
				t.Errorf("the same backup code again: %d %s, want 401", res.Status, res.Raw)
			}
			loose := strings.ToUpper(strings.ReplaceAll(backups[1], "-", ""))
			if res := e.answer(e.mfaToken("admin@alpha.test"), loose); res.Status != http.StatusOK {
				t.Errorf("backup code in capitals without hyphens: %d %s, want 200", res.Status, res.Raw)
			}
		})

		t.Run("ErrExpiredChallenge", func(t *testing.T) {
			e := e.under(t)
			challenge := e.mfaToken("admin@alpha.test")
			e.clock.Add(6 * time.Minute)
			if res := e.answer(challenge, e.totpNow(secret)); res.Status != http.StatusUnauthorized {
				t.Errorf("a challenge 6 minutes old: %d %s, want 401", res.Status, res.Raw)
			}
		})

		t.Run("ErrBadInput", func(t *testing.T) {
			e := e.under(t)
			if res := e.do("POST", "/api/v1/auth/mfa", `{}`); res.Status != http.StatusUnprocessableEntity || res.field("mfa_token") == "" || res.field("code") == "" {
				t.Errorf("answer without fields: %d %s, want 422 naming mfa_token and code", res.Status, res.Raw)
			}
			if res := e.answer("made-up", "123456"); res.Status != http.StatusUnauthorized {
				t.Errorf("a made-up challenge: %d %s, want 401", res.Status, res.Raw)
			}
		})

		t.Run("SuccessResetsFailures", func(t *testing.T) {
			e := e.under(t)
			e.clock.Add(15 * time.Minute) // past the failures of the cases above
			for _, wrong := range []int{4, 1} {
				challenge := e.mfaToken("admin@alpha.test")
				for i := range wrong {
					if res := e.answer(challenge, e.wrongCode(secret)); res.Status != http.StatusUnauthorized {
						t.Fatalf("wrong code %d: %d %s, want 401", i+1, res.Status, res.Raw)
					}
				}
				e.clock.Add(30 * time.Second)
				if res := e.answer(challenge, e.totpNow(secret)); res.Status != http.StatusOK {
					t.Fatalf("the right code after %d wrong: %d %s, want 200", wrong, res.Status, res.Raw)
				}
			}
		})

		t.Run("Lockout", func(t *testing.T) {
			e := e.under(t)
			e.clock.Add(15 * time.Minute) // past the failures of the cases above
			challenge := e.mfaToken("admin@alpha.test")
			for i := range 5 {
				if res := e.answer(challenge, e.wrongCode(secret)); res.Status != http.StatusUnauthorized {
					t.Fatalf("wrong code %d: %d %s, want 401", i+1, res.Status, res.Raw)
				}
			}
			res := e.answer(challenge, e.totpNow(secret))
			if res.Status != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
				t.Errorf("the right code after 5 wrong ones: %d %s, want 429 with Retry-After", res.Status, res.Raw)
			}
		})
	})
}

func TestDisableMFA(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha")
		e.user("staff@alpha.test", false, "alpha", eonpro.RoleStaff)
		tok := e.login("staff@alpha.test")
		secret, _ := e.enrolTOTP(tok)
		e.clock.Add(30 * time.Second)
		disable := func(pw, code string) response {
			return e.do("DELETE", "/api/v1/me/mfa", map[string]string{"password": pw, "code": code}, bearer(tok)...)
		}
		for _, tc := range []struct {
			name, password, code, field string
		}{
			{"ErrWrongPassword", "not the password at all", e.totpNow(secret), "password"},
			{"ErrWrongCode", testPassword, e.wrongCode(secret), "code"},
			{"ErrMissing", "", "", "password"},
		} {
			if res := disable(tc.password, tc.code); res.Status != http.StatusUnprocessableEntity || res.field(tc.field) == "" {
				t.Errorf("%s: %d %s, want 422 field %s", tc.name, res.Status, res.Raw, tc.field)
			}
		}
		if res := disable(testPassword, e.totpNow(secret)); res.Status != http.StatusNoContent {
			t.Fatalf("disable: %d %s, want 204", res.Status, res.Raw)
		}
		var got loginBody
		if res := e.postLogin("staff@alpha.test", testPassword); json200(t, res, &got) && (got.MFARequired || got.Token == "") {
			t.Errorf("login after disabling 2FA: %s, want a session without a challenge", res.Raw)
		}
		if res := disable(testPassword, e.totpNow(secret)); res.Status != http.StatusNotFound {
			t.Errorf("disable twice: %d %s, want 404", res.Status, res.Raw)
		}
	})
}

// json200 decodes a 200 answer into v; it reports false (and an error)
// for any other status.
func json200(t *testing.T, res response, v any) bool {
	t.Helper()
	if res.Status != http.StatusOK {
		t.Errorf("status %d %s, want 200", res.Status, res.Raw)
		return false
	}
	decode(t, res, v)
	return true
}

// TestDisableMFARequiredByAClinic: 2FA stays on while any clinic of the
// user requires it of their role there, whichever clinic the request is in.
func TestDisableMFARequiredByAClinic(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha")
		secure := e.clinic("secure", eonpro.RoleStaff)
		u := e.user("staff@alpha.test", false, "alpha", eonpro.RoleStaff)
		tok := e.login("staff@alpha.test")
		secret, _ := e.enrolTOTP(tok)
		if err := sqlstore.NewUserService(e.db, e.notify, nil).AddMembership(context.Background(), u.ID, secure.ID, eonpro.RoleStaff); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(30 * time.Second)
		res := e.do("DELETE", "/api/v1/me/mfa", map[string]string{"password": testPassword, "code": e.totpNow(secret)},
			with(bearer(tok), []string{"X-Clinic", "alpha"})...)
		if res.Status != http.StatusForbidden || res.errCode() != "forbidden" {
			t.Errorf("disable while secure requires it: %d %s, want 403", res.Status, res.Raw)
		}
	})
}
