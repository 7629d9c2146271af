package web

import (
	"net/http"

	"github.com/eonpro/eonpro"
)

func (s *Server) consentRoutes() {
	s.route("POST /api/v1/patients/{id}/consents", eonpro.PermPatientsWrite, s.handleCreateConsent)
	s.route("GET /api/v1/patients/{id}/consents", eonpro.PermPatientsRead, s.handleListConsents)
}

// handleCreateConsent records a signature {kind, version, signed_name};
// the time, IP and user agent are the server's and the request's.
func (s *Server) handleCreateConsent(w http.ResponseWriter, r *http.Request) error {
	var in eonpro.NewConsent
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, err := s.cfg.Consents.CreateConsent(auditContext(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}

func (s *Server) handleListConsents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := eonpro.ConsentFilter{PatientID: r.PathValue("id"), Cursor: q.Get("cursor")}
	if k := optional(q, "kind"); k != nil {
		kind := eonpro.ConsentKind(*k)
		f.Kind = &kind
	}
	var err error
	if f.Limit, err = optionalInt(q, "limit"); err != nil {
		return err
	}
	cs, next, err := s.cfg.Consents.FindConsents(auditContext(r), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newListPage(cs, next))
	return nil
}
