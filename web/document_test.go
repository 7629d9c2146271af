package web

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
)

// testMaxUpload is the harness's upload limit: over the server's 1 MiB
// body limit, and small enough to test quickly.
const testMaxUpload = 2 << 20

// part is one part of a multipart upload; filename makes it a file.
type part struct {
	name, filename, contentType string
	content                     []byte
}

// multipartBody encodes parts and returns the body and its Content-Type.
func multipartBody(parts ...part) (string, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		disp := map[string]string{"name": p.name}
		if p.filename != "" {
			disp["filename"] = p.filename
		}
		h.Set("Content-Disposition", mime.FormatMediaType("form-data", disp))
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		w, _ := mw.CreatePart(h)
		_, _ = w.Write(p.content)
	}
	_ = mw.Close()
	return buf.String(), mw.FormDataContentType()
}

// docWorld is alpha with a member per role that handles records, a
// patient in alpha and one in beta, and beta's admin.
type docWorld struct {
	e                                  *idEnv
	admin, staff, billing, patientRole string // tokens in alpha
	betaAdmin                          string
	patient, betaPatient               string
}

func seedDocuments(e *idEnv) *docWorld {
	e.t.Helper()
	e.clinic("alpha")
	e.clinic("beta")
	w := &docWorld{e: e}
	for _, m := range []struct {
		tok  *string
		role eonpro.Role
		slug string
	}{{&w.admin, eonpro.RoleAdmin, "alpha"}, {&w.staff, eonpro.RoleStaff, "alpha"}, {&w.billing, eonpro.RoleBilling, "alpha"},
		{&w.patientRole, eonpro.RolePatient, "alpha"}, {&w.betaAdmin, eonpro.RoleAdmin, "beta"}} {
		email := string(m.role) + "@" + m.slug + ".test"
		e.user(email, false, m.slug, m.role)
		*m.tok = e.login(email)
	}
	w.patient = e.createPatient("alpha", "admin@alpha.test")
	w.betaPatient = e.createPatient("beta", "admin@beta.test")
	return w
}

// createPatient creates a patient of the clinic (slug) through the
// patient service, acting as the member with that e-mail.
func (e *idEnv) createPatient(slug, email string) string {
	e.t.Helper()
	ctx := eonpro.NewContextWithPrincipal(context.Background(), &eonpro.Principal{UserID: e.users[email].ID,
		ClinicID: e.clinics[slug].ID, Role: eonpro.RoleAdmin, Permissions: eonpro.RolePermissions[eonpro.RoleAdmin]})
	p, err := e.patientSvc.CreatePatient(ctx, eonpro.NewPatient{GivenName: "Grace", FamilyName: "Hopper",
		DateOfBirth: "1966-12-09", Address: eonpro.Address{State: "TX"}})
	if err != nil {
		e.t.Fatal(err)
	}
	return p.ID
}

// upload posts parts to a patient's documents.
func (w *docWorld) upload(tok, patientID string, parts ...part) response {
	w.e.t.Helper()
	return w.uploadWith(nil, tok, patientID, parts...)
}

// uploadWith is upload with more headers (name, value pairs).
func (w *docWorld) uploadWith(hdr []string, tok, patientID string, parts ...part) response {
	w.e.t.Helper()
	body, ct := multipartBody(parts...)
	return w.e.do("POST", "/api/v1/patients/"+patientID+"/documents", body,
		with(bearer(tok), []string{"Content-Type", ct}, hdr)...)
}

// pdfFile is a file part holding a small PDF with text in it.
func pdfFile(name, text string) part {
	return part{name: "file", filename: name, contentType: "application/pdf",
		content: []byte("%PDF-1.7\n1 0 obj << /Title (" + text + ") >> endobj\n%%EOF\n")}
}

func kindPart(kind string) part { return part{name: "kind", content: []byte(kind)} }

var selectDocAudit = sqlstore.Stmt{Name: "test_select_doc_audit", SQL: `
SELECT action || ' ' || resource_type || ' ' || resource_id || ' ' || patient_id || ' ' || ip || ' ' || user_agent
FROM audit_events
WHERE clinic_id = $1
  AND resource_type IN ('document', 'document_list', 'consent', 'consent_list')
ORDER BY seq`}

// phiEvents lists a clinic's document and consent events as "action
// type resource patient ip user-agent".
func (e *idEnv) phiEvents(slug string) []string {
	e.t.Helper()
	ctx, clinic := context.Background(), e.clinics[slug].ID
	var out []string
	err := e.db.ViewClinic(ctx, clinic, func(tx *sqlstore.Tx) error {
		rows, err := tx.Query(ctx, selectDocAudit, clinic)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				return err
			}
			out = append(out, s)
		}
		return rows.Err()
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func TestDocumentsAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		w := seedDocuments(e)
		for name, fn := range map[string]func(*docWorld, *testing.T){
			"RoundTrip":       (*docWorld).roundTrip,
			"FilenameEncoded": (*docWorld).filenameEncoded,
			"QuotedFilename":  (*docWorld).quotedFilename,
			"ErrTooLarge":     (*docWorld).tooLarge,
			"ErrType":         (*docWorld).badType,
			"ErrRequest":      (*docWorld).badRequest,
			"Archive":         (*docWorld).archive,
			"Permissions":     (*docWorld).permissions,
		} {
			t.Run(name, func(t *testing.T) {
				c := *w
				c.e = w.e.forTest(t)
				fn(&c, t)
			})
		}
	})
}

