package web

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// uploadForm posts a multipart body as the browser does without
// JavaScript: the session cookie, no X-CSRF-Token, no HX-Request.
func uploadForm(b *browserLike, path, contentType, body string) pageAnswer {
	b.e.t.Helper()
	req, err := http.NewRequest("POST", b.e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return pageAnswer{Status: res.StatusCode, Header: res.Header, Body: string(raw), Location: res.Header.Get("Location")}
}

// TestUIUploadWithoutJS sends the upload form as a browser without
// JavaScript does: the csrf field is its first part.
func TestUIUploadWithoutJS(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		w := uiPatientsSeed(e)
		b := w.signIn("staff@alpha.test")
		path := "/patients/" + w.grace.ID + "/documents"
		token := part{name: "csrf", content: []byte(b.csrf())}
		t.Run("FormHasToken", func(t *testing.T) {
			page := b.get("/patients/" + w.grace.ID)
			form, _, _ := strings.Cut(page.Body[strings.Index(page.Body, `id="upload-form"`):], "</form>")
			if !strings.Contains(form, `name="csrf" value="`+b.csrf()+`"`) {
				t.Errorf("the upload form has no csrf field:\n%s", form)
			}
		})
		t.Run("OK", func(t *testing.T) {
			body, ct := multipartBody(token, kindPart("lab_result"), pdfFile("nojs.pdf", "ferritin"))
			up := uploadForm(b, path, ct, body)
			if up.Status != http.StatusSeeOther || up.Location != "/patients/"+w.grace.ID+"?done=document-uploaded" {
				t.Fatalf("upload: %d %q %s", up.Status, up.Location, up.Body)
			}
			page := b.get(up.Location)
			if !strings.Contains(page.Body, "nojs.pdf") || !strings.Contains(page.Body, "The document was uploaded.") {
				t.Errorf("the patient's page does not show the upload:\n%s", page.Body)
			}
		})
		t.Run("ErrType", func(t *testing.T) {
			body, ct := multipartBody(token, kindPart("lab_result"), part{name: "file", filename: "x.html", content: []byte("<html><script>")})
			bad := uploadForm(b, path, ct, body)
			if bad.Status != http.StatusUnprocessableEntity || !strings.Contains(bad.Body, `id="upload-error"`) || !strings.Contains(bad.Body, "<main") {
				t.Errorf("a refused file: %d, want the whole page with the message:\n%s", bad.Status, bad.Body)
			}
		})
		t.Run("ErrTooLarge", func(t *testing.T) {
			body, ct := multipartBody(token, kindPart("other"), pdfFile("huge.pdf", strings.Repeat("x", testMaxUpload)))
			if up := uploadForm(b, path, ct, body); up.Status != http.StatusRequestEntityTooLarge {
				t.Errorf("over the upload limit: %d", up.Status)
			}
		})
		for name, parts := range map[string][]part{
			"ErrNoToken":    {kindPart("other"), pdfFile("forged.pdf", "x")},
			"ErrTokenLast":  {kindPart("other"), pdfFile("forged.pdf", "x"), token},
			"ErrWrongToken": {{name: "csrf", content: []byte("forged")}, kindPart("other"), pdfFile("forged.pdf", "x")},
		} {
			t.Run(name, func(t *testing.T) {
				body, ct := multipartBody(parts...)
				if up := uploadForm(b, path, ct, body); up.Status != http.StatusForbidden {
					t.Errorf("%d, want 403", up.Status)
				}
			})
		}
		if page := b.get("/patients/" + w.grace.ID); strings.Contains(page.Body, "forged.pdf") {
			t.Error("a forged upload was stored")
		}
	})
}
