package web

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/eonpro/eonpro"
)

// patientPages registers the patients pages: the list with its search,
// the create and edit forms, and each patient's page.
func (s *Server) patientPages() {
	s.page("GET /patients", eonpro.PermPatientsRead, s.pagePatients)
	s.page("POST /patients", eonpro.PermPatientsWrite, s.pageCreatePatient)
	s.page("POST /patients/search", eonpro.PermPatientsRead, s.pagePatientSearch)
	s.page("GET /patients/new", eonpro.PermPatientsWrite, s.pageNewPatient)
	s.page("GET /patients/{id}", eonpro.PermPatientsRead, s.pagePatient)
	s.page("POST /patients/{id}", eonpro.PermPatientsWrite, s.pageUpdatePatient)
	s.page("GET /patients/{id}/edit", eonpro.PermPatientsWrite, s.pageEditPatient)
	s.patientRecordPages()
}

// patientList is the data of the patients list and its search fragment.
type patientList struct {
	Patients []*eonpro.Patient
	// Status is the non-PHI filter, kept in the URL; Q the search terms,
	// kept only in the form.
	Status   string
	Q        string
	Next     string
	Searched bool
	Error    string
}

// pagePatients lists the clinic's patients by status, a page at a time.
func (s *Server) pagePatients(w http.ResponseWriter, r *http.Request, v *view) error {
	q := r.URL.Query()
	l := patientList{Status: q.Get("status")}
	status := s.findPatientList(r, &l, eonpro.PatientFilter{Cursor: q.Get("cursor")})
	v.Title, v.Data = "Patients", l
	return s.render(w, r, status, "patients", v)
}

// pagePatientSearch answers the search box: the results table for htmx,
// the whole page otherwise. The terms come in the body, never the URL.
func (s *Server) pagePatientSearch(w http.ResponseWriter, r *http.Request, v *view) error {
	l := patientList{Status: r.PostFormValue("status"), Q: strings.TrimSpace(r.PostFormValue("q")), Searched: true}
	f := eonpro.PatientFilter{Cursor: r.PostFormValue("cursor")}
	searchTerms(l.Q, &f)
	status := s.findPatientList(r, &l, f)
	if r.Header.Get("HX-Request") == "true" {
		status = http.StatusOK // htmx swaps only successful answers; the message is in the table
	}
	v.Title, v.Data = "Patients", l
	return s.render(w, r, status, "patients", v)
}

// findPatientList fills l from the service; a filter the service refuses
// becomes l.Error and the status 422. Other failures are logged (never
// the terms) and shown as a failed search.
func (s *Server) findPatientList(r *http.Request, l *patientList, f eonpro.PatientFilter) int {
	if l.Status != "" {
		f.Status = &l.Status
	}
	ps, next, err := s.cfg.Patients.FindPatients(r.Context(), f)
	if eonpro.ErrorCode(err) == eonpro.EINVALID {
		l.Error = searchErrorText(eonpro.ErrorFields(err))
		return http.StatusUnprocessableEntity
	} else if err != nil {
		if eonpro.ErrorCode(err) == eonpro.EINTERNAL {
			s.log.Log(r.Context(), failureLevel(r), "patient search", "request_id", eonpro.RequestIDFromContext(r.Context()), "err", err)
		}
		l.Error = "The search failed. Try again."
		return ErrorStatus(eonpro.ErrorCode(err))
	}
	l.Patients, l.Next = ps, next
	return http.StatusOK
}

var (
	dobTerm   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	phoneTerm = regexp.MustCompile(`^\+?[\d\s().-]{7,}$`)
)

