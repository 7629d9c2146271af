package web

import (
	"net/http"
	"strings"

	"github.com/eonpro/eonpro"
)

// phoneLoginForm is the data of the phone sign-in pages: the number, then the
// code sent to it. The number travels in the form, never in the URL.
type phoneLoginForm struct {
	Phone    string
	CodeSent bool
	Next     string
	Errors   map[string]string
	Error    string
}

func (s *Server) pagePhoneLogin(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Title, v.Data = "Sign in with a text message", phoneLoginForm{Next: localPath(r.URL.Query().Get("next"), "")}
	return s.render(w, r, http.StatusOK, "login-phone", v)
}

// signInPhone drops the spaces, dashes, dots and brackets people type.
func signInPhone(s string) string {
	return strings.Map(func(c rune) rune {
		if strings.ContainsRune(" -.()", c) {
			return -1
		}
		return c
	}, strings.TrimSpace(s))
}

// pagePhoneSend sends a code when the number has an account and shows
// the code step either way.
func (s *Server) pagePhoneSend(w http.ResponseWriter, r *http.Request, v *view) error {
	f := phoneLoginForm{Phone: signInPhone(r.PostFormValue("phone")), Next: localPath(r.PostFormValue("next"), "")}
	v.Title = "Sign in with a text message"
	err := required("phone", f.Phone)
	if err == nil {
		err = s.cfg.Auth.SendPhoneCode(r.Context(), f.Phone)
	}
	if f.Errors = eonpro.ErrorFields(err); len(f.Errors) > 0 {
		v.Data = f
		return s.render(w, r, http.StatusUnprocessableEntity, "login-phone", v)
	}
	if err != nil {
		return err
	}
	f.CodeSent = true
	v.Data = f
	return s.render(w, r, http.StatusOK, "login-phone", v)
}

// pagePhoneVerify signs in with the code, as the password form does.
func (s *Server) pagePhoneVerify(w http.ResponseWriter, r *http.Request, v *view) error {
	f := phoneLoginForm{Phone: signInPhone(r.PostFormValue("phone")), CodeSent: true, Next: localPath(r.PostFormValue("next"), "")}
	v.Title = "Sign in with a text message"
	code := formCode(r)
	if f.Phone == "" {
		f.CodeSent = false
	}
	if err := required("phone", f.Phone, "code", code); err != nil {
		f.Errors = eonpro.ErrorFields(err)
		v.Data = f
		return s.render(w, r, http.StatusUnprocessableEntity, "login-phone", v)
	}
	res, err := s.cfg.Auth.VerifyPhoneCode(r.Context(), f.Phone, code, meta(r))
	switch eonpro.ErrorCode(err) {
	case "":
		return s.finishLogin(w, r, v, loginForm{Next: f.Next}, res, nil)
	case eonpro.EUNAUTHN:
		f.Error = "That code is not right, or it has expired. Try again, or ask for a new code."
		v.Data = f
		return s.render(w, r, http.StatusUnauthorized, "login-phone", v)
	case eonpro.ERATELIMITED:
		f.Error = "Too many attempts. Wait 15 minutes and try again."
		v.Data = f
		return s.render(w, r, http.StatusTooManyRequests, "login-phone", v)
	case eonpro.EINVALID:
		f.CodeSent, f.Errors = false, eonpro.ErrorFields(err)
		v.Data = f
		return s.render(w, r, http.StatusUnprocessableEntity, "login-phone", v)
	}
	return err
}
