package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/eonpro/eonpro"
)

// The web app: server-rendered pages (html/template) with htmx for partial
// updates, served by the same handlers' services and permission checks as
// the API. Templates and static files are embedded; nothing is built at
// run time.
//
//go:embed templates static
var uiFiles embed.FS

// pageCSP is the Content-Security-Policy of pages: scripts and styles from
// the app's own origin only (no inline script), images also as data: URLs
// (2FA QR codes) and from https (clinic logos).
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; " +
	"base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"

// view is what every page template gets: the layout's data (who is signed
// in, the clinic, navigation) and the page's own Data.
type view struct {
	Title     string
	Principal *eonpro.Principal
	User      *eonpro.User
	Clinic    *eonpro.Clinic
	// Memberships are the user's clinics, for the clinic switcher.
	Memberships []*eonpro.Membership
	Nav         []navItem
	// CSRF is the form token of the session (see csrfToken).
	CSRF      string
	RequestID string
	// IdleSeconds is the clinic's idle timeout, for the sign-out warning.
	IdleSeconds int
	// Flash is a one-line notice shown above the page.
	Flash string
	// Invitations counts the person's pending invitations, for a notice.
	Invitations int
	Path        string
	Data        any
}

// navItem is a link of the navigation, shown when the principal holds Perm.
type navItem struct {
	Label, Href string
	Active      bool
}

// nav lists the navigation links by the permission each needs; the layout
// shows those the principal holds.
var nav = []struct {
	label, href string
	perm        eonpro.Permission
}{
	{"Dashboard", "/", eonpro.PermPatientsRead},
	{"Patients", "/patients", eonpro.PermPatientsRead},
	{"Providers", "/providers", eonpro.PermProvidersRead},
	{"My record", "/portal", eonpro.PermOwnRecord},
	{"Members", "/admin/members", eonpro.PermMembersManage},
	{"Settings", "/admin/settings", eonpro.PermClinicManage},
	{"API keys", "/admin/api-keys", eonpro.PermAPIKeysManage},
	{"Audit log", "/admin/audit", eonpro.PermAuditRead},
	{"Jobs", "/admin/jobs", eonpro.PermClinicManage},
	{"Outbox", "/admin/outbox", eonpro.PermMembersManage}, // development only
}

// templates holds one parsed template set per page: the layout and
// partials, then the page file, which defines "content".
type templates map[string]*template.Template

// templateFuncs are the helpers templates may call.
var templateFuncs = template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02")
	},
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"join":       strings.Join,
	"fieldError": func(errs map[string]string, name string) string { return errs[name] },
	"has":        func(p *eonpro.Principal, perm string) bool { return p.Can(eonpro.Permission(perm)) },
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, errors.New("dict: odd number of arguments")
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, errors.New("dict: keys must be strings")
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
}

// parseTemplates parses every page under templates/pages with the layout
// and the partials. A broken template stops the server at start (and
// fails TestTemplatesParse), never a request.
func parseTemplates() (templates, error) {
	shared := []string{"templates/layout.html"}
	partials, err := fs.Glob(uiFiles, "templates/partials/*.html")
	if err != nil {
		return nil, err
	}
	shared = append(shared, partials...)
	pages, err := fs.Glob(uiFiles, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	out := templates{}
	for _, p := range pages {
		t, err := template.New(path.Base(p)).Funcs(templateFuncs).ParseFS(uiFiles, append(slices.Clone(shared), p)...)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", p, err)
		}
		out[strings.TrimSuffix(path.Base(p), ".html")] = t
	}
	return out, nil
}

// pageFunc handles a page; it renders with s.render or redirects, and
// returns its error for s.pageError.
type pageFunc func(w http.ResponseWriter, r *http.Request, v *view) error

