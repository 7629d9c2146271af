package web

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/eonpro/eonpro"
)

// healthTimeout bounds each dependency check.
const healthTimeout = 2 * time.Second

// handleHealth answers liveness with a database ping; with ?full=true, and
// the health token, it reports every component.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) error {
	if r.URL.Query().Get("full") == "true" {
		if !s.healthAuthorized(r) {
			return eonpro.Errorf(eonpro.EUNAUTHN, "A valid health token is required.")
		}
		return s.fullHealth(w, r)
	}
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	if err := s.cfg.PingDB(ctx); err != nil {
		s.log.WarnContext(r.Context(), "health: database down", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) healthAuthorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Bearer") && s.cfg.HealthToken != "" &&
		subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.HealthToken)) == 1
}

// component is one line of the full health report.
type component struct {
	Status    string           `json:"status"` // ok, down, not_configured, configured
	Engine    string           `json:"engine,omitempty"`
	LatencyMS *float64         `json:"latency_ms,omitempty"`
	Jobs      map[string]int64 `json:"jobs,omitempty"`
	Detail    string           `json:"detail,omitempty"`
}

func (s *Server) fullHealth(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	db := s.timedCheck(ctx, s.cfg.PingDB)
	db.Engine = s.cfg.DBEngine
	comps := map[string]component{
		"database":   db,
		"redis":      {Status: "not_configured"},
		"queue":      s.queueHealth(ctx),
		"encryption": {Status: s.cfg.Encryption},
	}
	if s.cfg.PingRedis != nil {
		comps["redis"] = s.timedCheck(ctx, s.cfg.PingRedis)
	}
	integrations := map[string]string{}
	for name, configured := range s.cfg.Integrations {
		integrations[name] = "not_configured"
		if configured {
			integrations[name] = "configured"
		}
	}
	status, code := "ok", http.StatusOK
	if db.Status != "ok" {
		status, code = "unavailable", http.StatusServiceUnavailable
	} else if comps["redis"].Status == "down" || comps["queue"].Status == "down" {
		status = "degraded"
	}
	writeJSON(w, code, map[string]any{
		"status":       status,
		"version":      eonpro.Version,
		"commit":       eonpro.Commit,
		"components":   comps,
		"integrations": integrations,
	})
	return nil
}

func (s *Server) timedCheck(ctx context.Context, ping func(context.Context) error) component {
	start := time.Now()
	err := ping(ctx)
	ms := float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		return component{Status: "down", LatencyMS: &ms}
	}
	return component{Status: "ok", LatencyMS: &ms}
}

func (s *Server) queueHealth(ctx context.Context) component {
	if s.cfg.JobCounts == nil {
		return component{Status: "not_configured"}
	}
	counts, err := s.cfg.JobCounts(ctx)
	if err != nil {
		return component{Status: "down"}
	}
	return component{Status: "ok", Jobs: counts}
}

// handleReady answers 200 once migrated and while the database answers,
// 503 while starting or draining.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) error {
	if !s.ready.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	if err := s.cfg.PingDB(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}
