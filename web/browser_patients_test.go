package web

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/eonpro/eonpro"
)

// TestBrowserPatients drives the patients pages in headless Chromium:
// creating a patient after a validation error, search as you type, a
// document upload and its download, and another clinic's patient.
func TestBrowserPatients(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		w := uiPatientsSeed(e)
		b := newBrowser(t, e.srv.URL)
		b.signIn("staff@alpha.test")
		b.waitText("main h1", "Dashboard")

		// (a) The service's field errors next to their fields, the values
		// kept; then the patient's page with a notice.
		b.visit("/patients/new")
		b.fill("#pf-given_name", "Mary")
		b.fill("#pf-date_of_birth", "1906-12-09")
		b.fill("#pf-address-state", "NY")
		b.submit("form.patient-form")
		b.waitText("#pf-family_name-error", "Family name is required.")
		if got := b.attr("#pf-family_name", "aria-describedby"); got != "pf-family_name-error" {
			t.Errorf("family name aria-describedby %q", got)
		}
		if got := b.value("#pf-given_name"); got != "Mary" {
			t.Errorf("given name not kept: %q", got)
		}
		b.fill("#pf-family_name", "Jackson")
		b.submit("form.patient-form")
		b.waitURL("/patients/")
		b.waitText(".flash", "The patient was added.")
		b.waitText("main h1", "Jackson, Mary")

		// (b) Search as you type: the terms go in the body, not the URL.
		b.visit("/patients")
		b.typeKeys("#patient-q", "lov")
		err := b.poll("wait for the search to leave one patient", func(ctx context.Context) (bool, error) {
			return chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelectorAll("#patient-table tbody tr").length === 1`))
		})
		if err != nil {
			t.Fatal(err)
		}
		b.waitText("#patient-results", "Lovelace, Ada")
		if got := b.text("#patient-results"); strings.Contains(got, "Hopper") || strings.Contains(got, "Jackson") {
			t.Errorf("search for lov shows others: %q", got)
		}
		if u := b.url(); strings.Contains(u, "lov") {
			t.Errorf("search terms in the URL: %s", u)
		}

		// (c) Upload with the upload control, then download it.
		pdf := []byte("%PDF-1.4\n1 0 obj << /Title (browser upload) >> endobj\ntrailer << >>\n%%EOF\n")
		path := filepath.Join(t.TempDir(), "scan.pdf")
		if err := os.WriteFile(path, pdf, 0o600); err != nil {
			t.Fatal(err)
		}
		b.visit("/patients/" + w.ada.ID)
		b.waitText("#no-documents", "No documents.")
		b.fill("#upload-kind", string(eonpro.DocumentLabResult))
		b.setFile("#upload-file", path)
		// Record what the progress bar is set to: the section it is in is
		// replaced when the upload ends.
		b.eval(`(function () {
			const bar = document.getElementById("upload-progress");
			const d = Object.getOwnPropertyDescriptor(HTMLProgressElement.prototype, "value");
			window.uploadProgress = [];
			Object.defineProperty(bar, "value", {get() { return d.get.call(this); },
				set(v) { window.uploadProgress.push(v); d.set.call(this, v); }});
		})()`, nil)
		b.click("#upload-form button[type=submit]")
		b.waitText("#document-list", "scan.pdf")
		var progress []float64
		b.eval(`window.uploadProgress`, &progress)
		if len(progress) < 2 || progress[len(progress)-1] != 100 {
			t.Errorf("the progress bar went %v, want from 0 to 100", progress)
		}
		b.waitText("#upload-status", "Uploaded.")
		href := b.attr("#document-list a.document-link", "href")
		status, headers, body := b.fetch(href)
		if status != 200 || headers["content-type"] != "application/pdf" || body != string(pdf) {
			t.Errorf("download %s: %d %v %q", href, status, headers, body)
		}

		// (d) Another clinic's patient by URL: the 404 page.
		b.visit("/patients/" + w.alan.ID)
		b.waitText("main h1", "Not found")
		if got := b.text("main"); !strings.Contains(got, notFoundMessage) || strings.Contains(got, "Turing") {
			t.Errorf("another clinic's patient: %q", got)
		}
	})
}
