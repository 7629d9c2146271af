package web

import (
	"net/http"

	"github.com/eonpro/eonpro"
)

func (s *Server) apiKeyRoutes() {
	s.route("GET /api/v1/api-keys", eonpro.PermAPIKeysManage, s.handleListAPIKeys)
	s.route("POST /api/v1/api-keys", eonpro.PermAPIKeysManage, s.handleCreateAPIKey)
	s.route("DELETE /api/v1/api-keys/{id}", eonpro.PermAPIKeysManage, s.handleRevokeAPIKey)
}

func (s *Server) handleListAPIKeys(w http.ResponseWriter, r *http.Request) error {
	ks, err := s.cfg.Auth.FindAPIKeys(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": ks})
	return nil
}

func (s *Server) handleCreateAPIKey(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name        string              `json:"name"`
		Permissions []eonpro.Permission `json:"permissions"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	k, err := s.cfg.Auth.CreateAPIKey(r.Context(), in.Name, in.Permissions)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, k)
	return nil
}

func (s *Server) handleRevokeAPIKey(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.Auth.RevokeAPIKey(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
