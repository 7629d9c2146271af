package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
)

// actor is a row of the isolation matrix: someone signed in (or not).
type actor struct {
	name  string
	role  eonpro.Role // in alpha and in the suspended gamma; "" for none
	super bool
	user  *eonpro.User // nil when anonymous
	token string
}

// place is how a request names its clinic, seen from the matrix users,
// who are members of alpha and of the suspended gamma.
type place struct {
	name string
	hdr  []string
}

var places = []place{
	{"own clinic", []string{"X-Clinic", "alpha"}},
	{"other clinic", []string{"X-Clinic", "beta"}},
	// A clinic that does not exist answers exactly as another clinic.
	{"missing clinic", []string{"X-Clinic", "nowhere"}},
	// The matrix users have two clinics, so naming none is no clinic:
	// a user with exactly one falls back to it (TestIsolation/Fallback).
	{"no clinic", nil},
	{"suspended clinic", []string{"X-Clinic", "gamma"}},
}

// outcome is what a matrix cell must answer: exactly status, or (reached)
// any answer showing the request got past access control to its handler.
type outcome struct {
	reached bool
	status  int
}

func (o outcome) String() string {
	if o.reached {
		return "2xx, 400, 404 or 422"
	}
	return fmt.Sprint(o.status)
}

func (o outcome) match(status int) bool {
	if !o.reached {
		return status == o.status
	}
	return status/100 == 2 || status == 400 || status == 404 || status == 422
}

var (
	reached   = outcome{reached: true}
	forbidden = outcome{status: http.StatusForbidden}
	notFound  = outcome{status: http.StatusNotFound}
)

func reachedIf(ok bool) outcome {
	if ok {
		return reached
	}
	return forbidden
}

// expect derives a cell's outcome from the route's permission and the
// role table alone, so new routes join the matrix as they are added.
func expect(perm eonpro.Permission, a *actor, pl place) outcome {
	switch {
	case perm == eonpro.PermPublic:
		return reached
	case a.user == nil:
		return outcome{status: http.StatusUnauthorized}
	case perm == eonpro.PermSelf || perm == eonpro.PermEnroll:
		return reached
	case perm == eonpro.PermPlatformAdmin:
		return reachedIf(a.super)
	case pl.name == "no clinic":
		return outcome{status: http.StatusBadRequest}
	case pl.name == "suspended clinic":
		return forbidden
	case a.super && pl.name == "missing clinic":
		return notFound
	case a.super: // enters any active clinic as its admin
		return reachedIf(eonpro.RoleAdmin.Has(perm))
	case pl.name == "other clinic" || pl.name == "missing clinic":
		return notFound
	}
	return reachedIf(a.role.Has(perm))
}

// isoWorld is the seeded platform of the isolation tests: clinics alpha
// and beta, gamma (suspended), one alpha member per role (also members of
// gamma), a super admin with no clinic, and beta's admin.
type isoWorld struct {
	e         *idEnv
	actors    []*actor
	betaAdmin *eonpro.User
	betaToken string
}

func (w *isoWorld) actor(name string) *actor {
	for _, a := range w.actors {
		if a.name == name {
			return a
		}
	}
	panic("no actor " + name)
}

func seedIsolation(e *idEnv) *isoWorld {
	e.t.Helper()
	e.clinic("alpha")
	e.clinic("beta")
	gamma := e.clinic("gamma")
	w := &isoWorld{e: e, actors: []*actor{{name: "anonymous"}}}
	for i, r := range eonpro.Roles {
		a := &actor{name: string(r), role: r}
		a.user = e.userWithPhone(string(r)+"@alpha.test", fmt.Sprintf("+1512555010%d", i), false, r, "alpha", "gamma")
		w.actors = append(w.actors, a)
	}
	sa := &actor{name: "super_admin", super: true}
	sa.user = e.userWithPhone("root@eonpro.test", "+15125550199", true, "")
	w.actors = append(w.actors, sa)
	w.betaAdmin = e.userWithPhone("admin@beta.test", "+15125550198", false, eonpro.RoleAdmin, "beta")
	e.patientRecord("alpha", w.actor("patient").user.ID, "Pat", "Alpha") // GET /api/v1/me/patient answers 200
	suspend := eonpro.ClinicSuspended
	if _, err := sqlstore.NewClinicService(e.db).UpdateClinic(context.Background(), gamma.ID,
		eonpro.ClinicUpdate{Status: &suspend}); err != nil {
		e.t.Fatal(err)
	}
	// Once each, by phone code: sessions like any other, without the cost
	// of a password hash (one is spent per user on creation already).
	for _, a := range w.actors[1:] {
		a.token = e.phoneSignIn(a.user.Phone)
	}
	w.betaToken = e.phoneSignIn(w.betaAdmin.Phone)
	return w
}

