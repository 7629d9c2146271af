package web

import (
	"net/http"
	"strings"

	"github.com/eonpro/eonpro"
)

// memberPages registers the clinic's member pages and the sign-in side
// pages (invitation, forgotten password, phone code).
func (s *Server) memberPages() {
	s.page("GET /admin/members", eonpro.PermMembersManage, s.pageMembers)
	s.page("POST /admin/members", eonpro.PermMembersManage, s.pageInviteMember)
	s.page("POST /admin/members/{user_id}/role", eonpro.PermMembersManage, s.pageChangeMemberRole)
	s.page("GET /admin/members/{user_id}/remove", eonpro.PermMembersManage, s.pageRemoveMemberConfirm)
	s.page("POST /admin/members/{user_id}/remove", eonpro.PermMembersManage, s.pageRemoveMember)
	s.page("POST /admin/invitations/{id}/revoke", eonpro.PermMembersManage, s.pageRevokeInvitation)
	s.page("GET /invitations", eonpro.PermSelf, s.pageMyInvitations)
	s.page("POST /invitations/{id}/accept", eonpro.PermSelf, s.pageAcceptInvitation)
	s.page("POST /invitations/{id}/decline", eonpro.PermSelf, s.pageDeclineInvitation)
	s.page("GET /set-password", eonpro.PermPublic, s.pageSetPassword)
	s.page("POST /set-password", eonpro.PermPublic, s.pageSetPasswordSubmit)
	s.page("GET /forgot", eonpro.PermPublic, s.pageForgot)
	s.page("POST /forgot", eonpro.PermPublic, s.pageForgotSubmit)
	s.page("GET /reset", eonpro.PermPublic, s.pageSetPassword)
	s.page("POST /reset", eonpro.PermPublic, s.pageSetPasswordSubmit)
	s.page("GET /login/phone", eonpro.PermPublic, s.pagePhoneLogin)
	s.page("POST /login/phone", eonpro.PermPublic, s.pagePhoneSend)
	s.page("POST /login/phone/verify", eonpro.PermPublic, s.pagePhoneVerify)
}

// membersPage is the data of the members page.
type membersPage struct {
	Members []*eonpro.Member
	// Invitations are the clinic's pending invitations.
	Invitations []*eonpro.Invitation
	Roles       []eonpro.Role
	// Invite and Errors are the invitation form and its field errors.
	Invite eonpro.NewInvitation
	Errors map[string]string
	// RowUser and RowError: a role change refused for one member.
	RowUser, RowError string
}

// memberNotices are the flashes after a change, by the done parameter.
var memberNotices = map[string]string{
	"invited": "Invitation sent.",
	"revoked": "Invitation withdrawn.",
	"role":    "Role changed. The member signs in again to use it here.",
	"removed": "Member removed.",
}

func (s *Server) pageMembers(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Flash = memberNotices[r.URL.Query().Get("done")]
	return s.renderMembers(w, r, v, http.StatusOK, membersPage{Invite: eonpro.NewInvitation{Role: eonpro.RoleStaff}})
}

// renderMembers shows the members page with the list loaded.
func (s *Server) renderMembers(w http.ResponseWriter, r *http.Request, v *view, status int, d membersPage) error {
	ms, err := s.cfg.Users.FindMembers(r.Context())
	if err != nil {
		return err
	}
	if d.Invitations, err = s.cfg.Users.FindInvitations(r.Context()); err != nil {
		return err
	}
	d.Members, d.Roles = ms, eonpro.Roles
	v.Title, v.Data = "Members", d
	return s.render(w, r, status, "members", v)
}

// pageInviteMember invites a person; the service sends the invitation.
func (s *Server) pageInviteMember(w http.ResponseWriter, r *http.Request, v *view) error {
	inv := eonpro.NewInvitation{Email: strings.TrimSpace(r.PostFormValue("email")),
		Name: strings.TrimSpace(r.PostFormValue("name")), Role: eonpro.Role(r.PostFormValue("role"))}
	err := required("email", inv.Email, "name", inv.Name, "role", string(inv.Role))
	if err == nil {
		_, err = s.cfg.Users.InviteMember(r.Context(), inv)
	}
	if fields := eonpro.ErrorFields(err); len(fields) > 0 {
		return s.renderMembers(w, r, v, memberFormStatus(err), membersPage{Invite: inv, Errors: fields})
	}
	if err != nil {
		return err
	}
	s.redirect(w, r, "/admin/members?done=invited")
	return nil
}

