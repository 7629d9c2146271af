// Package web is the HTTP face of the platform: the request pipeline, the
// JSON API and (later) the HTML pages, on the standard library's ServeMux.
package web

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/eonpro/eonpro"
)

// Config holds what the server needs from the outside. Nil funcs mean the
// part is not configured.
type Config struct {
	// MaxBodyBytes caps request bodies (413 beyond).
	MaxBodyBytes int64
	// HealthToken is the bearer token for /api/health?full=true.
	HealthToken string
	// MetricsToken, when set, serves /metrics on this handler to requests
	// with it as their bearer token; without it /metrics is served only by
	// MetricsHandler, on a listener of its own (never public).
	MetricsToken string
	Logger       *slog.Logger
	// Registry receives the server's metrics and is served at /metrics.
	Registry *prometheus.Registry

	// DBEngine names the database engine for the health report.
	DBEngine string
	// PingDB checks the database.
	PingDB func(context.Context) error
	// DBPools reports connection pool use for the metrics.
	DBPools func() []PoolStat
	// PingRedis checks Redis; nil when Redis is not configured.
	PingRedis func(context.Context) error
	// JobCounts reports jobs by state.
	JobCounts func(context.Context) (map[string]int64, error)
	// Encryption describes the PHI key ring for the health report.
	Encryption string
	// Integrations tells, per outside service, whether it is configured.
	Integrations map[string]bool

	// Auth, Clinics and Users are the identity services.
	Auth    eonpro.AuthService
	Clinics eonpro.ClinicService
	Users   eonpro.UserService
	// Audit reads, verifies and exports the audit trail.
	Audit eonpro.AuditService
	// Patients manages the clinic's patients and a patient's own record.
	Patients eonpro.PatientService
	// Providers manages providers and their licenses.
	Providers eonpro.ProviderService
	// Documents keeps patients' documents. MaxUploadBytes caps one (0
	// means eonpro.DefaultMaxUploadBytes); the upload route alone accepts
	// a body that large, beyond MaxBodyBytes.
	Documents      eonpro.DocumentService
	MaxUploadBytes int64
	// Consents records patients' consents.
	Consents eonpro.ConsentService
	// Jobs shows a clinic its failed background jobs (nil: none run here).
	Jobs eonpro.JobService
	// Outbox, in development only, lists the messages the development
	// sender kept for a clinic's people (the /admin/outbox page).
	Outbox OutboxFunc
	// Limiter counts requests for the rate-limit tiers in Rates.
	Limiter eonpro.RateLimiter
	Rates   Rates
	// BaseDomain: CLINIC.BaseDomain hosts resolve to the clinic CLINIC.
	BaseDomain string
	// SecureCookies sets Secure and the __Host- prefix on the session
	// cookie (everywhere but development over plain http).
	SecureCookies bool
}

// Server routes requests. Create one with NewServer.
type Server struct {
	// sealed is set once routes are in; fallbacks are the paths whose
	// 405 answer is registered (see methodFallback).
	sealed    bool
	fallbacks map[string]bool
	cfg       Config
	log       *slog.Logger
	mux       *http.ServeMux
	handler   http.Handler
	metrics   httpMetrics
	ready     atomic.Bool

	// methods records the methods of each registered path, for 405s.
	methods map[string][]string
	// perms records the permission each route declares.
	perms map[string]eonpro.Permission
	// bodyLimits are the routes whose bodies may exceed MaxBodyBytes.
	bodyLimits map[string]int64
	// tmpl are the parsed page templates.
	tmpl templates
}

// NewServer builds the server and its routes. It starts not ready.
func NewServer(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = eonpro.DefaultMaxUploadBytes
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(),
		methods: map[string][]string{}, perms: map[string]eonpro.Permission{}, bodyLimits: map[string]int64{},
		fallbacks: map[string]bool{}}
	tmpl, err := parseTemplates()
	if err != nil {
		panic(err) // the embedded templates are part of the program
	}
	s.tmpl = tmpl
	s.metrics = newHTTPMetrics(cfg.Registry)
	if cfg.DBPools != nil {
		cfg.Registry.MustRegister(newPoolCollector(cfg.DBPools))
	}
	if cfg.JobCounts != nil {
		cfg.Registry.MustRegister(&jobCollector{counts: cfg.JobCounts,
			desc: prometheus.NewDesc("eonpro_jobs", "Background jobs by state.", []string{"state"}, nil)})
	}
	s.routes()
	for path := range s.methods {
		s.methodFallback(path)
	}
	s.sealed = true
	s.handler = chain(s.mux, requestID, securityHeaders, s.observe, s.recoverer, s.limitBody, s.crossOrigin)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// SetReady switches readiness: true once migrated, false when draining.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

func (s *Server) routes() {
	s.relaxed("GET /api/health", s.handleHealth)
	s.relaxed("GET /api/ready", s.handleReady)
	s.handle("GET /metrics", s.handleMetrics)
	s.authRoutes()
	s.meRoutes()
	s.clinicRoutes()
	s.memberRoutes()
	s.apiKeyRoutes()
	s.auditRoutes()
	s.patientRoutes()
	s.providerRoutes()
	s.documentRoutes()
	s.consentRoutes()
	s.jobRoutes()
	s.uiRoutes()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if isAPIPath(r.URL.Path) {
			s.Error(w, r, eonpro.Errorf(eonpro.ENOTFOUND, "Not found."))
			return
		}
		s.notFoundPage(w, r)
	})
}

