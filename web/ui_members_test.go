package web

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/eonpro/eonpro"
)

// Codes in the invitation and reset e-mails.
var (
	membersInviteCode = regexp.MustCompile(`within 7 days: (\S+)`)
	membersResetCode  = regexp.MustCompile(`new password: (\S+)`)
	membersInviteLink = regexp.MustCompile(`Or open: (\S+)`)
)

// membersSeed makes alpha with an admin and a staff member, and beta with
// an admin.
func membersSeed(e *idEnv) {
	e.clinic("alpha")
	e.clinic("beta")
	e.user("admin@alpha.test", false, "alpha", eonpro.RoleAdmin)
	e.user("staff@alpha.test", false, "alpha", eonpro.RoleStaff)
	e.user("admin@beta.test", false, "beta", eonpro.RoleAdmin)
}

// membersExpect fails unless the page has the status and contains each
// text.
func membersExpect(t *testing.T, what string, p pageAnswer, status int, texts ...string) {
	t.Helper()
	if p.Status != status {
		t.Errorf("%s: status %d, want %d\n%s", what, p.Status, status, p.Body)
		return
	}
	for _, s := range texts {
		if !strings.Contains(p.Body, s) {
			t.Errorf("%s: no %q in\n%s", what, s, p.Body)
		}
	}
}

func TestUIMembers(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		membersSeed(e)
		staff := e.users["staff@alpha.test"]
		admin := e.browserLike()
		admin.signIn("admin@alpha.test")

		t.Run("List", func(t *testing.T) {
			p := admin.get("/admin/members")
			membersExpect(t, "members", p, 200, "staff@alpha.test", "admin@alpha.test", `<label for="invite-email">`,
				`action="/admin/members/`+staff.ID+`/role"`, `href="/admin/members/`+staff.ID+`/remove"`)
			if strings.Contains(p.Body, "admin@beta.test") {
				t.Error("another clinic's member is listed")
			}
		})
		t.Run("ErrNotAdmin", func(t *testing.T) {
			b := e.browserLike()
			b.signIn("staff@alpha.test")
			membersExpect(t, "GET", b.get("/admin/members"), 403, "Not allowed")
			membersExpect(t, "POST", b.post("/admin/members", url.Values{"email": {"x@alpha.test"}, "name": {"X"}, "role": {"admin"}}), 403)
		})
		t.Run("Invite", func(t *testing.T) {
			p := admin.post("/admin/members", url.Values{"email": {"new@alpha.test"}, "name": {"New Person"}, "role": {"provider"}})
			if p.Status != http.StatusSeeOther || p.Location != "/admin/members?done=invited" {
				t.Fatalf("invite: %d %q %s", p.Status, p.Location, p.Body)
			}
			membersExpect(t, "after", admin.get(p.Location), 200, "Invitation sent.", "new@alpha.test", "New Person")
			if m := e.lastMessage("new@alpha.test"); !membersInviteCode.MatchString(m.Body) {
				t.Errorf("invitation: %q", m.Body)
			}
		})
		t.Run("ErrInviteFields", func(t *testing.T) {
			p := admin.post("/admin/members", url.Values{"email": {"not-an-address"}, "name": {"Kept Name"}, "role": {"staff"}})
			membersExpect(t, "bad e-mail", p, 422, `aria-describedby="invite-email-error"`, "E-mail must be a valid e-mail address.",
				`value="Kept Name"`, `value="not-an-address"`)
			p = admin.post("/admin/members", url.Values{"email": {"x@alpha.test"}, "name": {""}, "role": {"staff"}})
			membersExpect(t, "no name", p, 422, `id="invite-name-error">Name is required.`)
			p = admin.post("/admin/members", url.Values{"email": {"staff@alpha.test"}, "name": {"Again"}, "role": {"staff"}})
			membersExpect(t, "already a member", p, 409, "E-mail is already a member.")
		})
		t.Run("ChangeRole", func(t *testing.T) {
			p := admin.post("/admin/members/"+staff.ID+"/role", url.Values{"role": {"billing"}})
			if p.Status != http.StatusSeeOther || p.Location != "/admin/members?done=role" {
				t.Fatalf("change: %d %q", p.Status, p.Location)
			}
			after := admin.get(p.Location)
			row := regexp.MustCompile(`(?s)<tr id="member-` + staff.ID + `">.*?</tr>`).FindString(after.Body)
			if !strings.Contains(row, `value="billing" selected`) {
				t.Errorf("row after the change: %s", row)
			}
		})
		t.Run("ErrLastAdmin", func(t *testing.T) {
			id := e.users["admin@alpha.test"].ID
			p := admin.post("/admin/members/"+id+"/role", url.Values{"role": {"staff"}})
			membersExpect(t, "demote the last admin", p, 409, `id="role-`+id+`-error">A clinic must keep at least one admin.`)
			p = admin.post("/admin/members/"+id+"/role", url.Values{"role": {"wizard"}})
			membersExpect(t, "unknown role", p, 422, `aria-invalid="true"`, "Role must be one of")
			p = admin.post("/admin/members/"+id+"/remove", nil)
			membersExpect(t, "remove the last admin", p, 409, "A clinic must keep at least one admin.")
		})
		t.Run("Remove", func(t *testing.T) {
			confirm := admin.get("/admin/members/" + staff.ID + "/remove")
			membersExpect(t, "confirm", confirm, 200, "Remove Test staff?", `action="/admin/members/`+staff.ID+`/remove"`)
			p := admin.post("/admin/members/"+staff.ID+"/remove", nil)
			if p.Status != http.StatusSeeOther || p.Location != "/admin/members?done=removed" {
				t.Fatalf("remove: %d %q %s", p.Status, p.Location, p.Body)
			}
			after := admin.get(p.Location)
			membersExpect(t, "after", after, 200, "Member removed.")
			if strings.Contains(after.Body, "staff@alpha.test") {
				t.Error("the removed member is still listed")
			}
		})
		t.Run("ErrOtherClinic", func(t *testing.T) {
			other := e.users["admin@beta.test"].ID
			missing := admin.get("/admin/members/" + eonpro.NewID() + "/remove")
			theirs := admin.get("/admin/members/" + other + "/remove")
			membersExpect(t, "missing", missing, 404, notFoundMessage)
			membersExpect(t, "other clinic's", theirs, 404, notFoundMessage)
			if withoutRequestIDs(missing.Body) != withoutRequestIDs(theirs.Body) {
				t.Error("another clinic's member reads unlike a missing one")
			}
			membersExpect(t, "remove other clinic's", admin.post("/admin/members/"+other+"/remove", nil), 404, notFoundMessage)
			membersExpect(t, "role of other clinic's", admin.post("/admin/members/"+other+"/role", url.Values{"role": {"staff"}}), 404)
		})
		t.Run("ErrCSRF", func(t *testing.T) {
			p := admin.post("/admin/members", url.Values{"csrf": {"forged"}, "email": {"y@alpha.test"}, "name": {"Y"}, "role": {"staff"}})
			membersExpect(t, "forged", p, 403)
		})
	})
}

