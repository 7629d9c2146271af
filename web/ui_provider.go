package web

import (
	"net/http"
	"time"

	"github.com/eonpro/eonpro"
)

func (s *Server) providerPages() {
	s.page("GET /providers", eonpro.PermProvidersRead, s.pageProviders)
	s.page("GET /providers/{id}", eonpro.PermProvidersRead, s.pageProvider)
	s.page("POST /providers/{id}/licenses", eonpro.PermProvidersWrite, s.pageAddLicense)
	s.page("POST /providers/{id}/licenses/{license_id}/expire", eonpro.PermProvidersWrite, s.pageExpireLicense)
}

// providersPage is the data of the providers list.
type providersPage struct {
	Providers []providerRow
	Next      string
	Today     string
}

// providerRow is a provider with the states they may practise in today.
type providerRow struct {
	*eonpro.Provider
	States []string
}

// today is the current UTC date; a license is valid through its expiry day.
func (s *Server) today() string { return time.Now().UTC().Format(time.DateOnly) }

func (s *Server) pageProviders(w http.ResponseWriter, r *http.Request, v *view) error {
	prs, next, err := s.cfg.Providers.FindProviders(r.Context(), eonpro.ProviderFilter{Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		return err
	}
	today := s.today()
	rows := make([]providerRow, len(prs))
	for i, p := range prs {
		rows[i] = providerRow{Provider: p}
		for _, l := range p.Licenses {
			if l.ExpiresOn >= today {
				rows[i].States = append(rows[i].States, l.State)
			}
		}
	}
	v.Title = "Providers"
	v.Data = providersPage{Providers: rows, Next: next, Today: today}
	return s.render(w, r, http.StatusOK, "providers", v)
}

// providerPage is the data of a provider's profile.
type providerPage struct {
	Provider *eonpro.Provider
	Today    string
	// License is the add-license form as entered, Fields its errors.
	License eonpro.NewLicense
	Fields  map[string]string
}

func (s *Server) pageProvider(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.renderProvider(w, r, v, http.StatusOK, eonpro.NewLicense{}, nil)
}

func (s *Server) renderProvider(w http.ResponseWriter, r *http.Request, v *view, status int, nl eonpro.NewLicense, fields map[string]string) error {
	p, err := s.cfg.Providers.FindProviderByID(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	v.Title = p.Name
	v.Data = providerPage{Provider: p, Today: s.today(), License: nl, Fields: fields}
	return s.render(w, r, status, "provider", v)
}

func (s *Server) pageAddLicense(w http.ResponseWriter, r *http.Request, v *view) error {
	nl := eonpro.NewLicense{State: r.PostFormValue("state"), Number: r.PostFormValue("number"), ExpiresOn: r.PostFormValue("expires_on")}
	_, err := s.cfg.Providers.CreateLicense(r.Context(), r.PathValue("id"), nl)
	switch code := eonpro.ErrorCode(err); {
	case code == eonpro.EINVALID && eonpro.ErrorFields(err) != nil:
		return s.renderProvider(w, r, v, http.StatusUnprocessableEntity, nl, eonpro.ErrorFields(err))
	case code == eonpro.ECONFLICT:
		return s.renderProvider(w, r, v, http.StatusConflict, nl, map[string]string{"number": "is already listed for this state"})
	case err != nil:
		return err
	}
	s.redirect(w, r, "/providers/"+r.PathValue("id"))
	return nil
}

// pageExpireLicense makes a license end yesterday, so it no longer counts
// from today; it stays on the profile as expired.
func (s *Server) pageExpireLicense(w http.ResponseWriter, r *http.Request, v *view) error {
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	_, err := s.cfg.Providers.UpdateLicense(r.Context(), r.PathValue("id"), r.PathValue("license_id"),
		eonpro.LicenseUpdate{ExpiresOn: &yesterday})
	if err != nil {
		return err
	}
	s.redirect(w, r, "/providers/"+r.PathValue("id"))
	return nil
}
