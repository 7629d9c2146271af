package web

import (
	"net/http"

	"github.com/eonpro/eonpro"
)

func (s *Server) meRoutes() {
	s.route("GET /api/v1/me", eonpro.PermEnroll, s.handleMe)
	s.route("GET /api/v1/me/sessions", eonpro.PermSelf, s.handleMySessions)
	s.route("DELETE /api/v1/me/sessions/{id}", eonpro.PermSelf, s.handleRevokeMySession)
	s.route("POST /api/v1/me/password", eonpro.PermSelf, s.handleChangePassword)
	s.route("POST /api/v1/me/mfa/totp", eonpro.PermEnroll, s.handleEnrollTOTP)
	s.route("POST /api/v1/me/mfa/totp/confirm", eonpro.PermEnroll, s.handleConfirmTOTP)
	s.route("DELETE /api/v1/me/mfa", eonpro.PermSelf, s.handleDisableMFA)
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) error {
	p := eonpro.PrincipalFromContext(r.Context())
	ms, err := s.cfg.Users.FindMemberships(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	perms := p.Permissions
	if perms == nil {
		perms = []eonpro.Permission{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"user_id":                 p.UserID,
		"super_admin":             p.SuperAdmin,
		"api_key_id":              p.APIKeyID,
		"memberships":             ms,
		"clinic_id":               p.ClinicID,
		"role":                    p.Role,
		"permissions":             perms,
		"mfa_enrollment_required": p.MFAPending,
	})
	return nil
}

func (s *Server) handleMySessions(w http.ResponseWriter, r *http.Request) error {
	ss, err := s.cfg.Auth.FindSessions(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": ss})
	return nil
}

func (s *Server) handleRevokeMySession(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.Auth.RevokeSession(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleChangePassword(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := required("current_password", in.Current, "new_password", in.New); err != nil {
		return err
	}
	if err := s.cfg.Auth.ChangePassword(r.Context(), in.Current, in.New); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleEnrollTOTP(w http.ResponseWriter, r *http.Request) error {
	secret, url, err := s.cfg.Auth.EnrollTOTP(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"secret": secret, "otpauth_url": url})
	return nil
}

func (s *Server) handleConfirmTOTP(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := required("code", in.Code); err != nil {
		return err
	}
	codes, err := s.cfg.Auth.ConfirmTOTP(r.Context(), in.Code)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string][]string{"backup_codes": codes})
	return nil
}

func (s *Server) handleDisableMFA(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Password string `json:"password"`
		Code     string `json:"code"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := required("password", in.Password, "code", in.Code); err != nil {
		return err
	}
	if err := s.cfg.Auth.DisableMFA(r.Context(), in.Password, in.Code); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
