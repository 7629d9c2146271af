package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

func TestSeedDemo(t *testing.T) {
	for _, e := range sqltest.Engines(t) {
		t.Run(string(e), func(t *testing.T) {
			kv := withDataDir(t, map[string]string{"EONPRO_DATABASE_URL": sqltest.URL(t, e)})
			out, err := runCmd(t, kv, "seed", "demo")
			if err != nil || !strings.Contains(out, "admin@sunrise.example.test") || !strings.Contains(out, demoPassword) ||
				!strings.Contains(out, "Open http://localhost:8080 in a browser") {
				t.Fatalf("seed demo: %v\n%s", err, out)
			}
			// A second run changes nothing and says how to sign in again.
			if out, err := runCmd(t, kv, "seed", "demo"); err != nil || !strings.Contains(out, demoPassword) {
				t.Fatalf("second seed demo: %v\n%s", err, out)
			}
			m, base := startMain(t, kv)
			db := m.db
			clinics, err := sqlstore.NewClinicService(db).FindClinics(context.Background())
			if err != nil || len(clinics) != 2 {
				t.Fatalf("clinics: %d %v", len(clinics), err)
			}
			for _, c := range clinics {
				ctx := eonpro.NewContextWithPrincipal(context.Background(), &eonpro.Principal{ClinicID: c.ID,
					Role: eonpro.RoleAdmin, Permissions: eonpro.RolePermissions[eonpro.RoleAdmin]})
				ps, _, err := m.patients.FindPatients(ctx, eonpro.PatientFilter{Limit: 50})
				if err != nil || len(ps) != len(demoPatients) {
					t.Errorf("%s patients: %d %v", c.Slug, len(ps), err)
				}
				// The portal patient's chart has an allergy, a medication and a consent.
				first := ps[len(ps)-1]
				if len(first.Allergies) != 1 || len(first.Medications) != 1 {
					t.Errorf("%s first patient: %+v %+v", c.Slug, first.Allergies, first.Medications)
				}
				if cs, _, err := sqlstore.NewConsentService(db, m.ring).FindConsents(ctx, eonpro.ConsentFilter{PatientID: first.ID}); err != nil || len(cs) != 1 {
					t.Errorf("%s first patient's consents: %d %v", c.Slug, len(cs), err)
				}
				prs, _, err := sqlstore.NewProviderService(db).FindProviders(ctx, eonpro.ProviderFilter{})
				if err != nil || len(prs) != 2 {
					t.Errorf("%s providers: %d %v", c.Slug, len(prs), err)
				}
			}
			code, body := postJSON(t, base+"/api/v1/auth/login", `{"email":"admin@sunrise.example.test","password":"`+demoPassword+`"}`)
			if code != 200 || body["token"] == nil {
				t.Errorf("demo login: %d %v", code, body)
			}
			// The portal user sees the first demo patient as their own record.
			code, body = postJSON(t, base+"/api/v1/auth/login", `{"email":"patient@lakeside.example.test","password":"`+demoPassword+`"}`)
			if code != 200 || body["token"] == nil {
				t.Fatalf("demo patient login: %d %v", code, body)
			}
			req, _ := http.NewRequest("GET", base+"/api/v1/me/patient", nil)
			req.Header.Set("Authorization", "Bearer "+body["token"].(string))
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var own eonpro.PatientProfile
			err = json.NewDecoder(res.Body).Decode(&own)
			res.Body.Close()
			if res.StatusCode != 200 || err != nil || own.GivenName != demoPatients[0][0] || own.FamilyName != demoPatients[0][1] {
				t.Errorf("demo patient's own record: %d %v %+v", res.StatusCode, err, own)
			}
		})
	}
}

func TestServeDemoOnEmptyDatabase(t *testing.T) {
	kv := withDataDir(t, map[string]string{"EONPRO_DATABASE_URL": sqltest.URL(t, sqlstore.SQLite)})
	m := NewMain()
	m.Getenv, m.Stdout, m.Stderr = env(kv), &strings.Builder{}, &strings.Builder{}
	if err := m.ParseFlags([]string{"serve", "--addr", "127.0.0.1:0", "--demo"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	code, _ := postJSON(t, "http://"+m.Addr()+"/api/v1/auth/login", `{"email":"staff@lakeside.example.test","password":"`+demoPassword+`"}`)
	if code != 200 {
		t.Errorf("demo staff login after serve --demo: %d", code)
	}
}

func postJSON(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}