// page registers a page behind perm, like route for the API: the request
// is authenticated and authorised before h runs. An anonymous visitor is
// sent to the sign-in page, a person in several clinics who named none to
// the clinic chooser; other errors render the error page. Unsafe methods
// must carry the session's CSRF token (besides the cross-origin check all
// requests pass).
func (s *Server) page(pattern string, perm eonpro.Permission, h pageFunc) {
	s.perms[pattern] = perm
	method, _, _ := strings.Cut(pattern, " ")
	s.handleHTTP(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", pageCSP)
		w.Header().Set("Cache-Control", "no-store")
		r = r.WithContext(eonpro.NewContextWithRequestMeta(r.Context(), meta(r)))
		v := &view{RequestID: eonpro.RequestIDFromContext(r.Context()), Path: r.URL.Path}
		if perm == eonpro.PermPublic {
			// Showing a public page costs nothing; each form sent to one
			// (a sign-in, a code, a reset) counts in the strict tier, per
			// IP and route, as the API's routes do.
			if method != http.MethodGet && method != http.MethodHead {
				if err := s.limit(w, r, "strict:"+pattern+":"+clientIP(r), s.cfg.Rates.Strict); err != nil {
					s.pageError(w, r, v, err)
					return
				}
			}
			if err := h(w, r, v); err != nil {
				s.pageError(w, r, v, err)
			}
			return
		}
		ctx, err := s.authorize(w, r, perm)
		if err != nil {
			s.pageDenied(w, r, v, err)
			return
		}
		r = r.WithContext(ctx)
		if err := s.fillView(r, v); err != nil {
			s.pageError(w, r, v, err)
			return
		}
		if method != http.MethodGet && method != http.MethodHead {
			var ok bool
			if r, ok = s.checkCSRF(r); !ok {
				s.pageError(w, r, v, eonpro.Errorf(eonpro.EFORBIDDEN, "The form has expired. Reload the page and try again."))
				return
			}
		}
		if err := h(w, r, v); err != nil {
			s.pageError(w, r, v, err)
		}
	}))
}

// pageDenied answers a page request that authorize refused.
func (s *Server) pageDenied(w http.ResponseWriter, r *http.Request, v *view, err error) {
	switch {
	case eonpro.ErrorCode(err) == eonpro.EUNAUTHN:
		// The session ended (or a clinic's policy ended it there): the
		// browser forgets it, so the sign-in page is not skipped.
		if _, cerr := r.Cookie(s.sessionCookieName()); cerr == nil {
			s.clearSessionCookie(w)
		}
		to := "/login"
		if r.Method == http.MethodGet && r.URL.Path != "/" {
			to += "?next=" + url.QueryEscape(r.URL.RequestURI())
		}
		s.redirect(w, r, to)
	case eonpro.ErrorCode(err) == eonpro.EBADREQUEST: // no clinic named
		s.redirect(w, r, "/clinics?next="+url.QueryEscape(r.URL.RequestURI()))
	case eonpro.ErrorCode(err) == eonpro.EFORBIDDEN && strings.Contains(eonpro.ErrorMessage(err), "two-factor"):
		s.redirect(w, r, "/account/mfa")
	case eonpro.ErrorCode(err) == eonpro.EFORBIDDEN:
		// Signed in but not allowed here: the error page in the layout,
		// when the person can be shown it.
		if ctx, aerr := s.authorize(w, r, eonpro.PermSelf); aerr == nil {
			rv := &view{RequestID: v.RequestID, Path: v.Path}
			if s.fillView(r.WithContext(ctx), rv) == nil {
				v = rv
			}
		}
		s.pageError(w, r, v, err)
	default:
		s.pageError(w, r, v, err)
	}
}

// fillView loads what the layout shows about the signed-in principal.
func (s *Server) fillView(r *http.Request, v *view) error {
	ctx := r.Context()
	p := eonpro.PrincipalFromContext(ctx)
	v.Principal = p
	if p.APIKeyID != "" {
		return eonpro.Errorf(eonpro.EFORBIDDEN, "API keys cannot open pages.")
	}
	var err error
	if v.User, err = s.cfg.Users.FindMe(ctx); err != nil {
		return err
	}
	if v.Memberships, err = s.cfg.Users.FindMemberships(ctx, p.UserID); err != nil {
		return err
	}
	if r.Method == http.MethodGet {
		invs, err := s.cfg.Users.FindMyInvitations(ctx)
		if err != nil {
			return err
		}
		v.Invitations = len(invs)
	}
	v.IdleSeconds = eonpro.DefaultSecurityPolicy().IdleTimeoutMinutes * 60
	if p.ClinicID != "" {
		if v.Clinic, err = s.cfg.Clinics.FindClinicByRef(ctx, p.ClinicID); err != nil {
			return err
		}
		if m := v.Clinic.Settings.SecurityPolicy.IdleTimeoutMinutes; m > 0 {
			v.IdleSeconds = m * 60
		}
	}
	for _, n := range nav {
		if n.href == "/admin/outbox" && s.cfg.Outbox == nil {
			continue
		}
		if p.Can(n.perm) {
			active := n.href == r.URL.Path || (n.href != "/" && strings.HasPrefix(r.URL.Path, n.href+"/"))
			v.Nav = append(v.Nav, navItem{Label: n.label, Href: n.href, Active: active})
		}
	}
	v.CSRF = s.csrfToken(r)
	return nil
}

