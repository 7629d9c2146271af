package web

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestConsentsAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		w := seedDocuments(e)
		path := "/api/v1/patients/" + w.patient + "/consents"
		hdr := with(bearer(w.staff), []string{"User-Agent", "Kiosk/2.0 (iPad)"})
		res := e.do("POST", path, map[string]string{"kind": "telehealth", "version": "2026-01", "signed_name": "Grace Hopper"}, hdr...)
		id, _ := res.Body["id"].(string)
		if res.Status != http.StatusCreated || id == "" || res.Body["kind"] != "telehealth" || res.Body["version"] != "2026-01" ||
			res.Body["signed_name"] != "Grace Hopper" || res.Body["ip"] != "127.0.0.1" || res.Body["user_agent"] != "Kiosk/2.0 (iPad)" ||
			res.Body["patient_id"] != w.patient || res.Body["recorded_by"] != e.users["staff@alpha.test"].ID {
			t.Fatalf("create consent: %d %s", res.Status, res.Raw)
		}
		if signed, err := time.Parse(time.RFC3339Nano, res.Body["signed_at"].(string)); err != nil || !signed.Equal(e.clock.Now()) {
			t.Errorf("signed_at %v (%v), want the server's clock %v", res.Body["signed_at"], err, e.clock.Now())
		}
		e.clock.Add(time.Minute)
		if res := e.do("POST", path, map[string]string{"kind": "sms", "version": "v1", "signed_name": "G. Hopper"}, hdr...); res.Status != http.StatusCreated {
			t.Fatalf("second consent: %d %s", res.Status, res.Raw)
		}
		list := e.do("GET", path, nil, bearer(w.billing)...)
		data, _ := list.Body["data"].([]any)
		if list.Status != http.StatusOK || len(data) != 2 || data[1].(map[string]any)["id"] != id {
			t.Errorf("list: %d %s, want both, newest first", list.Status, list.Raw)
		}
		page := e.do("GET", path+"?kind=telehealth&limit=1", nil, bearer(w.billing)...)
		if data, _ := page.Body["data"].([]any); len(data) != 1 || page.Body["next_cursor"] != nil {
			t.Errorf("?kind=telehealth: %s", page.Raw)
		}
		events := e.phiEvents("alpha")
		if !slices.Contains(events, "phi.create consent "+id+" "+w.patient+" 127.0.0.1 Kiosk/2.0 (iPad)") ||
			!slices.Contains(events, "phi.view consent_list  "+w.patient+" 127.0.0.1 Go-http-client/1.1") {
			t.Errorf("audit events %q lack the consent or the list", events)
		}
		t.Run("ErrInvalid", func(t *testing.T) {
			e := e.forTest(t)
			res := e.do("POST", path, map[string]string{"kind": "marketing", "version": "", "signed_name": " "}, bearer(w.admin)...)
			if res.Status != http.StatusUnprocessableEntity || res.field("kind") == "" || res.field("version") == "" || res.field("signed_name") == "" {
				t.Errorf("bad consent: %d %s, want 422 naming kind, version and signed_name", res.Status, res.Raw)
			}
			for _, body := range []string{
				`{"kind":"sms","version":"v1","signed_name":"A","signed_at":"2020-01-01T00:00:00Z"}`,
				`{"kind":"sms","version":"v1","signed_name":"A","ip":"10.0.0.1"}`,
				`{"kind":"sms","version":"v1","signed_name":"A","patient_id":"x"}`,
			} {
				if res := e.do("POST", path, body, bearer(w.admin)...); res.Status != http.StatusUnprocessableEntity {
					t.Errorf("%s: %d %s, want 422 (the server sets time, IP and patient)", body, res.Status, res.Raw)
				}
			}
			if res := e.do("GET", path+"?kind=marketing", nil, bearer(w.admin)...); res.Status != http.StatusUnprocessableEntity {
				t.Errorf("?kind=marketing: %d %s, want 422", res.Status, res.Raw)
			}
		})
		t.Run("ErrOtherClinic", func(t *testing.T) {
			e := e.forTest(t)
			other := e.do("GET", "/api/v1/patients/"+w.betaPatient+"/consents", nil, bearer(w.admin)...)
			if other.Status != http.StatusNotFound || strings.Contains(string(other.Raw), "Hopper") {
				t.Errorf("beta's patient from alpha: %d %s, want 404", other.Status, other.Raw)
			}
		})
	})
}
