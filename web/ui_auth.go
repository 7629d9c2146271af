package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/eonpro/eonpro"
)

// uiRoutes registers the pages of the web app.
func (s *Server) uiRoutes() {
	s.handleHTTP("GET /static/", staticFiles())
	s.relaxed("GET /brand.css", s.handleBrandCSS)
	s.page("GET /login", eonpro.PermPublic, s.pageLogin)
	s.page("POST /login", eonpro.PermPublic, s.pageLoginSubmit)
	s.page("POST /login/mfa", eonpro.PermPublic, s.pageMFASubmit)
	s.page("POST /logout", eonpro.PermEnroll, s.pageLogout) // also while 2FA enrolment is pending
	s.page("GET /clinics", eonpro.PermSelf, s.pageClinics)
	s.page("POST /clinics", eonpro.PermSelf, s.pageChooseClinic)
	s.page("GET /{$}", eonpro.PermSelf, s.pageHome)
	s.adminPages()
	s.memberPages()
	s.jobPages()
	s.outboxPages()
	s.unlockPages()
	s.patientPages()
	s.accountPages()
}

// loginForm is the data of the sign-in pages.
type loginForm struct {
	Email    string
	Next     string
	Error    string
	MFAToken string
	Expired  bool
	// Locked: too many failures; the page offers an unlock code.
	Locked bool
	// Unlocked: the visitor has just unlocked their account.
	Unlocked bool
}

func (s *Server) pageLogin(w http.ResponseWriter, r *http.Request, v *view) error {
	// A signed-in visitor has nothing to do here.
	if _, err := s.cfg.Auth.Authenticate(r.Context(), s.credential(r)); err == nil {
		s.redirect(w, r, localPath(r.URL.Query().Get("next"), "/"))
		return nil
	}
	v.Title = "Sign in"
	q := r.URL.Query()
	v.Data = loginForm{Next: localPath(q.Get("next"), ""), Expired: q.Get("expired") == "1", Unlocked: q.Get("unlocked") == "1"}
	return s.render(w, r, http.StatusOK, "login", v)
}

// pageLoginSubmit checks the e-mail and password: on to the 2FA step, or
// signed in. A wrong password shows the form again with one message for
// every failure, as the API answers one 401.
func (s *Server) pageLoginSubmit(w http.ResponseWriter, r *http.Request, v *view) error {
	f := loginForm{Email: strings.TrimSpace(r.PostFormValue("email")), Next: localPath(r.PostFormValue("next"), "")}
	v.Title = "Sign in"
	if f.Email == "" || r.PostFormValue("password") == "" {
		f.Error = "Enter your e-mail and password."
		v.Data = f
		return s.render(w, r, http.StatusUnprocessableEntity, "login", v)
	}
	res, err := s.cfg.Auth.Login(r.Context(), f.Email, r.PostFormValue("password"), meta(r))
	return s.finishLogin(w, r, v, f, res, err)
}

// pageMFASubmit answers the 2FA step with a TOTP or backup code.
func (s *Server) pageMFASubmit(w http.ResponseWriter, r *http.Request, v *view) error {
	f := loginForm{MFAToken: r.PostFormValue("mfa_token"), Next: localPath(r.PostFormValue("next"), "")}
	code := formCode(r)
	if f.MFAToken == "" || code == "" {
		f.Error = "Enter the code from your authenticator app or a backup code."
		v.Title, v.Data = "Two-factor authentication", f
		return s.render(w, r, http.StatusUnprocessableEntity, "mfa", v)
	}
	res, err := s.cfg.Auth.VerifyMFA(r.Context(), f.MFAToken, code, meta(r))
	if eonpro.ErrorCode(err) == eonpro.EUNAUTHN {
		f.Error = "That code is not right, or the sign-in took too long. Try again."
		v.Title, v.Data = "Two-factor authentication", f
		return s.render(w, r, http.StatusUnauthorized, "mfa", v)
	}
	return s.finishLogin(w, r, v, f, res, err)
}

