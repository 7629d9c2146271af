package web

import (
	"net/http"
	"slices"
	"time"

	"github.com/eonpro/eonpro"
)

// uploadPage is the page route of the upload control; like the API's
// upload route it may carry a whole document.
const uploadPage = "POST /patients/{id}/documents"

// patientRecordPages registers the forms on a patient's page.
func (s *Server) patientRecordPages() {
	s.page(uploadPage, eonpro.PermPatientsWrite, s.pageUploadDocument)
	s.bodyLimits[uploadPage] = s.cfg.MaxUploadBytes + multipartOverhead
	s.page("POST /patients/{id}/consents", eonpro.PermPatientsWrite, s.pageCreateConsent)
	s.page("POST /patients/{id}/status", eonpro.PermPatientsWrite, s.pagePatientStatus)
	s.page("POST /patients/{id}/documents/{doc}/archive", eonpro.PermPatientsWrite, s.pageArchiveDocument)
}

// patientRecord is the data of a patient's page.
type patientRecord struct {
	Patient   *eonpro.Patient
	Documents documentList
	Consents  []*eonpro.Consent
	// Access is the patient's audit trail, for those who may read it
	// (ShowAccess).
	Access     []accessEntry
	ShowAccess bool
	CanWrite   bool
	Consent    consentForm
}

// documentList is the documents section, also the answer of an upload.
type documentList struct {
	PatientID string
	Documents []*eonpro.Document
	Kinds     []eonpro.DocumentKind
	Labels    map[eonpro.DocumentKind]string
	Error     string
	CanWrite  bool
	// CSRF is the form token for the archive buttons (the list is also
	// rendered alone, as the answer of an upload).
	CSRF string
}

// accessEntry is one line of a patient's access log.
type accessEntry struct {
	*eonpro.AuditEvent
	// ActorName is the member's name, "" for API keys and former members.
	ActorName string
}

// consentForm is the form that records a consent.
type consentForm struct {
	Kinds                     []eonpro.ConsentKind
	Labels                    map[eonpro.ConsentKind]string
	Kind, Version, SignedName string
	Errors                    map[string]string
}

// documentKindLabels and consentKindLabels name the kinds for people.
var (
	documentKindLabels = map[eonpro.DocumentKind]string{eonpro.DocumentIDCard: "ID card",
		eonpro.DocumentInsuranceCard: "Insurance card", eonpro.DocumentLabResult: "Lab result",
		eonpro.DocumentConsent: "Signed consent", eonpro.DocumentOther: "Other"}
	consentKindLabels = map[eonpro.ConsentKind]string{eonpro.ConsentTelehealth: "Telehealth",
		eonpro.ConsentTreatment: "Treatment", eonpro.ConsentPrivacyNotice: "Privacy notice",
		eonpro.ConsentSMS: "Text messages (SMS)"}
)

// doneNotices are the notices a redirect to a patient's page may ask for.
var doneNotices = map[string]string{
	"created":           "The patient was added.",
	"updated":           "The changes were saved.",
	"consent":           "The consent was recorded.",
	"archived":          "The patient was archived.",
	"restored":          "The patient is active again.",
	"document-archived": "The document was archived.",
	"document-uploaded": "The document was uploaded.",
}

func (s *Server) pagePatient(w http.ResponseWriter, r *http.Request, v *view) error {
	rec, err := s.loadPatientRecord(r, v.Principal, r.PathValue("id"))
	if err != nil {
		return err
	}
	v.Flash = doneNotices[r.URL.Query().Get("done")]
	v.Title, v.Data = "Patient", rec // no identifier in the title (browser history)
	return s.render(w, r, http.StatusOK, "patient", v)
}

