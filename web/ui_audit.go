package web

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/eonpro/eonpro"
)

func (s *Server) auditPages() {
	s.page("GET /admin/audit", eonpro.PermAuditRead, s.pageAudit)
	s.page("GET /admin/audit/verify", eonpro.PermAuditRead, s.pageAuditVerify)
	s.page("GET /admin/audit/export.csv", eonpro.PermAuditRead, s.pageAuditExport)
}

// auditPage is the data of the audit log page. The filters are ids,
// actions and dates, not PHI, so they travel as query parameters.
type auditPage struct {
	Filter  auditFilterForm
	Events  []*eonpro.AuditEvent
	Actions []eonpro.AuditAction
	// CSV, First and Next are the links to the export, the newest page
	// and the next page (Next "" on the last), with the filter.
	CSV, First, Next template.URL
	Paged            bool
	// Names are the clinic's members' names by user id, for the actors.
	Names map[string]string
}

// auditFilterForm is the filter as entered; From and To are dates
// (YYYY-MM-DD, UTC), To included.
type auditFilterForm struct {
	ActorID, Action, PatientID, From, To string
	Errors                               map[string]string
}

func (s *Server) pageAudit(w http.ResponseWriter, r *http.Request, v *view) error {
	ff, f := parseAuditForm(r.URL.Query())
	q := ff.query()
	d := auditPage{Actions: eonpro.AuditActions, Paged: f.Cursor != "",
		CSV: withQuery("/admin/audit/export.csv", q), First: withQuery("/admin/audit", q)}
	var err error
	var next string
	if len(ff.Errors) == 0 {
		d.Events, next, err = s.cfg.Audit.FindAuditEvents(r.Context(), f)
		if eonpro.ErrorCode(err) == eonpro.EINVALID {
			ff.Errors = eonpro.ErrorFields(err)
		} else if err != nil {
			return err
		}
	}
	d.Filter = ff
	if d.Names, err = s.memberNames(r); err != nil {
		return err
	}
	if next != "" {
		q.Set("cursor", next)
		d.Next = withQuery("/admin/audit", q)
	}
	v.Title = "Audit log"
	v.Data = d
	status := http.StatusOK
	if len(ff.Errors) > 0 {
		status = http.StatusUnprocessableEntity
	}
	return s.render(w, r, status, "audit", v)
}

// pageAuditVerify checks the clinic's audit chain. The audit page loads
// it with htmx (the fragment) after it shows, as the check reads the whole
// chain; without JavaScript it is a page of its own.
func (s *Server) pageAuditVerify(w http.ResponseWriter, r *http.Request, v *view) error {
	res, err := s.cfg.Audit.Verify(r.Context(), v.Principal.ClinicID)
	if err != nil {
		return err
	}
	v.Title = "Audit chain verification"
	v.Data = res
	return s.render(w, r, http.StatusOK, "audit-verify", v)
}

// parseAuditForm reads the filter of the page's query into the form to
// show again and the service's filter, noting malformed dates.
func parseAuditForm(q url.Values) (auditFilterForm, eonpro.AuditFilter) {
	ff := auditFilterForm{ActorID: strings.TrimSpace(q.Get("actor_id")), Action: q.Get("action"),
		PatientID: strings.TrimSpace(q.Get("patient_id")), From: q.Get("from"), To: q.Get("to"), Errors: map[string]string{}}
	f := eonpro.AuditFilter{Cursor: q.Get("cursor")}
	if ff.ActorID != "" {
		f.ActorID = &ff.ActorID
	}
	if ff.PatientID != "" {
		f.PatientID = &ff.PatientID
	}
	if ff.Action != "" {
		a := eonpro.AuditAction(ff.Action)
		f.Action = &a
	}
	f.From = formDate(ff.From, "from", 0, ff.Errors)
	f.To = formDate(ff.To, "to", 1, ff.Errors)
	return ff, f
}

// formDate reads a YYYY-MM-DD date as midnight UTC plus days.
func formDate(s, field string, days int, errs map[string]string) *time.Time {
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		errs[field] = "must be a date like 2026-01-31"
		return nil
	}
	t = t.AddDate(0, 0, days)
	return &t
}

// query is the filter as query parameters, without the cursor.
func (ff auditFilterForm) query() url.Values {
	q := url.Values{}
	for name, val := range map[string]string{"actor_id": ff.ActorID, "action": ff.Action,
		"patient_id": ff.PatientID, "from": ff.From, "to": ff.To} {
		if val != "" {
			q.Set(name, val)
		}
	}
	return q
}

// withQuery is a local link with the query; the values are encoded, so
// the template may take it as a URL.
func withQuery(path string, q url.Values) template.URL {
	if len(q) == 0 {
		return template.URL(path)
	}
	return template.URL(path + "?" + q.Encode())
}

// pageAuditExport downloads the filtered events as CSV, as the API's
// export does (the service records the export itself).
func (s *Server) pageAuditExport(w http.ResponseWriter, r *http.Request, v *view) error {
	ff, f := parseAuditForm(r.URL.Query())
	if len(ff.Errors) > 0 {
		return &eonpro.Error{Code: eonpro.EINVALID, Message: "Some fields are invalid.", Fields: ff.Errors}
	}
	f.Cursor = ""
	ew := &exportWriter{w: w, format: eonpro.ExportCSV}
	if err := s.cfg.Audit.Export(r.Context(), f, eonpro.ExportCSV, ew); err != nil {
		if !ew.started {
			return err
		}
		s.log.Log(r.Context(), failureLevel(r), "audit export cut short", "request_id", v.RequestID, "err", err)
		panic(http.ErrAbortHandler)
	}
	if !ew.started {
		ew.header()
	}
	return nil
}
