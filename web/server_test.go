package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/eonpro/eonpro"
	"github.com/prometheus/client_golang/prometheus"
)

// secretPanic is what the test panic route panics with; it must reach the
// log and never the client.
const secretPanic = "panic detail card=4111111111111111"

// testBody is what the test decode route reads.
type testBody struct {
	Name    string   `json:"name"`
	Age     int      `json:"age"`
	Tags    []string `json:"tags"`
	Address struct {
		Zip string `json:"zip"`
	} `json:"address"`
}

// logBuffer collects JSON log lines; a real http.Server logs from its own
// goroutines, so writes and reads are locked.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// records returns the log records whose msg is msg.
func (l *logBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(l.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line is not JSON: %v: %q", err, sc.Text())
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

func pingOK(context.Context) error { return nil }

func pingDown(context.Context) error {
	return errors.New("dial tcp 10.0.0.5:5432: connection refused")
}

// newTestServer builds a server on cfg with a JSON logger into the
// returned buffer, a fresh registry, a healthy database unless cfg says
// otherwise, and two test routes: a panicking GET and a decoding POST.
func newTestServer(t *testing.T, cfg Config) (*Server, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.PingDB == nil {
		cfg.PingDB = pingOK
	}
	s := NewServer(cfg)
	s.handle("GET /api/test/panic", func(http.ResponseWriter, *http.Request) error {
		panic(secretPanic)
	})
	s.page("GET /test/page-panic", eonpro.PermPublic, func(http.ResponseWriter, *http.Request, *view) error {
		panic(secretPanic)
	})
	s.handle("POST /api/test/decode", func(w http.ResponseWriter, r *http.Request) error {
		var body testBody
		if err := decodeJSON(r, &body); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, body)
		return nil
	})
	return s, logs
}

// serve runs one request through h and returns the recorded response.
func serve(h http.Handler, method, target, body string, header http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// decodeError reads the JSON error envelope from w.
func decodeError(t *testing.T, w *httptest.ResponseRecorder) errorBody {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q, want application/json; charset=utf-8", ct)
	}
	var body errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("body is not the error envelope: %v: %q", err, w.Body.String())
	}
	return body
}

// envelope builds the error envelope a test expects, without request id.
func envelope(code, message string, fields map[string]string) errorBody {
	var body errorBody
	body.Error.Code, body.Error.Message, body.Error.Fields = code, message, fields
	return body
}

// diff stands in for cmp.Diff, which is not in go.mod: it returns "" when
// want and got are equal, else the lines of their indented JSON found only
// in want (-) or only in got (+).
func diff(want, got any) string {
	if reflect.DeepEqual(want, got) {
		return ""
	}
	w, g := jsonLines(want), jsonLines(got)
	var b strings.Builder
	for _, l := range w {
		if !slices.Contains(g, l) {
			fmt.Fprintf(&b, "-%s\n", l)
		}
	}
	for _, l := range g {
		if !slices.Contains(w, l) {
			fmt.Fprintf(&b, "+%s\n", l)
		}
	}
	if b.Len() == 0 { // same JSON, e.g. a nil against an empty map
		return fmt.Sprintf("-%#v\n+%#v\n", want, got)
	}
	return b.String()
}

func jsonLines(v any) []string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return []string{fmt.Sprintf("%#v", v)}
	}
	return strings.Split(string(b), "\n")
}

func TestNotFound(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	// Paths outside /api/ are the web app's: its HTML 404 is tested in ui_test.go.
	for _, target := range []string{"/api/nope", "/api/health/extra", "/api", "/api/v1/nothing/here"} {
		t.Run(target, func(t *testing.T) {
			w := serve(s, http.MethodGet, target, "", nil)
			if w.Code != http.StatusNotFound {
				t.Errorf("status = %d, want 404", w.Code)
			}
			got := decodeError(t, w)
			if got.RequestID == "" || got.RequestID != w.Header().Get("X-Request-ID") {
				t.Errorf("request_id = %q, want the X-Request-ID header %q", got.RequestID, w.Header().Get("X-Request-ID"))
			}
			got.RequestID = ""
			if d := diff(envelope("not_found", "Not found.", nil), got); d != "" {
				t.Errorf("body mismatch (-want +got):\n%s", d)
			}
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	ok := func(http.ResponseWriter, *http.Request) error { return nil }
	s.handle("GET /api/test/multi", ok)
	s.handle("POST /api/test/multi", ok)
	s.handle("PUT /api/test/multi", ok)
	s.handle("GET /api/test/head", ok)
	s.handle("HEAD /api/test/head", ok)
	// A literal path beside a wildcard one. (Added after NewServer, the
	// wildcard must come first; within NewServer the order is free.)
	s.handle("GET /api/test/items/{id}", ok)
	s.handle("GET /api/test/items/new", ok)
	s.handle("POST /api/test/items/{id}", ok)
	tests := []struct {
		name, method, target, allow string
	}{
		{"PostOnGetRoute", http.MethodPost, "/api/health", "GET, HEAD"},
		{"DeleteOnMetrics", http.MethodDelete, "/metrics", "GET, HEAD"},
		{"GetOnPostRoute", http.MethodGet, "/api/test/decode", "POST"},
		{"HeadOnPostRoute", http.MethodHead, "/api/test/decode", "POST"},
		{"UnknownMethod", "BREW", "/api/ready", "GET, HEAD"},
		{"ManyMethods", http.MethodDelete, "/api/test/multi", "GET, POST, PUT, HEAD"},
		{"ExplicitHead", http.MethodPost, "/api/test/head", "GET, HEAD"},
		{"LiteralBesideWildcard", http.MethodPost, "/api/test/items/new", "GET, HEAD"},
		{"WildcardBesideLiteral", http.MethodDelete, "/api/test/items/7", "GET, POST, HEAD"},
		{"PageLiteralBesideWildcard", http.MethodDelete, "/patients/new", "GET, HEAD"},
		{"PageSearch", http.MethodGet, "/patients/search", "POST"},
		{"PageWildcard", http.MethodDelete, "/patients/7", "GET, POST, HEAD"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := serve(s, tc.method, tc.target, "", nil)
			if w.Code != http.StatusMethodNotAllowed {
				t.Errorf("status = %d, want 405", w.Code)
			}
			if got := w.Header().Get("Allow"); got != tc.allow {
				t.Errorf("Allow = %q, want %q", got, tc.allow)
			}
			if tc.method == http.MethodHead {
				return
			}
			got := decodeError(t, w)
			got.RequestID = ""
			want := envelope("method_not_allowed", "The method is not allowed on this resource.", nil)
			if d := diff(want, got); d != "" {
				t.Errorf("body mismatch (-want +got):\n%s", d)
			}
		})
	}
	// The Allow list is built per request from shared state; under -race
	// this fails if requests write into each other's slices.
	t.Run("Concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				w := serve(s, http.MethodDelete, "/api/test/multi", "", nil)
				if got := w.Header().Get("Allow"); got != "GET, POST, PUT, HEAD" {
					t.Errorf("Allow = %q, want GET, POST, PUT, HEAD", got)
				}
			})
		}
		wg.Wait()
	})
}

