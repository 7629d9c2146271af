package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/eonpro/eonpro"
)

var generatedID = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestRequestID(t *testing.T) {
	s, _ := newTestServer(t, Config{})
	t.Run("Kept", func(t *testing.T) {
		for _, id := range []string{
			"abcdefgh",
			"req-2f1c.9b:7_x",
			strings.Repeat("a", 64),
			"01J9Z6Q3V2N8K4M7P5R1T0W3XY",
		} {
			t.Run(id, func(t *testing.T) {
				w := serve(s, http.MethodGet, "/api/nope", "", http.Header{"X-Request-Id": {id}})
				if got := w.Header().Get("X-Request-ID"); got != id {
					t.Errorf("X-Request-ID = %q, want %q echoed", got, id)
				}
				if got := decodeError(t, w).RequestID; got != id {
					t.Errorf("request_id = %q, want %q", got, id)
				}
			})
		}
	})
	t.Run("Replaced", func(t *testing.T) {
		tests := []struct{ name, id string }{
			{"Missing", ""},
			{"TooShort", "abcdefg"},
			{"TooLong", strings.Repeat("a", 65)},
			{"Space", "abc def ghi"},
			{"Newline", "abcdefgh\nlevel=ERROR msg=forged"},
			{"Quote", `abcdefgh"injected`},
			{"Markup", "<script>alert(1)</script>"},
			{"NonASCII", "abcdéfghij"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				w := serve(s, http.MethodGet, "/api/nope", "", http.Header{"X-Request-Id": {tc.id}})
				got := w.Header().Get("X-Request-ID")
				if !generatedID.MatchString(got) {
					t.Errorf("X-Request-ID = %q, want a generated 32-hex id", got)
				}
				if body := decodeError(t, w).RequestID; body != got {
					t.Errorf("request_id = %q, want the header's %q", body, got)
				}
			})
		}
	})
	t.Run("Unique", func(t *testing.T) {
		seen := map[string]bool{}
		for range 200 {
			id := serve(s, http.MethodGet, "/api/health", "", nil).Header().Get("X-Request-ID")
			if seen[id] {
				t.Fatalf("request id %q generated twice", id)
			}
			seen[id] = true
		}
	})
}

func TestRecoverer(t *testing.T) {
	t.Run("Panic", func(t *testing.T) {
		s, logs := newTestServer(t, Config{})
		w := serve(s, http.MethodGet, "/api/test/panic", "", http.Header{"X-Request-Id": {"panic-req-1"}})
		if w.Code != http.StatusInternalServerError {
			t.Errorf("status = %d, want 500", w.Code)
		}
		for _, leak := range []string{secretPanic, "goroutine", "middleware.go", "server_test.go"} {
			if strings.Contains(w.Body.String(), leak) {
				t.Errorf("response body holds %q: %q", leak, w.Body.String())
			}
		}
		got := decodeError(t, w)
		want := envelope("internal", "An internal error occurred.", nil)
		want.RequestID = "panic-req-1"
		if d := diff(want, got); d != "" {
			t.Errorf("body mismatch (-want +got):\n%s", d)
		}
		recs := logs.records(t, "panic")
		if len(recs) != 1 {
			t.Fatalf("logged %d panic records, want 1:\n%s", len(recs), logs)
		}
		if recs[0]["request_id"] != "panic-req-1" || recs[0]["panic"] != secretPanic {
			t.Errorf("panic record = %v, want request_id panic-req-1 and the panic value", recs[0])
		}
		stack, _ := recs[0]["stack"].(string)
		if !strings.Contains(stack, "goroutine") || !strings.Contains(stack, "server_test.go") {
			t.Errorf("panic record stack does not reach the panicking handler:\n%s", stack)
		}
	})
	t.Run("PanicOnPage", func(t *testing.T) {
		s, _ := newTestServer(t, Config{})
		w := serve(s, http.MethodGet, "/test/page-panic", "", http.Header{"X-Request-Id": {"panic-req-2"}})
		body := w.Body.String()
		if w.Code != http.StatusInternalServerError || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("status %d, type %q, want a 500 page", w.Code, w.Header().Get("Content-Type"))
		}
		if !strings.Contains(body, "Something went wrong") || !strings.Contains(body, "panic-req-2") {
			t.Errorf("the page shows no heading or request id:\n%s", body)
		}
		for _, leak := range []string{secretPanic, "goroutine", "panic"} {
			if strings.Contains(strings.ReplaceAll(body, "panic-req-2", ""), leak) {
				t.Errorf("page holds %q", leak)
			}
		}
		if !strings.Contains(w.Header().Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("CSP = %q", w.Header().Get("Content-Security-Policy"))
		}
	})
	t.Run("PanicAfterWrite", func(t *testing.T) {
		s, logs := newTestServer(t, Config{})
		s.handle("GET /api/test/partial", func(w http.ResponseWriter, r *http.Request) error {
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte("partial"))
			panic(secretPanic)
		})
		w := serve(s, http.MethodGet, "/api/test/partial", "", nil)
		if w.Code != http.StatusAccepted || w.Body.String() != "partial" {
			t.Errorf("response = %d %q, want the handler's 202 \"partial\" left alone", w.Code, w.Body.String())
		}
		if n := len(logs.records(t, "panic")); n != 1 {
			t.Errorf("logged %d panic records, want 1", n)
		}
	})
	t.Run("ErrAbortHandler", func(t *testing.T) {
		s, logs := newTestServer(t, Config{})
		s.handle("GET /api/test/abort", func(http.ResponseWriter, *http.Request) error {
			panic(http.ErrAbortHandler)
		})
		w := httptest.NewRecorder()
		func() {
			defer func() {
				if p := recover(); p != http.ErrAbortHandler {
					t.Errorf("recovered %v, want http.ErrAbortHandler re-panicked", p)
				}
			}()
			s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/test/abort", nil))
		}()
		if w.Code != http.StatusOK || w.Body.Len() != 0 {
			t.Errorf("response = %d %q, want nothing written", w.Code, w.Body.String())
		}
		if n := len(logs.records(t, "panic")); n != 0 {
			t.Errorf("logged %d panic records, want 0 for an aborted handler", n)
		}
	})
}

