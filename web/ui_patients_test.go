package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/eonpro/eonpro"
)

// uiPatientsWorld is clinics alpha and beta; in alpha a member of each
// role the patients pages care about and two patients, in beta one
// patient and its staff.
type uiPatientsWorld struct {
	e                *idEnv
	ada, grace, alan *eonpro.Patient
}

func uiPatientsSeed(e *idEnv) *uiPatientsWorld {
	e.t.Helper()
	e.clinic("alpha")
	e.clinic("beta")
	for _, u := range []struct {
		email, slug string
		role        eonpro.Role
	}{
		{"staff@alpha.test", "alpha", eonpro.RoleStaff}, {"admin@alpha.test", "alpha", eonpro.RoleAdmin},
		{"billing@alpha.test", "alpha", eonpro.RoleBilling}, {"patient@alpha.test", "alpha", eonpro.RolePatient},
		{"staff@beta.test", "beta", eonpro.RoleStaff},
	} {
		e.user(u.email, false, u.slug, u.role)
	}
	return &uiPatientsWorld{e: e,
		ada: e.uiPatientsCreate("alpha", eonpro.NewPatient{GivenName: "Ada", FamilyName: "Lovelace", DateOfBirth: "1980-04-23",
			Email: "ada@example.test", Phone: "+15125550100", Address: eonpro.Address{State: "TX"}}),
		grace: e.uiPatientsCreate("alpha", eonpro.NewPatient{GivenName: "Grace", FamilyName: "Hopper", DateOfBirth: "1966-12-09",
			Address: eonpro.Address{State: "NY"}}),
		alan: e.uiPatientsCreate("beta", eonpro.NewPatient{GivenName: "Alan", FamilyName: "Turing", Address: eonpro.Address{State: "CA"}}),
	}
}

// uiPatientsCreate adds a patient to a clinic (slug) as its staff would.
func (e *idEnv) uiPatientsCreate(slug string, n eonpro.NewPatient) *eonpro.Patient {
	e.t.Helper()
	ctx := eonpro.NewContextWithPrincipal(context.Background(), &eonpro.Principal{UserID: "seed", ClinicID: e.clinics[slug].ID,
		Role: eonpro.RoleStaff, Permissions: eonpro.RolePermissions[eonpro.RoleStaff]})
	p, err := e.patientSvc.CreatePatient(ctx, n)
	if err != nil {
		e.t.Fatalf("create patient: %v", err)
	}
	return p
}

// uiPatientsHX sends what htmx or patients.js sends: the body with the
// CSRF token in the X-CSRF-Token header and HX-Request set.
func uiPatientsHX(b *browserLike, path, contentType, body string) pageAnswer {
	b.e.t.Helper()
	req, err := http.NewRequest("POST", b.e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("HX-Request", "true")
	req.Header.Set("X-CSRF-Token", b.csrf())
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return pageAnswer{Status: res.StatusCode, Header: res.Header, Body: string(raw), Location: res.Header.Get("Location")}
}

func uiPatientsSearch(b *browserLike, q string) pageAnswer {
	return uiPatientsHX(b, "/patients/search", "application/x-www-form-urlencoded", url.Values{"q": {q}}.Encode())
}

func (w *uiPatientsWorld) signIn(email string) *browserLike { return w.e.signedIn(email) }

func TestUIPatients(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		w := uiPatientsSeed(e)
		t.Run("List", w.testList)
		t.Run("Search", w.testSearch)
		t.Run("Create", w.testCreate)
		t.Run("Edit", w.testEdit)
		t.Run("PatientPage", w.testPatientPage)
		t.Run("Upload", w.testUpload)
		t.Run("Consent", w.testConsent)
		t.Run("Archive", w.testArchive)
		t.Run("ErrPermission", w.testPermission)
		t.Run("ErrOtherClinic", w.testOtherClinic)
		t.Run("AccessLog", w.testAccessLog)
	})
}

