package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserPortal: a staff member opens a patient's record (through the
// API, with the browser's session), then the patient signs in to the
// portal in the browser and finds that view, by name and time, under
// "who viewed my record".
func TestBrowserPortal(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		w := seedAccount(e)
		b := newBrowser(t, e.srv.URL)
		b.signIn("staff@alpha.test")
		b.waitText("main h1", "Dashboard")
		if status, _, _ := b.fetch("/api/v1/patients/" + w.own); status != http.StatusOK {
			t.Fatalf("staff view of the patient: %d", status)
		}
		b.visit("/")
		b.waitText("#recently-viewed", "Lovelace, Ada")
		// The 2FA QR code is a data: image, which the page CSP allows.
		b.visit("/account/mfa")
		b.waitVisible("#mfa-qr")
		var qrWidth float64
		b.eval(`document.querySelector("#mfa-qr").naturalWidth`, &qrWidth)
		if qrWidth != 200 {
			t.Errorf("QR code image width %v, want 200 (not loaded?)", qrWidth)
		}
		b.submit("#logout-form")
		b.waitURL("/login")

		// The patient is on a phone.
		mustBrowserStep(b, "phone viewport", chromedp.EmulateViewport(390, 844))
		b.fill("#email", "patient@alpha.test")
		b.fill("#password", testPassword)
		b.submit("form[action='/login']")
		b.waitURL("/portal")
		b.waitText("#portal-name", "Ada Lovelace")
		b.waitText("#access-log", "Test staff")
		row := b.text("#access-log tbody tr:first-child")
		when := e.clock.Now().UTC().Format("2006-01-02 15:04 UTC")
		for _, want := range []string{"Test staff", "(staff)", "Viewed", when} {
			if !strings.Contains(row, want) {
				t.Errorf("latest access %q lacks %q", row, want)
			}
		}
		var fits bool
		b.eval(`document.documentElement.scrollWidth <= window.innerWidth`, &fits)
		if !fits {
			t.Error("the portal scrolls sideways on a phone")
		}
	})
}