func TestLimitBody(t *testing.T) {
	const limit = 64
	tests := []struct {
		name    string
		body    string
		chunked bool
		status  int
		ran     bool
	}{
		{"UnderLimit", `{"name":"a"}`, false, http.StatusOK, true},
		{"AtLimit", `{"name":"` + strings.Repeat("x", limit-11) + `"}`, false, http.StatusOK, true},
		{"DeclaredOverLimit", `{"name":"` + strings.Repeat("x", limit-10) + `"}`, false, http.StatusRequestEntityTooLarge, false},
		{"ChunkedUnderLimit", `{"name":"a"}`, true, http.StatusOK, true},
		{"ChunkedOverLimit", `{"name":"` + strings.Repeat("x", 4*limit) + `"}`, true, http.StatusRequestEntityTooLarge, true},
		{"ChunkedPaddingOverLimit", `{"name":"a"}` + strings.Repeat(" ", 4*limit), true, http.StatusRequestEntityTooLarge, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestServer(t, Config{MaxBodyBytes: limit})
			ran := false
			s.handle("POST /api/test/limit", func(w http.ResponseWriter, r *http.Request) error {
				ran = true
				var body testBody
				if err := decodeJSON(r, &body); err != nil {
					return err
				}
				w.WriteHeader(http.StatusOK)
				return nil
			})
			r := httptest.NewRequest(http.MethodPost, "/api/test/limit", strings.NewReader(tc.body))
			if tc.chunked {
				r.ContentLength, r.TransferEncoding = -1, []string{"chunked"}
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Errorf("status = %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if ran != tc.ran {
				t.Errorf("handler ran = %t, want %t", ran, tc.ran)
			}
			if tc.status != http.StatusRequestEntityTooLarge {
				return
			}
			got := decodeError(t, w)
			got.RequestID = ""
			if d := diff(envelope("payload_too_large", "The request body is too large.", nil), got); d != "" {
				t.Errorf("body mismatch (-want +got):\n%s", d)
			}
		})
	}
}