func (w *uiPatientsWorld) testList(t *testing.T) {
	b := w.signIn("staff@alpha.test")
	p := b.get("/patients")
	for _, want := range []string{"Lovelace, Ada", "Hopper, Grace", w.ada.MRN, "1980-04-23", `href="/patients/` + w.ada.ID + `"`,
		`hx-post="/patients/search"`, `hx-trigger="input changed delay:250ms, search"`, `href="/patients/new"`} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("list lacks %q", want)
		}
	}
	if p.Status != 200 || strings.Contains(p.Body, "Turing") {
		t.Errorf("%d, or another clinic's patient shown: %s", p.Status, p.Body)
	}
	if a := b.get("/patients?status=archived"); a.Status != 200 || strings.Contains(a.Body, "Lovelace") || !strings.Contains(a.Body, "No archived patients.") {
		t.Errorf("archived: %d %s", a.Status, a.Body)
	}
	if bad := b.get("/patients?status=lost"); bad.Status != 422 || !strings.Contains(bad.Body, "Choose active or archived patients.") {
		t.Errorf("bad status: %d %s", bad.Status, bad.Body)
	}
	// A page at a time, with the service's cursor.
	for i := range 51 {
		w.e.uiPatientsCreate("beta", eonpro.NewPatient{GivenName: "Many", FamilyName: "Bulk" + string(rune('a'+i%26)), Address: eonpro.Address{State: "TX"}})
	}
	bb := w.signIn("staff@beta.test")
	first := bb.get("/patients")
	m := regexp.MustCompile(`href="/patients\?status=&amp;cursor=([0-9a-f-]+)"`).FindStringSubmatch(first.Body)
	if m == nil || strings.Count(first.Body, "<tr>") != 51 { // the header row and 50
		t.Fatalf("first page: %d rows, next %v", strings.Count(first.Body, "<tr>"), m)
	}
	next := bb.get("/patients?cursor=" + m[1])
	if next.Status != 200 || strings.Count(next.Body, "<tr>") != 3 || strings.Contains(next.Body, "cursor=") {
		t.Errorf("second page: %d %d rows", next.Status, strings.Count(next.Body, "<tr>"))
	}
	// Search results page on with the cursor in the body, beside the terms.
	found := uiPatientsSearch(bb, "many")
	m = regexp.MustCompile(`name="cursor" value="([0-9a-f-]+)"`).FindStringSubmatch(found.Body)
	if m == nil || strings.Count(found.Body, "<tr>") != 51 || !strings.Contains(found.Body, "50 or more patients found.") {
		t.Fatalf("search, first page: %d rows, next %v", strings.Count(found.Body, "<tr>"), m)
	}
	more := uiPatientsHX(bb, "/patients/search", "application/x-www-form-urlencoded", url.Values{"q": {"many"}, "cursor": {m[1]}}.Encode())
	if strings.Count(more.Body, "<tr>") != 2 || strings.Contains(more.Body, `name="cursor"`) {
		t.Errorf("search, second page: %d rows", strings.Count(more.Body, "<tr>"))
	}
}

func (w *uiPatientsWorld) testSearch(t *testing.T) {
	b := w.signIn("staff@alpha.test")
	for q, want := range map[string]string{"lov": "Lovelace", "ADA LOVE": "Lovelace", "gra": "Hopper",
		"ada@example.test": "Lovelace", "1966-12-09": "Hopper", "+1 512 555 0100": "Lovelace", "(512) 555-0100": "Lovelace"} {
		p := uiPatientsSearch(b, q)
		other := map[string]string{"Lovelace": "Hopper", "Hopper": "Lovelace"}[want]
		if p.Status != 200 || !strings.Contains(p.Body, want) || strings.Contains(p.Body, other) {
			t.Errorf("search %q: %d %s", q, p.Status, p.Body)
		}
		if strings.Contains(p.Body, "<html") || strings.Contains(p.Body, "<main") {
			t.Errorf("search %q answered a whole page, not the results", q)
		}
	}
	if p := uiPatientsSearch(b, "turing"); p.Status != 200 || !strings.Contains(p.Body, "No patients match.") {
		t.Errorf("another clinic's patient: %d %s", p.Status, p.Body)
	}
	if p := uiPatientsSearch(b, ""); !strings.Contains(p.Body, "Lovelace") || !strings.Contains(p.Body, "Hopper") {
		t.Errorf("an empty box lists all: %s", p.Body)
	}
	if p := uiPatientsSearch(b, "!!"); p.Status != 200 || !strings.Contains(p.Body, `id="patient-search-error"`) {
		t.Errorf("no letters: %d %s", p.Status, p.Body)
	}
	// Without htmx the form posts the terms and gets the whole page.
	full := b.post("/patients/search", url.Values{"q": {"lov"}})
	if full.Status != 200 || !strings.Contains(full.Body, "<main") || !strings.Contains(full.Body, "Lovelace") || strings.Contains(full.Body, "Hopper") {
		t.Errorf("full page: %d %s", full.Status, full.Body)
	}
	if forged := b.send("POST", "/patients/search", url.Values{"q": {"lov"}, "csrf": {"forged"}}); forged.Status != 403 {
		t.Errorf("forged token: %d", forged.Status)
	}
}

