package web

import (
	"net/http"

	"github.com/eonpro/eonpro"
)

func (s *Server) clinicRoutes() {
	s.route("GET /api/v1/admin/clinics", eonpro.PermPlatformAdmin, s.handleListClinics)
	s.route("POST /api/v1/admin/clinics", eonpro.PermPlatformAdmin, s.handleCreateClinic)
	s.route("PATCH /api/v1/admin/clinics/{id}", eonpro.PermPlatformAdmin, s.handleAdminUpdateClinic)
	s.route("GET /api/v1/clinic", eonpro.PermClinicRead, s.handleGetClinic)
	s.route("PATCH /api/v1/clinic", eonpro.PermClinicManage, s.handleUpdateClinic)
}

func (s *Server) handleListClinics(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.cfg.Clinics.FindClinics(r.Context())
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []*eonpro.Clinic{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": cs})
	return nil
}

func (s *Server) handleCreateClinic(w http.ResponseWriter, r *http.Request) error {
	var in struct{ Slug, Name string }
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, err := s.cfg.Clinics.CreateClinic(r.Context(), in.Slug, in.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}

func (s *Server) handleAdminUpdateClinic(w http.ResponseWriter, r *http.Request) error {
	return s.updateClinic(w, r, r.PathValue("id"))
}

func (s *Server) handleGetClinic(w http.ResponseWriter, r *http.Request) error {
	c, err := s.cfg.Clinics.FindClinicByRef(r.Context(), eonpro.ClinicIDFromContext(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) handleUpdateClinic(w http.ResponseWriter, r *http.Request) error {
	return s.updateClinic(w, r, eonpro.ClinicIDFromContext(r.Context()))
}

func (s *Server) updateClinic(w http.ResponseWriter, r *http.Request, id string) error {
	var upd eonpro.ClinicUpdate
	if err := decodeJSON(r, &upd); err != nil {
		return err
	}
	c, err := s.cfg.Clinics.UpdateClinic(r.Context(), id, upd)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}