func (w *docWorld) roundTrip(t *testing.T) {
	e := w.e
	secret := "creatinine 1.9 " + eonpro.NewID()
	file := pdfFile("labs.pdf", secret)
	res := w.upload(w.staff, w.patient, kindPart("lab_result"), file)
	id, _ := res.Body["id"].(string)
	if res.Status != http.StatusCreated || id == "" || res.Body["content_type"] != "application/pdf" ||
		res.Body["filename"] != "labs.pdf" || res.Body["kind"] != "lab_result" || res.Body["status"] != "active" {
		t.Fatalf("upload: %d %s", res.Status, res.Raw)
	}
	if _, leaked := res.Body["storage_key"]; leaked {
		t.Errorf("the storage key is shown: %s", res.Raw)
	}
	list := e.do("GET", "/api/v1/patients/"+w.patient+"/documents", nil, bearer(w.staff)...)
	if list.Status != http.StatusOK || !strings.Contains(string(list.Raw), `"id":"`+id+`"`) {
		t.Errorf("list: %d %s", list.Status, list.Raw)
	}
	got := e.do("GET", "/api/v1/documents/"+id+"/content", nil, with(bearer(w.billing), []string{"User-Agent", "billing-agent/1"})...)
	if got.Status != http.StatusOK || !bytes.Equal(got.Raw, file.content) {
		t.Fatalf("download: %d %q", got.Status, got.Raw)
	}
	for name, want := range map[string]string{
		"Content-Type":            "application/pdf",
		"Content-Disposition":     `attachment; filename=labs.pdf`,
		"X-Content-Type-Options":  "nosniff",
		"Cache-Control":           "private, no-store",
		"Content-Security-Policy": "default-src 'none'; sandbox",
	} {
		if v := got.Header.Get(name); v != want {
			t.Errorf("%s: %q, want %q", name, v, want)
		}
	}
	events := e.phiEvents("alpha")
	if !slices.Contains(events, "phi.create document "+id+" "+w.patient+" 127.0.0.1 Go-http-client/1.1") ||
		!slices.Contains(events, "phi.view document "+id+" "+w.patient+" 127.0.0.1 billing-agent/1") ||
		!slices.Contains(events, "phi.view document_list  "+w.patient+" 127.0.0.1 Go-http-client/1.1") {
		t.Errorf("audit events %q lack the upload, the download or the list", events)
	}
	w.storedEncrypted(t, secret)
}

// storedEncrypted: no file of the blob store holds the plaintext.
func (w *docWorld) storedEncrypted(t *testing.T, secret string) {
	n := 0
	err := filepath.WalkDir(w.e.blobDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		n++
		if bytes.Contains(b, []byte(secret)) || bytes.Contains(b, []byte("%PDF")) || !bytes.HasPrefix(b, []byte("v1:")) {
			t.Errorf("blob %s is not ciphertext", path)
		}
		return err
	})
	if err != nil || n == 0 {
		t.Errorf("%d blobs, %v", n, err)
	}
}

// filenameEncoded: the download name cannot break the header, and a
// name beyond ASCII survives as filename*.
func (w *docWorld) filenameEncoded(t *testing.T) {
	for _, name := range []string{`Résumé "final"; x=1.pdf`, `..\..\evil.pdf`, "報告 100%.pdf"} {
		res := w.upload(w.admin, w.patient, kindPart("other"), pdfFile(name, "x"))
		id, _ := res.Body["id"].(string)
		got := w.e.do("GET", "/api/v1/documents/"+id+"/content", nil, bearer(w.admin)...)
		cd := got.Header.Get("Content-Disposition")
		disp, params, err := mime.ParseMediaType(cd)
		if got.Status != http.StatusOK || err != nil || disp != "attachment" || params["filename"] != filepath.Base(name) && params["filename"] != name {
			t.Errorf("%q: %d Content-Disposition %q parses to %q %v, %v", name, got.Status, cd, disp, params, err)
		}
		if strings.ContainsAny(cd, "\r\n") || !isASCII(cd) {
			t.Errorf("%q: Content-Disposition %q is not plain ASCII", name, cd)
		}
	}
}