// loadPatientRecord reads what the patient's page shows: one call per
// section, each recording its access in the audit trail.
func (s *Server) loadPatientRecord(r *http.Request, p *eonpro.Principal, id string) (*patientRecord, error) {
	ctx := r.Context()
	pt, err := s.cfg.Patients.FindPatientByID(ctx, id)
	if err != nil {
		return nil, err
	}
	rec := &patientRecord{Patient: pt, CanWrite: p.Can(eonpro.PermPatientsWrite),
		Consent: consentForm{Kinds: eonpro.ConsentKinds, Labels: consentKindLabels}}
	if rec.Documents, err = s.patientDocuments(r, p, id); err != nil {
		return nil, err
	}
	if rec.Consents, _, err = s.cfg.Consents.FindConsents(ctx, eonpro.ConsentFilter{PatientID: id}); err != nil {
		return nil, err
	}
	if p.Can(eonpro.PermAuditRead) {
		rec.ShowAccess = true
		if rec.Access, err = s.patientAccessLog(r, id); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

// patientAccessLog is the newest of the patient's audit events, with the
// names of the members who acted (one query for all of them).
func (s *Server) patientAccessLog(r *http.Request, id string) ([]accessEntry, error) {
	evs, _, err := s.cfg.Audit.FindAuditEvents(r.Context(), eonpro.AuditFilter{PatientID: &id, Limit: 25})
	if err != nil {
		return nil, err
	}
	names, err := s.memberNames(r)
	if err != nil {
		return nil, err
	}
	out := make([]accessEntry, 0, len(evs))
	for i, ev := range evs {
		// One page shows a patient's record, documents and consents,
		// each audited: one line per request and action.
		if i > 0 && ev.RequestID != "" && ev.RequestID == evs[i-1].RequestID && ev.Action == evs[i-1].Action {
			continue
		}
		out = append(out, accessEntry{AuditEvent: ev, ActorName: names[ev.ActorID]})
	}
	return out, nil
}

func (s *Server) patientDocuments(r *http.Request, p *eonpro.Principal, id string) (documentList, error) {
	ds, _, err := s.cfg.Documents.FindDocuments(r.Context(), eonpro.DocumentFilter{PatientID: id})
	return documentList{PatientID: id, Documents: ds, Kinds: eonpro.DocumentKinds, Labels: documentKindLabels,
		CanWrite: p.Can(eonpro.PermPatientsWrite), CSRF: s.csrfToken(r)}, err
}

// pageArchiveDocument archives one of the patient's documents (nothing is
// deleted; the API can still list archived documents) and shows the
// patient's page again. A document of another patient or clinic is not
// found.
func (s *Server) pageArchiveDocument(w http.ResponseWriter, r *http.Request, v *view) error {
	id, docID := r.PathValue("id"), r.PathValue("doc")
	ds, _, err := s.cfg.Documents.FindDocuments(r.Context(), eonpro.DocumentFilter{PatientID: id})
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(ds, func(d *eonpro.Document) bool { return d.ID == docID }) {
		return eonpro.Errorf(eonpro.ENOTFOUND, "Not found.")
	}
	if err := s.cfg.Documents.ArchiveDocument(r.Context(), docID); err != nil {
		return err
	}
	s.redirect(w, r, "/patients/"+id+"?done=document-archived")
	return nil
}

// pageUploadDocument stores an upload. patients.js (HX-Request) gets the
// documents section back, with the service's message when it refused the
// file; the form sent without JavaScript gets the patient's page: a
// redirect to it, or the page with the message.
func (s *Server) pageUploadDocument(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(uploadTimeout))
	_ = rc.SetWriteDeadline(time.Now().Add(uploadTimeout))
	mr, err := multipartReader(r)
	if err != nil {
		return eonpro.Errorf(eonpro.EBADREQUEST, "Send the document as multipart/form-data with a file part and a kind part.")
	}
	nd, err := s.readUpload(mr)
	if err == nil {
		_, err = s.cfg.Documents.CreateDocument(r.Context(), id, nd)
	}
	status, message := http.StatusCreated, ""
	switch eonpro.ErrorCode(err) {
	case "":
	case eonpro.EINVALID, eonpro.ETOOLARGE, eonpro.EBADREQUEST:
		status, message = ErrorStatus(eonpro.ErrorCode(err)), uploadErrorText(err)
	default:
		return err
	}
	if r.Header.Get("HX-Request") != "true" {
		return s.uploadAnswerPage(w, r, v, id, status, message)
	}
	docs, err := s.patientDocuments(r, v.Principal, id)
	if err != nil {
		return err
	}
	docs.Error = message
	v.Title, v.Data = "Patient", &patientRecord{Documents: docs}
	return s.render(w, r, status, "patient", v)
}

// uploadAnswerPage answers an upload form sent without JavaScript: the
// patient's page, through a redirect when the upload was stored.
func (s *Server) uploadAnswerPage(w http.ResponseWriter, r *http.Request, v *view, id string, status int, message string) error {
	if message == "" {
		s.redirect(w, r, "/patients/"+id+"?done=document-uploaded")
		return nil
	}
	rec, err := s.loadPatientRecord(r, v.Principal, id)
	if err != nil {
		return err
	}
	rec.Documents.Error = message
	v.Title, v.Data = "Patient", rec // no identifier in the title (browser history)
	return s.render(w, r, status, "patient", v)
}

// uploadErrorText says what was wrong with an upload.
func uploadErrorText(err error) string {
	fields := eonpro.ErrorFields(err)
	switch {
	case fields["kind"] != "":
		return "Choose what kind of document this is."
	case fields["file"] != "":
		return "The file " + fields["file"] + ". Upload a PDF, PNG, JPEG, HEIC or plain-text file within the size limit."
	}
	return eonpro.ErrorMessage(err)
}

// pageCreateConsent records a signature and shows the patient's page, or
// the page again with the form's errors.
func (s *Server) pageCreateConsent(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	in := eonpro.NewConsent{Kind: eonpro.ConsentKind(r.PostFormValue("kind")), Version: r.PostFormValue("version"),
		SignedName: r.PostFormValue("signed_name")}
	_, err := s.cfg.Consents.CreateConsent(r.Context(), id, in)
	if err == nil {
		s.redirect(w, r, "/patients/"+id+"?done=consent")
		return nil
	} else if eonpro.ErrorCode(err) != eonpro.EINVALID {
		return err
	}
	rec, lerr := s.loadPatientRecord(r, v.Principal, id)
	if lerr != nil {
		return lerr
	}
	rec.Consent = consentForm{Kinds: eonpro.ConsentKinds, Labels: consentKindLabels, Kind: string(in.Kind), Version: in.Version,
		SignedName: in.SignedName, Errors: eonpro.ErrorFields(err)}
	v.Title, v.Data = "Patient", rec // no identifier in the title (browser history)
	return s.render(w, r, http.StatusUnprocessableEntity, "patient", v)
}

// pagePatientStatus archives a patient or makes an archived one active
// again; nothing is deleted.
func (s *Server) pagePatientStatus(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	var err error
	done := "archived"
	switch r.PostFormValue("status") {
	case eonpro.PatientArchived:
		err = s.cfg.Patients.ArchivePatient(r.Context(), id)
	case eonpro.PatientActive:
		active := eonpro.PatientActive
		_, err = s.cfg.Patients.UpdatePatient(r.Context(), id, eonpro.PatientUpdate{Status: &active})
		done = "restored"
	default:
		err = eonpro.FieldError("status", "must be active or archived")
	}
	if err != nil {
		return err
	}
	s.redirect(w, r, "/patients/"+id+"?done="+done)
	return nil
}

// memberNames are the clinic's members' names by user id, to name the
// actors of audit events; empty for a principal who may not list members
// (they see ids).
func (s *Server) memberNames(r *http.Request) (map[string]string, error) {
	names := map[string]string{}
	if !eonpro.PrincipalFromContext(r.Context()).Can(eonpro.PermMembersRead) {
		return names, nil
	}
	ms, err := s.cfg.Users.FindMembers(r.Context())
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		names[m.UserID] = m.Name
	}
	return names, nil
}