// memberFormStatus is the status of a form shown again with field errors:
// 422, or the error's own status when it is a conflict.
func memberFormStatus(err error) int {
	if eonpro.ErrorCode(err) == eonpro.ECONFLICT {
		return http.StatusConflict
	}
	return http.StatusUnprocessableEntity
}

func (s *Server) pageChangeMemberRole(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("user_id")
	_, err := s.cfg.Users.ChangeMemberRole(r.Context(), id, eonpro.Role(r.PostFormValue("role")))
	switch eonpro.ErrorCode(err) {
	case "":
		s.redirect(w, r, "/admin/members?done=role")
		return nil
	case eonpro.EINVALID, eonpro.ECONFLICT:
		d := membersPage{Invite: eonpro.NewInvitation{Role: eonpro.RoleStaff}, RowUser: id, RowError: memberRowMessage(err)}
		return s.renderMembers(w, r, v, memberFormStatus(err), d)
	}
	return err
}

// memberRowMessage is the text of a refused role change.
func memberRowMessage(err error) string {
	if f := eonpro.ErrorFields(err)["role"]; f != "" {
		return "Role " + f + "."
	}
	return eonpro.ErrorMessage(err)
}

// clinicMember returns one member of the clinic of the request, or the 404
// of a missing record.
func (s *Server) clinicMember(r *http.Request, id string) (*eonpro.Member, error) {
	ms, err := s.cfg.Users.FindMembers(r.Context())
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.UserID == id {
			return m, nil
		}
	}
	return nil, eonpro.Errorf(eonpro.ENOTFOUND, "Member not found.")
}

// memberRemoval is the data of the removal confirmation.
type memberRemoval struct {
	Member *eonpro.Member
	Error  string
}

// pageRemoveMemberConfirm asks before removing: a page of its own, so it
// works without script.
func (s *Server) pageRemoveMemberConfirm(w http.ResponseWriter, r *http.Request, v *view) error {
	m, err := s.clinicMember(r, r.PathValue("user_id"))
	if err != nil {
		return err
	}
	v.Title, v.Data = "Remove member", memberRemoval{Member: m}
	return s.render(w, r, http.StatusOK, "member-remove", v)
}

func (s *Server) pageRemoveMember(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("user_id")
	err := s.cfg.Users.RemoveMember(r.Context(), id)
	if eonpro.ErrorCode(err) == eonpro.ECONFLICT {
		m, ferr := s.clinicMember(r, id)
		if ferr != nil {
			return ferr
		}
		v.Title, v.Data = "Remove member", memberRemoval{Member: m, Error: eonpro.ErrorMessage(err)}
		return s.render(w, r, http.StatusConflict, "member-remove", v)
	}
	if err != nil {
		return err
	}
	s.redirect(w, r, "/admin/members?done=removed")
	return nil
}

func (s *Server) pageRevokeInvitation(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := s.cfg.Users.RevokeInvitation(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	s.redirect(w, r, "/admin/members?done=revoked")
	return nil
}

// invitationsPage is the data of the signed-in person's invitations page.
type invitationsPage struct {
	Invitations []*eonpro.Invitation
}

// invitationNotices are the flashes after an answer, by the done parameter.
var invitationNotices = map[string]string{
	"declined": "Invitation declined.",
}

// pageMyInvitations lists the invitations to the signed-in person's
// address, each to accept or decline: nothing changes until they do.
func (s *Server) pageMyInvitations(w http.ResponseWriter, r *http.Request, v *view) error {
	invs, err := s.cfg.Users.FindMyInvitations(r.Context())
	if err != nil {
		return err
	}
	v.Flash = invitationNotices[r.URL.Query().Get("done")]
	v.Title, v.Data = "Invitations", invitationsPage{Invitations: invs}
	return s.render(w, r, http.StatusOK, "invitations", v)
}

// pageAcceptInvitation joins the clinic and opens it.
func (s *Server) pageAcceptInvitation(w http.ResponseWriter, r *http.Request, v *view) error {
	m, err := s.cfg.Users.AcceptInvitation(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	s.setClinicCookie(w, m.ClinicSlug)
	s.redirect(w, r, "/")
	return nil
}

func (s *Server) pageDeclineInvitation(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := s.cfg.Users.DeclineInvitation(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	s.redirect(w, r, "/invitations?done=declined")
	return nil
}
