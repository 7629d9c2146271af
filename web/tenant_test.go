package web

import (
	"context"
	"net/http"
	"testing"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
)

// TestClinicResolution checks where the clinic of a request comes from: a
// custom domain, then a subdomain of the base domain (eonpro.test), then
// X-Clinic (slug or id), then the eonpro_clinic cookie.
func TestClinicResolution(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		for _, slug := range []string{"alpha", "beta", "gamma", "delta"} {
			e.clinic(slug)
		}
		// alpha owns a domain of its own and, to show that custom domains
		// come first, the host that would otherwise be delta's subdomain.
		domains := []string{"portal.alpha-health.example", "delta.eonpro.test"}
		if _, err := sqlstore.NewClinicService(e.db).UpdateClinic(context.Background(), e.clinics["alpha"].ID,
			eonpro.ClinicUpdate{Domains: &domains}); err != nil {
			t.Fatal(err)
		}
		u := e.user("staff@eonpro.test", false, "alpha", eonpro.RoleStaff)
		for _, slug := range []string{"beta", "gamma", "delta"} {
			if err := sqlstore.NewUserService(e.db, e.notify, nil).AddMembership(context.Background(), u.ID,
				e.clinics[slug].ID, eonpro.RoleStaff); err != nil {
				t.Fatal(err)
			}
		}
		tok := e.login(u.Email)
		host := func(h string) []string { return []string{"Host", h} }
		header := func(ref string) []string { return []string{"X-Clinic", ref} }
		clinicCk := func(ref string) []string { return []string{"Cookie", clinicCookie + "=" + ref} }
		for _, tc := range []struct {
			name string
			hdr  []string
			want string // slug, or "" for 404
		}{
			{"CustomDomain", host("portal.alpha-health.example"), "alpha"},
			{"CustomDomainAnyCaseAndPort", host("Portal.Alpha-Health.example:8443"), "alpha"},
			{"Subdomain", host("beta.eonpro.test"), "beta"},
			{"SubdomainWithPort", host("beta.eonpro.test:443"), "beta"},
			{"HeaderSlug", header("gamma"), "gamma"},
			{"HeaderID", header(e.clinics["gamma"].ID), "gamma"},
			{"Cookie", clinicCk("delta"), "delta"},
			{"CookieID", clinicCk(e.clinics["delta"].ID), "delta"},
			{"DomainBeatsSubdomain", host("delta.eonpro.test"), "alpha"},
			{"DomainBeatsHeader", with(host("portal.alpha-health.example"), header("gamma")), "alpha"},
			{"SubdomainBeatsHeader", with(host("beta.eonpro.test"), header("gamma")), "beta"},
			{"SubdomainBeatsCookie", with(host("beta.eonpro.test"), clinicCk("delta")), "beta"},
			{"HeaderBeatsCookie", with(header("gamma"), clinicCk("delta")), "gamma"},
			// A host that is neither a clinic's domain nor a subdomain (the
			// API's own name, a nested subdomain) names no clinic.
			{"OtherHostThenHeader", with(host("api.example.org"), header("gamma")), "gamma"},
			{"NestedSubdomainThenHeader", with(host("x.beta.eonpro.test"), header("gamma")), "gamma"},
			{"ErrUnknownSubdomain", host("nowhere.eonpro.test"), ""},
			{"ErrUnknownSlug", header("nowhere"), ""},
			{"ErrUnknownID", header(eonpro.NewID()), ""},
			{"ErrUnknownCookie", clinicCk("nowhere"), ""},
			{"ErrUnknownHeaderBeforeCookie", with(header("nowhere"), clinicCk("delta")), ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := e.forTest(t)
				res := e.do("GET", "/api/v1/clinic", nil, with(bearer(tok), tc.hdr)...)
				switch {
				case tc.want == "" && (res.Status != http.StatusNotFound || res.errCode() != eonpro.ENOTFOUND):
					t.Errorf("%d %s, want 404", res.Status, res.Raw)
				case tc.want != "" && (res.Status != http.StatusOK || res.Body["slug"] != tc.want):
					t.Errorf("%d %s, want %s", res.Status, res.Raw, tc.want)
				}
				// Routes that need no clinic resolve it the same way.
				me := e.do("GET", "/api/v1/me", nil, with(bearer(tok), tc.hdr)...)
				if tc.want != "" && me.Body["clinic_id"] != e.clinics[tc.want].ID {
					t.Errorf("GET /api/v1/me: %d %s, want clinic %s", me.Status, me.Raw, tc.want)
				}
			})
		}
	})
}
