package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/eonpro/eonpro"
)

func (w *docWorld) archive(t *testing.T) {
	e := w.e
	res := w.upload(w.admin, w.patient, kindPart("insurance_card"), pdfFile("card.pdf", "card"))
	id, _ := res.Body["id"].(string)
	for i := range 2 {
		if res := e.do("DELETE", "/api/v1/documents/"+id, nil, bearer(w.staff)...); res.Status != http.StatusNoContent {
			t.Errorf("archive %d: %d %s, want 204", i+1, res.Status, res.Raw)
		}
	}
	list := e.do("GET", "/api/v1/patients/"+w.patient+"/documents", nil, bearer(w.admin)...)
	if strings.Contains(string(list.Raw), id) {
		t.Errorf("archived document listed: %s", list.Raw)
	}
	list = e.do("GET", "/api/v1/patients/"+w.patient+"/documents?status=archived&limit=1", nil, bearer(w.admin)...)
	if list.Status != http.StatusOK || !strings.Contains(string(list.Raw), `"id":"`+id+`"`) || !strings.Contains(string(list.Raw), `"status":"archived"`) {
		t.Errorf("archived list: %d %s", list.Status, list.Raw)
	}
	if got := e.do("GET", "/api/v1/documents/"+id+"/content", nil, bearer(w.admin)...); got.Status != http.StatusOK {
		t.Errorf("archived content: %d, want 200 (kept for the record)", got.Status)
	}
	n := 0
	for _, ev := range e.phiEvents("alpha") {
		if strings.HasPrefix(ev, "phi.delete document "+id+" "+w.patient+" ") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d phi.delete events for the document, want 1", n)
	}
	for _, q := range []string{"status=deleted", "limit=0x", "limit=500", "cursor=nope"} {
		if res := e.do("GET", "/api/v1/patients/"+w.patient+"/documents?"+q, nil, bearer(w.admin)...); res.Status/100 != 4 {
			t.Errorf("?%s: %d %s, want 4xx", q, res.Status, res.Raw)
		}
	}
}

// permissions: billing reads but does not write; the patient role does
// neither; every refusal is the same 403.
func (w *docWorld) permissions(t *testing.T) {
	e := w.e
	res := w.upload(w.admin, w.patient, kindPart("other"), pdfFile("p.pdf", "p"))
	id, _ := res.Body["id"].(string)
	for _, tc := range []struct {
		tok, method, path string
		want              int
	}{
		{w.billing, "GET", "/api/v1/documents/" + id + "/content", http.StatusOK},
		{w.billing, "GET", "/api/v1/patients/" + w.patient + "/documents", http.StatusOK},
		{w.billing, "GET", "/api/v1/patients/" + w.patient + "/consents", http.StatusOK},
		{w.billing, "DELETE", "/api/v1/documents/" + id, http.StatusForbidden},
		{w.billing, "POST", "/api/v1/patients/" + w.patient + "/consents", http.StatusForbidden},
		{w.patientRole, "GET", "/api/v1/documents/" + id + "/content", http.StatusForbidden},
		{w.patientRole, "GET", "/api/v1/patients/" + w.patient + "/documents", http.StatusForbidden},
		{"", "GET", "/api/v1/documents/" + id + "/content", http.StatusUnauthorized},
	} {
		var hdr []string
		if tc.tok != "" {
			hdr = bearer(tc.tok)
		}
		body := any(nil)
		if tc.method == "POST" {
			body = map[string]string{"kind": "sms", "version": "v1", "signed_name": "Grace Hopper"}
		}
		if res := e.do(tc.method, tc.path, body, hdr...); res.Status != tc.want {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, res.Status, res.Raw, tc.want)
		}
	}
	if res := w.upload(w.billing, w.patient, kindPart("other"), pdfFile("b.pdf", "b")); res.Status != http.StatusForbidden {
		t.Errorf("upload as billing: %d %s, want 403", res.Status, res.Raw)
	}
}

// otherClinicDocument: beta's admin meets alpha's patient and document
// exactly as missing ones, on every document and consent route, and
// alpha's document is untouched afterwards.
func (w *isoWorld) otherClinicDocument(t *testing.T) {
	e := w.e.forTest(t)
	d := &docWorld{e: e, admin: w.actor("admin").token, betaAdmin: w.betaToken}
	d.patient = e.createPatient("alpha", "admin@alpha.test")
	res := d.uploadWith([]string{"X-Clinic", "alpha"}, d.admin, d.patient, kindPart("id_card"), pdfFile("id.pdf", "id"))
	doc, _ := res.Body["id"].(string)
	if res.Status != http.StatusCreated {
		t.Fatalf("upload in alpha: %d %s", res.Status, res.Raw)
	}
	missing := eonpro.NewID()
	beta := bearer(w.betaToken)
	sameAnswer(t, "upload to alpha's patient",
		d.upload(w.betaToken, d.patient, kindPart("id_card"), pdfFile("x.pdf", "x")),
		d.upload(w.betaToken, missing, kindPart("id_card"), pdfFile("x.pdf", "x")))
	consent := map[string]string{"kind": "telehealth", "version": "v1", "signed_name": "Mallory"}
	for _, tc := range []struct {
		method, other, missing string
		body                   any
	}{
		{"GET", "/api/v1/patients/" + d.patient + "/documents", "/api/v1/patients/" + missing + "/documents", nil},
		{"GET", "/api/v1/documents/" + doc + "/content", "/api/v1/documents/" + missing + "/content", nil},
		{"DELETE", "/api/v1/documents/" + doc, "/api/v1/documents/" + missing, nil},
		{"POST", "/api/v1/patients/" + d.patient + "/consents", "/api/v1/patients/" + missing + "/consents", consent},
		{"GET", "/api/v1/patients/" + d.patient + "/consents", "/api/v1/patients/" + missing + "/consents", nil},
	} {
		other, gone := e.do(tc.method, tc.other, tc.body, beta...), e.do(tc.method, tc.missing, tc.body, beta...)
		if gone.Status != http.StatusNotFound {
			t.Errorf("%s %s: %d, want 404", tc.method, tc.missing, gone.Status)
		}
		sameAnswer(t, tc.method+" "+tc.other, other, gone)
	}
	alpha := with(bearer(d.admin), []string{"X-Clinic", "alpha"})
	list := e.do("GET", "/api/v1/patients/"+d.patient+"/documents", nil, alpha...)
	if !strings.Contains(string(list.Raw), `"id":"`+doc+`","patient_id":"`+d.patient+`","kind":"id_card"`) {
		t.Errorf("alpha's document after beta's attempts: %s", list.Raw)
	}
	if res := e.do("GET", "/api/v1/patients/"+d.patient+"/consents", nil, alpha...); strings.Contains(string(res.Raw), "Mallory") {
		t.Errorf("beta recorded a consent for alpha's patient: %s", res.Raw)
	}
}