func TestUIMembersSetPassword(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		membersSeed(e)
		admin := e.browserLike()
		admin.signIn("admin@alpha.test")
		admin.post("/admin/members", url.Values{"email": {"invited@alpha.test"}, "name": {"Invited"}, "role": {"staff"}})
		code := e.sentCode("invited@alpha.test", membersInviteCode)

		b := e.browserLike()
		membersExpect(t, "form", b.get("/set-password?token="+url.QueryEscape(code)), 200, `value="`+code+`"`, `autocomplete="new-password"`)
		p := b.send("POST", "/set-password", url.Values{"code": {code}, "email": {"invited@alpha.test"}, "password": {"short"}})
		membersExpect(t, "short password", p, 422, `id="password-error">Use at least 12 characters.`, `value="invited@alpha.test"`)
		p = b.send("POST", "/set-password", url.Values{"code": {code}, "email": {"invited@alpha.test"}, "password": {""}})
		membersExpect(t, "no password", p, 422, "Password is required.")
		p = b.send("POST", "/set-password", url.Values{"code": {code}, "email": {"invited@alpha.test"}, "password": {"a long and fine passphrase"}})
		if p.Status != http.StatusSeeOther || p.Location != "/" || b.csrf() == "" {
			t.Fatalf("set: %d %q %s", p.Status, p.Location, p.Body)
		}
		membersExpect(t, "home", b.get("/"), 200, "Alpha Clinic", "(staff)")
		again := e.browserLike().send("POST", "/set-password", url.Values{"code": {code}, "email": {"invited@alpha.test"}, "password": {"another fine passphrase"}})
		membersExpect(t, "used code", again, 422, `id="code-error">The code is wrong, used or has expired.`)
		for _, line := range strings.Split(e.log.String(), "\n") {
			if strings.Contains(line, `"msg":"request"`) && strings.Contains(line, code) {
				t.Errorf("the invitation code is in the access log: %s", line)
			}
		}
	})
}

