// Package web is the HTTP face of the platform: the request pipeline, the
// JSON API and (later) the HTML pages, on the standard library's ServeMux.
package web

import (
	"context"
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
	Logger      *slog.Logger
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
}

// Server routes requests. Create one with NewServer.
type Server struct {
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	handler http.Handler
	metrics httpMetrics
	ready   atomic.Bool

	// methods records the methods of each registered path, for 405s.
	methods map[string][]string
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
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), methods: map[string][]string{}}
	s.metrics = newHTTPMetrics(cfg.Registry)
	if cfg.DBPools != nil {
		cfg.Registry.MustRegister(newPoolCollector(cfg.DBPools))
	}
	if cfg.JobCounts != nil {
		cfg.Registry.MustRegister(&jobCollector{counts: cfg.JobCounts,
			desc: prometheus.NewDesc("eonpro_jobs", "Background jobs by state.", []string{"state"}, nil)})
	}
	s.routes()
	s.handler = chain(s.mux, requestID, securityHeaders, s.observe, s.recoverer, s.limitBody)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// SetReady switches readiness: true once migrated, false when draining.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

func (s *Server) routes() {
	s.handle("GET /api/health", s.handleHealth)
	s.handle("GET /api/ready", s.handleReady)
	// A failing collector (the job queue when its database is down) drops
	// only its own series: the rest are what an outage is diagnosed with.
	s.handleHTTP("GET /metrics", promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	}))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.Error(w, r, eonpro.Errorf(eonpro.ENOTFOUND, "Not found."))
	})
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
	if _, seen := s.methods[path]; !seen {
		s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			setRoute(r.Context(), path)
			s.methodNotAllowed(w, r, path)
		})
	}
	s.methods[path] = append(s.methods[path], method)
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
