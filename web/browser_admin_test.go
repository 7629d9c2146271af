package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/eonpro/eonpro"
)

// adminPreviewColour is the colour the branding preview's button shows.
func adminPreviewColour(b *browser) string {
	b.t.Helper()
	var c string
	b.eval(`getComputedStyle(document.querySelector(".brand-preview-button")).backgroundColor`, &c)
	return c
}

// TestBrowserAdmin drives the admin pages in headless Chromium: the live
// branding preview, an API key created, used, revoked and refused, and the
// audit log with its verification, a filter and the CSV download.
func TestBrowserAdmin(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha")
		e.user("admin@alpha.test", false, "alpha", eonpro.RoleAdmin)
		b := newBrowser(t, e.srv.URL)
		b.signIn("admin@alpha.test")
		b.waitText("main h1", "Dashboard")

		// The preview follows the colour input before anything is saved.
		b.visit("/admin/settings")
		b.waitText("main h1", "Clinic settings")
		if got := adminPreviewColour(b); got != "rgb(37, 99, 235)" {
			t.Errorf("preview before: %s", got)
		}
		b.fill("#primary_color", "#ff0000")
		if got := adminPreviewColour(b); got != "rgb(255, 0, 0)" {
			t.Errorf("preview after choosing red: %s", got)
		}
		b.submit("form.settings-form")
		b.waitText(".flash", "The settings were saved.")
		if got := b.value("#primary_color"); got != "#ff0000" {
			t.Errorf("saved colour: %q", got)
		}

		// A new key is shown once, works, and is refused once revoked.
		b.visit("/admin/api-keys")
		b.fill("#key-name", "Browser key")
		b.click("input[name='permissions'][value='clinic:read']")
		b.submit("#create-key")
		b.waitText("main h1", "API key created")
		key := strings.TrimSpace(b.text("#new-key"))
		if !strings.HasPrefix(key, "ek_") {
			t.Fatalf("key shown: %q", key)
		}
		if res := e.do("GET", "/api/v1/clinic", nil, bearer(key)...); res.Status != http.StatusOK {
			t.Fatalf("the new key: %d %s", res.Status, res.Raw)
		}
		// Reloading shows the list, without sending the form again.
		if got := b.url(); !strings.HasSuffix(got, "/admin/api-keys") {
			t.Errorf("URL after creating: %s", got)
		}
		mustBrowserStep(b, "reload", chromedp.Reload())
		b.waitText("main h1", "API keys")
		var rows int
		b.eval(`document.querySelectorAll("#api-keys tbody tr").length`, &rows)
		if rows != 1 || strings.Contains(b.html(), key) {
			t.Errorf("after a reload: %d keys, or the key shown", rows)
		}
		b.visit("/admin/api-keys")
		if list := b.text("#api-keys"); !strings.Contains(list, "Browser key") || strings.Contains(b.html(), key) {
			t.Errorf("list: %s", list)
		}
		b.click("a.revoke")
		b.waitText("main h1", "Revoke API key")
		b.submit("#confirm-revoke")
		b.waitText(".flash", "The key was revoked.")
		if list := b.text("#api-keys"); !strings.Contains(list, "revoked") {
			t.Errorf("list after revoking: %s", list)
		}
		if res := e.do("GET", "/api/v1/clinic", nil, bearer(key)...); res.Status != http.StatusUnauthorized {
			t.Errorf("the revoked key: %d %s", res.Status, res.Raw)
		}

		// The audit log shows what was done, its chain checks out, and the
		// CSV link downloads with the session.
		b.visit("/admin/audit")
		b.waitText("#verify-status", "OK")
		b.fill("#action", "apikey.revoked")
		b.submit("#audit-filter")
		if rows := b.text("#audit-events tbody"); strings.Count(rows, "apikey.revoked") != 1 || strings.Contains(rows, "apikey.created") {
			t.Errorf("filtered rows: %s", rows)
		}
		status, headers, csv := b.fetch(b.attr("#audit-csv", "href"))
		if status != http.StatusOK || !strings.HasPrefix(headers["content-type"], "text/csv") ||
			!strings.HasPrefix(csv, "id,time,") || strings.Count(csv, "apikey.revoked") != 1 {
			t.Errorf("CSV: %d %v %s", status, headers, csv)
		}
	})
}
