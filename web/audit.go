package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/eonpro/eonpro"
)

func (s *Server) auditRoutes() {
	s.route("GET /api/v1/audit", eonpro.PermAuditRead, s.handleListAudit)
	s.route("GET /api/v1/audit/verify", eonpro.PermAuditRead, s.handleVerifyAudit)
	s.route("GET /api/v1/audit/export", eonpro.PermAuditRead, s.handleExportAudit)
	s.route("GET /api/v1/me/access-log", eonpro.PermOwnRecord, s.handleAccessLog)
}

// auditContext is the request's context with its origin (IP and user
// agent), which the audit events recorded while serving it carry.
func auditContext(r *http.Request) context.Context {
	return eonpro.NewContextWithRequestMeta(r.Context(), meta(r))
}

// listPage is the answer of a paged list.
type listPage struct {
	Data       any     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

func newListPage(data any, next string) listPage {
	if next == "" {
		return listPage{Data: data}
	}
	return listPage{Data: data, NextCursor: &next}
}

func (s *Server) handleListAudit(w http.ResponseWriter, r *http.Request) error {
	f, err := parseAuditFilter(r.URL.Query())
	if err != nil {
		return err
	}
	evs, next, err := s.cfg.Audit.FindAuditEvents(auditContext(r), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newListPage(evs, next))
	return nil
}

// parseAuditFilter reads actor_id, patient_id, action, from and to (RFC
// 3339), limit and cursor; the service checks their values.
func parseAuditFilter(q url.Values) (eonpro.AuditFilter, error) {
	f := eonpro.AuditFilter{ActorID: optional(q, "actor_id"), PatientID: optional(q, "patient_id"), Cursor: q.Get("cursor")}
	if a := optional(q, "action"); a != nil {
		action := eonpro.AuditAction(*a)
		f.Action = &action
	}
	var err error
	if f.From, err = optionalTime(q, "from"); err != nil {
		return f, err
	}
	if f.To, err = optionalTime(q, "to"); err != nil {
		return f, err
	}
	f.Limit, err = optionalInt(q, "limit")
	return f, err
}

func optional(q url.Values, name string) *string {
	if v := q.Get(name); v != "" {
		return &v
	}
	return nil
}

func optionalTime(q url.Values, name string) (*time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return nil, eonpro.FieldError(name, "must be an RFC 3339 time, like 2026-01-02T15:04:05Z")
	}
	return &t, nil
}

func optionalInt(q url.Values, name string) (int, error) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, eonpro.FieldError(name, "must be a whole number, at least 1")
	}
	return n, nil
}

func (s *Server) handleVerifyAudit(w http.ResponseWriter, r *http.Request) error {
	res, err := s.cfg.Audit.Verify(auditContext(r), eonpro.ClinicIDFromContext(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// handleExportAudit streams the export. An error before the first byte is
// an ordinary error answer; after it, the connection is cut so that a
// client never takes a truncated file for a whole one.
func (s *Server) handleExportAudit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, err := parseAuditFilter(q)
	if err != nil {
		return err
	}
	if q.Has("limit") || q.Has("cursor") {
		return eonpro.FieldError("limit", "an export has no pages: filter by from and to instead")
	}
	format := q.Get("format")
	if format == "" {
		format = eonpro.ExportJSON
	}
	ew := &exportWriter{w: w, format: format}
	if err := s.cfg.Audit.Export(auditContext(r), f, format, ew); err != nil {
		if !ew.started {
			return err
		}
		s.log.Log(r.Context(), failureLevel(r), "audit export cut short", "request_id", eonpro.RequestIDFromContext(r.Context()), "err", err)
		panic(http.ErrAbortHandler)
	}
	if !ew.started {
		ew.header()
	}
	return nil
}

// exportWriter sets the export's headers before its first byte.
type exportWriter struct {
	w       http.ResponseWriter
	format  string
	started bool
}

func (e *exportWriter) header() {
	e.started = true
	h := e.w.Header()
	h.Set("Cache-Control", "no-store")
	if e.format == eonpro.ExportCSV {
		h.Set("Content-Type", "text/csv; charset=utf-8")
	} else {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	h.Set("Content-Disposition", `attachment; filename="audit-`+time.Now().UTC().Format("20060102T150405Z")+`.`+e.format+`"`)
	e.w.WriteHeader(http.StatusOK)
}

// Write passes p on and gives the connection another exportWriteWindow,
// so that a long export outlives the server's write timeout while a
// stalled client still does not hold the connection for ever.
func (e *exportWriter) Write(p []byte) (int, error) {
	if !e.started {
		e.header()
	}
	_ = http.NewResponseController(e.w).SetWriteDeadline(time.Now().Add(exportWriteWindow))
	return e.w.Write(p)
}

// exportWriteWindow is how long one write of an export may take.
const exportWriteWindow = time.Minute

func (s *Server) handleAccessLog(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := optionalInt(q, "limit")
	if err != nil {
		return err
	}
	entries, next, err := s.cfg.Audit.FindAccessLog(auditContext(r), limit, q.Get("cursor"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newListPage(entries, next))
	return nil
}
