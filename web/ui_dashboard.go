package web

import (
	"net/http"

	"github.com/eonpro/eonpro"
)

// dashboard is the data of the dashboard.
type dashboard struct {
	RecentlyAdded []*eonpro.Patient
}

// pageDashboard shows staff, providers and admins their clinic at a glance.
func (s *Server) pageDashboard(w http.ResponseWriter, r *http.Request, v *view) error {
	recent, _, err := s.cfg.Patients.FindPatients(r.Context(), eonpro.PatientFilter{Limit: 5})
	if err != nil {
		return err
	}
	v.Title = "Dashboard"
	v.Data = dashboard{RecentlyAdded: recent}
	return s.render(w, r, http.StatusOK, "dashboard", v)
}