func TestAccessLog(t *testing.T) {
	tests := []struct {
		name, method, target string
		want                 map[string]any
	}{
		{"OK", http.MethodGet, "/api/health?q=SecretName&dob=1970-01-01",
			map[string]any{"method": "GET", "route": "GET /api/health", "path": "/api/health", "status": 200.0}},
		{"NotFound", http.MethodGet, "/api/nope/12345?q=SecretName",
			map[string]any{"method": "GET", "route": "unmatched", "path": "/api/nope/12345", "status": 404.0}},
		{"MethodNotAllowed", http.MethodDelete, "/api/health?q=SecretName",
			map[string]any{"method": "DELETE", "route": "/api/health", "path": "/api/health", "status": 405.0}},
		{"Panic", http.MethodGet, "/api/test/panic?q=SecretName",
			map[string]any{"method": "GET", "route": "GET /api/test/panic", "path": "/api/test/panic", "status": 500.0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, logs := newTestServer(t, Config{})
			serve(s, tc.method, tc.target, "", http.Header{"X-Request-Id": {"access-log-1"}})
			recs := logs.records(t, "request")
			if len(recs) != 1 {
				t.Fatalf("logged %d request lines, want 1:\n%s", len(recs), logs)
			}
			got := map[string]any{}
			for _, k := range []string{"method", "route", "path", "status"} {
				got[k] = recs[0][k]
			}
			if d := diff(tc.want, got); d != "" {
				t.Errorf("access log mismatch (-want +got):\n%s", d)
			}
			if recs[0]["request_id"] != "access-log-1" {
				t.Errorf("request_id = %v, want access-log-1", recs[0]["request_id"])
			}
			for _, leak := range []string{"SecretName", "1970-01-01", "q="} {
				if strings.Contains(logs.String(), leak) {
					t.Errorf("log holds %q from the query string:\n%s", leak, logs)
				}
			}
		})
	}
}

// TestResponseController checks that the pipeline's response wrappers
// still let handlers flush and set deadlines.
func TestResponseController(t *testing.T) {
	t.Run("Flush", func(t *testing.T) {
		s, _ := newTestServer(t, Config{})
		s.handle("GET /api/test/flush", func(w http.ResponseWriter, r *http.Request) error {
			_, _ = w.Write([]byte("event\n"))
			return http.NewResponseController(w).Flush()
		})
		w := serve(s, http.MethodGet, "/api/test/flush", "", nil)
		if w.Code != http.StatusOK || !w.Flushed {
			t.Errorf("response = %d flushed=%t, want 200 flushed", w.Code, w.Flushed)
		}
	})
	t.Run("Deadline", func(t *testing.T) {
		s, _ := newTestServer(t, Config{})
		s.handle("GET /api/test/deadline", func(w http.ResponseWriter, r *http.Request) error {
			return http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute))
		})
		ts := httptest.NewServer(s)
		defer ts.Close()
		resp, err := ts.Client().Get(ts.URL + "/api/test/deadline")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status = %d, want 200: SetWriteDeadline did not reach the connection", resp.StatusCode)
		}
	})
}

// TestClientGone: a request whose client went away is logged as 499 at
// INFO, never as an internal error, whatever its handler returned.
func TestClientGone(t *testing.T) {
	failed := fmt.Errorf("find patient: %w", context.Canceled)
	for _, tc := range []struct {
		name, target string
		wantCode     int
	}{
		{"APIError", "/api/test/gone", statusClientClosed},
		{"PageError", "/test/page-gone", statusClientClosed},
		{"Answered", "/api/test/answered", http.StatusOK}, // written, never read
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, logs := newTestServer(t, Config{})
			s.handle("GET /api/test/gone", func(http.ResponseWriter, *http.Request) error { return failed })
			s.page("GET /test/page-gone", eonpro.PermPublic, func(http.ResponseWriter, *http.Request, *view) error { return failed })
			s.handle("GET /api/test/answered", func(w http.ResponseWriter, r *http.Request) error {
				writeJSON(w, http.StatusOK, map[string]string{"ok": "yes"})
				return nil
			})
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // the client hung up
			w := httptest.NewRecorder()
			s.ServeHTTP(w, httptest.NewRequestWithContext(ctx, http.MethodGet, tc.target, nil))
			if w.Code != tc.wantCode {
				t.Errorf("status written = %d, want %d", w.Code, tc.wantCode)
			}
			recs := logs.records(t, "request")
			if len(recs) != 1 || recs[0]["status"] != 499.0 || recs[0]["level"] != "INFO" {
				t.Errorf("access log = %v, want one line with status 499 at INFO", recs)
			}
			if strings.Contains(logs.String(), `"level":"ERROR"`) || len(logs.records(t, "internal error")) > 0 {
				t.Errorf("a client that went away was logged as an error:\n%s", logs)
			}
		})
	}
}