// userWithPhone creates a user as the system with a phone (for cheap
// sign-ins by code) and the role in each clinic named by slug.
func (e *idEnv) userWithPhone(email, phone string, superAdmin bool, role eonpro.Role, slugs ...string) *eonpro.User {
	e.t.Helper()
	ctx := context.Background()
	svc := sqlstore.NewUserService(e.db, e.notify, nil)
	u, err := svc.CreateUser(ctx, eonpro.NewUser{Email: email, Password: testPassword, Phone: phone, SuperAdmin: superAdmin})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, slug := range slugs {
		if err := svc.AddMembership(ctx, u.ID, e.clinics[slug].ID, role); err != nil {
			e.t.Fatal(err)
		}
	}
	e.users[email] = u
	return u
}

var smsCode = regexp.MustCompile(`code is ([0-9]{6})\.`)

// phoneSignIn starts a new session with a phone code: no password hash,
// so cheap enough to sign in often (and to replace a session a route
// ended).
func (e *idEnv) phoneSignIn(phone string) string {
	e.t.Helper()
	if res := e.do("POST", "/api/v1/auth/otp/send", map[string]string{"phone": phone}); res.Status != http.StatusAccepted {
		e.t.Fatalf("send code: %d %s", res.Status, res.Raw)
	}
	m := smsCode.FindStringSubmatch(e.lastMessage(phone).Body)
	if m == nil {
		e.t.Fatalf("no code in the SMS to %s", phone)
	}
	res := e.do("POST", "/api/v1/auth/otp/verify", map[string]string{"phone": phone, "code": m[1]})
	tok, _ := res.Body["token"].(string)
	if tok == "" {
		e.t.Fatalf("verify code: %d %s", res.Status, res.Raw)
	}
	return tok
}

// forTest returns e reporting to t (a subtest) instead of its own test.
func (e *idEnv) forTest(t *testing.T) *idEnv {
	c := *e
	c.t = t
	return &c
}

var pathValue = regexp.MustCompile(`\{[a-z_]+\}`)

// TestIsolation checks tenant isolation on a seeded platform; see
// isoWorld. The matrix runs first; the cases after it only read, or
// write where the matrix is done.
func TestIsolation(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		w := seedIsolation(e)
		t.Run("Matrix", func(t *testing.T) { w.matrix(t) })
		t.Run("ErrOtherClinicMember", func(t *testing.T) { w.otherClinicMember(t) })
		t.Run("ErrClientSetsClinic", func(t *testing.T) { w.clientSetsClinic(t) })
		t.Run("ErrAPIKeyOtherClinic", func(t *testing.T) { w.apiKeyOtherClinic(t) })
		t.Run("SuperAdminEntersClinic", func(t *testing.T) { w.superAdminEnters(t) })
		t.Run("ErrNotMember", func(t *testing.T) { w.notMember(t) })
		t.Run("Fallback", func(t *testing.T) { w.fallback(t) })
		t.Run("ErrOtherClinicDocument", func(t *testing.T) { w.otherClinicDocument(t) })
	})
}

