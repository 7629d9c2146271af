package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/eonpro/eonpro"
)

func (s *Server) apiKeyPages() {
	s.page("GET /admin/api-keys", eonpro.PermAPIKeysManage, s.pageAPIKeys)
	s.page("POST /admin/api-keys", eonpro.PermAPIKeysManage, s.pageCreateAPIKey)
	s.page("GET /admin/api-keys/{id}/revoke", eonpro.PermAPIKeysManage, s.pageRevokeAPIKey)
	s.page("POST /admin/api-keys/{id}/revoke", eonpro.PermAPIKeysManage, s.pageRevokeAPIKeySubmit)
}

// apiKeysPage is the data of the API keys page: the clinic's keys and the
// form for a new one.
type apiKeysPage struct {
	Keys []*eonpro.APIKey
	Form apiKeyForm
}

// apiKeyForm is the new-key form: the name, the permissions the creator
// may grant (a key gets at most its creator's) and the service's errors.
type apiKeyForm struct {
	Name        string
	Permissions []apiKeyPerm
	Errors      map[string]string
}

// apiKeyPerm is a permission offered to a key and whether it is chosen.
type apiKeyPerm struct {
	Perm    eonpro.Permission
	Checked bool
}

func (s *Server) pageAPIKeys(w http.ResponseWriter, r *http.Request, v *view) error {
	if r.URL.Query().Get("revoked") == "1" {
		v.Flash = "The key was revoked. Programs using it can no longer call the API."
	}
	return s.renderAPIKeys(w, r, v, http.StatusOK, newAPIKeyForm(v.Principal, "", nil))
}

func newAPIKeyForm(p *eonpro.Principal, name string, chosen []string) apiKeyForm {
	f := apiKeyForm{Name: name}
	for _, perm := range eonpro.ClinicPermissions() {
		if p.Can(perm) {
			f.Permissions = append(f.Permissions, apiKeyPerm{Perm: perm, Checked: slices.Contains(chosen, string(perm))})
		}
	}
	return f
}

func (s *Server) renderAPIKeys(w http.ResponseWriter, r *http.Request, v *view, status int, f apiKeyForm) error {
	keys, err := s.cfg.Auth.FindAPIKeys(r.Context())
	if err != nil {
		return err
	}
	v.Title = "API keys"
	v.Data = apiKeysPage{Keys: keys, Form: f}
	return s.render(w, r, status, "apikeys", v)
}

// pageCreateAPIKey creates a key and shows its secret on the answer
// itself: it is never stored, so it cannot survive a redirect, and it
// must not travel in a URL. The page is not cached (Cache-Control:
// no-store on every page).
func (s *Server) pageCreateAPIKey(w http.ResponseWriter, r *http.Request, v *view) error {
	name := strings.TrimSpace(r.PostFormValue("name"))
	chosen := r.PostForm["permissions"]
	perms := make([]eonpro.Permission, 0, len(chosen))
	for _, p := range chosen {
		perms = append(perms, eonpro.Permission(p))
	}
	k, err := s.cfg.Auth.CreateAPIKey(r.Context(), name, perms)
	if eonpro.ErrorCode(err) == eonpro.EINVALID {
		f := newAPIKeyForm(v.Principal, name, chosen)
		f.Errors = eonpro.ErrorFields(err)
		return s.renderAPIKeys(w, r, v, http.StatusUnprocessableEntity, f)
	} else if err != nil {
		return err
	}
	v.Title = "API key created"
	v.Data = k
	return s.render(w, r, http.StatusCreated, "apikey-created", v)
}

// findAPIKey finds a key of the clinic by id among the clinic's keys (the
// service lists them; a clinic has few). ENOTFOUND.
func (s *Server) findAPIKey(r *http.Request, id string) (*eonpro.APIKey, error) {
	keys, err := s.cfg.Auth.FindAPIKeys(r.Context())
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if k.ID == id {
			return k, nil
		}
	}
	return nil, eonpro.Errorf(eonpro.ENOTFOUND, "API key not found.")
}

// pageRevokeAPIKey asks to confirm the revocation.
func (s *Server) pageRevokeAPIKey(w http.ResponseWriter, r *http.Request, v *view) error {
	k, err := s.findAPIKey(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	v.Title = "Revoke API key"
	v.Data = k
	return s.render(w, r, http.StatusOK, "apikey-revoke", v)
}

func (s *Server) pageRevokeAPIKeySubmit(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := s.cfg.Auth.RevokeAPIKey(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	s.redirect(w, r, "/admin/api-keys?revoked=1")
	return nil
}
