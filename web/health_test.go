package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"sync/atomic"
	"testing"

	"github.com/eonpro/eonpro"
)

const healthToken = "h3alth-t0ken-for-tests"

// healthReport is the body of /api/health?full=true.
type healthReport struct {
	Status       string               `json:"status"`
	Version      string               `json:"version"`
	Commit       string               `json:"commit"`
	Components   map[string]component `json:"components"`
	Integrations map[string]string    `json:"integrations"`
}

func jobsOK(context.Context) (map[string]int64, error) {
	return map[string]int64{"available": 3, "running": 1}, nil
}

func jobsDown(context.Context) (map[string]int64, error) {
	return nil, errors.New("river: no such table: river_job")
}

func TestHealth(t *testing.T) {
	tests := []struct {
		name   string
		ping   func(context.Context) error
		status int
		want   string
	}{
		{"OK", pingOK, http.StatusOK, "{\"status\":\"ok\"}\n"},
		{"DatabaseDown", pingDown, http.StatusServiceUnavailable, "{\"status\":\"unavailable\"}\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestServer(t, Config{PingDB: tc.ping, HealthToken: healthToken})
			w := serve(s, http.MethodGet, "/api/health", "", nil)
			if w.Code != tc.status || w.Body.String() != tc.want {
				t.Errorf("GET /api/health = %d %q, want %d %q", w.Code, w.Body, tc.status, tc.want)
			}
		})
	}
}

func TestHealthFullUnauthorized(t *testing.T) {
	tests := []struct {
		name, token, auth string
	}{
		{"NoAuthorization", healthToken, ""},
		{"WrongToken", healthToken, "Bearer not-the-token"},
		{"EmptyBearer", healthToken, "Bearer "},
		{"NoScheme", healthToken, healthToken},
		{"BasicScheme", healthToken, "Basic " + healthToken},
		{"TokenPrefix", healthToken, "Bearer " + healthToken[:5]},
		{"TokenNotConfigured", "", "Bearer "},
		{"TokenNotConfiguredAnyBearer", "", "Bearer anything"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestServer(t, Config{HealthToken: tc.token, JobCounts: jobsOK})
			var h http.Header
			if tc.auth != "" {
				h = http.Header{"Authorization": {tc.auth}}
			}
			w := serve(s, http.MethodGet, "/api/health?full=true", "", h)
			if w.Code != http.StatusUnauthorized {
				t.Errorf("status = %d, want 401", w.Code)
			}
			got := decodeError(t, w)
			got.RequestID = ""
			if d := diff(envelope("unauthenticated", "A valid health token is required.", nil), got); d != "" {
				t.Errorf("body mismatch (-want +got):\n%s", d)
			}
		})
	}
}

func TestHealthFull(t *testing.T) {
	base := func() Config {
		return Config{
			HealthToken:  healthToken,
			DBEngine:     "sqlite",
			JobCounts:    jobsOK,
			Encryption:   "not_configured",
			Integrations: map[string]bool{"stripe": true, "twilio": false},
		}
	}
	components := func(edit func(map[string]component)) map[string]component {
		c := map[string]component{
			"database":   {Status: "ok", Engine: "sqlite"},
			"redis":      {Status: "not_configured"},
			"queue":      {Status: "ok", Jobs: map[string]int64{"available": 3, "running": 1}},
			"encryption": {Status: "not_configured"},
		}
		if edit != nil {
			edit(c)
		}
		return c
	}
	tests := []struct {
		name    string
		config  func(*Config)
		code    int
		status  string
		comps   map[string]component
		latency []string // components that report a latency
	}{
		{"OK", nil, http.StatusOK, "ok", components(nil), []string{"database"}},
		{"RedisOK", func(c *Config) { c.PingRedis = pingOK },
			http.StatusOK, "ok", components(func(m map[string]component) { m["redis"] = component{Status: "ok"} }),
			[]string{"database", "redis"}},
		{"RedisDown", func(c *Config) { c.PingRedis = pingDown },
			http.StatusOK, "degraded", components(func(m map[string]component) { m["redis"] = component{Status: "down"} }),
			[]string{"database", "redis"}},
		{"QueueDown", func(c *Config) { c.JobCounts = jobsDown },
			http.StatusOK, "degraded", components(func(m map[string]component) { m["queue"] = component{Status: "down"} }),
			[]string{"database"}},
		{"QueueNotConfigured", func(c *Config) { c.JobCounts = nil },
			http.StatusOK, "ok", components(func(m map[string]component) { m["queue"] = component{Status: "not_configured"} }),
			[]string{"database"}},
		{"DatabaseDown", func(c *Config) { c.PingDB = pingDown },
			http.StatusServiceUnavailable, "unavailable",
			components(func(m map[string]component) { m["database"] = component{Status: "down", Engine: "sqlite"} }),
			[]string{"database"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base()
			if tc.config != nil {
				tc.config(&cfg)
			}
			s, _ := newTestServer(t, cfg)
			w := serve(s, http.MethodGet, "/api/health?full=true", "",
				http.Header{"Authorization": {"Bearer " + healthToken}})
			if w.Code != tc.code {
				t.Errorf("status = %d, want %d", w.Code, tc.code)
			}
			var got healthReport
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("body is not a health report: %v: %s", err, w.Body)
			}
			var latency []string
			for name, c := range got.Components {
				if c.LatencyMS != nil {
					if *c.LatencyMS < 0 {
						t.Errorf("%s latency_ms = %v, want >= 0", name, *c.LatencyMS)
					}
					latency = append(latency, name)
					c.LatencyMS = nil
					got.Components[name] = c
				}
			}
			sort.Strings(latency)
			if d := diff(tc.latency, latency); d != "" {
				t.Errorf("components with latency_ms mismatch (-want +got):\n%s", d)
			}
			want := healthReport{
				Status:       tc.status,
				Version:      eonpro.Version,
				Commit:       eonpro.Commit,
				Components:   tc.comps,
				Integrations: map[string]string{"stripe": "configured", "twilio": "not_configured"},
			}
			if d := diff(want, got); d != "" {
				t.Errorf("report mismatch (-want +got):\n%s", d)
			}
		})
	}
}

// TestReady walks one server through start-up, serving, a database outage
// and draining; the steps run in order.
func TestReady(t *testing.T) {
	var dbDown atomic.Bool
	s, _ := newTestServer(t, Config{PingDB: func(ctx context.Context) error {
		if dbDown.Load() {
			return pingDown(ctx)
		}
		return nil
	}})
	steps := []struct {
		name   string
		ready  *bool
		dbDown bool
		status int
		want   string
	}{
		{"Starting", nil, false, http.StatusServiceUnavailable, "{\"status\":\"unavailable\"}\n"},
		{"Ready", ptr(true), false, http.StatusOK, "{\"status\":\"ready\"}\n"},
		{"ReadyDatabaseDown", nil, true, http.StatusServiceUnavailable, "{\"status\":\"unavailable\"}\n"},
		{"ReadyDatabaseBack", nil, false, http.StatusOK, "{\"status\":\"ready\"}\n"},
		{"Draining", ptr(false), false, http.StatusServiceUnavailable, "{\"status\":\"unavailable\"}\n"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.ready != nil {
				s.SetReady(*st.ready)
			}
			dbDown.Store(st.dbDown)
			w := serve(s, http.MethodGet, "/api/ready", "", nil)
			if w.Code != st.status || w.Body.String() != st.want {
				t.Errorf("GET /api/ready = %d %q, want %d %q", w.Code, w.Body, st.status, st.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
