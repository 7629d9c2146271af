package web

import (
	"net/http"
)

// handleUnlockRequest asks for an unlock code by e-mail. The answer is the
// same whether or not the address has an account or is locked out.
func (s *Server) handleUnlockRequest(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := required("email", in.Email); err != nil {
		return err
	}
	if err := s.cfg.Auth.RequestUnlock(r.Context(), in.Email, meta(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "If the address has a locked account, an unlock code is on its way."})
	return nil
}

// handleUnlockConfirm unlocks the account with the code from the e-mail.
func (s *Server) handleUnlockConfirm(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email string `json:"email"`
		Code  string `json:"code"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := required("email", in.Email, "code", in.Code); err != nil {
		return err
	}
	if err := s.cfg.Auth.Unlock(r.Context(), in.Email, in.Code, meta(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
