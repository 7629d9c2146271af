package web

import (
	"strings"
	"testing"

	"github.com/eonpro/eonpro"
)

// TestBrowserMembersInvite drives an invitation in headless Chromium: an
// admin invites a member on the members page and signs out; the member
// opens the link in the invitation e-mail, enters a password, and lands
// on their home page.
func TestBrowserMembersInvite(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha")
		e.user("admin@alpha.test", false, "alpha", eonpro.RoleAdmin)

		b := newBrowser(t, e.srv.URL)
		b.visit("/login")
		b.fill("#email", "admin@alpha.test")
		b.fill("#password", testPassword)
		b.submit("form[action='/login']")
		b.waitText("main h1", "Dashboard")
		b.click("nav a[href='/admin/members']")
		b.waitURL("/admin/members")

		b.fill("#invite-email", "newcomer@alpha.test")
		b.submit("#invite-email")
		b.waitText("#invite-name-error", "Name is required.")
		if got := b.value("#invite-email"); got != "newcomer@alpha.test" {
			t.Errorf("the e-mail typed was lost: %q", got)
		}
		b.fill("#invite-name", "Nora Newcomer")
		b.fill("#invite-role", "provider")
		b.submit("form[action='/admin/members']")
		b.waitText(".flash", "Invitation sent.")
		// A pending invitation, not a member, until she accepts.
		b.waitText("table.invitations", "Nora Newcomer")
		b.submit("#logout-form")
		b.waitURL("/login")

		// The member opens the link in the invitation: the code is filled in.
		code := e.sentCode("newcomer@alpha.test", membersInviteCode)
		link := e.sentCode("newcomer@alpha.test", membersInviteLink)
		if !strings.HasPrefix(link, e.srv.URL+"/set-password?token=") {
			t.Fatalf("the invitation links to %q", link)
		}
		b.visit(strings.TrimPrefix(link, e.srv.URL))
		if got := b.value("#code"); got != code {
			t.Errorf("the code field holds %q, want the invitation's code", got)
		}
		b.fill("#email", "newcomer@alpha.test")
		b.fill("#password", "short")
		b.submit("form[action='/set-password']")
		b.waitText("#password-error", "Use at least 12 characters.")
		b.fill("#password", "a calm and long passphrase")
		b.submit("form[action='/set-password']")
		b.waitText("main h1", "Dashboard")
		if got := b.text(".person"); !strings.Contains(got, "Nora Newcomer") || !strings.Contains(got, "(provider)") {
			t.Errorf("signed-in person: %q", got)
		}
	})
}