func TestUIMembersForgot(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		membersSeed(e)
		b := e.browserLike()
		membersExpect(t, "form", b.get("/forgot"), 200, `<label for="email">`)
		membersExpect(t, "empty", b.send("POST", "/forgot", url.Values{"email": {""}}), 422, "E-mail is required.")

		known := b.send("POST", "/forgot", url.Values{"email": {"staff@alpha.test"}})
		unknown := b.send("POST", "/forgot", url.Values{"email": {"nobody@alpha.test"}})
		if known.Status != http.StatusSeeOther || known.Location != "/reset?sent=1" ||
			unknown.Status != known.Status || unknown.Location != known.Location {
			t.Fatalf("known %d %q, unknown %d %q: want the same 303", known.Status, known.Location, unknown.Status, unknown.Location)
		}
		e.noMessage("nobody@alpha.test")
		membersExpect(t, "reset page", b.get(known.Location), 200, "If the address has an account")

		t.Run("ErrBadCode", func(t *testing.T) {
			p := b.send("POST", "/reset", url.Values{"code": {"not-a-code"}, "email": {"staff@alpha.test"}, "password": {"a long and fine passphrase"}})
			membersExpect(t, "bad code", p, 422, `aria-describedby="code-error"`, "The code is wrong, used or has expired.")
			if b.csrf() != "" {
				t.Error("signed in with a bad code")
			}
		})
		t.Run("OK", func(t *testing.T) {
			code := e.sentCode("staff@alpha.test", membersResetCode)
			link := e.sentCode("staff@alpha.test", membersInviteLink)
			if want := e.srv.URL + "/reset?token=" + code; link != want {
				t.Errorf("reset link %q, want %q", link, want)
			}
			membersExpect(t, "reset link", b.get(strings.TrimPrefix(link, e.srv.URL)), 200, `value="`+code+`"`)
			p := b.send("POST", "/reset", url.Values{"code": {code}, "email": {"staff@alpha.test"}, "password": {"short"}})
			membersExpect(t, "short password", p, 422, "Use at least 12 characters.")
			p = b.send("POST", "/reset", url.Values{"code": {code}, "email": {"staff@alpha.test"}, "password": {"a long and fine passphrase"}})
			if p.Status != http.StatusSeeOther || b.csrf() == "" {
				t.Fatalf("reset: %d %q %s", p.Status, p.Location, p.Body)
			}
			old := e.browserLike().send("POST", "/login", url.Values{"email": {"staff@alpha.test"}, "password": {testPassword}})
			membersExpect(t, "old password", old, 401)
		})
	})
}

func TestUIMembersPhone(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha")
		e.phoneUser("patient@alpha.test", "+15125550100")
		b := e.browserLike()
		membersExpect(t, "form", b.get("/login/phone"), 200, `<label for="phone">`)
		membersExpect(t, "bad number", b.send("POST", "/login/phone", url.Values{"phone": {"12"}}), 422,
			`id="phone-field-error">The number must be in E.164 form`)

		sent := b.send("POST", "/login/phone", url.Values{"phone": {"+1 512 555-0100"}})
		unknown := b.send("POST", "/login/phone", url.Values{"phone": {"+15125550199"}})
		membersExpect(t, "sent", sent, 200, `action="/login/phone/verify"`, `value="&#43;15125550100"`)
		if strings.ReplaceAll(withoutRequestIDs(unknown.Body), "0199", "0100") != withoutRequestIDs(sent.Body) {
			t.Errorf("an unknown number reads unlike a known one:\n%s", unknown.Body)
		}
		code := e.sentCode("+15125550100", phoneCode)
		wrong := fmt.Sprintf("%06d", (mustAtoi(t, code)+1)%1_000_000)

		t.Run("ErrWrongCode", func(t *testing.T) {
			p := b.send("POST", "/login/phone/verify", url.Values{"phone": {"+15125550100"}, "code": {wrong}})
			membersExpect(t, "wrong code", p, 401, `id="phone-error"`, "That code is not right")
			if b.csrf() != "" {
				t.Error("signed in with a wrong code")
			}
			p = b.send("POST", "/login/phone/verify", url.Values{"phone": {"+15125550100"}})
			membersExpect(t, "no code", p, 422, `id="code-error">Code is required.`)
		})
		t.Run("OK", func(t *testing.T) {
			p := b.send("POST", "/login/phone/verify", url.Values{"phone": {"+15125550100"}, "code": {code}})
			if p.Status != http.StatusSeeOther || p.Location != "/" || b.csrf() == "" {
				t.Fatalf("verify: %d %q %s", p.Status, p.Location, p.Body)
			}
			if home := b.get("/"); home.Status != http.StatusSeeOther || home.Location != "/portal" {
				t.Errorf("a patient's home: %d %q", home.Status, home.Location)
			}
		})
		t.Run("SignInLinks", func(t *testing.T) {
			membersExpect(t, "sign-in page", e.browserLike().get("/login"), 200,
				`<a href="/login/phone">Patients: sign in with a code by text message</a>`, `<a href="/forgot">Forgot your password?</a>`)
		})
	})
}

