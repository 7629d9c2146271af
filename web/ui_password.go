package web

import (
	"net/http"
	"strings"

	"github.com/eonpro/eonpro"
)

// setPasswordForm is the data of the set-password and reset pages: both take
// the one-time code of a message (an invitation or a reset) and a new
// password, then sign in with the e-mail.
type setPasswordForm struct {
	// Action is the form's path: /set-password or /reset.
	Action string
	Code   string
	Email  string
	Errors map[string]string
	// Sent: the visitor has just asked for a reset code.
	Sent bool
}

// setPasswordTitle names the page of each path.
func setPasswordTitle(path string) string {
	if path == "/reset" {
		return "Choose a new password"
	}
	return "Set your password"
}

// pageSetPassword shows the form. The code may come in the query, from a
// link; the access log records paths without their query.
func (s *Server) pageSetPassword(w http.ResponseWriter, r *http.Request, v *view) error {
	f := setPasswordForm{Action: r.URL.Path, Code: strings.TrimSpace(r.URL.Query().Get("token")), Sent: r.URL.Query().Get("sent") == "1"}
	v.Title, v.Data = setPasswordTitle(r.URL.Path), f
	return s.render(w, r, http.StatusOK, "set-password", v)
}

// pageSetPasswordSubmit sets the password with the code, then signs in
// with the e-mail and the new password.
func (s *Server) pageSetPasswordSubmit(w http.ResponseWriter, r *http.Request, v *view) error {
	f := setPasswordForm{Action: r.URL.Path, Code: strings.TrimSpace(r.PostFormValue("code")),
		Email: strings.TrimSpace(r.PostFormValue("email"))}
	pw := r.PostFormValue("password")
	err := required("code", f.Code, "email", f.Email, "password", pw)
	if err == nil {
		err = s.cfg.Auth.ResetPassword(r.Context(), f.Code, pw)
	}
	if eonpro.ErrorCode(err) == eonpro.EUNAUTHN {
		err = eonpro.FieldError("code", "is wrong, used or has expired")
	}
	if f.Errors = eonpro.ErrorFields(err); len(f.Errors) > 0 {
		v.Title, v.Data = setPasswordTitle(r.URL.Path), f
		return s.render(w, r, http.StatusUnprocessableEntity, "set-password", v)
	}
	if err != nil {
		return err
	}
	res, err := s.cfg.Auth.Login(r.Context(), f.Email, pw, meta(r))
	return s.finishLogin(w, r, v, loginForm{Email: f.Email}, res, err)
}

// forgotForm is the data of the forgotten-password page.
type forgotForm struct {
	Errors map[string]string
}

func (s *Server) pageForgot(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Title, v.Data = "Forgot your password?", forgotForm{}
	return s.render(w, r, http.StatusOK, "forgot", v)
}

// pageForgotSubmit asks the service for a reset code and goes on to the
// reset page, the same whether the address has an account or not.
func (s *Server) pageForgotSubmit(w http.ResponseWriter, r *http.Request, v *view) error {
	email := strings.TrimSpace(r.PostFormValue("email"))
	if err := required("email", email); err != nil {
		v.Title, v.Data = "Forgot your password?", forgotForm{Errors: eonpro.ErrorFields(err)}
		return s.render(w, r, http.StatusUnprocessableEntity, "forgot", v)
	}
	if err := s.cfg.Auth.ForgotPassword(r.Context(), email); err != nil {
		return err
	}
	s.redirect(w, r, "/reset?sent=1")
	return nil
}
