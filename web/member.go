package web

import (
	"net/http"

	"github.com/eonpro/eonpro"
)

func (s *Server) memberRoutes() {
	s.route("GET /api/v1/clinic/members", eonpro.PermMembersRead, s.handleListMembers)
	s.route("POST /api/v1/clinic/members", eonpro.PermMembersManage, s.handleInviteMember)
	s.route("PATCH /api/v1/clinic/members/{user_id}", eonpro.PermMembersManage, s.handleChangeRole)
	s.route("DELETE /api/v1/clinic/members/{user_id}", eonpro.PermMembersManage, s.handleRemoveMember)
	s.route("GET /api/v1/clinic/invitations", eonpro.PermMembersRead, s.handleListInvitations)
	s.route("DELETE /api/v1/clinic/invitations/{id}", eonpro.PermMembersManage, s.handleRevokeInvitation)
	s.route("GET /api/v1/me/invitations", eonpro.PermSelf, s.handleMyInvitations)
	s.route("POST /api/v1/me/invitations/{id}/accept", eonpro.PermSelf, s.handleAcceptInvitation)
	s.route("POST /api/v1/me/invitations/{id}/decline", eonpro.PermSelf, s.handleDeclineInvitation)
}

func (s *Server) handleListMembers(w http.ResponseWriter, r *http.Request) error {
	ms, err := s.cfg.Users.FindMembers(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": ms})
	return nil
}

func (s *Server) handleInviteMember(w http.ResponseWriter, r *http.Request) error {
	var inv eonpro.NewInvitation
	if err := decodeJSON(r, &inv); err != nil {
		return err
	}
	if err := required("email", inv.Email, "role", string(inv.Role)); err != nil {
		return err
	}
	created, err := s.cfg.Users.InviteMember(r.Context(), inv)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, created)
	return nil
}

func (s *Server) handleListInvitations(w http.ResponseWriter, r *http.Request) error {
	invs, err := s.cfg.Users.FindInvitations(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": invs})
	return nil
}

func (s *Server) handleRevokeInvitation(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.Users.RevokeInvitation(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleMyInvitations(w http.ResponseWriter, r *http.Request) error {
	invs, err := s.cfg.Users.FindMyInvitations(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": invs})
	return nil
}

func (s *Server) handleAcceptInvitation(w http.ResponseWriter, r *http.Request) error {
	m, err := s.cfg.Users.AcceptInvitation(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *Server) handleDeclineInvitation(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.Users.DeclineInvitation(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleChangeRole(w http.ResponseWriter, r *http.Request) error {
	var in struct{ Role eonpro.Role }
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := required("role", string(in.Role)); err != nil {
		return err
	}
	m, err := s.cfg.Users.ChangeMemberRole(r.Context(), r.PathValue("user_id"), in.Role)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *Server) handleRemoveMember(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.Users.RemoveMember(r.Context(), r.PathValue("user_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
