package web

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// scrape returns the /metrics text of the metrics listener, failing
// unless it is served with 200.
func scrape(t *testing.T, s *Server) string {
	t.Helper()
	w := httptest.NewRecorder()
	s.MetricsHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d, want 200: %s", w.Code, w.Body)
	}
	return w.Body.String()
}

// samples returns the sorted sample lines of the named metrics in text.
func samples(text string, names ...string) []string {
	var out []string
	for line := range strings.Lines(text) {
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		if !strings.HasPrefix(line, "#") && slices.Contains(names, name) {
			out = append(out, strings.TrimSuffix(line, "\n"))
		}
	}
	slices.Sort(out)
	return out
}

// checkSamples compares the named metrics in text with want.
func checkSamples(t *testing.T, text string, want []string, names ...string) {
	t.Helper()
	slices.Sort(want)
	if d := diff(want, samples(text, names...)); d != "" {
		t.Errorf("metrics mismatch (-want +got):\n%s", d)
	}
}

func TestMetricsRoutes(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	for _, r := range []struct{ method, target string }{
		{http.MethodGet, "/api/health"},
		{http.MethodGet, "/api/health?q=SecretName"},
		{http.MethodGet, "/api/nope/12345"},
		{http.MethodPost, "/api/health"},
		{http.MethodGet, "/api/test/panic"},
	} {
		serve(s, r.method, r.target, "", nil)
	}
	text := scrape(t, s)

	t.Run("RequestsByPattern", func(t *testing.T) {
		checkSamples(t, text, []string{
			`http_requests_total{code="200",method="GET",route="GET /api/health"} 2`,
			`http_requests_total{code="404",method="GET",route="unmatched"} 1`,
			`http_requests_total{code="405",method="POST",route="/api/health"} 1`,
			`http_requests_total{code="500",method="GET",route="GET /api/test/panic"} 1`,
		}, "http_requests_total")
	})
	t.Run("NoRawPath", func(t *testing.T) {
		if strings.Contains(text, "/api/nope") || strings.Contains(text, "SecretName") {
			t.Errorf("metrics name a raw path or query:\n%s", text)
		}
		// Runtime gauges may hold any digits; only the HTTP series carry
		// request data.
		for line := range strings.Lines(text) {
			if strings.HasPrefix(line, "http_") && strings.Contains(line, "12345") {
				t.Errorf("metrics line holds the raw path's id: %s", line)
			}
		}
		if !strings.Contains(text, `route="unmatched"`) {
			t.Errorf("metrics have no route=\"unmatched\" series:\n%s", text)
		}
	})
	t.Run("Duration", func(t *testing.T) {
		for _, want := range []string{
			"# TYPE http_request_duration_seconds histogram",
			`http_request_duration_seconds_bucket{method="GET",route="GET /api/health",le="0.005"} `,
			`http_request_duration_seconds_bucket{method="GET",route="GET /api/health",le="+Inf"} 2`,
			`http_request_duration_seconds_count{method="GET",route="GET /api/health"} 2`,
			`http_request_duration_seconds_count{method="GET",route="unmatched"} 1`,
		} {
			if !strings.Contains(text, want) {
				t.Errorf("metrics lack %q", want)
			}
		}
	})
}

// TestMetricsMethod checks the method label stays a small set: clients
// may send any token as a method.
func TestMetricsMethod(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	for _, m := range []string{http.MethodGet, http.MethodPatch, "SCAN-8f3a1c", "scan-0b7e42"} {
		serve(s, m, "/api/ready", "", nil)
	}
	checkSamples(t, scrape(t, s), []string{
		`http_requests_total{code="503",method="GET",route="GET /api/ready"} 1`,
		`http_requests_total{code="405",method="PATCH",route="/api/ready"} 1`,
		`http_requests_total{code="405",method="OTHER",route="/api/ready"} 2`,
	}, "http_requests_total")
}

func TestMetricsDBPools(t *testing.T) {
	s, _ := newTestServer(t, Config{DBPools: func() []PoolStat {
		return []PoolStat{
			{Pool: "primary", Open: 5, InUse: 2, Idle: 3, Max: 10},
			{Pool: "jobs", Open: 1, InUse: 0, Idle: 1, Max: 4},
		}
	}})
	checkSamples(t, scrape(t, s), []string{
		`db_pool_open_connections{pool="jobs"} 1`,
		`db_pool_open_connections{pool="primary"} 5`,
		`db_pool_in_use_connections{pool="jobs"} 0`,
		`db_pool_in_use_connections{pool="primary"} 2`,
		`db_pool_idle_connections{pool="jobs"} 1`,
		`db_pool_idle_connections{pool="primary"} 3`,
		`db_pool_max_connections{pool="jobs"} 4`,
		`db_pool_max_connections{pool="primary"} 10`,
	}, "db_pool_open_connections", "db_pool_in_use_connections", "db_pool_idle_connections", "db_pool_max_connections")
}

func TestMetricsJobs(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		s, _ := newTestServer(t, Config{JobCounts: jobsOK})
		text := scrape(t, s)
		if !strings.Contains(text, "# TYPE eonpro_jobs gauge") {
			t.Errorf("metrics lack the eonpro_jobs gauge:\n%s", text)
		}
		checkSamples(t, text, []string{
			`eonpro_jobs{state="available"} 3`,
			`eonpro_jobs{state="running"} 1`,
		}, "eonpro_jobs")
	})
	// A queue outage must not take the other metrics down with it: that is
	// when they are needed.
	t.Run("QueueDown", func(t *testing.T) {
		s, logs := newTestServer(t, Config{JobCounts: jobsDown, DBPools: func() []PoolStat {
			return []PoolStat{{Pool: "primary", Open: 1, Max: 4, Idle: 1}}
		}})
		serve(s, http.MethodGet, "/api/health", "", nil)
		text := scrape(t, s)
		checkSamples(t, text, []string{
			`http_requests_total{code="200",method="GET",route="GET /api/health"} 1`,
			`db_pool_open_connections{pool="primary"} 1`,
		}, "http_requests_total", "db_pool_open_connections", "eonpro_jobs")
		if !strings.Contains(logs.String(), "no such table: river_job") {
			t.Errorf("the job count error was not logged:\n%s", logs)
		}
	})
}

// TestMetricsNotPublic: /metrics is not on the public handler unless a
// bearer token is configured, and then only for it; failures count per IP.
func TestMetricsNotPublic(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	if w := serve(s, http.MethodGet, "/metrics", "", nil); w.Code != http.StatusNotFound {
		t.Errorf("public /metrics without a token configured: %d, want 404", w.Code)
	}
	s, _ = newTestServer(t, Config{MetricsToken: "scrape-token-0123456789"})
	for _, tc := range []struct {
		name, auth string
		status     int
	}{
		{"ErrNoToken", "", http.StatusUnauthorized},
		{"ErrWrongToken", "Bearer scrape-token-wrong", http.StatusUnauthorized},
		{"OK", "Bearer scrape-token-0123456789", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := serve(s, http.MethodGet, "/metrics", "", http.Header{"Authorization": {tc.auth}})
			if w.Code != tc.status {
				t.Errorf("%d, want %d: %s", w.Code, tc.status, w.Body)
			}
		})
	}
}
