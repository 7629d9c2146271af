package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/eonpro/eonpro"
)

// accountPages registers the dashboard's neighbours that every signed-in
// person has: their account, 2FA and sessions; the providers directory;
// and the patient portal.
func (s *Server) accountPages() {
	s.page("GET /account", eonpro.PermSelf, s.pageAccount)
	s.page("POST /account/password", eonpro.PermSelf, s.pageChangePassword)
	s.page("GET /account/mfa", eonpro.PermEnroll, s.pageAccountMFA)
	s.page("POST /account/mfa/confirm", eonpro.PermEnroll, s.pageConfirmMFA)
	s.page("POST /account/mfa/disable", eonpro.PermSelf, s.pageDisableMFA)
	s.page("GET /account/sessions", eonpro.PermSelf, s.pageSessions)
	s.page("POST /account/sessions/{id}/revoke", eonpro.PermSelf, s.pageRevokeSession)
	s.providerPages()
	s.portalPages()
}

// accountPage is the data of the account page.
type accountPage struct {
	Fields map[string]string
	// MFARequired is whether the clinic's policy requires 2FA of the role.
	MFARequired bool
}

func (s *Server) pageAccount(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.renderAccount(w, r, v, http.StatusOK, nil)
}

func (s *Server) renderAccount(w http.ResponseWriter, r *http.Request, v *view, status int, fields map[string]string) error {
	v.Title = "My account"
	v.Data = accountPage{Fields: fields, MFARequired: mfaRequired(v)}
	return s.render(w, r, status, "account", v)
}

// mfaRequired reports whether the clinic of the page requires 2FA of the
// principal's role, so that it may not be turned off.
func mfaRequired(v *view) bool {
	return v.Clinic != nil && v.Principal.Role != "" &&
		slices.Contains(v.Clinic.Settings.SecurityPolicy.MFARoles, v.Principal.Role)
}

// pageChangePassword changes the password. The service then revokes every
// session of the user, this one too, so the person signs in again.
func (s *Server) pageChangePassword(w http.ResponseWriter, r *http.Request, v *view) error {
	current, next := r.PostFormValue("current_password"), r.PostFormValue("new_password")
	fields := map[string]string{}
	if current == "" {
		fields["current_password"] = "is required"
	}
	if next == "" {
		fields["new_password"] = "is required"
	} else if next != r.PostFormValue("confirm_password") {
		fields["confirm_password"] = "does not match the new password"
	}
	if len(fields) > 0 {
		return s.renderAccount(w, r, v, http.StatusUnprocessableEntity, fields)
	}
	err := s.cfg.Auth.ChangePassword(r.Context(), current, next)
	if f := eonpro.ErrorFields(err); eonpro.ErrorCode(err) == eonpro.EINVALID && f != nil {
		return s.renderAccount(w, r, v, http.StatusUnprocessableEntity, f)
	} else if err != nil {
		return err
	}
	s.clearSessionCookie(w)
	s.redirect(w, r, "/login?next=%2Faccount")
	return nil
}

// sessionsPage is the data of the sessions page.
type sessionsPage struct {
	Sessions []sessionRow
}

// sessionRow is a session and the device it is on, in words.
type sessionRow struct {
	*eonpro.Session
	Device string
}

func (s *Server) pageSessions(w http.ResponseWriter, r *http.Request, v *view) error {
	ss, err := s.cfg.Auth.FindSessions(r.Context())
	if err != nil {
		return err
	}
	v.Title = "Signed-in devices"
	rows := make([]sessionRow, len(ss))
	for i, se := range ss {
		rows[i] = sessionRow{Session: se, Device: userAgentLabel(se.UserAgent)}
	}
	v.Data = sessionsPage{Sessions: rows}
	return s.render(w, r, http.StatusOK, "account-sessions", v)
}

// pageRevokeSession signs one of the person's sessions out; revoking the
// current one is signing out here.
func (s *Server) pageRevokeSession(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	if err := s.cfg.Auth.RevokeSession(r.Context(), id); err != nil {
		return err
	}
	if id == v.Principal.SessionID {
		s.clearSessionCookie(w)
		s.redirect(w, r, "/login")
		return nil
	}
	s.redirect(w, r, "/account/sessions")
	return nil
}

// userAgentLabel shortens a user agent to the browser and system a person
// recognises.
func userAgentLabel(ua string) string {
	browser := "Unknown browser"
	for _, b := range []string{"Edg", "Firefox", "Chrome", "Safari", "curl", "Go-http-client"} {
		if strings.Contains(ua, b+"/") {
			browser = map[string]string{"Edg": "Edge"}[b]
			if browser == "" {
				browser = b
			}
			break
		}
	}
	for _, os := range []string{"Windows", "Android", "iPhone", "iPad", "Mac OS X", "Linux"} {
		if strings.Contains(ua, os) {
			return browser + " on " + strings.TrimSuffix(os, " OS X")
		}
	}
	return browser
}
