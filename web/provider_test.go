package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/eonpro/eonpro"
)

// providerWorld is alpha with an admin, two providers, staff and billing,
// and beta with an admin and a provider; hdr holds each one's headers.
type providerWorld struct {
	e   *idEnv
	hdr map[string][]string
	// doc and nurse are alpha's providers, betaDoc beta's.
	doc, nurse, staff, betaDoc *eonpro.User
}

func seedProviders(e *idEnv) *providerWorld {
	e.t.Helper()
	e.clinic("alpha")
	e.clinic("beta")
	w := &providerWorld{e: e, hdr: map[string][]string{}}
	for i, u := range []struct {
		name, clinic string
		role         eonpro.Role
	}{
		{"admin", "alpha", eonpro.RoleAdmin},
		{"doc", "alpha", eonpro.RoleProvider},
		{"nurse", "alpha", eonpro.RoleProvider},
		{"staff", "alpha", eonpro.RoleStaff},
		{"billing", "alpha", eonpro.RoleBilling},
		{"betaadmin", "beta", eonpro.RoleAdmin},
		{"betadoc", "beta", eonpro.RoleProvider},
	} {
		user := e.userWithPhone(u.name+"@"+u.clinic+".test", "+1512555030"+string(rune('0'+i)), false, u.role, u.clinic)
		w.hdr[u.name] = with(bearer(e.phoneSignIn(user.Phone)), []string{"X-Clinic", u.clinic})
		switch u.name {
		case "doc":
			w.doc = user
		case "nurse":
			w.nurse = user
		case "staff":
			w.staff = user
		case "betadoc":
			w.betaDoc = user
		}
	}
	return w
}

// create makes a provider as alpha's admin and fails unless it worked.
func (w *providerWorld) create(t *testing.T, body map[string]any) *eonpro.Provider {
	t.Helper()
	res := w.e.do("POST", "/api/v1/providers", body, w.hdr["admin"]...)
	if res.Status != http.StatusCreated {
		t.Fatalf("create provider: %d %s", res.Status, res.Raw)
	}
	var pr eonpro.Provider
	decodeInto(t, res, &pr)
	return &pr
}

func docBody(w *providerWorld) map[string]any {
	return map[string]any{
		"user_id": w.doc.ID, "credentials": []string{"md", "PhD"}, "npi": "1234567893", "dea_number": "ab1234563",
		"specialties": []string{"Internal Medicine", "Obesity Medicine"}, "bio": "Board certified.",
		"licenses": []map[string]string{
			{"state": "tx", "number": "q1234", "expires_on": "2027-06-30"},
			{"state": "CA", "number": "A 98765", "expires_on": "2026-12-31"},
		},
	}
}

var ignoreLicenseMeta = cmpopts.IgnoreFields(eonpro.License{}, "ID", "ProviderID", "CreatedAt", "UpdatedAt")

