package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/pquerna/otp/totp"
)

// signIn signs in through the sign-in form as email with testPassword;
// the caller waits for the page it expects.
func (b *browser) signIn(email string) {
	b.t.Helper()
	b.visit("/login")
	b.fill("#email", email)
	b.fill("#password", testPassword)
	b.submit("form[action='/login']")
}

// TestBrowserSignIn drives the sign-in pages in headless Chromium: the
// password, then the 2FA step, then the dashboard; and the automatic
// sign-out after the idle timeout, with its warning.
func TestBrowserSignIn(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha", eonpro.RoleStaff)
		e.user("staff@alpha.test", false, "alpha", eonpro.RoleStaff)
		secret, _ := e.enrolTOTP(e.login("staff@alpha.test"))

		b := newBrowser(t, e.srv.URL)
		b.visit("/")
		b.waitURL("/login")
		b.fill("#email", "staff@alpha.test")
		b.fill("#password", "not the password")
		b.submit("form[action='/login']")
		b.waitText("#login-error", "The e-mail or password is not right.")

		b.fill("#password", testPassword)
		b.submit("form[action='/login']")
		b.waitVisible("#code")
		b.fill("#code", "000000")
		b.submit("form[action='/login/mfa']")
		b.waitText("#mfa-error", "That code is not right")
		// The wrong code spent the challenge's form; sign in again.
		b.visit("/login")
		b.fill("#email", "staff@alpha.test")
		b.fill("#password", testPassword)
		b.submit("form[action='/login']")
		b.waitVisible("#code")
		code, err := totp.GenerateCode(secret, e.clock.Now().Add(30*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		b.fill("#code", code)
		b.submit("form[action='/login/mfa']")
		b.waitText("main h1", "Dashboard")
		for _, c := range b.cookies() {
			if c.Name == sessionCookiePlain && (!c.HTTPOnly || c.SameSite != "Lax") {
				t.Errorf("session cookie: HttpOnly=%v SameSite=%v", c.HTTPOnly, c.SameSite)
			}
		}
		if got := b.text(".person"); !strings.Contains(got, "Test staff") {
			t.Errorf("signed-in person: %q", got)
		}

		// A minute before the idle timeout the warning shows; staying
		// signed in moves the deadline back by the whole timeout.
		b.eval(`window.eonproIdle.deadline = Date.now() + 30000`, nil)
		b.waitVisible("#idle-warning")
		b.click("#idle-stay")
		b.waitGone("#idle-warning")
		var left float64
		b.eval(`window.eonproIdle.deadline - Date.now()`, &left)
		if idle := float64(eonpro.DefaultSecurityPolicy().IdleTimeoutMinutes * 60000); left < idle-10000 {
			t.Errorf("after staying, %v ms left, want about %v", left, idle)
		}

		// At the deadline the page signs out and says why.
		b.eval(`window.eonproIdle.deadline = Date.now() + 2000`, nil)
		b.waitVisible("#idle-warning")
		b.waitURL("/login")
		b.waitText("main", "signed out after a period of inactivity")
		if status, _, _ := b.fetch("/api/v1/me"); status != http.StatusUnauthorized {
			t.Errorf("the session outlived the sign-out: GET /api/v1/me %d", status)
		}
		b.visit("/")
		b.waitURL("/login")
	})
}