// matrix sends every /api/v1 route as every actor in every place, with a
// random id for path values and an empty JSON object as the body of
// unsafe methods, and checks each answer against expect. The cells that
// reach a route's handler all send it the same request, so they must all
// get the same answer (200 for a GET without path values): an error from
// access control cannot pass for one from validation.
func (w *isoWorld) matrix(t *testing.T) {
	s := NewServer(Config{})
	routes := apiRoutes(s)
	for _, route := range routes {
		method, path, _ := strings.Cut(route, " ")
		t.Run(route, func(t *testing.T) {
			e := w.e.forTest(t)
			handled := 0 // the answer of the cells that reached the handler
			if method == http.MethodGet && !strings.Contains(path, "{") {
				handled = http.StatusOK
			}
			for _, a := range w.actors {
				for _, pl := range places {
					res := w.send(e, a, method, path, pl)
					want := expect(s.perms[route], a, pl)
					switch {
					case !want.match(res.Status):
						t.Errorf("%s in %s: %d %s, want %s", a.name, pl.name, res.Status, res.Raw, want)
					case want.reached && handled == 0:
						handled = res.Status
					case want.reached && res.Status != handled:
						t.Errorf("%s in %s: %d %s, want %d like the other cells that reached the handler",
							a.name, pl.name, res.Status, res.Raw, handled)
					}
				}
			}
		})
	}
	t.Logf("%d cells: %d routes × %d actors × %d places", len(routes)*len(w.actors)*len(places),
		len(routes), len(w.actors), len(places))
}

// send makes one matrix request. When an unsafe request succeeded and
// ended the actor's session (sign-out), the actor signs in again.
func (w *isoWorld) send(e *idEnv, a *actor, method, path string, pl place) response {
	e.t.Helper()
	path = pathValue.ReplaceAllStringFunc(path, func(string) string { return eonpro.NewID() })
	hdr := append([]string{}, pl.hdr...)
	if a.token != "" {
		hdr = append(hdr, bearer(a.token)...)
	}
	var body any
	if method != http.MethodGet {
		body = "{}"
	}
	res := e.do(method, path, body, hdr...)
	if a.token != "" && method != http.MethodGet && res.Status/100 == 2 &&
		e.do("GET", "/api/v1/me", nil, bearer(a.token)...).Status == http.StatusUnauthorized {
		a.token = e.phoneSignIn(a.user.Phone)
	}
	return res
}

// sameAnswer fails unless two answers are the same status and the same
// bytes apart from the request id.
func sameAnswer(t *testing.T, what string, got, want response) {
	t.Helper()
	blank := func(r response) string {
		id, _ := r.Body["request_id"].(string)
		if id == "" {
			return string(r.Raw)
		}
		return strings.ReplaceAll(string(r.Raw), id, "")
	}
	if got.Status != want.Status || blank(got) != blank(want) {
		t.Errorf("%s: %d %s\nwant as missing: %d %s", what, got.Status, got.Raw, want.Status, want.Raw)
	}
}

// otherClinicMember: beta's admin, seen from alpha, is a missing member.
func (w *isoWorld) otherClinicMember(t *testing.T) {
	e := w.e.forTest(t)
	hdr := with(bearer(w.actor("admin").token), []string{"X-Clinic", "alpha"})
	for _, tc := range []struct {
		method string
		body   any
	}{
		{"PATCH", map[string]string{"role": "staff"}},
		{"DELETE", nil},
	} {
		other := e.do(tc.method, "/api/v1/clinic/members/"+w.betaAdmin.ID, tc.body, hdr...)
		missing := e.do(tc.method, "/api/v1/clinic/members/"+eonpro.NewID(), tc.body, hdr...)
		if missing.Status != http.StatusNotFound {
			t.Errorf("%s a missing member: %d %s, want 404", tc.method, missing.Status, missing.Raw)
		}
		sameAnswer(t, tc.method+" beta's admin", other, missing)
	}
	res := e.do("GET", "/api/v1/clinic/members", nil, bearer(w.betaToken)...)
	if res.Status != http.StatusOK || !strings.Contains(string(res.Raw), `"role":"admin"`) {
		t.Errorf("beta's admin after alpha's attempts: %d %s", res.Status, res.Raw)
	}
}