func TestProviders(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		w := seedProviders(e)
		admin := w.hdr["admin"]
		var doc *eonpro.Provider
		t.Run("Create", func(t *testing.T) {
			doc = w.forTest(t).create(t, docBody(w))
			want := &eonpro.Provider{UserID: w.doc.ID, Name: w.doc.Name, Credentials: []string{"MD", "PhD"}, NPI: "1234567893",
				DEANumber: "AB1234563", Specialties: []string{"Internal Medicine", "Obesity Medicine"}, Bio: "Board certified.",
				AcceptingNewPatients: true, Licenses: []*eonpro.License{
					{State: "CA", Number: "A 98765", ExpiresOn: "2026-12-31"},
					{State: "TX", Number: "Q1234", ExpiresOn: "2027-06-30"},
				}}
			if d := cmp.Diff(want, doc, ignoreLicenseMeta, cmpopts.IgnoreFields(eonpro.Provider{}, "ID", "CreatedAt", "UpdatedAt")); d != "" {
				t.Errorf("provider mismatch (-want +got):\n%s", d)
			}
			if !doc.CreatedAt.Equal(e.clock.Now()) || doc.Licenses[0].ProviderID != doc.ID {
				t.Errorf("created_at %v, license provider %q", doc.CreatedAt, doc.Licenses[0].ProviderID)
			}
		})
		t.Run("Get", func(t *testing.T) {
			e := e.forTest(t)
			res := e.do("GET", "/api/v1/providers/"+doc.ID, nil, admin...)
			var got eonpro.Provider
			decodeInto(t, res, &got)
			if d := cmp.Diff(doc, &got); res.Status != http.StatusOK || d != "" {
				t.Errorf("GET: %d, mismatch (-want +got):\n%s", res.Status, d)
			}
		})
		t.Run("Update", func(t *testing.T) {
			e := e.forTest(t)
			e.clock.Add(time.Minute + 1234*time.Nanosecond) // kept to the microsecond
			res := e.do("PATCH", "/api/v1/providers/"+doc.ID, map[string]any{"bio": "  Sees adults.  ", "accepting_new_patients": false,
				"dea_number": "", "npi": "1245319599", "credentials": []string{"DO"}}, admin...)
			var got eonpro.Provider
			decodeInto(t, res, &got)
			want := *doc
			want.Bio, want.AcceptingNewPatients, want.DEANumber, want.NPI, want.Credentials = "Sees adults.", false, "", "1245319599", []string{"DO"}
			want.UpdatedAt = e.clock.Now().Truncate(time.Microsecond)
			if d := cmp.Diff(&want, &got); res.Status != http.StatusOK || d != "" {
				t.Errorf("PATCH: %d %s, mismatch (-want +got):\n%s", res.Status, res.Raw, d)
			}
			doc = &got
			var read eonpro.Provider
			decodeInto(t, e.do("GET", "/api/v1/providers/"+doc.ID, nil, admin...), &read)
			if d := cmp.Diff(doc, &read); d != "" {
				t.Errorf("GET after PATCH mismatch (-want +got):\n%s", d)
			}
		})
		t.Run("ErrConflict", func(t *testing.T) {
			e := e.forTest(t)
			res := e.do("POST", "/api/v1/providers", docBody(w), admin...)
			if res.Status != http.StatusConflict || res.field("user_id") == "" {
				t.Errorf("same user again: %d %s, want 409 naming user_id", res.Status, res.Raw)
			}
			body := docBody(w)
			body["user_id"], body["npi"] = w.nurse.ID, "1245319599"
			res = e.do("POST", "/api/v1/providers", body, admin...)
			if res.Status != http.StatusConflict || res.field("npi") == "" || res.field("user_id") != "" {
				t.Errorf("NPI of another provider: %d %s, want 409 naming npi", res.Status, res.Raw)
			}
			body["npi"] = "1993999998"
			nurse := w.create(t, body)
			res = e.do("PATCH", "/api/v1/providers/"+nurse.ID, map[string]any{"npi": "1245319599"}, admin...)
			if res.Status != http.StatusConflict || res.field("npi") == "" {
				t.Errorf("PATCH to another's NPI: %d %s, want 409 naming npi", res.Status, res.Raw)
			}
		})
		t.Run("List", func(t *testing.T) {
			e := e.forTest(t)
			var page struct {
				Data       []*eonpro.Provider `json:"data"`
				NextCursor *string            `json:"next_cursor"`
			}
			decodeInto(t, e.do("GET", "/api/v1/providers?limit=1", nil, admin...), &page)
			if len(page.Data) != 1 || page.Data[0].ID != doc.ID || page.NextCursor == nil {
				t.Fatalf("first page: %+v", page)
			}
			if d := cmp.Diff(doc, page.Data[0]); d != "" {
				t.Errorf("listed provider mismatch (-want +got):\n%s", d)
			}
			decodeInto(t, e.do("GET", "/api/v1/providers?limit=1&cursor="+*page.NextCursor, nil, admin...), &page)
			if len(page.Data) != 1 || page.Data[0].UserID != w.nurse.ID || page.NextCursor != nil {
				t.Errorf("second page: %+v", page)
			}
		})
		t.Run("NotProviderAnyMore", func(t *testing.T) {
			e := e.forTest(t)
			role := func(r eonpro.Role) {
				res := e.do("PATCH", "/api/v1/clinic/members/"+w.doc.ID, map[string]string{"role": string(r)}, admin...)
				if res.Status != http.StatusOK {
					t.Fatalf("role %s: %d %s", r, res.Status, res.Raw)
				}
			}
			role(eonpro.RoleStaff)
			if res := e.do("GET", "/api/v1/providers/"+doc.ID, nil, admin...); res.Status != http.StatusNotFound {
				t.Errorf("GET a provider who is staff now: %d %s, want 404", res.Status, res.Raw)
			}
			if res := e.do("GET", "/api/v1/providers", nil, admin...); strings.Contains(string(res.Raw), doc.ID) {
				t.Errorf("list shows a provider who is staff now: %s", res.Raw)
			}
			role(eonpro.RoleProvider)
			if res := e.do("GET", "/api/v1/providers/"+doc.ID, nil, admin...); res.Status != http.StatusOK {
				t.Errorf("GET a provider again: %d %s, want 200", res.Status, res.Raw)
			}
		})
	})
}

