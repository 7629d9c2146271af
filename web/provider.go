package web

import (
	"net/http"

	"github.com/eonpro/eonpro"
)

func (s *Server) providerRoutes() {
	s.route("POST /api/v1/providers", eonpro.PermProvidersWrite, s.handleCreateProvider)
	s.route("GET /api/v1/providers", eonpro.PermProvidersRead, s.handleListProviders)
	s.route("GET /api/v1/providers/{id}", eonpro.PermProvidersRead, s.handleGetProvider)
	s.route("PATCH /api/v1/providers/{id}", eonpro.PermProvidersWrite, s.handleUpdateProvider)
	s.route("POST /api/v1/providers/{id}/licenses", eonpro.PermProvidersWrite, s.handleCreateLicense)
	s.route("GET /api/v1/providers/{id}/licenses", eonpro.PermProvidersRead, s.handleListLicenses)
	s.route("PATCH /api/v1/providers/{id}/licenses/{license_id}", eonpro.PermProvidersWrite, s.handleUpdateLicense)
	s.route("DELETE /api/v1/providers/{id}/licenses/{license_id}", eonpro.PermProvidersWrite, s.handleDeleteLicense)
}

func (s *Server) handleCreateProvider(w http.ResponseWriter, r *http.Request) error {
	var np eonpro.NewProvider
	if err := decodeJSON(r, &np); err != nil {
		return err
	}
	pr, err := s.cfg.Providers.CreateProvider(r.Context(), np)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, pr)
	return nil
}

// handleListProviders reads state (a two-letter code), limit and cursor;
// the service checks their values.
func (s *Server) handleListProviders(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := eonpro.ProviderFilter{State: optional(q, "state"), Cursor: q.Get("cursor")}
	var err error
	if f.Limit, err = optionalInt(q, "limit"); err != nil {
		return err
	}
	prs, next, err := s.cfg.Providers.FindProviders(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newListPage(prs, next))
	return nil
}

func (s *Server) handleGetProvider(w http.ResponseWriter, r *http.Request) error {
	pr, err := s.cfg.Providers.FindProviderByID(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pr)
	return nil
}

func (s *Server) handleUpdateProvider(w http.ResponseWriter, r *http.Request) error {
	var upd eonpro.ProviderUpdate
	if err := decodeJSON(r, &upd); err != nil {
		return err
	}
	pr, err := s.cfg.Providers.UpdateProvider(r.Context(), r.PathValue("id"), upd)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pr)
	return nil
}

func (s *Server) handleCreateLicense(w http.ResponseWriter, r *http.Request) error {
	var nl eonpro.NewLicense
	if err := decodeJSON(r, &nl); err != nil {
		return err
	}
	l, err := s.cfg.Providers.CreateLicense(r.Context(), r.PathValue("id"), nl)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, l)
	return nil
}

func (s *Server) handleListLicenses(w http.ResponseWriter, r *http.Request) error {
	ls, err := s.cfg.Providers.FindLicenses(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": ls})
	return nil
}

func (s *Server) handleUpdateLicense(w http.ResponseWriter, r *http.Request) error {
	var upd eonpro.LicenseUpdate
	if err := decodeJSON(r, &upd); err != nil {
		return err
	}
	l, err := s.cfg.Providers.UpdateLicense(r.Context(), r.PathValue("id"), r.PathValue("license_id"), upd)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

func (s *Server) handleDeleteLicense(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.Providers.DeleteLicense(r.Context(), r.PathValue("id"), r.PathValue("license_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