func TestHead(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	ts := httptest.NewServer(s)
	defer ts.Close()
	resp, err := ts.Client().Head(ts.URL + "/api/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || len(body) != 0 {
		t.Errorf("HEAD /api/health = %d with %d body bytes, want 200 with none", resp.StatusCode, len(body))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q, want application/json; charset=utf-8", ct)
	}
}

func TestSecurityHeaders(t *testing.T) {
	s, _ := newTestServer(t, Config{MaxBodyBytes: 16})
	tests := []struct {
		name, method, target, body string
		status                     int
	}{
		{"OK", http.MethodGet, "/api/health", "", http.StatusOK},
		{"NotFound", http.MethodGet, "/api/nope", "", http.StatusNotFound},
		{"MethodNotAllowed", http.MethodPost, "/api/health", "", http.StatusMethodNotAllowed},
		{"PayloadTooLarge", http.MethodPost, "/api/test/decode", `{"name":"far too long for sixteen bytes"}`, http.StatusRequestEntityTooLarge},
		{"Panic", http.MethodGet, "/api/test/panic", "", http.StatusInternalServerError},
		{"Unavailable", http.MethodGet, "/api/ready", "", http.StatusServiceUnavailable},
		{"Metrics", http.MethodGet, "/metrics", "", http.StatusNotFound}, // on a listener of its own
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := serve(s, tc.method, tc.target, tc.body, nil)
			if w.Code != tc.status {
				t.Fatalf("status = %d, want %d", w.Code, tc.status)
			}
			h := w.Header()
			checks := []struct{ header, want string }{
				{"Strict-Transport-Security", "max-age="},
				{"X-Content-Type-Options", "nosniff"},
				{"X-Frame-Options", "DENY"},
				{"Content-Security-Policy", "frame-ancestors 'none'"},
				{"Referrer-Policy", "no-referrer"},
			}
			for _, c := range checks {
				if got := h.Get(c.header); !strings.Contains(got, c.want) {
					t.Errorf("%s = %q, want it to contain %q", c.header, got, c.want)
				}
			}
			if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want exactly nosniff", got)
			}
		})
	}
}

// TestGracefulDrain runs the shutdown sequence of cmd/eonpro in process:
// readiness turns 503 at once while an in-flight request still finishes.
func TestGracefulDrain(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	started, release := make(chan struct{}), make(chan struct{})
	s.handle("GET /api/test/slow", func(w http.ResponseWriter, r *http.Request) error {
		close(started)
		<-release
		writeJSON(w, http.StatusOK, map[string]string{"status": "done"})
		return nil
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s}
	serving := make(chan error, 1)
	go func() { serving <- srv.Serve(ln) }()
	s.SetReady(true)

	type result struct {
		status int
		body   string
		err    error
	}
	slow := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/api/test/slow")
		if err != nil {
			slow <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		slow <- result{resp.StatusCode, string(b), err}
	}()
	<-started

	s.SetReady(false)
	shutdown := make(chan error, 1)
	go func() { shutdown <- srv.Shutdown(context.Background()) }()

	if w := serve(s, http.MethodGet, "/api/ready", "", nil); w.Code != http.StatusServiceUnavailable {
		t.Errorf("GET /api/ready while draining = %d, want 503", w.Code)
	}
	select {
	case err := <-shutdown:
		t.Fatalf("Shutdown returned %v before the in-flight request finished", err)
	case r := <-slow:
		t.Fatalf("slow request finished before release: %+v", r)
	default:
	}

	close(release)
	got := <-slow
	if got.err != nil || got.status != http.StatusOK || got.body != "{\"status\":\"done\"}\n" {
		t.Errorf("slow request = %d %q (err %v), want 200 {\"status\":\"done\"}", got.status, got.body, got.err)
	}
	if err := <-shutdown; err != nil {
		t.Errorf("Shutdown = %v, want nil", err)
	}
	if err := <-serving; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve = %v, want http.ErrServerClosed", err)
	}
}