// forTest returns w reporting to t.
func (w *providerWorld) forTest(t *testing.T) *providerWorld {
	c := *w
	c.e = w.e.forTest(t)
	return &c
}

func TestProvidersByState(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		w := seedProviders(e)
		// The clock reads 2026-11-23.
		mk := func(u *eonpro.User, npi, state, expires string) *eonpro.Provider {
			return w.create(t, map[string]any{"user_id": u.ID, "credentials": []string{"NP"}, "npi": npi,
				"licenses": []map[string]string{{"state": state, "number": "L1", "expires_on": expires}}})
		}
		current := mk(w.doc, "1234567893", "TX", "2027-01-01")
		lastDay := mk(w.nurse, "1245319599", "TX", "2026-11-23")
		third := e.userWithPhone("third@alpha.test", "+15125550390", false, eonpro.RoleProvider, "alpha")
		expired := mk(third, "1993999998", "TX", "2026-11-22")
		fourth := e.userWithPhone("fourth@alpha.test", "+15125550391", false, eonpro.RoleProvider, "alpha")
		mk(fourth, "2000000002", "CA", "2030-01-01")
		// expired also holds a current license elsewhere, which must not count for TX.
		res := e.do("POST", "/api/v1/providers/"+expired.ID+"/licenses", map[string]string{"state": "OK", "number": "X9", "expires_on": "2030-01-01"}, w.hdr["admin"]...)
		if res.Status != http.StatusCreated {
			t.Fatalf("add license: %d %s", res.Status, res.Raw)
		}
		ids := func(query string, hdr []string) []string {
			t.Helper()
			var page struct{ Data []*eonpro.Provider }
			res := e.do("GET", "/api/v1/providers"+query, nil, hdr...)
			if res.Status != http.StatusOK {
				t.Fatalf("GET %s: %d %s", query, res.Status, res.Raw)
			}
			decodeInto(t, res, &page)
			out := []string{}
			for _, p := range page.Data {
				out = append(out, p.ID)
			}
			return out
		}
		if d := cmp.Diff([]string{current.ID, lastDay.ID}, ids("?state=TX", w.hdr["staff"])); d != "" {
			t.Errorf("TX today mismatch (-want +got):\n%s", d)
		}
		if d := cmp.Diff([]string{current.ID, lastDay.ID}, ids("?state=tx", w.hdr["admin"])); d != "" {
			t.Errorf("tx mismatch (-want +got):\n%s", d)
		}
		if d := cmp.Diff([]string{}, ids("?state=NY", w.hdr["admin"])); d != "" {
			t.Errorf("NY mismatch (-want +got):\n%s", d)
		}
		e.clock.Add(24 * time.Hour) // sessions idle out: sign in again
		staff := with(bearer(e.phoneSignIn(w.staff.Phone)), []string{"X-Clinic", "alpha"})
		if d := cmp.Diff([]string{current.ID}, ids("?state=TX", staff)); d != "" {
			t.Errorf("TX tomorrow mismatch (-want +got):\n%s", d)
		}
		for _, q := range []string{"?state=ZZ", "?state=Texas", "?state=AE"} {
			if res := e.do("GET", "/api/v1/providers"+q, nil, staff...); res.Status != http.StatusUnprocessableEntity || res.field("state") == "" {
				t.Errorf("GET %s: %d %s, want 422 naming state", q, res.Status, res.Raw)
			}
		}
		for _, q := range []string{"?limit=0", "?limit=201", "?cursor=nope"} {
			if res := e.do("GET", "/api/v1/providers"+q, nil, staff...); res.Status != http.StatusUnprocessableEntity {
				t.Errorf("GET %s: %d %s, want 422", q, res.Status, res.Raw)
			}
		}
	})
}