// finishLogin shows the 2FA step, the form again with a message, or sets
// the session cookie and goes on: to the clinic chooser for people in
// several clinics, else where they were going.
func (s *Server) finishLogin(w http.ResponseWriter, r *http.Request, v *view, f loginForm, res *eonpro.LoginResult, err error) error {
	switch eonpro.ErrorCode(err) {
	case "":
	case eonpro.EUNAUTHN:
		f.Error = "The e-mail or password is not right."
		v.Title, v.Data = "Sign in", f
		return s.render(w, r, http.StatusUnauthorized, "login", v)
	case eonpro.ERATELIMITED:
		f.Error = "Too many attempts. Wait 15 minutes and try again, or unlock your account with a code we e-mail you."
		f.Locked = true
		v.Title, v.Data = "Sign in", f
		return s.render(w, r, http.StatusTooManyRequests, "login", v)
	default:
		return err
	}
	if res.MFARequired {
		f.MFAToken = res.MFAToken
		v.Title, v.Data = "Two-factor authentication", f
		return s.render(w, r, http.StatusOK, "mfa", v)
	}
	s.writeSessionCookie(w, res.SessionToken)
	switch {
	case res.MFAPending:
		s.redirect(w, r, "/account/mfa")
	case len(res.Memberships) > 1 && !s.clinicNamed(r):
		s.redirect(w, r, "/clinics?next="+url.QueryEscape(localPath(f.Next, "/")))
	default:
		s.redirect(w, r, localPath(f.Next, "/"))
	}
	return nil
}

// clinicNamed reports whether the request names a clinic by its host, the
// X-Clinic header or the clinic cookie.
func (s *Server) clinicNamed(r *http.Request) bool {
	c, err := s.clinicRef(r.Context(), r)
	return err == nil && c != nil
}

func (s *Server) pageLogout(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := s.cfg.Auth.Logout(r.Context()); err != nil {
		return err
	}
	s.clearSessionCookie(w)
	to := "/login"
	if r.PostFormValue("reason") == "idle" {
		to += "?expired=1"
	}
	s.redirect(w, r, to)
	return nil
}

// clinicChoice is the data of the clinic chooser.
type clinicChoice struct {
	Next string
}

func (s *Server) pageClinics(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Title = "Choose a clinic"
	v.Data = clinicChoice{Next: localPath(r.URL.Query().Get("next"), "/")}
	return s.render(w, r, http.StatusOK, "clinics", v)
}

// pageChooseClinic sets the clinic cookie to one of the user's clinics.
func (s *Server) pageChooseClinic(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PostFormValue("clinic")
	for _, m := range v.Memberships {
		if m.ClinicID == id {
			s.setClinicCookie(w, m.ClinicSlug)
			s.redirect(w, r, localPath(r.PostFormValue("next"), "/"))
			return nil
		}
	}
	return eonpro.FieldError("clinic", "is not one of your clinics")
}

// setClinicCookie remembers the clinic a person chose (or joined).
func (s *Server) setClinicCookie(w http.ResponseWriter, slug string) {
	http.SetCookie(w, &http.Cookie{Name: clinicCookie, Value: slug, Path: "/",
		HttpOnly: true, Secure: s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
}

// pageHome sends patients to their portal, people without a clinic to
// the chooser, and shows the others the dashboard.
func (s *Server) pageHome(w http.ResponseWriter, r *http.Request, v *view) error {
	p := v.Principal
	switch {
	case p.ClinicID == "" && len(v.Memberships) > 0:
		s.redirect(w, r, "/clinics")
		return nil
	case p.Can(eonpro.PermOwnRecord) && !p.Can(eonpro.PermPatientsRead):
		s.redirect(w, r, "/portal")
		return nil
	case !p.Can(eonpro.PermPatientsRead):
		v.Title = "Welcome"
		return s.render(w, r, http.StatusOK, "welcome", v)
	}
	return s.pageDashboard(w, r, v)
}

// handleBrandCSS serves the clinic's colours and custom CSS, so pages
// need no inline style (the CSP forbids it). Without a clinic it is empty.
func (s *Server) handleBrandCSS(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	// A signed-in person gets their clinic's (never one they are not a
	// member of: its name and look are not theirs to see); anyone else
	// the one the request names, whose sign-in page it styles.
	var c *eonpro.Clinic
	var err error
	if ctx, aerr := s.authorize(w, r, eonpro.PermSelf); aerr == nil {
		if p := eonpro.PrincipalFromContext(ctx); p.ClinicID != "" {
			c, err = s.cfg.Clinics.FindClinicByRef(ctx, p.ClinicID)
		}
	} else {
		c, err = s.clinicRef(r.Context(), r)
	}
	if err != nil || c == nil {
		return nil
	}
	b := c.Settings.Branding
	if b.PrimaryColor != "" {
		// The clinic service accepts only #rgb or #rrggbb.
		_, _ = w.Write([]byte(":root{--brand:" + b.PrimaryColor + ";}\n"))
	}
	_, _ = w.Write([]byte(b.CustomCSS))
	return nil
}