// TestUIInvitations: alpha invites beta's admin, who sees a notice, then
// declines one invitation and accepts the next; alpha withdraws another.
func TestUIInvitations(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		membersSeed(e)
		admin := e.browserLike()
		admin.signIn("admin@alpha.test")
		invite := func(email string) {
			t.Helper()
			p := admin.post("/admin/members", url.Values{"email": {email}, "name": {"Typed Name"}, "role": {"billing"}})
			if p.Status != http.StatusSeeOther {
				t.Fatalf("invite %s: %d %s", email, p.Status, p.Body)
			}
		}
		invite("admin@beta.test")
		list := admin.get("/admin/members")
		membersExpect(t, "pending", list, 200, "Pending invitations", "admin@beta.test")
		if members := regexp.MustCompile(`(?s)<table class="responsive members">.*?</table>`).FindString(list.Body); strings.Contains(members, "admin@beta.test") {
			t.Errorf("the members page shows beta's admin as a member before they accept")
		}

		b := e.browserLike()
		b.signIn("admin@beta.test")
		membersExpect(t, "notice", b.get("/"), 200, `id="invitation-notice"`, `href="/invitations"`)
		page := b.get("/invitations")
		membersExpect(t, "invitations", page, 200, "Alpha Clinic", "billing")
		id := regexp.MustCompile(`/invitations/([^/"]+)/decline`).FindStringSubmatch(page.Body)
		if id == nil {
			t.Fatalf("no decline form:\n%s", page.Body)
		}
		p := b.post("/invitations/"+id[1]+"/decline", nil)
		if p.Status != http.StatusSeeOther || p.Location != "/invitations?done=declined" {
			t.Fatalf("decline: %d %q", p.Status, p.Location)
		}
		membersExpect(t, "declined", b.get(p.Location), 200, "Invitation declined.", "You have no pending invitations.")
		if p := b.post("/invitations/"+id[1]+"/accept", nil); p.Status != http.StatusNotFound {
			t.Errorf("accepting a declined invitation: %d, want 404", p.Status)
		}

		invite("admin@beta.test")
		id = regexp.MustCompile(`/invitations/([^/"]+)/accept`).FindStringSubmatch(b.get("/invitations").Body)
		if id == nil {
			t.Fatal("no accept form for the second invitation")
		}
		p = b.post("/invitations/"+id[1]+"/accept", nil)
		if p.Status != http.StatusSeeOther || p.Location != "/" {
			t.Fatalf("accept: %d %q", p.Status, p.Location)
		}
		membersExpect(t, "in alpha", b.get("/"), 200, "Alpha Clinic", "(billing)")

		invite("someone@else.test")
		wid := regexp.MustCompile(`/admin/invitations/([^/"]+)/revoke`).FindStringSubmatch(admin.get("/admin/members").Body)
		if wid == nil {
			t.Fatal("no withdraw form")
		}
		p = admin.post("/admin/invitations/"+wid[1]+"/revoke", nil)
		if p.Status != http.StatusSeeOther {
			t.Fatalf("withdraw: %d", p.Status)
		}
		after := admin.get(p.Location)
		membersExpect(t, "withdrawn", after, 200, "Invitation withdrawn.")
		if strings.Contains(after.Body, "someone@else.test") {
			t.Errorf("a withdrawn invitation is still listed")
		}
	})
}

// TestUIOutbox: in development an admin reads the invitation they sent in
// the outbox page; another clinic's admin does not see it; a server
// without the development outbox has no such page.
func TestUIOutbox(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		membersSeed(e)
		admin := e.browserLike()
		admin.signIn("admin@alpha.test")
		membersExpect(t, "empty", admin.get("/admin/outbox"), 200, "Outbox (development)", `href="/admin/outbox"`)
		admin.post("/admin/members", url.Values{"email": {"nora@alpha.test"}, "name": {"Nora"}, "role": {"staff"}})
		code := e.sentCode("nora@alpha.test", membersInviteCode)
		membersExpect(t, "invitation", admin.get("/admin/outbox"), 200, "Your invitation to Alpha Clinic", "nora@alpha.test", code)
		beta := e.browserLike()
		beta.signIn("admin@beta.test")
		if p := beta.get("/admin/outbox"); p.Status != 200 || strings.Contains(p.Body, "nora@alpha.test") || strings.Contains(p.Body, code) {
			t.Errorf("beta's outbox: %d, shows alpha's invitation: %v", p.Status, strings.Contains(p.Body, code))
		}
		staff := e.browserLike()
		staff.signIn("staff@alpha.test")
		membersExpect(t, "staff", staff.get("/admin/outbox"), 403)
	})
}
