package web

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/eonpro/eonpro"
)

var update = flag.Bool("update", false, "rewrite docs/permissions.md from the role table and the routes")

// pseudoPermission is a permission no role grants, and who holds it.
type pseudoPermission struct {
	perm eonpro.Permission
	who  string
}

// pseudoPermissions need no role: who holds them is decided by
// authorize, not by eonpro.RolePermissions.
var pseudoPermissions = []pseudoPermission{
	{eonpro.PermPublic, "anyone, signed in or not"},
	{eonpro.PermSelf, "any signed-in user, about themselves, in any clinic or none"},
	{eonpro.PermEnroll, "any signed-in user, including one whose session is limited to enrolling in 2FA"},
	{eonpro.PermPlatformAdmin, "super admins only, signed in with a session (never an API key)"},
}

func isPseudo(p eonpro.Permission) bool {
	return slices.ContainsFunc(pseudoPermissions, func(pp pseudoPermission) bool { return pp.perm == p })
}

// routeTable returns every registered "METHOD /path" pattern, sorted by
// path and then method. It reads s.methods, which every registration
// goes through, so routes registered without a permission show up too.
func routeTable(s *Server) []string {
	var out []string
	for path, methods := range s.methods {
		for _, m := range methods {
			out = append(out, m+" "+path)
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		am, ap, _ := strings.Cut(a, " ")
		bm, bp, _ := strings.Cut(b, " ")
		if c := strings.Compare(ap, bp); c != 0 {
			return c
		}
		return strings.Compare(am, bm)
	})
	return out
}

// apiRoutes is the part of routeTable under /api/v1.
func apiRoutes(s *Server) []string {
	return slices.DeleteFunc(routeTable(s), func(r string) bool {
		_, path, _ := strings.Cut(r, " ")
		return !strings.HasPrefix(path, "/api/v1/")
	})
}

// TestRoutePermissions walks the router: every /api/v1 route declares a
// permission, and every declared permission is a pseudo permission or
// one that some role grants (else no one could ever call the route).
func TestRoutePermissions(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		s := NewServer(Config{})
		if len(apiRoutes(s)) == 0 {
			t.Fatal("no /api/v1 routes registered")
		}
		for _, p := range routeProblems(s) {
			t.Error(p)
		}
	})
	t.Run("ErrUndeclared", func(t *testing.T) {
		s := NewServer(Config{})
		s.handle("GET /api/v1/unguarded", func(http.ResponseWriter, *http.Request) error { return nil })
		s.route("GET /api/v1/ungranted", "patients:delete", func(http.ResponseWriter, *http.Request) error { return nil })
		want := []string{
			"GET /api/v1/unguarded declares no permission: register it with Server.route",
			`GET /api/v1/ungranted declares "patients:delete", which no role grants`,
		}
		if got := routeProblems(s); !slices.Equal(got, want) {
			t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// routeProblems lists what is wrong with the permissions of s's routes.
func routeProblems(s *Server) []string {
	var out []string
	granted := eonpro.ClinicPermissions()
	for _, route := range apiRoutes(s) {
		if _, ok := s.perms[route]; !ok {
			out = append(out, route+" declares no permission: register it with Server.route")
		}
	}
	for _, route := range routeTable(s) {
		perm, ok := s.perms[route]
		if ok && !isPseudo(perm) && !slices.Contains(granted, perm) {
			out = append(out, fmt.Sprintf("%s declares %q, which no role grants", route, perm))
		}
	}
	for route := range s.perms {
		method, path, _ := strings.Cut(route, " ")
		if !slices.Contains(s.methods[path], method) {
			out = append(out, route+" has a permission but is not registered")
		}
	}
	return out
}

// TestPermissionsDoc keeps docs/permissions.md in step with
// eonpro.RolePermissions and the routes. Run with -update to rewrite it.
func TestPermissionsDoc(t *testing.T) {
	want := permissionsDoc(NewServer(Config{}))
	const path = "../docs/permissions.md"
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("docs/permissions.md is out of date; run go test ./web -run TestPermissionsDoc -update")
	}
}

func permissionsDoc(s *Server) string {
	var b strings.Builder
	b.WriteString(`# Roles and permissions

This file is generated from ` + "`eonpro.RolePermissions`" + ` (permission.go) and the routes of
` + "`web.Server`" + ` by ` + "`go test ./web -run TestPermissionsDoc -update`" + `; do not edit it by hand.

A user has one role in each clinic they belong to, and the role grants permissions
in that clinic only. The clinic of a request comes from, in order, a custom domain,
a subdomain of ` + "`EONPRO_BASE_DOMAIN`" + `, the ` + "`X-Clinic`" + ` header (slug or id), or the
` + "`eonpro_clinic`" + ` cookie; a user who belongs to exactly one clinic and names none is in
that one. On a route that needs a clinic permission:

- no clinic named (and not exactly one membership): 400;
- an unknown clinic: 404;
- a clinic the user is not a member of: 403, logged as ` + "`access denied`" + `;
- a suspended clinic: 403;
- a role without the permission: 403.

A super admin (a platform-wide flag on the user, not a role) may enter any active
clinic with the permissions of ` + "`admin`" + `; each entry is logged as
` + "`super admin entered clinic`" + `. An API key belongs to one clinic and holds the
permissions it was created with, narrowed to what its creator's role there still grants.

## Roles

`)
	b.WriteString("| permission |")
	for _, r := range eonpro.Roles {
		fmt.Fprintf(&b, " %s |", r)
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(eonpro.Roles)) + "\n")
	for _, p := range eonpro.ClinicPermissions() {
		fmt.Fprintf(&b, "| `%s` |", p)
		for _, r := range eonpro.Roles {
			mark := ""
			if r.Has(p) {
				mark = "✓"
			}
			fmt.Fprintf(&b, " %s |", mark)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n## Permissions that need no role\n\n| permission | who |\n|---|---|\n")
	for _, pp := range pseudoPermissions {
		fmt.Fprintf(&b, "| `%s` | %s |\n", pp.perm, pp.who)
	}
	b.WriteString("\n## Routes\n\n")
	b.WriteString("Routes marked — are outside the API and its permission check (`/metrics`\n")
	b.WriteString("belongs on an internal network, see operations.md).\n\n")
	b.WriteString("| route | permission |\n|---|---|\n")
	for _, route := range routeTable(s) {
		perm := "—"
		if p, ok := s.perms[route]; ok {
			perm = "`" + string(p) + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s |\n", route, perm)
	}
	return b.String()
}