// uiPatientsForm is a valid create form.
func uiPatientsForm() url.Values {
	return url.Values{"given_name": {"Katherine"}, "family_name": {"Johnson"}, "date_of_birth": {"1918-08-26"},
		"email": {"kj@example.test"}, "address.state": {"wv"}, "sex_at_birth": {"female"}}
}

func (w *uiPatientsWorld) testCreate(t *testing.T) {
	b := w.signIn("staff@alpha.test")
	form := b.get("/patients/new")
	for _, want := range []string{`<label for="pf-given_name">`, `<label for="pf-address-state">`, `name="csrf"`, `action="/patients"`} {
		if form.Status != 200 || !strings.Contains(form.Body, want) {
			t.Errorf("form lacks %q: %d", want, form.Status)
		}
	}
	in := uiPatientsForm()
	in.Set("family_name", "")
	in.Set("phone", "5550100")
	bad := b.post("/patients", in)
	for _, want := range []string{
		`id="pf-family_name-error">Family name is required.`,
		`aria-invalid="true" aria-describedby="pf-family_name-error"`,
		`id="pf-phone-error">Phone must be in E.164 form`,
		`value="Katherine"`, `value="kj@example.test"`, `value="1918-08-26"`, `<option value="female" selected>`,
	} {
		if !strings.Contains(bad.Body, want) {
			t.Errorf("422 page lacks %q", want)
		}
	}
	if bad.Status != 422 || strings.Contains(bad.Body, "pf-given_name-error") || !strings.Contains(bad.Body, "Check the fields marked below.") {
		t.Errorf("invalid: %d %s", bad.Status, bad.Body)
	}
	ok := b.post("/patients", uiPatientsForm())
	m := regexp.MustCompile(`^/patients/([0-9a-f-]{36})\?done=created$`).FindStringSubmatch(ok.Location)
	if ok.Status != http.StatusSeeOther || m == nil {
		t.Fatalf("create: %d %q %s", ok.Status, ok.Location, ok.Body)
	}
	page := b.get(ok.Location)
	if page.Status != 200 || !strings.Contains(page.Body, "The patient was added.") || !strings.Contains(page.Body, "Johnson, Katherine") ||
		!strings.Contains(page.Body, " WV ") {
		t.Errorf("patient page after create: %d %s", page.Status, page.Body)
	}

	// Allergies and medications, one per line; an entry's error is shown
	// on the list's field with its line.
	in = uiPatientsForm()
	in.Set("email", "dv@example.test")
	in.Set("allergies", "Penicillin; hives; severe\n\nLatex; rash; extreme")
	in.Set("medications", "Metformin; 500 mg; twice a day\n")
	in.Set("tags", "vip, follow-up")
	bad = b.post("/patients", in)
	if bad.Status != 422 || !strings.Contains(bad.Body, `id="pf-allergies-error">Allergies line 2: severity must be mild, moderate or severe.`) ||
		!strings.Contains(bad.Body, "Latex; rash; extreme</textarea>") {
		t.Errorf("bad allergy: %d %s", bad.Status, bad.Body)
	}
	in.Set("allergies", "Penicillin; hives; severe\nLatex; rash")
	ok = b.post("/patients", in)
	if ok.Status != http.StatusSeeOther {
		t.Fatalf("create with lists: %d %s", ok.Status, ok.Body)
	}
	page = b.get(ok.Location)
	for _, want := range []string{"<strong>Penicillin</strong> · hives", ">severe</span>", "<strong>Latex</strong> · rash",
		"<strong>Metformin</strong> · 500 mg · twice a day", `<span class="badge">follow-up</span>`} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("patient page lacks %q", want)
		}
	}
	id := strings.TrimSuffix(strings.TrimPrefix(ok.Location, "/patients/"), "?done=created")
	if edit := b.get("/patients/" + id + "/edit"); !strings.Contains(edit.Body, "Penicillin; hives; severe\nLatex; rash</textarea>") ||
		!strings.Contains(edit.Body, `value="vip, follow-up"`) {
		t.Errorf("the edit form does not hold the lists as entered: %s", edit.Body)
	}
}