// MetricsHandler serves the metrics, for a listener of their own
// (EONPRO_METRICS_ADDR, on a private address). A failing collector (the
// job queue when its database is down) drops only its own series: the rest
// are what an outage is diagnosed with.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// handleMetrics serves /metrics on the public handler only to a bearer
// of MetricsToken; without one configured it is not found here at all.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.MetricsToken == "" {
		return eonpro.Errorf(eonpro.ENOTFOUND, "Not found.")
	}
	tok := s.credential(r).BearerToken
	if subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.MetricsToken)) != 1 {
		err := eonpro.Errorf(eonpro.EUNAUTHN, "The metrics need their bearer token.")
		if tok == "" {
			return err
		}
		return s.failedAuth(w, r, err)
	}
	s.MetricsHandler().ServeHTTP(w, r)
	return nil
}

// isAPIPath reports whether path is the JSON API's (or the operators'
// /metrics), whose errors are JSON; other paths are the web app's pages.
func isAPIPath(path string) bool {
	return path == "/api" || strings.HasPrefix(path, "/api/") || path == "/metrics"
}

// handlerFunc is a handler that returns its error for Server.Error.
type handlerFunc func(http.ResponseWriter, *http.Request) error

// handle registers h for pattern ("METHOD /path").
func (s *Server) handle(pattern string, h handlerFunc) {
	s.handleHTTP(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.Error(w, r, err)
		}
	}))
}

// route registers h for pattern behind perm: the request is authenticated
// and authorised (see authorize) before h runs, with the principal in the
// context. Every /api/v1 route is registered this way.
func (s *Server) route(pattern string, perm eonpro.Permission, h handlerFunc) {
	s.perms[pattern] = perm
	s.handle(pattern, func(w http.ResponseWriter, r *http.Request) error {
		r = r.WithContext(eonpro.NewContextWithRequestMeta(r.Context(), meta(r)))
		ctx, err := s.authorize(w, r, perm)
		if err != nil {
			return err
		}
		return h(w, r.WithContext(ctx))
	})
}

// strict registers a public route in the strict rate-limit tier, per IP
// (sign-in, 2FA, password reset, phone codes).
func (s *Server) strict(pattern string, h handlerFunc) {
	s.route(pattern, eonpro.PermPublic, func(w http.ResponseWriter, r *http.Request) error {
		if err := s.limit(w, r, "strict:"+pattern+":"+clientIP(r), s.cfg.Rates.Strict); err != nil {
			return err
		}
		return h(w, r)
	})
}

// relaxed registers a public route in the relaxed tier, per IP.
func (s *Server) relaxed(pattern string, h handlerFunc) {
	s.perms[pattern] = eonpro.PermPublic
	s.handle(pattern, func(w http.ResponseWriter, r *http.Request) error {
		if err := s.limit(w, r, "relaxed:"+clientIP(r), s.cfg.Rates.Relaxed); err != nil {
			return err
		}
		return h(w, r)
	})
}

// crossOrigin refuses cross-origin unsafe requests from browsers (CSRF),
// judged by Sec-Fetch-Site and Origin; API clients, which send neither,
// pass, and they authenticate with bearer tokens, not cookies.
func (s *Server) crossOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Error(w, r, eonpro.Errorf(eonpro.EFORBIDDEN, "Cross-origin request refused."))
	}))
	return cop.Handler(next)
}

// handleHTTP registers h for pattern, names the route for logs and
// metrics, and answers other methods on the same path with a JSON 405.
func (s *Server) handleHTTP(pattern string, h http.Handler) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		panic("web: route pattern without a method: " + pattern)
	}
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setRoute(r.Context(), pattern)
		h.ServeHTTP(w, r)
	}))
	s.methods[path] = append(s.methods[path], method)
	if s.sealed {
		s.methodFallback(path)
	}
}

// methodFallback registers the 405 answer for the methods path has no
// route for. It runs once per path after every route is in (routes added
// later, as tests do, get theirs at once), as a method-less pattern, or,
// where that would clash with a method's wildcard route beside it
// ("/patients/new" beside "GET /patients/{id}"), once per standard method.
func (s *Server) methodFallback(path string) {
	if s.fallbacks[path] {
		return
	}
	s.fallbacks[path] = true
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setRoute(r.Context(), path)
		s.methodNotAllowed(w, r, path)
	})
	if register(s.mux, path, h) {
		return
	}
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		if !slices.Contains(s.methods[path], m) && (m != http.MethodHead || !slices.Contains(s.methods[path], http.MethodGet)) {
			register(s.mux, m+" "+path, h)
		}
	}
}

// register adds a pattern to mux, reporting false when it clashes with
// one already there (ServeMux panics, before changing anything).
func register(mux *http.ServeMux, pattern string, h http.Handler) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	mux.Handle(pattern, h)
	return true
}

func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request, path string) {
	// Cloned: appending to the shared slice would race between requests.
	allow := slices.Clone(s.methods[path])
	if slices.Contains(allow, http.MethodGet) && !slices.Contains(allow, http.MethodHead) {
		allow = append(allow, http.MethodHead)
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeJSON(w, http.StatusMethodNotAllowed, errorEnvelope(r, "method_not_allowed",
		"The method is not allowed on this resource."))
}
