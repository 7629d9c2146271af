package web

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
)

// invitationCode is the set-password code at the end of an invitation.
var invitationCode = regexp.MustCompile(`code within 7 days: ([A-Za-z0-9_-]+)(?:\n|$)`)

// memberEmails lists the e-mails of the members of the clinic of hdr and
// fails unless every member shown belongs to clinicID.
func (e *idEnv) memberEmails(clinicID string, hdr ...string) []string {
	e.t.Helper()
	var list struct{ Data []eonpro.Member }
	res := e.do("GET", "/api/v1/clinic/members", nil, hdr...)
	if res.Status != http.StatusOK {
		e.t.Fatalf("list members: %d %s", res.Status, res.Raw)
	}
	decodeInto(e.t, res, &list)
	var out []string
	for _, m := range list.Data {
		if m.ClinicID != clinicID {
			e.t.Errorf("member of another clinic listed: %+v", m)
		}
		out = append(out, m.Email)
	}
	return out
}

// TestMembers is a clinic admin listing, inviting, changing and removing
// members. The subtests run in order on one clinic.
func TestMembers(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		alpha := e.clinic("alpha").ID
		e.clinic("beta")
		admin := e.user("admin@alpha.test", false, "alpha", eonpro.RoleAdmin)
		staff := e.userWithPhone("staff@alpha.test", "+15125550201", false, eonpro.RoleStaff, "alpha")
		billing := e.userWithPhone("billing@alpha.test", "+15125550202", false, eonpro.RoleBilling, "alpha")
		e.user("admin@beta.test", false, "beta", eonpro.RoleAdmin)
		inAlpha := []string{"X-Clinic", "alpha"}
		adminHdr := with(bearer(e.login(admin.Email)), inAlpha)
		// Their sessions only need to exist, to be revoked: phone codes
		// spend no password hash.
		staffTok, billingTok := e.phoneSignIn(staff.Phone), e.phoneSignIn(billing.Phone)
		path := func(u *eonpro.User) string { return "/api/v1/clinic/members/" + u.ID }

		t.Run("List", func(t *testing.T) {
			e := e.forTest(t)
			want := []string{"admin@alpha.test", "billing@alpha.test", "staff@alpha.test"}
			if d := diff(want, e.memberEmails(alpha, adminHdr...)); d != "" {
				t.Errorf("members mismatch (-want +got):\n%s", d)
			}
			if d := diff(want, e.memberEmails(alpha, with(bearer(staffTok), inAlpha)...)); d != "" {
				t.Errorf("members seen by staff mismatch (-want +got):\n%s", d)
			}
			if res := e.do("GET", "/api/v1/clinic/members", nil, with(bearer(billingTok), inAlpha)...); res.Status != http.StatusForbidden {
				t.Errorf("billing lists: %d %s, want 403", res.Status, res.Raw)
			}
		})
		t.Run("InviteNew", func(t *testing.T) {
			e := e.forTest(t)
			res := e.do("POST", "/api/v1/clinic/members", map[string]string{"email": "new@alpha.test", "name": "New Person", "role": "provider"}, adminHdr...)
			if res.Status != http.StatusCreated || res.Body["role"] != "provider" || res.Body["clinic_id"] != alpha || res.Body["status"] != "pending" {
				t.Fatalf("%d %s", res.Status, res.Raw)
			}
			if slices.Contains(e.memberEmails(alpha, adminHdr...), "new@alpha.test") {
				t.Errorf("a member before accepting")
			}
			m := invitationCode.FindStringSubmatch(e.lastMessage("new@alpha.test").Body)
			if m == nil {
				t.Fatalf("no code in the invitation: %q", e.lastMessage("new@alpha.test").Body)
			}
			res = e.do("POST", "/api/v1/auth/password/reset", map[string]string{"token": m[1], "password": "a fresh passphrase for alpha"})
			if res.Status != http.StatusNoContent {
				t.Errorf("set password with the invitation code: %d %s", res.Status, res.Raw)
			}
			if !slices.Contains(e.memberEmails(alpha, adminHdr...), "new@alpha.test") {
				t.Errorf("not a member after setting the password")
			}
		})
		t.Run("InviteExisting", func(t *testing.T) {
			e := e.forTest(t)
			res := e.do("POST", "/api/v1/clinic/members", map[string]string{"email": "Admin@Beta.test", "role": "staff"}, adminHdr...)
			if res.Status != http.StatusCreated || res.Body["role"] != "staff" || res.Body["status"] != "pending" {
				t.Fatalf("%d %s", res.Status, res.Raw)
			}
			// The inviting clinic learns nothing of the account: no id, no name.
			if _, ok := res.Body["user_id"]; ok || strings.Contains(string(res.Raw), e.users["admin@beta.test"].ID) || res.Body["name"] != "" {
				t.Errorf("the answer tells of the account: %s", res.Raw)
			}
			if slices.Contains(e.memberEmails(alpha, adminHdr...), "admin@beta.test") {
				t.Errorf("a member before accepting")
			}
			if body := e.lastMessage("admin@beta.test").Body; invitationCode.MatchString(body) {
				t.Errorf("an existing user got a set-password code: %q", body)
			}
			betaTok := bearer(e.login("admin@beta.test"))
			var mine struct{ Data []eonpro.Invitation }
			decodeInto(t, e.do("GET", "/api/v1/me/invitations", nil, betaTok...), &mine)
			if len(mine.Data) != 1 || mine.Data[0].ClinicID != alpha || mine.Data[0].Role != eonpro.RoleStaff {
				t.Fatalf("the invitee's invitations: %+v", mine.Data)
			}
			if res := e.do("POST", "/api/v1/me/invitations/"+mine.Data[0].ID+"/accept", nil, betaTok...); res.Status != http.StatusOK || res.Body["role"] != "staff" {
				t.Fatalf("accept: %d %s", res.Status, res.Raw)
			}
			if !slices.Contains(e.memberEmails(alpha, adminHdr...), "admin@beta.test") {
				t.Errorf("not a member after accepting")
			}
		})
		t.Run("ErrInvite", func(t *testing.T) {
			e := e.forTest(t)
			for _, tc := range []struct {
				name   string
				body   map[string]string
				status int
				field  string
				hdr    []string
			}{
				{"Member", map[string]string{"email": "staff@alpha.test", "role": "staff"}, http.StatusConflict, "email", adminHdr},
				{"MemberOtherCase", map[string]string{"email": " STAFF@alpha.test", "role": "billing"}, http.StatusConflict, "email", adminHdr},
				{"BadRole", map[string]string{"email": "x@alpha.test", "role": "owner"}, http.StatusUnprocessableEntity, "role", adminHdr},
				{"NoRole", map[string]string{"email": "x@alpha.test"}, http.StatusUnprocessableEntity, "role", adminHdr},
				{"NoEmail", map[string]string{"role": "staff"}, http.StatusUnprocessableEntity, "email", adminHdr},
				{"BadEmail", map[string]string{"email": "not-an-address", "role": "staff"}, http.StatusUnprocessableEntity, "email", adminHdr},
				{"NotAdmin", map[string]string{"email": "x@alpha.test", "role": "staff"}, http.StatusForbidden, "", with(bearer(staffTok), inAlpha)},
			} {
				res := e.do("POST", "/api/v1/clinic/members", tc.body, tc.hdr...)
				if res.Status != tc.status || (tc.field != "" && res.field(tc.field) == "") {
					t.Errorf("%s: %d %s, want %d naming %q", tc.name, res.Status, res.Raw, tc.status, tc.field)
				}
			}
			e.noMessageTo("x@alpha.test")
		})
		t.Run("ChangeRole", func(t *testing.T) {
			e := e.forTest(t)
			res := e.do("PATCH", path(staff), map[string]string{"role": "billing"}, adminHdr...)
			if res.Status != http.StatusOK || res.Body["role"] != "billing" {
				t.Fatalf("%d %s", res.Status, res.Raw)
			}
			if res := e.do("GET", "/api/v1/me", nil, bearer(staffTok)...); res.Status != http.StatusUnauthorized {
				t.Errorf("the member's old session: %d %s, want 401", res.Status, res.Raw)
			}
		})
		t.Run("Remove", func(t *testing.T) {
			e := e.forTest(t)
			if res := e.do("DELETE", path(billing), nil, adminHdr...); res.Status != http.StatusNoContent {
				t.Fatalf("%d %s", res.Status, res.Raw)
			}
			// The removed member's session no longer acts in the clinic;
			// their account (and any other clinic) is not the clinic's.
			if res := e.do("GET", "/api/v1/clinic", nil, with(bearer(billingTok), inAlpha)...); res.Status != http.StatusNotFound {
				t.Errorf("the removed member's session in the clinic: %d %s, want 404", res.Status, res.Raw)
			}
			if res := e.do("GET", "/api/v1/me", nil, bearer(billingTok)...); res.Status != http.StatusOK || res.Body["clinic_id"] != "" {
				t.Errorf("the removed member's own account: %d %s, want 200 with no clinic", res.Status, res.Raw)
			}
			want := []string{"admin@alpha.test", "admin@beta.test", "new@alpha.test", "staff@alpha.test"}
			if d := diff(want, e.memberEmails(alpha, adminHdr...)); d != "" {
				t.Errorf("members mismatch (-want +got):\n%s", d)
			}
		})
		t.Run("ErrLastAdmin", func(t *testing.T) {
			e := e.forTest(t)
			for _, tc := range []struct {
				method string
				body   any
			}{
				{"PATCH", map[string]string{"role": "staff"}},
				{"DELETE", nil},
			} {
				if res := e.do(tc.method, path(admin), tc.body, adminHdr...); res.Status != http.StatusConflict {
					t.Errorf("%s the last admin: %d %s, want 409", tc.method, res.Status, res.Raw)
				}
			}
			if res := e.do("GET", "/api/v1/clinic", nil, adminHdr...); res.Status != http.StatusOK {
				t.Errorf("the admin afterwards: %d %s", res.Status, res.Raw)
			}
		})
		t.Run("ErrUnknown", func(t *testing.T) {
			e := e.forTest(t)
			for _, tc := range []struct {
				method, path string
				body         any
				status       int
			}{
				{"PATCH", "/api/v1/clinic/members/" + eonpro.NewID(), map[string]string{"role": "staff"}, http.StatusNotFound},
				{"DELETE", "/api/v1/clinic/members/" + eonpro.NewID(), nil, http.StatusNotFound},
				{"DELETE", path(billing), nil, http.StatusNotFound}, // removed above
				{"PATCH", path(staff), map[string]string{"role": "owner"}, http.StatusUnprocessableEntity},
				{"PATCH", path(staff), map[string]string{}, http.StatusUnprocessableEntity},
			} {
				if res := e.do(tc.method, tc.path, tc.body, adminHdr...); res.Status != tc.status {
					t.Errorf("%s %s %v: %d %s, want %d", tc.method, tc.path, tc.body, res.Status, res.Raw, tc.status)
				}
			}
		})
	})
}