func (w *uiPatientsWorld) testEdit(t *testing.T) {
	b := w.signIn("staff@alpha.test")
	p := w.e.uiPatientsCreate("alpha", eonpro.NewPatient{GivenName: "Edith", FamilyName: "Clarke", Address: eonpro.Address{State: "TX"},
		Tags: []string{"vip"}, Intake: json.RawMessage(`{"goal":"sleep"}`)})
	form := b.get("/patients/" + p.ID + "/edit")
	if form.Status != 200 || !strings.Contains(form.Body, `value="Edith"`) || !strings.Contains(form.Body, `action="/patients/`+p.ID+`"`) {
		t.Fatalf("edit form: %d %s", form.Status, form.Body)
	}
	if !strings.Contains(form.Body, `value="vip"`) {
		t.Errorf("the edit form lacks the tags: %s", form.Body)
	}
	in := url.Values{"given_name": {"Edith"}, "family_name": {"Clarke"}, "preferred_name": {"Edie"}, "address.state": {"TX"},
		"email": {"not an address"}, "tags": {"vip, renal"}}
	bad := b.post("/patients/"+p.ID, in)
	if bad.Status != 422 || !strings.Contains(bad.Body, `id="pf-email-error">E-mail must be a valid e-mail address.`) || !strings.Contains(bad.Body, `value="Edie"`) {
		t.Errorf("invalid edit: %d %s", bad.Status, bad.Body)
	}
	in.Set("email", "edie@example.test")
	ok := b.post("/patients/"+p.ID, in)
	if ok.Status != http.StatusSeeOther || ok.Location != "/patients/"+p.ID+"?done=updated" {
		t.Fatalf("edit: %d %q %s", ok.Status, ok.Location, ok.Body)
	}
	page := b.get(ok.Location)
	if !strings.Contains(page.Body, "The changes were saved.") || !strings.Contains(page.Body, "(Edie)") || !strings.Contains(page.Body, "edie@example.test") {
		t.Errorf("after edit: %s", page.Body)
	}
	if !strings.Contains(page.Body, `<span class="badge">vip</span>`) || !strings.Contains(page.Body, `<span class="badge">renal</span>`) {
		t.Errorf("tags after the edit: %s", page.Body)
	}
	// The intake answers, which the form does not show, are kept.
	if res := w.e.do("GET", "/api/v1/patients/"+p.ID, nil, bearer(w.e.login("staff@alpha.test"))...); res.Status != 200 ||
		!strings.Contains(string(res.Raw), `"intake":{"goal":"sleep"}`) {
		t.Errorf("intake after the edit: %d %s", res.Status, res.Raw)
	}
}

func (w *uiPatientsWorld) testPatientPage(t *testing.T) {
	b := w.signIn("staff@alpha.test")
	p := b.get("/patients/" + w.ada.ID)
	for _, want := range []string{"Lovelace, Ada", w.ada.MRN, "ada@example.test", "1980-04-23", `id="documents-title"`,
		`id="consents-title"`, `id="upload-form"`, `<script src="/static/patients.js" defer></script>`, `href="/patients/` + w.ada.ID + `/edit"`} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("patient page lacks %q", want)
		}
	}
	if p.Status != 200 || strings.Contains(p.Body, "Access log") {
		t.Errorf("%d, or staff see the access log", p.Status)
	}
	if missing := b.get("/patients/" + w.ada.ID + "x"); missing.Status != 404 {
		t.Errorf("malformed id: %d", missing.Status)
	}
}

