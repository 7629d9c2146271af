package web

import (
	_ "embed"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/eonpro/eonpro"
)

// axeSource is axe-core (npm axe-core 4.14.1, MPL-2.0), the accessibility
// rules engine, injected into pages by checkA11y. It is test data only:
// the app never serves it.
//
//go:embed testdata/axe.min.js
var axeSource string

// a11yViolation is what axe reports of one rule a page breaks.
type a11yViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// checkA11y runs axe on the page the browser shows, against WCAG 2.1 A and
// AA (labels, names, contrast, landmarks, ARIA), and fails the test for
// every violation, naming the rule and the elements.
func (b *browser) checkA11y() {
	b.t.Helper()
	var loaded bool
	b.eval(`typeof window.axe === "object"`, &loaded)
	if !loaded {
		// DevTools evaluation is not bound by the page's CSP.
		b.eval(axeSource+";true", nil)
	}
	var got []a11yViolation
	b.eval(`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
		resultTypes: ["violations"]}).then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
		nodes: v.nodes.map(n => ({target: n.target}))})))`, &got)
	for _, v := range got {
		var where []string
		for _, n := range v.Nodes {
			where = append(where, fmt.Sprint(n.Target...))
		}
		b.t.Errorf("%s: accessibility: %s (%s, %s) at %s", b.location(), v.Help, v.ID, v.Impact, strings.Join(where, ", "))
	}
}

// checkFitsWidth fails when the page scrolls sideways (a phone layout
// that does not fit); wide tables scroll inside their own box.
func (b *browser) checkFitsWidth() {
	b.t.Helper()
	var over int
	b.eval(`document.documentElement.scrollWidth - window.innerWidth`, &over)
	if over > 0 {
		b.t.Errorf("%s: the page is %d px wider than the screen", b.location(), over)
	}
}

// TestBrowserAccessibilitySignIn checks the pages anyone can open.
func TestBrowserAccessibilitySignIn(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha")
		e.user("admin@alpha.test", false, "alpha", eonpro.RoleAdmin)
		b := newBrowser(t, e.srv.URL)
		for _, p := range []string{"/login", "/login?expired=1", "/forgot", "/reset?sent=1", "/set-password", "/login/phone", "/no/such/page"} {
			b.visit(p)
			b.checkA11y()
		}
		b.visit("/login")
		b.fill("#email", "admin@alpha.test")
		b.fill("#password", "wrong password here")
		b.submit("form[action='/login']")
		b.checkA11y()
	})
}

// TestBrowserAccessibilityPages opens every page of the web app as the
// people who use it, in the desktop and the phone layout, and checks each
// against WCAG 2.1 A/AA (the harness checks the security headers and
// JavaScript errors of each too).
func TestBrowserAccessibilityPages(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		w := seedAccount(e)
		// Something in every list: a document and a consent of the
		// patient, seen by staff (the access log and recently viewed).
		if res := w.upload(w.admin, w.own, kindPart("lab_result"), pdfFile("lab.pdf", "lab")); res.Status != 201 {
			t.Fatalf("upload: %d %s", res.Status, res.Raw)
		}
		if res := e.do("POST", "/api/v1/patients/"+w.own+"/consents", map[string]string{"kind": "telehealth",
			"version": "2026-01", "signed_name": "Ada Lovelace"}, bearer(w.admin)...); res.Status != 201 {
			t.Fatalf("consent: %d %s", res.Status, res.Raw)
		}
		e.do("GET", "/api/v1/patients/"+w.own, nil, bearer(w.staff)...)
		b := newBrowser(t, e.srv.URL)
		b.signIn("admin@alpha.test")
		b.waitText("main h1", "Dashboard")
		pages := []string{"/", "/patients", "/patients/new", "/patients/" + w.own, "/patients/" + w.own + "/edit",
			"/providers", "/providers/" + w.provider, "/admin/members", "/admin/settings", "/admin/api-keys",
			"/admin/audit", "/account", "/account/mfa", "/account/sessions", "/invitations", "/admin/jobs", "/patients/" + w.betaPatient}
		for _, width := range []int64{1280, 390} {
			mustBrowserStep(b, "viewport", chromedp.EmulateViewport(width, 900))
			for _, p := range pages {
				b.visit(p)
				b.checkA11y()
				if strings.HasPrefix(p, "/patients") {
					b.checkFitsWidth()
				}
			}
		}
		// A form answered with field errors.
		mustBrowserStep(b, "viewport", chromedp.EmulateViewport(1280, 900))
		b.visit("/patients/new")
		b.submit("main form button[type=submit]")
		b.checkA11y()

		b.submit("#logout-form")
		b.signIn("patient@alpha.test")
		b.waitURL("/portal")
		for _, width := range []int64{1280, 390} {
			mustBrowserStep(b, "viewport", chromedp.EmulateViewport(width, 900))
			b.visit("/portal")
			b.checkA11y()
			b.checkFitsWidth()
			b.visit("/account")
			b.checkA11y()
		}
	})
}
