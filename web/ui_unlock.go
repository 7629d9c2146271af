package web

import (
	"net/http"
	"strings"

	"github.com/eonpro/eonpro"
)

// unlockPages registers the pages that ask for and use an unlock code:
// the way back in after the sign-in page answers "too many attempts".
func (s *Server) unlockPages() {
	s.page("GET /unlock", eonpro.PermPublic, s.pageUnlock)
	s.page("POST /unlock", eonpro.PermPublic, s.pageUnlockRequest)
	s.page("GET /unlock/confirm", eonpro.PermPublic, s.pageUnlockConfirm)
	s.page("POST /unlock/confirm", eonpro.PermPublic, s.pageUnlockConfirmSubmit)
}

// unlockForm is the data of the unlock pages.
type unlockForm struct {
	Email  string
	Code   string
	Errors map[string]string
	// Sent: the visitor has just asked for a code.
	Sent bool
}

// pageUnlock asks for the e-mail to send an unlock code to.
func (s *Server) pageUnlock(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Title, v.Data = "Unlock your account", unlockForm{}
	return s.render(w, r, http.StatusOK, "unlock", v)
}

// pageUnlockRequest asks the service for a code and shows the code form,
// the same whether or not the address has a locked account. The e-mail
// is filled in on the next form rather than carried in an address.
func (s *Server) pageUnlockRequest(w http.ResponseWriter, r *http.Request, v *view) error {
	f := unlockForm{Email: strings.TrimSpace(r.PostFormValue("email"))}
	v.Title = "Unlock your account"
	if err := required("email", f.Email); err != nil {
		f.Errors, v.Data = eonpro.ErrorFields(err), f
		return s.render(w, r, http.StatusUnprocessableEntity, "unlock", v)
	}
	if err := s.cfg.Auth.RequestUnlock(r.Context(), f.Email, meta(r)); err != nil {
		return err
	}
	f.Sent = true
	v.Data = f
	return s.render(w, r, http.StatusOK, "unlock-confirm", v)
}

// pageUnlockConfirm shows the code form; the code may come in the query,
// from the e-mail's link (the access log records paths without queries).
func (s *Server) pageUnlockConfirm(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Title, v.Data = "Unlock your account", unlockForm{Code: strings.TrimSpace(r.URL.Query().Get("token"))}
	return s.render(w, r, http.StatusOK, "unlock-confirm", v)
}

// pageUnlockConfirmSubmit unlocks the account and goes back to sign-in.
func (s *Server) pageUnlockConfirmSubmit(w http.ResponseWriter, r *http.Request, v *view) error {
	f := unlockForm{Email: strings.TrimSpace(r.PostFormValue("email")), Code: strings.TrimSpace(r.PostFormValue("code"))}
	err := required("email", f.Email, "code", f.Code)
	if err == nil {
		err = s.cfg.Auth.Unlock(r.Context(), f.Email, f.Code, meta(r))
	}
	if eonpro.ErrorCode(err) == eonpro.EUNAUTHN {
		err = eonpro.FieldError("code", "is wrong, used or has expired")
	}
	if f.Errors = eonpro.ErrorFields(err); len(f.Errors) > 0 {
		v.Title, v.Data = "Unlock your account", f
		return s.render(w, r, http.StatusUnprocessableEntity, "unlock-confirm", v)
	}
	if err != nil {
		return err
	}
	s.redirect(w, r, "/login?unlocked=1")
	return nil
}
