package web

import (
	"net/http"
	"time"

	"github.com/eonpro/eonpro"
)

// portalAccessLog is how many accesses the portal lists, of the latest
// portalAccessRead it reads (the patient's own visits are left out).
const (
	portalAccessLog  = 50
	portalAccessRead = 200
)

func (s *Server) portalPages() {
	s.page("GET /portal", eonpro.PermOwnRecord, s.pagePortal)
	s.page("GET /portal/documents/{id}", eonpro.PermOwnRecord, s.pagePortalDocument)
}

// portalPage is the data of the patient portal.
type portalPage struct {
	Profile   *eonpro.PatientProfile
	Documents []*eonpro.Document
	Consents  []*eonpro.Consent
	AccessLog []accessRow
}

// accessRow is one access to the record, in words.
type accessRow struct {
	*eonpro.AccessLogEntry
	Who, What string
}

// accessWhat words the actions of the access log.
var accessWhat = map[eonpro.AuditAction]string{
	eonpro.ActionPHIView: "Viewed", eonpro.ActionPHICreate: "Added", eonpro.ActionPHIUpdate: "Changed",
	eonpro.ActionPHIDelete: "Archived", eonpro.ActionPHIPrint: "Printed", eonpro.ActionPHIExport: "Exported",
	eonpro.ActionEmergencyAccess: "Opened in an emergency",
}

func newAccessRow(e *eonpro.AccessLogEntry) accessRow {
	row := accessRow{AccessLogEntry: e, Who: e.ActorName, What: accessWhat[e.Action]}
	switch {
	case e.ActorType == eonpro.ActorAPIKey:
		row.Who = "A connected system (API key)"
	case e.ActorType == eonpro.ActorSystem:
		row.Who = "EONPRO"
	case row.Who == "":
		row.Who = "A clinic member"
	}
	if row.What == "" {
		row.What = string(e.Action)
	}
	return row
}

// pagePortal shows patients their own record: profile, documents,
// consents, and who opened the record.
func (s *Server) pagePortal(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	profile, err := s.cfg.Patients.FindMyPatient(ctx)
	if err != nil {
		return err
	}
	d := portalPage{Profile: profile}
	if d.Documents, _, err = s.cfg.Documents.FindDocuments(ctx, eonpro.DocumentFilter{PatientID: profile.ID}); err != nil {
		return err
	}
	if d.Consents, _, err = s.cfg.Consents.FindConsents(ctx, eonpro.ConsentFilter{PatientID: profile.ID}); err != nil {
		return err
	}
	log, _, err := s.cfg.Audit.FindAccessLog(ctx, portalAccessRead, "")
	if err != nil {
		return err
	}
	var last *eonpro.AccessLogEntry
	for _, e := range log {
		if len(d.AccessLog) == portalAccessLog {
			break
		}
		if e.ActorType == eonpro.ActorUser && e.ActorID == v.Principal.UserID {
			continue
		}
		// One visit to the record reads it, its documents and its
		// consents: the patient sees one line for it.
		if last != nil && e.ActorID == last.ActorID && e.Action == last.Action && last.Time.Sub(e.Time) < time.Minute {
			continue
		}
		d.AccessLog = append(d.AccessLog, newAccessRow(e))
		last = e
	}
	v.Title = "My record"
	v.Data = d
	return s.render(w, r, http.StatusOK, "portal", v)
}

// pagePortalDocument downloads one of the patient's own documents; the
// service answers another's as not found.
func (s *Server) pagePortalDocument(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.sendDocument(w, r)
}
