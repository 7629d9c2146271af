package web

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
)

// currentSessionID returns the id of the session behind tok.
func (e *idEnv) currentSessionID(tok string) string {
	e.t.Helper()
	var got struct {
		Data []struct {
			ID      string `json:"id"`
			Current bool   `json:"current"`
		} `json:"data"`
	}
	decode(e.t, e.do("GET", "/api/v1/me/sessions", nil, bearer(tok)...), &got)
	for _, s := range got.Data {
		if s.Current {
			return s.ID
		}
	}
	e.t.Fatalf("no current session in %+v", got.Data)
	return ""
}

// sessionList is the answer of GET /api/v1/me/sessions.
type sessionList struct {
	Data []struct {
		ID        string    `json:"id"`
		IP        string    `json:"ip"`
		UserAgent string    `json:"user_agent"`
		CreatedAt time.Time `json:"created_at"`
		ExpiresAt time.Time `json:"expires_at"`
		Current   bool      `json:"current"`
	} `json:"data"`
}

func TestMySessions(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha")
		e.user("staff@alpha.test", false, "alpha", eonpro.RoleStaff)
		e.user("other@alpha.test", false, "alpha", eonpro.RoleStaff)
		res := e.postLogin("staff@alpha.test", testPassword, "User-Agent", "laptop")
		mine, _ := res.Body["token"].(string)
		e.clock.Add(time.Minute)
		res = e.postLogin("staff@alpha.test", testPassword, "User-Agent", "phone")
		phone, _ := res.Body["token"].(string)
		others := e.login("other@alpha.test")
		start := e.clock.Now()

		t.Run("OK", func(t *testing.T) {
			var got sessionList
			res := e.under(t).do("GET", "/api/v1/me/sessions", nil, bearer(mine)...)
			decode(t, res, &got)
			if res.Status != http.StatusOK || len(got.Data) != 2 {
				t.Fatalf("GET /me/sessions: %d %s, want 2 sessions", res.Status, res.Raw)
			}
			// Newest first; only the one asking is current.
			type row struct {
				UserAgent, IP string
				Current       bool
				Expires       time.Time
			}
			var rows []row
			for _, s := range got.Data {
				rows = append(rows, row{s.UserAgent, s.IP, s.Current, s.ExpiresAt})
			}
			want := []row{
				{"phone", "127.0.0.1", false, start.Add(12 * time.Hour)},
				{"laptop", "127.0.0.1", true, start.Add(12*time.Hour - time.Minute)},
			}
			if diff := cmp.Diff(want, rows); diff != "" {
				t.Errorf("sessions mismatch (-want +got):\n%s", diff)
			}
		})

		t.Run("Revoke", func(t *testing.T) {
			e := e.under(t)
			id := e.currentSessionID(phone)
			if res := e.do("DELETE", "/api/v1/me/sessions/"+id, nil, bearer(mine)...); res.Status != http.StatusNoContent {
				t.Fatalf("revoke: %d %s, want 204", res.Status, res.Raw)
			}
			if s := e.status("GET", "/api/v1/me", bearer(phone)...); s != http.StatusUnauthorized {
				t.Errorf("the revoked session: %d, want 401", s)
			}
			if s := e.status("GET", "/api/v1/me", bearer(mine)...); s != http.StatusOK {
				t.Errorf("the revoking session: %d, want 200", s)
			}
			if res := e.do("DELETE", "/api/v1/me/sessions/"+id, nil, bearer(mine)...); res.Status != http.StatusNotFound {
				t.Errorf("revoke twice: %d %s, want 404", res.Status, res.Raw)
			}
			var got sessionList
			decode(t, e.do("GET", "/api/v1/me/sessions", nil, bearer(mine)...), &got)
			if len(got.Data) != 1 || !got.Data[0].Current {
				t.Errorf("sessions after revoking one: %+v", got.Data)
			}
		})

		t.Run("ErrNotFound", func(t *testing.T) {
			e := e.under(t)
			for name, id := range map[string]string{"Unknown": eonpro.NewID(), "NotAnID": "not-an-id", "OtherUsers": e.currentSessionID(others)} {
				res := e.do("DELETE", "/api/v1/me/sessions/"+id, nil, bearer(mine)...)
				if res.Status != http.StatusNotFound || res.errCode() != eonpro.ENOTFOUND {
					t.Errorf("%s: %d %s, want 404", name, res.Status, res.Raw)
				}
			}
			if s := e.status("GET", "/api/v1/me", bearer(others)...); s != http.StatusOK {
				t.Errorf("the other user's session: %d, want 200", s)
			}
		})
	})
}