// searchTerms reads what the one search box holds: an e-mail address, a
// date of birth, a phone number, or else the start of names.
func searchTerms(q string, f *eonpro.PatientFilter) {
	switch {
	case q == "":
	case strings.Contains(q, "@"):
		f.Email = &q
	case dobTerm.MatchString(q):
		f.DOB = &q
	case phoneTerm.MatchString(q):
		phone := strings.Map(func(r rune) rune {
			if r == '+' || r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, q)
		if !strings.HasPrefix(phone, "+") {
			phone = "+1" + phone // a US number typed without the country code
		}
		f.Phone = &phone
	default:
		f.Q = &q
	}
}

// searchErrorText words the service's filter errors for the search box
// without echoing what was typed.
func searchErrorText(fields map[string]string) string {
	switch {
	case fields["status"] != "":
		return "Choose active or archived patients."
	case fields["cursor"] != "":
		return "That page of results is no longer available. Start again from the first page."
	case fields["email"] != "":
		return "Type a whole e-mail address."
	case fields["phone"] != "":
		return "Type a whole phone number, like +15125550100."
	case fields["dob"] != "":
		return "Type a date of birth like 1980-04-23."
	}
	return "Type part of a name, an e-mail address, a phone number or a date of birth."
}

// patientFormData is the data of the create and edit forms.
type patientFormData struct {
	ID       string // "" when creating
	MRN      string
	Sections []formSection
	Error    string
	// Marked is whether a field shows an error; Others are the errors of
	// fields the form does not show, as "field: message".
	Marked bool
	Others []string
}

// formSection is a group of fields with a heading.
type formSection struct {
	Heading string
	Fields  []formField
}

// formField is one input of a form, named as the service names its
// errors, so that each error lands next to its input.
type formField struct {
	Name, ID, Label, Type, Autocomplete, Hint string
	Value, Error                              string
	Required                                  bool
	Options                                   []string
}

// patientFormLayout lists the form's fields; values and errors are filled
// per request.
var patientFormLayout = []formSection{
	{"Name", []formField{
		{Name: "given_name", Label: "Given name", Type: "text", Autocomplete: "off", Required: true},
		{Name: "family_name", Label: "Family name", Type: "text", Autocomplete: "off", Required: true},
		{Name: "preferred_name", Label: "Preferred name", Type: "text", Autocomplete: "off"},
	}},
	{"About", []formField{
		{Name: "date_of_birth", Label: "Date of birth", Type: "date", Autocomplete: "off"},
		{Name: "sex_at_birth", Label: "Sex at birth", Type: "select", Options: append([]string{""}, eonpro.SexesAtBirth...)},
		{Name: "gender_identity", Label: "Gender identity", Type: "text", Autocomplete: "off"},
	}},
	{"Contact", []formField{
		{Name: "email", Label: "E-mail", Type: "email", Autocomplete: "off"},
		{Name: "phone", Label: "Phone", Type: "tel", Autocomplete: "off", Hint: "With the country code, like +15125550100"},
	}},
	{"Address", []formField{
		{Name: "address.line1", Label: "Address line 1", Type: "text", Autocomplete: "off"},
		{Name: "address.line2", Label: "Address line 2", Type: "text", Autocomplete: "off"},
		{Name: "address.city", Label: "City", Type: "text", Autocomplete: "off"},
		{Name: "address.state", Label: "State", Type: "text", Autocomplete: "off", Required: true, Hint: "Two letters, like TX"},
		{Name: "address.postal_code", Label: "ZIP code", Type: "text", Autocomplete: "off"},
	}},
	{"Emergency contact", []formField{
		{Name: "emergency_contact.name", Label: "Name", Type: "text", Autocomplete: "off"},
		{Name: "emergency_contact.relationship", Label: "Relationship", Type: "text", Autocomplete: "off"},
		{Name: "emergency_contact.phone", Label: "Phone", Type: "tel", Autocomplete: "off"},
	}},
	{"Clinical", []formField{
		{Name: "allergies", Label: "Allergies", Type: "textarea", Autocomplete: "off",
			Hint: "One per line: substance; reaction; severity (mild, moderate or severe), like Penicillin; hives; severe"},
		{Name: "medications", Label: "Current medications", Type: "textarea", Autocomplete: "off",
			Hint: "One per line: name; dose; how often, like Metformin; 500 mg; twice a day"},
		{Name: "tags", Label: "Tags", Type: "text", Autocomplete: "off", Hint: "Separated by commas, like vip, follow-up"},
	}},
}

// newPatientForm lays out the form with values and errors by field name.
func newPatientForm(values, errs map[string]string) []formSection {
	out := make([]formSection, len(patientFormLayout))
	for i, sec := range patientFormLayout {
		out[i] = formSection{Heading: sec.Heading, Fields: make([]formField, len(sec.Fields))}
		for j, f := range sec.Fields {
			f.ID = "pf-" + strings.ReplaceAll(f.Name, ".", "-")
			f.Value, f.Error = values[f.Name], errs[f.Name]
			out[i].Fields[j] = f
		}
	}
	return out
}

// patientValues are a patient's form values by field name.
func patientValues(p *eonpro.Patient) map[string]string {
	return map[string]string{
		"given_name": p.GivenName, "family_name": p.FamilyName, "preferred_name": p.PreferredName,
		"date_of_birth": p.DateOfBirth, "sex_at_birth": p.SexAtBirth, "gender_identity": p.GenderIdentity,
		"email": p.Email, "phone": p.Phone,
		"address.line1": p.Address.Line1, "address.line2": p.Address.Line2, "address.city": p.Address.City,
		"address.state": p.Address.State, "address.postal_code": p.Address.PostalCode,
		"emergency_contact.name": p.EmergencyContact.Name, "emergency_contact.relationship": p.EmergencyContact.Relationship,
		"emergency_contact.phone": p.EmergencyContact.Phone,
		"allergies":               formLines(p.Allergies, func(a eonpro.Allergy) []string { return []string{a.Substance, a.Reaction, a.Severity} }),
		"medications":             formLines(p.Medications, func(m eonpro.Medication) []string { return []string{m.Name, m.Dose, m.Frequency} }),
		"tags":                    strings.Join(p.Tags, ", "),
	}
}

// formLines writes list entries one per line, their parts separated by
// "; " (trailing empty parts left out), as the form's textareas take them.
func formLines[T any](items []T, parts func(T) []string) string {
	lines := make([]string, 0, len(items))
	for _, it := range items {
		ps := parts(it)
		for len(ps) > 1 && ps[len(ps)-1] == "" {
			ps = ps[:len(ps)-1]
		}
		lines = append(lines, strings.Join(ps, "; "))
	}
	return strings.Join(lines, "\n")
}

// parseLines reads a textarea of entries, one per non-blank line, each
// split on ";" into n trimmed parts.
func parseLines(text string, n int) [][]string {
	var out [][]string
	for line := range strings.Lines(text) {
		if strings.TrimSpace(line) == "" {
			continue
		}
		ps := strings.SplitN(line, ";", n)
		for len(ps) < n {
			ps = append(ps, "")
		}
		for i := range ps {
			ps[i] = strings.TrimSpace(ps[i])
		}
		out = append(out, ps)
	}
	return out
}

// parseTags reads the comma-separated tags field.
func parseTags(text string) []string {
	tags := []string{}
	for t := range strings.SplitSeq(text, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags
}

// postedPatient reads the form's values into a patient, for both the
// values to show again and the change to make.
func postedPatient(r *http.Request) (*eonpro.Patient, map[string]string) {
	values := map[string]string{}
	for _, sec := range patientFormLayout {
		for _, f := range sec.Fields {
			values[f.Name] = strings.TrimSpace(r.PostFormValue(f.Name))
		}
	}
	allergies := []eonpro.Allergy{}
	for _, ps := range parseLines(values["allergies"], 3) {
		allergies = append(allergies, eonpro.Allergy{Substance: ps[0], Reaction: ps[1], Severity: ps[2]})
	}
	medications := []eonpro.Medication{}
	for _, ps := range parseLines(values["medications"], 3) {
		medications = append(medications, eonpro.Medication{Name: ps[0], Dose: ps[1], Frequency: ps[2]})
	}
	return &eonpro.Patient{GivenName: values["given_name"], FamilyName: values["family_name"],
		PreferredName: values["preferred_name"], DateOfBirth: values["date_of_birth"], SexAtBirth: values["sex_at_birth"],
		GenderIdentity: values["gender_identity"], Email: values["email"], Phone: values["phone"],
		Address: eonpro.Address{Line1: values["address.line1"], Line2: values["address.line2"], City: values["address.city"],
			State: strings.ToUpper(values["address.state"]), PostalCode: values["address.postal_code"]},
		EmergencyContact: eonpro.EmergencyContact{Name: values["emergency_contact.name"],
			Relationship: values["emergency_contact.relationship"], Phone: values["emergency_contact.phone"]},
		Allergies: allergies, Medications: medications, Tags: parseTags(values["tags"]),
	}, values
}

func (s *Server) pageNewPatient(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Title, v.Data = "New patient", patientFormData{Sections: newPatientForm(nil, nil)}
	return s.render(w, r, http.StatusOK, "patient-form", v)
}

// pageCreatePatient adds the patient and shows their page, or the form
// again with the service's field errors.
func (s *Server) pageCreatePatient(w http.ResponseWriter, r *http.Request, v *view) error {
	p, values := postedPatient(r)
	created, err := s.cfg.Patients.CreatePatient(r.Context(), eonpro.NewPatient{GivenName: p.GivenName,
		FamilyName: p.FamilyName, PreferredName: p.PreferredName, DateOfBirth: p.DateOfBirth, SexAtBirth: p.SexAtBirth,
		GenderIdentity: p.GenderIdentity, Email: p.Email, Phone: p.Phone, Address: p.Address, EmergencyContact: p.EmergencyContact,
		Allergies: p.Allergies, Medications: p.Medications, Tags: p.Tags})
	if err != nil {
		v.Title = "New patient"
		return s.renderPatientFormError(w, r, v, patientFormData{}, values, err)
	}
	s.redirect(w, r, "/patients/"+created.ID+"?done=created")
	return nil
}

func (s *Server) pageEditPatient(w http.ResponseWriter, r *http.Request, v *view) error {
	p, err := s.cfg.Patients.FindPatientByID(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	v.Title = "Edit patient"
	v.Data = patientFormData{ID: p.ID, MRN: p.MRN, Sections: newPatientForm(patientValues(p), nil)}
	return s.render(w, r, http.StatusOK, "patient-form", v)
}

// pageUpdatePatient changes the fields of the form (the intake answers,
// which the form does not show, are kept).
func (s *Server) pageUpdatePatient(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	p, values := postedPatient(r)
	_, err := s.cfg.Patients.UpdatePatient(r.Context(), id, eonpro.PatientUpdate{GivenName: &p.GivenName,
		FamilyName: &p.FamilyName, PreferredName: &p.PreferredName, DateOfBirth: &p.DateOfBirth, SexAtBirth: &p.SexAtBirth,
		GenderIdentity: &p.GenderIdentity, Email: &p.Email, Phone: &p.Phone, Address: &p.Address,
		EmergencyContact: &p.EmergencyContact, Allergies: &p.Allergies, Medications: &p.Medications, Tags: &p.Tags})
	if err != nil {
		v.Title = "Edit patient"
		return s.renderPatientFormError(w, r, v, patientFormData{ID: id, MRN: r.PostFormValue("mrn")}, values, err)
	}
	s.redirect(w, r, "/patients/"+id+"?done=updated")
	return nil
}

// renderPatientFormError shows the form again with the entered values
// and each field's error; other errors are the error page's.
func (s *Server) renderPatientFormError(w http.ResponseWriter, r *http.Request, v *view, d patientFormData, values map[string]string, err error) error {
	switch eonpro.ErrorCode(err) {
	case eonpro.EINVALID, eonpro.ECONFLICT:
	default:
		return err
	}
	fields := listErrors(eonpro.ErrorFields(err))
	d.Sections = newPatientForm(values, fields)
	d.Error = eonpro.ErrorMessage(err)
	for name, msg := range fields {
		if _, shown := values[name]; shown {
			d.Marked = true
		} else {
			d.Others = append(d.Others, name+": "+msg)
		}
	}
	slices.Sort(d.Others)
	v.Data = d
	return s.render(w, r, ErrorStatus(eonpro.ErrorCode(err)), "patient-form", v)
}

// listEntryError is the service's error key of a list entry's part, like
// allergies[2].severity.
var listEntryError = regexp.MustCompile(`^(allergies|medications)\[(\d+)\]\.(\w+)$`)

// listErrors puts the errors of list entries on the list's field, by
// line ("line 3: severity must be …"), where the form shows them.
func listErrors(fields map[string]string) map[string]string {
	out := make(map[string]string, len(fields))
	var keys []string
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		m := listEntryError.FindStringSubmatch(k)
		if m == nil {
			if _, ok := out[k]; !ok {
				out[k] = fields[k]
			}
			continue
		}
		i, _ := strconv.Atoi(m[2])
		msg := fmt.Sprintf("line %d: %s %s", i+1, m[3], fields[k])
		if prev, ok := out[m[1]]; ok {
			msg = prev + "; " + msg
		}
		out[m[1]] = msg
	}
	return out
}