// render writes the page template name with v. It renders into a buffer
// first, so a template error becomes the error page, not half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) error {
	t, ok := s.tmpl[name]
	if !ok {
		return fmt.Errorf("web: no page template %q", name)
	}
	root := "layout"
	if r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Boosted") != "true" && t.Lookup("fragment") != nil {
		root = "fragment" // htmx asked for the part of the page it swaps
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, root, v); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
	return nil
}

// redirect sends the browser to a local path: a 303, or for htmx requests
// HX-Redirect, which htmx follows with a full page load.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, to string) {
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", to)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// localPath returns next when it is a path on this site, else fallback:
// a sign-in link must not send anyone to another site.
func localPath(next, fallback string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return fallback
	}
	u, err := url.Parse(next)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return fallback
	}
	return next
}

// notFoundMessage is the text of every 404 page.
const notFoundMessage = "This page does not exist, or you cannot see it."

// errorPage is the data of the error page.
type errorPage struct {
	Status  int
	Heading string
	Message string
}

// pageError renders err as the error page, in the layout when the viewer
// is known. Another clinic's record shows the very same 404 as a missing
// one: the message comes from the error, which the services word alike.
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, v *view, err error) {
	if s.answeredGone(w, r, err) {
		return
	}
	code := eonpro.ErrorCode(err)
	status := ErrorStatus(code)
	if code == eonpro.EINTERNAL {
		s.log.ErrorContext(r.Context(), "internal error", "request_id", v.RequestID, "err", err)
	}
	var coded *eonpro.Error
	if errors.As(err, &coded) && coded.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(seconds(coded.RetryAfter)))
	}
	heading := map[int]string{400: "Bad request", 401: "Please sign in", 403: "Not allowed", 404: "Not found",
		409: "Conflict", 413: "Too large", 422: "Check the form", 429: "Too many requests", 500: "Something went wrong"}[status]
	if heading == "" {
		heading = http.StatusText(status)
	}
	message := eonpro.ErrorMessage(err)
	if status == http.StatusNotFound {
		// Every 404 reads alike, whatever was not found or whose it was.
		message = notFoundMessage
	}
	v.Title = heading
	v.Data = errorPage{Status: status, Heading: heading, Message: message}
	if rerr := s.render(w, r, status, "error", v); rerr != nil {
		s.log.ErrorContext(r.Context(), "render error page", "request_id", v.RequestID, "err", rerr)
		http.Error(w, heading, status)
	}
}

// notFoundPage answers an unknown page path (API paths get JSON).
func (s *Server) notFoundPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", pageCSP)
	v := &view{RequestID: eonpro.RequestIDFromContext(r.Context()), Path: r.URL.Path}
	// Show the layout to a signed-in visitor, as every other 404 does.
	if ctx, err := s.authorize(w, r, eonpro.PermSelf); err == nil {
		r = r.WithContext(ctx)
		if s.fillView(r, v) != nil {
			v = &view{RequestID: v.RequestID, Path: v.Path}
		}
	}
	s.pageError(w, r, v, eonpro.Errorf(eonpro.ENOTFOUND, notFoundMessage))
}

// staticFiles serves the embedded static files, cached for a day (their
// names carry no hash, so not for ever).
func staticFiles() http.Handler {
	sub, err := fs.Sub(uiFiles, "static")
	if err != nil {
		panic(err)
	}
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	})
}

// formCode is the one-time code a form sent (2FA, backup or text-message
// code), without the spaces people type into it.
func formCode(r *http.Request) string {
	return strings.ReplaceAll(strings.TrimSpace(r.PostFormValue("code")), " ", "")
}