// clientSetsClinic: bodies cannot carry the clinic, a role or an owner
// where the route does not take them.
func (w *isoWorld) clientSetsClinic(t *testing.T) {
	e := w.e.forTest(t)
	beta := e.clinics["beta"].ID
	provider := w.actor("provider").user.ID
	admin := with(bearer(w.actor("admin").token), []string{"X-Clinic", "alpha"})
	for _, tc := range []struct {
		method, path string
		body         map[string]any
		field        string
	}{
		{"PATCH", "/api/v1/clinic", map[string]any{"name": "Taken", "clinic_id": beta}, "clinic_id"},
		{"PATCH", "/api/v1/clinic", map[string]any{"id": beta}, "id"},
		{"PATCH", "/api/v1/clinic", map[string]any{"slug": "beta"}, "slug"},
		{"PATCH", "/api/v1/clinic", map[string]any{"role": "admin"}, "role"},
		{"POST", "/api/v1/clinic/members", map[string]any{"email": "new@alpha.test", "role": "staff", "clinic_id": beta}, "clinic_id"},
		{"POST", "/api/v1/clinic/members", map[string]any{"email": "new@alpha.test", "role": "staff", "user_id": provider}, "user_id"},
		{"PATCH", "/api/v1/clinic/members/" + provider, map[string]any{"role": "admin", "clinic_id": beta}, "clinic_id"},
		{"POST", "/api/v1/api-keys", map[string]any{"name": "k", "permissions": []string{"clinic:read"}, "clinic_id": beta}, "clinic_id"},
		{"POST", "/api/v1/api-keys", map[string]any{"name": "k", "permissions": []string{"clinic:read"}, "created_by": provider}, "created_by"},
		{"POST", "/api/v1/me/password", map[string]any{"current_password": testPassword, "new_password": "x", "user_id": provider}, "user_id"},
		{"POST", "/api/v1/auth/login", map[string]any{"email": "admin@alpha.test", "password": testPassword, "role": "admin"}, "role"},
		{"POST", "/api/v1/auth/login", map[string]any{"email": "admin@alpha.test", "password": testPassword, "clinic_id": beta}, "clinic_id"},
	} {
		res := e.do(tc.method, tc.path, tc.body, admin...)
		if res.Status != http.StatusUnprocessableEntity || res.field(tc.field) != "is not a known field" {
			t.Errorf("%s %s with %s: %d %s, want 400 naming it", tc.method, tc.path, tc.field, res.Status, res.Raw)
		}
	}
	res := e.do("GET", "/api/v1/clinic/members", nil, admin...)
	if !strings.Contains(string(res.Raw), `"user_id":"`+provider+`","role":"provider"`) ||
		strings.Contains(string(res.Raw), "new@alpha.test") {
		t.Errorf("members changed: %s", res.Raw)
	}
}

// apiKeyOtherClinic: an alpha key works in alpha only, however the
// request names the clinic (any other answers as a missing clinic), and
// beta cannot see or revoke it.
func (w *isoWorld) apiKeyOtherClinic(t *testing.T) {
	e := w.e.forTest(t)
	res := e.do("POST", "/api/v1/api-keys", map[string]any{"name": "sync", "permissions": []string{"clinic:read", "members:read"}},
		with(bearer(w.actor("admin").token), []string{"X-Clinic", "alpha"})...)
	key, _ := res.Body["key"].(string)
	keyID, _ := res.Body["id"].(string)
	if res.Status != http.StatusCreated || key == "" {
		t.Fatalf("create key: %d %s", res.Status, res.Raw)
	}
	beta := e.clinics["beta"]
	for _, tc := range []struct {
		name string
		hdr  []string
		want int
	}{
		{"no clinic named", nil, http.StatusOK},
		{"own clinic", []string{"X-Clinic", "alpha"}, http.StatusOK},
		{"other clinic by slug", []string{"X-Clinic", "beta"}, http.StatusNotFound},
		{"other clinic by id", []string{"X-Clinic", beta.ID}, http.StatusNotFound},
		{"other clinic by subdomain", []string{"Host", "beta.eonpro.test"}, http.StatusNotFound},
		{"other clinic by cookie", []string{"Cookie", clinicCookie + "=beta"}, http.StatusNotFound},
		{"suspended clinic", []string{"X-Clinic", "gamma"}, http.StatusNotFound},
	} {
		for _, path := range []string{"/api/v1/clinic", "/api/v1/clinic/members"} {
			res := e.do("GET", path, nil, with(bearer(key), tc.hdr)...)
			if res.Status != tc.want {
				t.Errorf("%s: GET %s: %d %s, want %d", tc.name, path, res.Status, res.Raw, tc.want)
			}
			if res.Status == http.StatusOK && strings.Contains(string(res.Raw), beta.ID) {
				t.Errorf("%s: GET %s shows beta: %s", tc.name, path, res.Raw)
			}
		}
	}
	for _, route := range []string{"POST /api/v1/clinic/members", "GET /api/v1/api-keys", "GET /api/v1/admin/clinics"} {
		method, path, _ := strings.Cut(route, " ")
		if res := e.do(method, path, "{}", bearer(key)...); res.Status != http.StatusForbidden {
			t.Errorf("%s beyond the key's permissions: %d %s, want 403", route, res.Status, res.Raw)
		}
	}
	other := e.do("DELETE", "/api/v1/api-keys/"+keyID, nil, bearer(w.betaToken)...)
	missing := e.do("DELETE", "/api/v1/api-keys/"+eonpro.NewID(), nil, bearer(w.betaToken)...)
	sameAnswer(t, "beta revokes alpha's key", other, missing)
	if res := e.do("GET", "/api/v1/api-keys", nil, bearer(w.betaToken)...); strings.Contains(string(res.Raw), keyID) {
		t.Errorf("beta lists alpha's key: %s", res.Raw)
	}
	if res := e.do("GET", "/api/v1/clinic", nil, bearer(key)...); res.Status != http.StatusOK {
		t.Errorf("key after beta's attempt: %d %s", res.Status, res.Raw)
	}
}

