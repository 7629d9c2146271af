package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/eonpro/eonpro"
)

// middleware wraps a handler.
type middleware func(http.Handler) http.Handler

// chain applies ms so that the first one is outermost.
func chain(h http.Handler, ms ...middleware) http.Handler {
	for i := len(ms) - 1; i >= 0; i-- {
		h = ms[i](h)
	}
	return h
}

// safeRequestID is what an incoming X-Request-ID must look like to be kept:
// short, and nothing that could break a log line or a header.
var safeRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{8,64}$`)

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// requestID keeps a safe incoming X-Request-ID or makes one, puts it in the
// context and echoes it on the response.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !safeRequestID.MatchString(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-ID", id)
		next.ServeHTTP(w, r.WithContext(eonpro.NewContextWithRequestID(r.Context(), id)))
	})
}

// recoverer turns a panic into a 500 JSON error; the stack goes to the log
// with the request id and nowhere else.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.ErrorContext(r.Context(), "panic",
				"request_id", eonpro.RequestIDFromContext(r.Context()),
				"panic", panicValue(p), "stack", string(debug.Stack()))
			switch {
			case rec.wrote:
			case isAPIPath(r.URL.Path):
				s.Error(rec, r, errors.New("panic"))
			default: // a page: the error page, with the request id
				rec.Header().Set("Content-Security-Policy", pageCSP)
				s.pageError(rec, r, &view{RequestID: eonpro.RequestIDFromContext(r.Context()), Path: r.URL.Path},
					errors.New("panic"))
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

func panicValue(p any) string {
	if err, ok := p.(error); ok {
		return err.Error()
	}
	if s, ok := p.(string); ok {
		return s
	}
	return "non-error panic"
}

// securityHeaders sets the headers every response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(self), microphone=(self), geolocation=()")
		next.ServeHTTP(w, r)
	})
}

// routeKey carries a *string that the matched route fills with its pattern,
// so the access log and metrics name the route, never the raw path.
type routeKey struct{}

func setRoute(ctx context.Context, pattern string) {
	if p, ok := ctx.Value(routeKey{}).(*string); ok {
		*p = pattern
	}
}

// observe writes the access log line and the request metrics. The log
// carries the path without its query string: queries may hold search terms.
// A request whose client went away is logged as 499, at INFO like any.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		route := "unmatched"
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), routeKey{}, &route)))
		d := time.Since(start)
		status := rec.Status()
		if clientGone(r) { // whatever was written, it did not reach the client
			status = statusClientClosed
		}
		method := methodLabel(r.Method)
		s.metrics.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
		s.metrics.duration.WithLabelValues(method, route).Observe(d.Seconds())
		s.log.InfoContext(r.Context(), "request",
			"request_id", w.Header().Get("X-Request-ID"),
			"method", r.Method, "route", route, "path", r.URL.Path,
			"status", status, "bytes", rec.bytes, "duration_ms", float64(d.Microseconds())/1000,
			"remote", r.RemoteAddr)
	})
}

// limitBody caps request bodies at MaxBodyBytes, or at the route's own
// limit in bodyLimits (uploads): a declared length over the limit is
// refused at once; a body that grows past it fails when read (decodeJSON
// turns that into 413).
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := s.cfg.MaxBodyBytes
		if _, pattern := s.mux.Handler(r); s.bodyLimits[pattern] > 0 {
			limit = s.bodyLimits[pattern]
		}
		if r.ContentLength > limit {
			s.Error(w, r, eonpro.Errorf(eonpro.ETOOLARGE, "The request body is too large."))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

// statusRecorder remembers the status and size of a response.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.status, r.wrote = http.StatusOK, true
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// Status returns the status written; net/http sends 200 when none was.
func (r *statusRecorder) Status() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Flush passes flushes through, for streamed responses.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