// noMessageTo fails if anything was ever sent to a recipient.
func (e *idEnv) noMessageTo(to string) {
	e.t.Helper()
	e.auth.Wait()
	if m, err := e.notify.LatestMessage(context.Background(), to); eonpro.ErrorCode(err) != eonpro.ENOTFOUND {
		e.t.Errorf("a message went to %s: %+v (err %v)", to, m, err)
	}
}

// TestLastAdminConcurrent: two admins demoting each other at the same
// moment must not both succeed and leave the clinic without an admin.
// Each round is a race of its own, in a fresh clinic; before admin rows
// were locked, about a third of the rounds on PostgreSQL lost both admins.
func TestLastAdminConcurrent(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		a := e.userWithPhone("a@eonpro.test", "+15125550301", false, "")
		b := e.userWithPhone("b@eonpro.test", "+15125550302", false, "")
		users := sqlstore.NewUserService(e.db, e.notify, nil)
		demote := func(tok, clinic string, target *eonpro.User) int {
			req, err := http.NewRequest("PATCH", e.srv.URL+"/api/v1/clinic/members/"+target.ID, strings.NewReader(`{"role":"staff"}`))
			if err != nil {
				return -1
			}
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("X-Clinic", clinic)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return -1
			}
			res.Body.Close()
			return res.StatusCode
		}
		for round := range 20 {
			c := e.clinic(fmt.Sprintf("race-%d", round))
			for _, u := range []*eonpro.User{a, b} {
				if err := users.AddMembership(context.Background(), u.ID, c.ID, eonpro.RoleAdmin); err != nil {
					t.Fatal(err)
				}
			}
			// Each demotion ends the demoted admin's sessions in the clinic: sign in anew.
			ta, tb := e.phoneSignIn(a.Phone), e.phoneSignIn(b.Phone)
			var byA, byB int
			var wg sync.WaitGroup
			wg.Go(func() { byA = demote(ta, c.Slug, b) })
			wg.Go(func() { byB = demote(tb, c.Slug, a) })
			wg.Wait()
			if byA == http.StatusOK && byB == http.StatusOK {
				t.Errorf("round %d: both admins demoted each other", round)
			} else if byA != http.StatusOK && byB != http.StatusOK {
				t.Errorf("round %d: neither demotion went through: %d, %d", round, byA, byB)
			}
		}
	})
}