// logRecords returns the server's log records with message msg.
func (e *idEnv) logRecords(msg string) []map[string]any {
	e.t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(e.log.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			e.t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// loggedFor reports whether a record of msg names the user and clinic.
func (e *idEnv) loggedFor(msg, userID, clinicID string) bool {
	e.t.Helper()
	for _, rec := range e.logRecords(msg) {
		if rec["user_id"] == userID && rec["clinic_id"] == clinicID && rec["request_id"] != "" {
			return true
		}
	}
	return false
}

// superAdminEnters: a super admin uses clinic routes of clinics they do
// not belong to, and each entry is logged.
func (w *isoWorld) superAdminEnters(t *testing.T) {
	e := w.e.forTest(t)
	sa := w.actor("super_admin")
	for _, slug := range []string{"alpha", "beta"} {
		res := e.do("GET", "/api/v1/clinic/members", nil, with(bearer(sa.token), []string{"X-Clinic", slug})...)
		if res.Status != http.StatusOK {
			t.Errorf("super admin in %s: %d %s", slug, res.Status, res.Raw)
		}
		if !e.loggedFor("super admin entered clinic", sa.user.ID, e.clinics[slug].ID) {
			t.Errorf("no 'super admin entered clinic' record for %s:\n%s", slug, e.log.String())
		}
	}
}

// notMember: a member of beta gets in alpha the answer of a clinic that
// does not exist (issue 10 #8), and the attempt is logged by ids.
func (w *isoWorld) notMember(t *testing.T) {
	e := w.e.forTest(t)
	res := e.do("GET", "/api/v1/clinic", nil, with(bearer(w.betaToken), []string{"X-Clinic", "alpha"})...)
	if res.Status != http.StatusNotFound || res.errCode() != eonpro.ENOTFOUND {
		t.Errorf("beta's admin in alpha: %d %s, want 404", res.Status, res.Raw)
	}
	missing := e.do("GET", "/api/v1/clinic", nil, with(bearer(w.betaToken), []string{"X-Clinic", "no-such-clinic"})...)
	sameAnswer(t, "beta's admin in alpha", res, missing)
	if !e.loggedFor("access denied: not a member", w.betaAdmin.ID, e.clinics["alpha"].ID) {
		t.Errorf("no 'access denied' record:\n%s", e.log.String())
	}
	for _, rec := range e.logRecords("access denied: not a member") {
		if b, _ := json.Marshal(rec); strings.Contains(string(b), "@") {
			t.Errorf("access denied record carries an e-mail: %s", b)
		}
	}
}

// fallback: a user with exactly one clinic who names none is in it.
func (w *isoWorld) fallback(t *testing.T) {
	e := w.e.forTest(t)
	tok := w.betaToken
	if res := e.do("GET", "/api/v1/clinic", nil, bearer(tok)...); res.Status != http.StatusOK || res.Body["slug"] != "beta" {
		t.Errorf("GET /api/v1/clinic naming none: %d %s, want beta", res.Status, res.Raw)
	}
	res := e.do("GET", "/api/v1/me", nil, bearer(tok)...)
	if res.Body["clinic_id"] != e.clinics["beta"].ID || res.Body["role"] != "admin" {
		t.Errorf("GET /api/v1/me naming none: %s, want beta as admin", res.Raw)
	}
}
