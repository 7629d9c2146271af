package web

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/eonpro/eonpro"
)

// adminPages registers the clinic admin pages: settings, API keys and the
// audit log.
func (s *Server) adminPages() {
	s.page("GET /admin/settings", eonpro.PermClinicManage, s.pageSettings)
	s.page("POST /admin/settings", eonpro.PermClinicManage, s.pageSettingsSubmit)
	s.apiKeyPages()
	s.auditPages()
}

// settingsForm is the data of the settings page: the values shown (the
// clinic's, or what was entered) and the service's field errors, keyed by
// the JSON names of ClinicUpdate ("branding.primary_color").
type settingsForm struct {
	Name, TimeZone             string
	PrimaryColor, LogoURL, CSS string
	MFARoles                   []eonpro.Role
	IdleMinutes, SessionHours  string
	Flags                      []settingsFlag
	NewFlag                    string
	Roles                      []settingsRole
	Errors                     map[string]string
}

// settingsFlag is a feature flag and whether it is on.
type settingsFlag struct {
	Name string
	On   bool
}

// settingsRole is a role and whether it must use two-factor sign-in.
type settingsRole struct {
	Role eonpro.Role
	MFA  bool
}

// defaultBrandColor is the colour the preview starts from when the clinic
// has none (app.css's --brand).
const defaultBrandColor = "#2563eb"

func (s *Server) pageSettings(w http.ResponseWriter, r *http.Request, v *view) error {
	c := v.Clinic
	f := settingsForm{Name: c.Name, TimeZone: c.TimeZone, PrimaryColor: c.Settings.Branding.PrimaryColor,
		LogoURL: c.Settings.Branding.LogoURL, CSS: c.Settings.Branding.CustomCSS,
		MFARoles:     c.Settings.SecurityPolicy.MFARoles,
		IdleMinutes:  strconv.Itoa(c.Settings.SecurityPolicy.IdleTimeoutMinutes),
		SessionHours: strconv.Itoa(c.Settings.SecurityPolicy.AbsoluteSessionHours)}
	for name, on := range c.Settings.FeatureFlags {
		f.Flags = append(f.Flags, settingsFlag{Name: name, On: on})
	}
	if r.URL.Query().Get("saved") == "1" {
		v.Flash = "The settings were saved."
	}
	return s.renderSettings(w, r, v, http.StatusOK, f)
}

func (s *Server) renderSettings(w http.ResponseWriter, r *http.Request, v *view, status int, f settingsForm) error {
	if f.PrimaryColor == "" {
		f.PrimaryColor = defaultBrandColor
	}
	slices.SortFunc(f.Flags, func(a, b settingsFlag) int { return strings.Compare(a.Name, b.Name) })
	for _, role := range eonpro.Roles {
		f.Roles = append(f.Roles, settingsRole{Role: role, MFA: slices.Contains(f.MFARoles, role)})
	}
	v.Title = "Clinic settings"
	v.Data = f
	return s.render(w, r, status, "settings", v)
}

// pageSettingsSubmit saves the whole form with one UpdateClinic; the
// service validates every field and the form shows its messages. A number
// that is not one is sent as 0, which the service refuses too, so the
// other fields are still checked.
func (s *Server) pageSettingsSubmit(w http.ResponseWriter, r *http.Request, v *view) error {
	f, upd := parseSettingsForm(r, v.Clinic)
	_, err := s.cfg.Clinics.UpdateClinic(r.Context(), v.Clinic.ID, upd)
	if eonpro.ErrorCode(err) != eonpro.EINVALID {
		if err != nil {
			return err
		}
		s.redirect(w, r, "/admin/settings?saved=1")
		return nil
	}
	local := f.Errors
	f.Errors = map[string]string{}
	maps.Copy(f.Errors, eonpro.ErrorFields(err))
	maps.Copy(f.Errors, local)
	return s.renderSettings(w, r, v, http.StatusUnprocessableEntity, f)
}

// parseSettingsForm reads the form into the values to show again and the
// update to send. Whole numbers are checked here, the rest by the service.
// Flags of the clinic left unchecked are turned off.
func parseSettingsForm(r *http.Request, c *eonpro.Clinic) (settingsForm, eonpro.ClinicUpdate) {
	_ = r.ParseForm()
	pf := r.PostForm
	f := settingsForm{Name: pf.Get("name"), TimeZone: pf.Get("time_zone"),
		PrimaryColor: strings.TrimSpace(pf.Get("primary_color")), LogoURL: strings.TrimSpace(pf.Get("logo_url")),
		CSS: pf.Get("custom_css"), IdleMinutes: strings.TrimSpace(pf.Get("idle_timeout_minutes")),
		SessionHours: strings.TrimSpace(pf.Get("absolute_session_hours")), NewFlag: strings.TrimSpace(pf.Get("new_flag")),
		MFARoles: []eonpro.Role{}, Errors: map[string]string{}}
	for _, role := range pf["mfa_roles"] {
		f.MFARoles = append(f.MFARoles, eonpro.Role(role))
	}
	upd := eonpro.ClinicUpdate{Name: &f.Name, TimeZone: &f.TimeZone, FeatureFlags: map[string]bool{},
		Branding: &eonpro.Branding{PrimaryColor: f.PrimaryColor, LogoURL: f.LogoURL, CustomCSS: f.CSS}}
	for name := range c.Settings.FeatureFlags {
		on := slices.Contains(pf["feature_flags"], name)
		upd.FeatureFlags[name] = on
		f.Flags = append(f.Flags, settingsFlag{Name: name, On: on})
	}
	if f.NewFlag != "" {
		upd.FeatureFlags[f.NewFlag] = true
	}
	policy := eonpro.SecurityPolicy{MFARoles: f.MFARoles}
	policy.IdleTimeoutMinutes = formInt(f.IdleMinutes, "security_policy.idle_timeout_minutes", f.Errors)
	policy.AbsoluteSessionHours = formInt(f.SessionHours, "security_policy.absolute_session_hours", f.Errors)
	upd.SecurityPolicy = &policy
	return f, upd
}

// formInt reads a whole number, noting a field error (and giving 0) when
// it is not one.
func formInt(s, field string, errs map[string]string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		errs[field] = "must be a whole number"
		return 0
	}
	return n
}
