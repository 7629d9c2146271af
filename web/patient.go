package web

import (
	"net/http"

	"github.com/eonpro/eonpro"
)

func (s *Server) patientRoutes() {
	s.route("POST /api/v1/patients", eonpro.PermPatientsWrite, s.handleCreatePatient)
	s.route("GET /api/v1/patients", eonpro.PermPatientsRead, s.handleListPatients)
	s.route("GET /api/v1/patients/{id}", eonpro.PermPatientsRead, s.handleGetPatient)
	s.route("PATCH /api/v1/patients/{id}", eonpro.PermPatientsWrite, s.handleUpdatePatient)
	s.route("DELETE /api/v1/patients/{id}", eonpro.PermPatientsWrite, s.handleArchivePatient)
	s.route("GET /api/v1/me/patient", eonpro.PermOwnRecord, s.handleGetMyPatient)
	s.route("PATCH /api/v1/me/patient", eonpro.PermOwnRecord, s.handleUpdateMyPatient)
}

func (s *Server) handleCreatePatient(w http.ResponseWriter, r *http.Request) error {
	var in eonpro.NewPatient
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	p, err := s.cfg.Patients.CreatePatient(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, p)
	return nil
}

// handleListPatients reads q, email, phone, dob, family_name, tag,
// status, limit and cursor; the service checks their values.
func (s *Server) handleListPatients(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := eonpro.PatientFilter{Q: optional(q, "q"), Email: optional(q, "email"), Phone: optional(q, "phone"),
		DOB: optional(q, "dob"), FamilyName: optional(q, "family_name"), Tag: optional(q, "tag"),
		Status: optional(q, "status"), Cursor: q.Get("cursor")}
	var err error
	if f.Limit, err = optionalInt(q, "limit"); err != nil {
		return err
	}
	ps, next, err := s.cfg.Patients.FindPatients(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newListPage(ps, next))
	return nil
}

func (s *Server) handleGetPatient(w http.ResponseWriter, r *http.Request) error {
	p, err := s.cfg.Patients.FindPatientByID(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) handleUpdatePatient(w http.ResponseWriter, r *http.Request) error {
	var upd eonpro.PatientUpdate
	if err := decodeJSON(r, &upd); err != nil {
		return err
	}
	p, err := s.cfg.Patients.UpdatePatient(r.Context(), r.PathValue("id"), upd)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) handleArchivePatient(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.Patients.ArchivePatient(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleGetMyPatient(w http.ResponseWriter, r *http.Request) error {
	p, err := s.cfg.Patients.FindMyPatient(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) handleUpdateMyPatient(w http.ResponseWriter, r *http.Request) error {
	var upd eonpro.PatientProfileUpdate
	if err := decodeJSON(r, &upd); err != nil {
		return err
	}
	p, err := s.cfg.Patients.UpdateMyPatient(r.Context(), upd)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}