func TestLogout(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha")
		e.user("admin@alpha.test", false, "alpha", eonpro.RoleAdmin)
		dead := func(t *testing.T, creds ...[]string) {
			t.Helper()
			for _, c := range creds {
				if s := e.under(t).status("GET", "/api/v1/me", c...); s != http.StatusUnauthorized {
					t.Errorf("GET /me with %s after logout: %d, want 401", c[0], s)
				}
			}
		}
		for _, via := range []string{"Bearer", "Cookie"} {
			t.Run("Via"+via, func(t *testing.T) {
				e := e.under(t)
				tok, ck := e.sessionOf("admin@alpha.test", testPassword)
				other := e.login("admin@alpha.test")
				cred := bearer(tok)
				if via == "Cookie" {
					cred = cookie(ck)
				}
				res := e.do("POST", "/api/v1/auth/logout", nil, cred...)
				if res.Status != http.StatusNoContent || !attrsOf(setCookie(res, sessionCookiePlain)).Expired {
					t.Fatalf("logout: %d %s, Set-Cookie %q", res.Status, res.Raw, res.Header.Get("Set-Cookie"))
				}
				dead(t, bearer(tok), cookie(ck))
				if s := e.status("POST", "/api/v1/auth/refresh", cookie(ck)...); s != http.StatusUnauthorized {
					t.Errorf("refresh after logout: %d, want 401", s)
				}
				if s := e.status("POST", "/api/v1/auth/logout", cred...); s != http.StatusUnauthorized {
					t.Errorf("second logout: %d, want 401", s)
				}
				if s := e.status("GET", "/api/v1/me", bearer(other)...); s != http.StatusOK {
					t.Errorf("another session after logout: %d, want 200", s)
				}
			})
		}
	})
}

// TestSessionTimeouts: sessions end after the clinic's idle timeout and
// its absolute lifetime, whatever the activity. The cookie is used
// throughout, since bearer tokens live only 15 minutes.
func TestSessionTimeouts(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha")
		e.user("admin@alpha.test", false, "alpha", eonpro.RoleAdmin)
		e.clinic("brief")
		e.user("admin@brief.test", false, "brief", eonpro.RoleAdmin)
		pol := e.clinics["brief"].Settings.SecurityPolicy
		pol.IdleTimeoutMinutes, pol.AbsoluteSessionHours = 5, 1
		if _, err := sqlstore.NewClinicService(e.db).UpdateClinic(context.Background(), e.clinics["brief"].ID,
			eonpro.ClinicUpdate{SecurityPolicy: &pol}); err != nil {
			t.Fatal(err)
		}
		// after advances the clock by d and returns the cookie's status.
		after := func(e *idEnv, ck *http.Cookie, d time.Duration) int {
			e.clock.Add(d)
			return e.status("GET", "/api/v1/me", cookie(ck)...)
		}

		t.Run("Idle", func(t *testing.T) {
			e := e.under(t)
			_, ck := e.sessionOf("admin@alpha.test", testPassword)
			for i, want := range []struct {
				d      time.Duration
				status int
			}{{14 * time.Minute, 200}, {14 * time.Minute, 200}, {14 * time.Minute, 200}, {16 * time.Minute, 401}} {
				if got := after(e, ck, want.d); got != want.status {
					t.Fatalf("request %d, %v after the last: %d, want %d", i+1, want.d, got, want.status)
				}
			}
			if got := after(e, ck, 0); got != http.StatusUnauthorized {
				t.Errorf("an idle session came back: %d", got)
			}
		})

		t.Run("IdleClinicPolicy", func(t *testing.T) {
			e := e.under(t)
			_, ck := e.sessionOf("admin@brief.test", testPassword)
			if got := after(e, ck, 4*time.Minute); got != http.StatusOK {
				t.Fatalf("4 min idle of 5: %d, want 200", got)
			}
			if got := after(e, ck, 6*time.Minute); got != http.StatusUnauthorized {
				t.Errorf("6 min idle of 5: %d, want 401", got)
			}
		})

		t.Run("Absolute", func(t *testing.T) {
			e := e.under(t)
			_, ck := e.sessionOf("admin@alpha.test", testPassword)
			for elapsed := 10 * time.Minute; elapsed < 12*time.Hour; elapsed += 10 * time.Minute {
				if got := after(e, ck, 10*time.Minute); got != http.StatusOK {
					t.Fatalf("active session at %v: %d, want 200", elapsed, got)
				}
			}
			if got := after(e, ck, 10*time.Minute); got != http.StatusUnauthorized {
				t.Errorf("active session at 12h: %d, want 401", got)
			}
		})

		t.Run("AbsoluteClinicPolicy", func(t *testing.T) {
			e := e.under(t)
			_, ck := e.sessionOf("admin@brief.test", testPassword)
			for range 14 {
				if got := after(e, ck, 4*time.Minute); got != http.StatusOK {
					t.Fatalf("active session at %v: %d, want 200", e.clock.Now(), got)
				}
			}
			if got := after(e, ck, 4*time.Minute); got != http.StatusUnauthorized {
				t.Errorf("active session past 1h: %d, want 401", got)
			}
		})
	})
}