func (w *uiPatientsWorld) testUpload(t *testing.T) {
	b := w.signIn("staff@alpha.test")
	path := "/patients/" + w.grace.ID + "/documents"
	body, ct := multipartBody(kindPart("lab_result"), pdfFile("labs.pdf", "cholesterol"))
	up := uiPatientsHX(b, path, ct, body)
	m := regexp.MustCompile(`href="(/api/v1/documents/[0-9a-f-]+/content)"`).FindStringSubmatch(up.Body)
	if up.Status != 201 || m == nil || !strings.Contains(up.Body, "labs.pdf") || strings.Contains(up.Body, "<main") {
		t.Fatalf("upload: %d %s", up.Status, up.Body)
	}
	if dl := b.get(m[1]); dl.Status != 200 || dl.Header.Get("Content-Type") != "application/pdf" || !strings.Contains(dl.Body, "cholesterol") {
		t.Errorf("download: %d %v", dl.Status, dl.Header)
	}
	// Over the server's usual body limit, within the upload limit.
	big := pdfFile("big.pdf", strings.Repeat("x", 3<<19))
	body, ct = multipartBody(kindPart("other"), big)
	if up := uiPatientsHX(b, path, ct, body); up.Status != 201 || !strings.Contains(up.Body, "big.pdf") {
		t.Errorf("a 1.5 MiB upload: %d %s", up.Status, up.Body)
	}
	body, ct = multipartBody(kindPart("other"), pdfFile("huge.pdf", strings.Repeat("x", testMaxUpload)))
	if up := uiPatientsHX(b, path, ct, body); up.Status != 413 {
		t.Errorf("over the upload limit: %d %s", up.Status, up.Body)
	}
	body, ct = multipartBody(kindPart("lab_result"), part{name: "file", filename: "x.html", content: []byte("<html><script>")})
	if bad := uiPatientsHX(b, path, ct, body); bad.Status != 422 || !strings.Contains(bad.Body, `id="upload-error"`) || !strings.Contains(bad.Body, "labs.pdf") {
		t.Errorf("disallowed type: %d %s", bad.Status, bad.Body)
	}
	body, ct = multipartBody(kindPart("lab_result"), pdfFile("forged.pdf", "x"))
	if forged := b.send("POST", path, nil); forged.Status != 403 {
		t.Errorf("no token: %d", forged.Status)
	}
	bl := w.signIn("billing@alpha.test")
	if denied := uiPatientsHX(bl, path, ct, body); denied.Status != 403 {
		t.Errorf("billing uploads: %d", denied.Status)
	}
	if other := uiPatientsHX(b, "/patients/"+w.alan.ID+"/documents", ct, body); other.Status != 404 {
		t.Errorf("another clinic's patient: %d", other.Status)
	}

	// Archiving takes a document off the page; it is kept (the link still
	// downloads it for the record).
	page := b.get("/patients/" + w.grace.ID)
	docID := strings.TrimSuffix(strings.TrimPrefix(m[1], "/api/v1/documents/"), "/content")
	archive := "/patients/" + w.grace.ID + "/documents/" + docID + "/archive"
	if !strings.Contains(page.Body, `action="`+archive+`"`) || !strings.Contains(page.Body, `aria-label="Archive labs.pdf"`) {
		t.Fatalf("no archive button: %s", page.Body)
	}
	if denied := bl.post(archive, nil); denied.Status != 403 {
		t.Errorf("billing archives: %d", denied.Status)
	}
	if wrong := b.post("/patients/"+w.ada.ID+"/documents/"+docID+"/archive", nil); wrong.Status != 404 {
		t.Errorf("archived through another patient: %d", wrong.Status)
	}
	if other := b.post("/patients/"+w.alan.ID+"/documents/"+docID+"/archive", nil); other.Status != 404 {
		t.Errorf("archived through another clinic's patient: %d", other.Status)
	}
	ok := b.post(archive, nil)
	if ok.Status != http.StatusSeeOther || ok.Location != "/patients/"+w.grace.ID+"?done=document-archived" {
		t.Fatalf("archive: %d %q %s", ok.Status, ok.Location, ok.Body)
	}
	page = b.get(ok.Location)
	if !strings.Contains(page.Body, "The document was archived.") || strings.Contains(page.Body, "labs.pdf") || !strings.Contains(page.Body, "big.pdf") {
		t.Errorf("after archiving: %s", page.Body)
	}
	if dl := b.get(m[1]); dl.Status != 200 {
		t.Errorf("an archived document's content: %d", dl.Status)
	}
}

