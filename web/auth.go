package web

import (
	"net/http"
	"time"

	"github.com/eonpro/eonpro"
)

func (s *Server) authRoutes() {
	s.strict("POST /api/v1/auth/login", s.handleLogin)
	s.strict("POST /api/v1/auth/mfa", s.handleMFA)
	s.strict("POST /api/v1/auth/password/forgot", s.handleForgotPassword)
	s.strict("POST /api/v1/auth/password/reset", s.handleResetPassword)
	s.strict("POST /api/v1/auth/unlock", s.handleUnlockRequest)
	s.strict("POST /api/v1/auth/unlock/confirm", s.handleUnlockConfirm)
	s.strict("POST /api/v1/auth/otp/send", s.handleOTPSend)
	s.strict("POST /api/v1/auth/otp/verify", s.handleOTPVerify)
	s.route("POST /api/v1/auth/refresh", eonpro.PermEnroll, s.handleRefresh)
	s.route("POST /api/v1/auth/logout", eonpro.PermEnroll, s.handleLogout)
}

func meta(r *http.Request) eonpro.RequestMeta {
	return eonpro.RequestMeta{IP: clientIP(r), UserAgent: r.UserAgent()}
}

// required returns EINVALID naming each empty field.
func required(kv ...string) error {
	fields := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			fields[kv[i]] = "is required"
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return &eonpro.Error{Code: eonpro.EINVALID, Message: "Some fields are missing.", Fields: fields}
}

type loginResponse struct {
	User        *eonpro.User         `json:"user,omitempty"`
	Memberships []*eonpro.Membership `json:"memberships,omitempty"`
	Token       string               `json:"token,omitempty"`
	ExpiresAt   *time.Time           `json:"expires_at,omitempty"`
	MFARequired bool                 `json:"mfa_required,omitempty"`
	MFAToken    string               `json:"mfa_token,omitempty"`
	// MFAEnrollmentRequired: the session may only enrol in 2FA.
	MFAEnrollmentRequired bool `json:"mfa_enrollment_required,omitempty"`
}

// writeLogin answers a sign-in: the challenge, or the session cookie and
// bearer token.
func (s *Server) writeLogin(w http.ResponseWriter, res *eonpro.LoginResult) {
	if res.MFARequired {
		writeJSON(w, http.StatusOK, loginResponse{MFARequired: true, MFAToken: res.MFAToken})
		return
	}
	if res.SessionToken != "" {
		s.writeSessionCookie(w, res.SessionToken)
	}
	exp := res.ExpiresAt
	writeJSON(w, http.StatusOK, loginResponse{User: res.User, Memberships: res.Memberships, Token: res.Token,
		ExpiresAt: &exp, MFAEnrollmentRequired: res.MFAPending})
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := required("email", in.Email, "password", in.Password); err != nil {
		return err
	}
	res, err := s.cfg.Auth.Login(r.Context(), in.Email, in.Password, meta(r))
	if err != nil {
		return err
	}
	s.writeLogin(w, res)
	return nil
}

func (s *Server) handleMFA(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		MFAToken string `json:"mfa_token"`
		Code     string `json:"code"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := required("mfa_token", in.MFAToken, "code", in.Code); err != nil {
		return err
	}
	res, err := s.cfg.Auth.VerifyMFA(r.Context(), in.MFAToken, in.Code, meta(r))
	if err != nil {
		return err
	}
	s.writeLogin(w, res)
	return nil
}

func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) error {
	res, err := s.cfg.Auth.Refresh(r.Context())
	if err != nil {
		return err
	}
	s.writeLogin(w, res)
	return nil
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.Auth.Logout(r.Context()); err != nil {
		return err
	}
	s.clearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleForgotPassword(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := required("email", in.Email); err != nil {
		return err
	}
	if err := s.cfg.Auth.ForgotPassword(r.Context(), in.Email); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "If the address has an account, a reset code is on its way."})
	return nil
}

func (s *Server) handleResetPassword(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := required("token", in.Token, "password", in.Password); err != nil {
		return err
	}
	if err := s.cfg.Auth.ResetPassword(r.Context(), in.Token, in.Password); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleOTPSend(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Phone string `json:"phone"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := required("phone", in.Phone); err != nil {
		return err
	}
	if err := s.cfg.Auth.SendPhoneCode(r.Context(), in.Phone); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "If the number has an account, a code is on its way."})
	return nil
}

func (s *Server) handleOTPVerify(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Phone string `json:"phone"`
		Code  string `json:"code"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := required("phone", in.Phone, "code", in.Code); err != nil {
		return err
	}
	res, err := s.cfg.Auth.VerifyPhoneCode(r.Context(), in.Phone, in.Code, meta(r))
	if err != nil {
		return err
	}
	s.writeLogin(w, res)
	return nil
}

// writeSessionCookie sets the session cookie (HttpOnly, SameSite=Lax;
// __Host- and Secure in production), for the API's and the pages' sign-in.
func (s *Server) writeSessionCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: s.sessionCookieName(), Value: token, Path: "/",
		HttpOnly: true, Secure: s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
}

// clearSessionCookie removes the session cookie on sign-out.
func (s *Server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: s.sessionCookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
}