// quotedFilename: a quote arrives as %22, as browsers and curl send it.
func (w *docWorld) quotedFilename(t *testing.T) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("kind", "other")
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="Lab %22final%22.pdf"`)
	fw, _ := mw.CreatePart(h)
	_, _ = fw.Write(pdfFile("", "q").content)
	_ = mw.Close()
	res := w.e.do("POST", "/api/v1/patients/"+w.patient+"/documents", buf.String(),
		with(bearer(w.admin), []string{"Content-Type", mw.FormDataContentType()})...)
	if res.Status != http.StatusCreated || res.Body["filename"] != `Lab "final".pdf` {
		t.Errorf("upload: %d %s, want the file name with quotes", res.Status, res.Raw)
	}
}

func isASCII(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r > 0x7e || r < 0x20 })
}

// tooLarge: the upload route takes more than the server's 1 MiB, up to
// its own limit, whether the length is declared or not; other routes keep
// the 1 MiB.
func (w *docWorld) tooLarge(t *testing.T) {
	e := w.e
	big := func(n int) part {
		p := pdfFile("big.pdf", "")
		p.content = append(p.content, bytes.Repeat([]byte{' '}, n-len(p.content))...)
		return p
	}
	if res := w.upload(w.admin, w.patient, kindPart("other"), big(testMaxUpload)); res.Status != http.StatusCreated {
		t.Errorf("upload of exactly the limit (over the general body limit): %d %s", res.Status, res.Raw)
	}
	res := w.upload(w.admin, w.patient, kindPart("other"), big(testMaxUpload+1))
	if res.Status != http.StatusRequestEntityTooLarge || res.errCode() != eonpro.ETOOLARGE {
		t.Errorf("one byte over: %d %s, want 413", res.Status, res.Raw)
	}
	body, ct := multipartBody(kindPart("other"), big(testMaxUpload+200<<10))
	if res := e.do("POST", "/api/v1/patients/"+w.patient+"/documents", body,
		with(bearer(w.admin), []string{"Content-Type", ct})...); res.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("declared length over the route's limit: %d %s, want 413", res.Status, res.Raw)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/patients/"+w.patient+"/documents", io.MultiReader(strings.NewReader(body)))
	req.Header.Set("Authorization", "Bearer "+w.admin)
	req.Header.Set("Content-Type", ct)
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != http.StatusRequestEntityTooLarge || r.ContentLength == 0 {
		t.Errorf("chunked body over the limit: %v %v, want 413", r, err)
	} else {
		r.Body.Close()
	}
	huge := `{"kind":"sms","version":"v1","signed_name":"` + strings.Repeat("a", 3<<19) + `"}`
	if res := e.do("POST", "/api/v1/patients/"+w.patient+"/consents", huge, bearer(w.admin)...); res.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("1.5 MiB of JSON to another route: %d, want 413 (the general limit)", res.Status)
	}
}

// badType: what is not in the allow-list, or not what it says, is 422.
func (w *docWorld) badType(t *testing.T) {
	for _, tt := range []struct {
		name string
		file part
	}{
		{"HTML", part{name: "file", filename: "x.html", contentType: "text/html", content: []byte("<!doctype html><script>alert(1)</script>")}},
		{"HTMLAsText", part{name: "file", filename: "x.txt", contentType: "text/plain", content: []byte("<html><body onload=x()>")}},
		{"EXE", part{name: "file", filename: "setup.exe", contentType: "application/octet-stream", content: []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00")}},
		{"EXEAsPDF", part{name: "file", filename: "scan.pdf", contentType: "application/pdf", content: []byte("MZ\x90\x00\x03\x00")}},
		{"PNGAsPDF", part{name: "file", filename: "scan.pdf", contentType: "application/pdf", content: []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")}},
		{"Empty", part{name: "file", filename: "empty.pdf", contentType: "application/pdf"}},
	} {
		res := w.upload(w.admin, w.patient, kindPart("other"), tt.file)
		if res.Status != http.StatusUnprocessableEntity || res.field("file") == "" {
			t.Errorf("%s: %d %s, want 422 naming file", tt.name, res.Status, res.Raw)
		}
	}
	if res := w.upload(w.admin, w.patient, kindPart("x-ray"), pdfFile("a.pdf", "a")); res.Status != http.StatusUnprocessableEntity || res.field("kind") == "" {
		t.Errorf("kind x-ray: %d %s, want 422 naming kind", res.Status, res.Raw)
	}
}

// badRequest: bodies that are not an upload.
func (w *docWorld) badRequest(t *testing.T) {
	e, path := w.e, "/api/v1/patients/"+w.patient+"/documents"
	if res := e.do("POST", path, `{"kind":"other"}`, bearer(w.admin)...); res.Status != http.StatusBadRequest {
		t.Errorf("JSON body: %d %s, want 400", res.Status, res.Raw)
	}
	if res := w.upload(w.admin, w.patient, kindPart("other"), pdfFile("a.pdf", "a"), part{name: "patient_id", content: []byte("x")}); res.Status != http.StatusBadRequest || res.field("patient_id") == "" {
		t.Errorf("unknown part: %d %s, want 400 naming it", res.Status, res.Raw)
	}
	if res := w.upload(w.admin, w.patient, kindPart("other"), pdfFile("a.pdf", "a"), pdfFile("b.pdf", "b")); res.Status != http.StatusBadRequest {
		t.Errorf("two files: %d %s, want 400", res.Status, res.Raw)
	}
	if res := w.upload(w.admin, w.patient); res.Status != http.StatusUnprocessableEntity || res.field("file") == "" || res.field("kind") == "" {
		t.Errorf("no parts: %d %s, want 422 naming file and kind", res.Status, res.Raw)
	}
}