func (w *uiPatientsWorld) testConsent(t *testing.T) {
	b := w.signIn("staff@alpha.test")
	path := "/patients/" + w.grace.ID + "/consents"
	bad := b.post(path, url.Values{"kind": {"telehealth"}, "version": {"2026-01"}})
	if bad.Status != 422 || !strings.Contains(bad.Body, `id="consent-name-error"`) || !strings.Contains(bad.Body, `value="2026-01"`) ||
		!strings.Contains(bad.Body, "Hopper, Grace") {
		t.Errorf("invalid consent: %d %s", bad.Status, bad.Body)
	}
	ok := b.post(path, url.Values{"kind": {"treatment"}, "version": {"2026-01"}, "signed_name": {"Grace Hopper"}})
	if ok.Status != http.StatusSeeOther || ok.Location != "/patients/"+w.grace.ID+"?done=consent" {
		t.Fatalf("consent: %d %q %s", ok.Status, ok.Location, ok.Body)
	}
	page := b.get(ok.Location)
	if !strings.Contains(page.Body, "The consent was recorded.") || !strings.Contains(page.Body, "signed by Grace Hopper") {
		t.Errorf("after consent: %s", page.Body)
	}
}

func (w *uiPatientsWorld) testPermission(t *testing.T) {
	pt := w.signIn("patient@alpha.test")
	for _, path := range []string{"/patients", "/patients/" + w.ada.ID, "/patients/new"} {
		if p := pt.get(path); p.Status != 403 || strings.Contains(p.Body, "Lovelace") {
			t.Errorf("patient role GET %s: %d", path, p.Status)
		}
	}
	if p := uiPatientsSearch(pt, "lov"); p.Status != 403 || strings.Contains(p.Body, "Lovelace") {
		t.Errorf("patient role searches: %d", p.Status)
	}
	bl := w.signIn("billing@alpha.test")
	if p := bl.get("/patients"); p.Status != 200 || strings.Contains(p.Body, `href="/patients/new"`) {
		t.Errorf("billing list: %d, or offered the create form", p.Status)
	}
	if p := bl.get("/patients/" + w.ada.ID); p.Status != 200 || strings.Contains(p.Body, `id="upload-form"`) || strings.Contains(p.Body, "/edit") ||
		strings.Contains(p.Body, "Record a consent") {
		t.Errorf("billing page: %d, or offered forms", p.Status)
	}
	for _, path := range []string{"/patients/new", "/patients/" + w.ada.ID + "/edit"} {
		if p := bl.get(path); p.Status != 403 {
			t.Errorf("billing GET %s: %d", path, p.Status)
		}
	}
	for _, path := range []string{"/patients", "/patients/" + w.ada.ID, "/patients/" + w.ada.ID + "/consents"} {
		if p := bl.post(path, uiPatientsForm()); p.Status != 403 {
			t.Errorf("billing POST %s: %d", path, p.Status)
		}
	}
	if anon := w.e.browserLike().get("/patients/" + w.ada.ID); anon.Status != http.StatusSeeOther || !strings.HasPrefix(anon.Location, "/login") {
		t.Errorf("signed out: %d %q", anon.Status, anon.Location)
	}
}

func (w *uiPatientsWorld) testOtherClinic(t *testing.T) {
	b := w.signIn("staff@alpha.test")
	const missing = "01a20935-0000-7000-8000-000000000000"
	for _, suffix := range []string{"", "/edit"} {
		other := b.get("/patients/" + w.alan.ID + suffix)
		none := b.get("/patients/" + missing + suffix)
		if other.Status != 404 || none.Status != 404 || !strings.Contains(other.Body, notFoundMessage) {
			t.Errorf("%s: other clinic %d, missing %d", suffix, other.Status, none.Status)
		}
		if withoutRequestIDs(other.Body) != withoutRequestIDs(none.Body) {
			t.Errorf("%s: another clinic's patient reads unlike a missing one:\n%s\n---\n%s", suffix, other.Body, none.Body)
		}
		if strings.Contains(other.Body, "Turing") {
			t.Errorf("%s: the other clinic's patient shows", suffix)
		}
	}
	in := url.Values{"given_name": {"X"}, "family_name": {"Y"}, "address.state": {"TX"}}
	other := b.post("/patients/"+w.alan.ID, in)
	none := b.post("/patients/"+missing, in)
	if other.Status != 404 || withoutRequestIDs(other.Body) != withoutRequestIDs(none.Body) {
		t.Errorf("edit another clinic's patient: %d %d", other.Status, none.Status)
	}
}

func (w *uiPatientsWorld) testAccessLog(t *testing.T) {
	b := w.signIn("admin@alpha.test")
	p := b.get("/patients/" + w.ada.ID)
	if p.Status != 200 || !strings.Contains(p.Body, `id="access-log"`) || !strings.Contains(p.Body, "phi.view") || !strings.Contains(p.Body, "phi.create") ||
		!strings.Contains(p.Body, "<td>Test admin <span class=\"muted\">admin</span></td>") {
		t.Errorf("admin: %d %s", p.Status, p.Body)
	}
	staffLine := "<td>Test staff <span class=\"muted\">staff</span></td>"
	before := strings.Count(p.Body, staffLine)
	staff := w.signIn("staff@alpha.test").get("/patients/" + w.ada.ID)
	if strings.Contains(staff.Body, `id="access-log"`) || strings.Contains(staff.Body, "phi.view") {
		t.Errorf("staff see the access log")
	}
	// The staff member's one visit read the record, its documents and its
	// consents: the admin sees one more line for it.
	p = b.get("/patients/" + w.ada.ID)
	if n := strings.Count(p.Body, staffLine) - before; n != 1 {
		t.Errorf("one visit shows as %d lines:\n%s", n, p.Body)
	}
}

func (w *uiPatientsWorld) testArchive(t *testing.T) {
	b := w.signIn("staff@alpha.test")
	p := w.e.uiPatientsCreate("alpha", eonpro.NewPatient{GivenName: "Archie", FamilyName: "Ved", Address: eonpro.Address{State: "TX"}})
	path := "/patients/" + p.ID + "/status"
	if bad := b.post(path, url.Values{"status": {"gone"}}); bad.Status != 422 {
		t.Errorf("bad status: %d", bad.Status)
	}
	if a := b.post(path, url.Values{"status": {"archived"}}); a.Status != http.StatusSeeOther || a.Location != "/patients/"+p.ID+"?done=archived" {
		t.Fatalf("archive: %d %q %s", a.Status, a.Location, a.Body)
	}
	if page := b.get("/patients/" + p.ID + "?done=archived"); !strings.Contains(page.Body, "The patient was archived.") || !strings.Contains(page.Body, "Make active") {
		t.Errorf("archived page: %s", page.Body)
	}
	if l := b.get("/patients?status=archived"); !strings.Contains(l.Body, "Ved, Archie") {
		t.Errorf("not in the archived list")
	}
	if l := b.get("/patients"); strings.Contains(l.Body, "Ved, Archie") {
		t.Errorf("still in the active list")
	}
	if a := b.post(path, url.Values{"status": {"active"}}); a.Location != "/patients/"+p.ID+"?done=restored" {
		t.Fatalf("restore: %d %q", a.Status, a.Location)
	}
	if l := b.get("/patients"); !strings.Contains(l.Body, "Ved, Archie") {
		t.Errorf("not active again")
	}
	if o := b.post("/patients/"+w.alan.ID+"/status", url.Values{"status": {"archived"}}); o.Status != 404 {
		t.Errorf("another clinic's patient: %d", o.Status)
	}
	if d := w.signIn("billing@alpha.test").post(path, url.Values{"status": {"archived"}}); d.Status != 403 {
		t.Errorf("billing archives: %d", d.Status)
	}
}
