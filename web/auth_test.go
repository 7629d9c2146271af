package web

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/inmem"
	"github.com/eonpro/eonpro/sqlstore"
)

// under returns e reporting to the subtest t, so that its helpers fail
// the subtest and not the engine's test.
func (e *idEnv) under(t *testing.T) *idEnv {
	c := *e
	c.t = t
	return &c
}

// postLogin signs in with an e-mail and password and returns the answer.
func (e *idEnv) postLogin(email, pw string, hdr ...string) response {
	e.t.Helper()
	return e.do("POST", "/api/v1/auth/login", map[string]string{"email": email, "password": pw}, hdr...)
}

// sessionOf signs in and returns the bearer token and session cookie.
func (e *idEnv) sessionOf(email, pw string) (string, *http.Cookie) {
	e.t.Helper()
	res := e.postLogin(email, pw)
	tok, _ := res.Body["token"].(string)
	ck := setCookie(res, sessionCookiePlain)
	if res.Status != http.StatusOK || tok == "" || ck == nil {
		e.t.Fatalf("login %s: %d %s", email, res.Status, res.Raw)
	}
	return tok, ck
}

// status sends a request and returns only its status.
func (e *idEnv) status(method, path string, hdr ...string) int {
	e.t.Helper()
	return e.do(method, path, nil, hdr...).Status
}

// setCookie returns the cookie called name that res sets, or nil.
func setCookie(res response, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: res.Header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// cookie returns the request header pair that sends c.
func cookie(c *http.Cookie) []string { return []string{"Cookie", c.Name + "=" + c.Value} }

var requestIDField = regexp.MustCompile(`"request_id":"[^"]*"`)

// withoutRequestID blanks the request id of an error body, the one part
// that differs between two otherwise identical answers.
func withoutRequestID(raw []byte) string {
	return requestIDField.ReplaceAllString(string(raw), `"request_id":""`)
}

// sentCode returns the code in the newest message to a recipient.
func (e *idEnv) sentCode(to string, re *regexp.Regexp) string {
	e.t.Helper()
	m := re.FindStringSubmatch(e.lastMessage(to).Body)
	if m == nil {
		e.t.Fatalf("no code in the message to %s", to)
	}
	return m[1]
}

// noMessage fails unless nothing was ever sent to a recipient.
func (e *idEnv) noMessage(to string) {
	e.t.Helper()
	e.auth.Wait()
	if _, err := e.notify.LatestMessage(context.Background(), to); eonpro.ErrorCode(err) != eonpro.ENOTFOUND {
		e.t.Errorf("a message went to %s (err %v), want none", to, err)
	}
}

// decode unmarshals a JSON answer into v.
func decode(t *testing.T, res response, v any) {
	t.Helper()
	if err := json.Unmarshal(res.Raw, v); err != nil {
		t.Fatalf("decode %s: %v", res.Raw, err)
	}
}

// secureEnv is e served by a second server with SecureCookies on, as in
// production: same database, services and clock.
func secureEnv(e *idEnv) *idEnv {
	e.t.Helper()
	auth, err := sqlstore.NewAuthService(e.db, e.notify, []byte(strings.Repeat("s", 32)))
	if err != nil {
		e.t.Fatal(err)
	}
	big := eonpro.Rate{Count: 100000, Period: time.Minute}
	s := NewServer(Config{
		Auth: auth, Clinics: sqlstore.NewClinicService(e.db), Users: sqlstore.NewUserService(e.db, e.notify, auth),
		Limiter: inmem.NewRateLimiter(e.clock.Now, 0), Rates: Rates{Strict: big, Standard: big, Relaxed: big},
		SecureCookies: true,
	})
	s.SetReady(true)
	srv := httptest.NewServer(s)
	e.t.Cleanup(srv.Close)
	c := *e
	c.srv = srv
	return &c
}

// cookieAttrs are the security-relevant attributes of a cookie.
type cookieAttrs struct {
	Name, Path, Domain string
	HttpOnly, Secure   bool
	SameSite           http.SameSite
	Expired            bool
}

func attrsOf(c *http.Cookie) cookieAttrs {
	if c == nil {
		return cookieAttrs{}
	}
	return cookieAttrs{Name: c.Name, Path: c.Path, Domain: c.Domain, HttpOnly: c.HttpOnly, Secure: c.Secure,
		SameSite: c.SameSite, Expired: c.MaxAge < 0}
}

// loginBody is the answer to a sign-in.
type loginBody struct {
	User struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	} `json:"user"`
	Memberships []struct {
		ClinicSlug string      `json:"clinic_slug"`
		Role       eonpro.Role `json:"role"`
	} `json:"memberships"`
	Token                 string     `json:"token"`
	ExpiresAt             *time.Time `json:"expires_at"`
	MFARequired           bool       `json:"mfa_required"`
	MFAToken              string     `json:"mfa_token"`
	MFAEnrollmentRequired bool       `json:"mfa_enrollment_required"`
}

func TestLogin(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha")
		u := e.user("admin@alpha.test", false, "alpha", eonpro.RoleAdmin)

		t.Run("OK", func(t *testing.T) {
			e := e.under(t)
			res := e.postLogin("  Admin@Alpha.TEST ", testPassword)
			if res.Status != http.StatusOK {
				t.Fatalf("login: %d %s", res.Status, res.Raw)
			}
			var got loginBody
			decode(t, res, &got)
			if got.User.ID != u.ID || got.User.Email != "admin@alpha.test" {
				t.Errorf("user = %+v, want %s", got.User, u.ID)
			}
			if len(got.Memberships) != 1 || got.Memberships[0].ClinicSlug != "alpha" || got.Memberships[0].Role != eonpro.RoleAdmin {
				t.Errorf("memberships = %+v, want admin of alpha", got.Memberships)
			}
			if strings.Count(got.Token, ".") != 2 {
				t.Errorf("token %q is not a JWT", got.Token)
			}
			if want := e.clock.Now().Add(15 * time.Minute); got.ExpiresAt == nil || !got.ExpiresAt.Equal(want) {
				t.Errorf("expires_at = %v, want %v", got.ExpiresAt, want)
			}
			if got.MFARequired || got.MFAToken != "" || got.MFAEnrollmentRequired {
				t.Errorf("unexpected 2FA state in %s", res.Raw)
			}
			if strings.Contains(string(res.Raw), "argon2") {
				t.Errorf("the answer holds a password hash: %s", res.Raw)
			}
			ck := setCookie(res, sessionCookiePlain)
			want := cookieAttrs{Name: "eonpro_session", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}
			if diff := cmp.Diff(want, attrsOf(ck)); diff != "" {
				t.Errorf("session cookie mismatch (-want +got):\n%s", diff)
			}
			if ck == nil || ck.Value == "" || strings.Contains(got.Token, ck.Value) {
				t.Errorf("session cookie value %v must be set and differ from the token", ck)
			}
		})

		t.Run("ErrWrongPasswordLikeUnknownEmail", func(t *testing.T) {
			e := e.under(t)
			wrong := e.postLogin("admin@alpha.test", "not the password at all")
			unknown := e.postLogin("nobody@alpha.test", "not the password at all")
			if wrong.Status != http.StatusUnauthorized || wrong.errCode() != eonpro.EUNAUTHN {
				t.Errorf("wrong password: %d %s, want 401 unauthenticated", wrong.Status, wrong.Raw)
			}
			if diff := cmp.Diff(withoutRequestID(wrong.Raw), withoutRequestID(unknown.Raw)); diff != "" || unknown.Status != wrong.Status {
				t.Errorf("unknown e-mail answers %d, wrong password %d; body mismatch (-wrong +unknown):\n%s", unknown.Status, wrong.Status, diff)
			}
			for _, res := range []response{wrong, unknown} {
				if res.Header.Get("Set-Cookie") != "" {
					t.Errorf("a failed login set a cookie: %s", res.Header.Get("Set-Cookie"))
				}
			}
		})

		t.Run("ErrBadInput", func(t *testing.T) {
			for _, tc := range []struct {
				name, body string
				status     int
				fields     []string
			}{
				{"Malformed", `{"email":`, 400, nil},
				{"Empty", ``, 400, nil},
				{"NotAnObject", `["admin@alpha.test"]`, 400, nil},
				{"Trailing", `{"email":"a@b.test","password":"x"} {}`, 400, nil},
				{"UnknownField", `{"email":"admin@alpha.test","password":"x","remember_me":true}`, 422, []string{"remember_me"}},
				{"WrongType", `{"email":"admin@alpha.test","password":12}`, 400, []string{"password"}},
				{"Missing", `{}`, 422, []string{"email", "password"}},
				{"MissingPassword", `{"email":"admin@alpha.test"}`, 422, []string{"password"}},
				{"MissingEmail", `{"password":"x"}`, 422, []string{"email"}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					res := e.under(t).do("POST", "/api/v1/auth/login", tc.body)
					wantCode := map[int]string{400: eonpro.EBADREQUEST, 422: eonpro.EINVALID}[tc.status]
					if res.Status != tc.status || res.errCode() != wantCode {
						t.Errorf("got %d %s, want %d %s", res.Status, res.Raw, tc.status, wantCode)
					}
					for _, f := range tc.fields {
						if res.field(f) == "" {
							t.Errorf("field %s not named in %s", f, res.Raw)
						}
					}
					if setCookie(res, sessionCookiePlain) != nil {
						t.Error("bad input set a session cookie")
					}
				})
			}
		})
	})
}

// TestLoginSecureCookie: with SecureCookies the cookie is
// __Host-eonpro_session, Secure, host-only, on path /.
func TestLoginSecureCookie(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha")
		e.user("admin@alpha.test", false, "alpha", eonpro.RoleAdmin)
		se := secureEnv(e)
		res := se.postLogin("admin@alpha.test", testPassword)
		ck := setCookie(res, "__Host-eonpro_session")
		want := cookieAttrs{Name: "__Host-eonpro_session", Path: "/", HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode}
		if diff := cmp.Diff(want, attrsOf(ck)); diff != "" {
			t.Fatalf("session cookie mismatch (-want +got):\n%s", diff)
		}
		if setCookie(res, sessionCookiePlain) != nil {
			t.Error("the plain cookie was set as well")
		}
		if s := se.status("GET", "/api/v1/me", cookie(ck)...); s != http.StatusOK {
			t.Errorf("GET /me with the __Host- cookie: %d, want 200", s)
		}
		plain := &http.Cookie{Name: sessionCookiePlain, Value: ck.Value}
		if s := se.status("GET", "/api/v1/me", cookie(plain)...); s != http.StatusUnauthorized {
			t.Errorf("GET /me with the unprefixed cookie: %d, want 401", s)
		}
		out := se.do("POST", "/api/v1/auth/logout", nil, cookie(ck)...)
		want.Expired = true
		if diff := cmp.Diff(want, attrsOf(setCookie(out, "__Host-eonpro_session"))); out.Status != http.StatusNoContent || diff != "" {
			t.Errorf("logout: %d; cleared cookie mismatch (-want +got):\n%s", out.Status, diff)
		}
	})
}

// TestLockout: five failures for one e-mail within 15 minutes lock it for
// the rest of the window, the same way whether or not the account exists.
func TestLockout(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha")
		for _, u := range []string{"locked@alpha.test", "reset@alpha.test", "slide@alpha.test", "bystander@alpha.test"} {
			e.user(u, false, "alpha", eonpro.RoleStaff)
		}
		fail := func(e *idEnv, email string, n int) {
			e.t.Helper()
			for i := range n {
				if res := e.postLogin(email, "wrong password number"); res.Status != http.StatusUnauthorized {
					e.t.Fatalf("failure %d for %s: %d %s, want 401", i+1, email, res.Status, res.Raw)
				}
			}
		}
		lockedOut := func(t *testing.T, res response, retryAfter string) {
			t.Helper()
			if res.Status != http.StatusTooManyRequests || res.errCode() != eonpro.ERATELIMITED || res.Header.Get("Retry-After") != retryAfter {
				t.Errorf("got %d %s Retry-After %q, want 429 rate_limited Retry-After %s", res.Status, res.Raw, res.Header.Get("Retry-After"), retryAfter)
			}
		}

		t.Run("OK", func(t *testing.T) {
			e := e.under(t)
			start := e.clock.Now()
			fail(e, "locked@alpha.test", 3)
			fail(e, "LOCKED@Alpha.test", 2) // the same account, however spelled
			known := e.postLogin("locked@alpha.test", testPassword)
			lockedOut(t, known, "900")
			fail(e, "ghost@alpha.test", 5)
			unknown := e.postLogin("ghost@alpha.test", testPassword)
			lockedOut(t, unknown, "900")
			if diff := cmp.Diff(withoutRequestID(known.Raw), withoutRequestID(unknown.Raw)); diff != "" {
				t.Errorf("locked known and unknown e-mails answer differently (-known +unknown):\n%s", diff)
			}
			if tok := e.login("bystander@alpha.test"); tok == "" {
				t.Error("another account was locked too")
			}
			e.clock.Add(14 * time.Minute)
			lockedOut(t, e.postLogin("locked@alpha.test", testPassword), "60")
			e.clock.Add(time.Minute)
			if e.clock.Now().Sub(start) != 15*time.Minute {
				t.Fatal("clock drifted")
			}
			if res := e.postLogin("locked@alpha.test", testPassword); res.Status != http.StatusOK {
				t.Errorf("after 15 minutes: %d %s, want 200", res.Status, res.Raw)
			}
		})

		t.Run("SuccessResets", func(t *testing.T) {
			e := e.under(t)
			fail(e, "reset@alpha.test", 4)
			e.login("reset@alpha.test")
			fail(e, "reset@alpha.test", 4)
			e.login("reset@alpha.test")
		})

		t.Run("WindowSlides", func(t *testing.T) {
			e := e.under(t)
			for range 5 {
				fail(e, "slide@alpha.test", 1)
				e.clock.Add(time.Minute)
			}
			// The oldest failure, five minutes ago, leaves the window in ten.
			lockedOut(t, e.postLogin("slide@alpha.test", testPassword), "600")
			e.clock.Add(10 * time.Minute)
			if res := e.postLogin("slide@alpha.test", testPassword); res.Status != http.StatusOK {
				t.Errorf("with four failures in the window: %d %s, want 200", res.Status, res.Raw)
			}
		})
	})
}

// forge returns a token for a real session signed with the wrong key, and
// one that claims no signature at all.
func forge(t *testing.T, userID, sessionID string, now time.Time) (wrongKey, unsigned string) {
	t.Helper()
	c := jwt.MapClaims{"iss": "eonpro", "sub": userID, "sid": sessionID, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	wrongKey, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	unsigned, err = jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return wrongKey, unsigned
}

// signWithServerKey signs claims with the test server's own JWT key, derived
// from the test secret as the auth service derives it.
func signWithServerKey(t *testing.T, userID, sessionID string, now time.Time) string {
	t.Helper()
	key, err := hkdf.Key(sha256.New, []byte(strings.Repeat("s", 32)), nil, "eonpro jwt v1", 32)
	if err != nil {
		t.Fatal(err)
	}
	c := jwt.MapClaims{"iss": "eonpro", "sub": userID, "sid": sessionID, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestBearerToken(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha")
		u := e.user("admin@alpha.test", false, "alpha", eonpro.RoleAdmin)
		tok, ck := e.sessionOf("admin@alpha.test", testPassword)

		t.Run("OK", func(t *testing.T) {
			res := e.under(t).do("GET", "/api/v1/me", nil, bearer(tok)...)
			if res.Status != http.StatusOK || res.Body["user_id"] != u.ID || res.Body["role"] != "admin" {
				t.Errorf("GET /me: %d %s", res.Status, res.Raw)
			}
		})

		t.Run("ErrTampered", func(t *testing.T) {
			e := e.under(t)
			parts := strings.Split(tok, ".")
			flip := func(s string, i int) string {
				b := []byte(s)
				if b[i] == 'A' {
					b[i] = 'B'
				} else {
					b[i] = 'A'
				}
				return string(b)
			}
			wrongKey, unsigned := forge(t, u.ID, e.currentSessionID(tok), e.clock.Now())
			for name, bad := range map[string]string{
				"Signature": parts[0] + "." + parts[1] + "." + flip(parts[2], 0),
				"Payload":   parts[0] + "." + flip(parts[1], len(parts[1])/2) + "." + parts[2],
				"NoSig":     parts[0] + "." + parts[1] + ".",
				"WrongKey":  wrongKey,
				"AlgNone":   unsigned,
				"Garbage":   "not-a-token",
			} {
				res := e.do("GET", "/api/v1/me", nil, bearer(bad)...)
				if res.Status != http.StatusUnauthorized || res.errCode() != eonpro.EUNAUTHN {
					t.Errorf("%s: %d %s, want 401 unauthenticated", name, res.Status, res.Raw)
				}
			}
			if s := e.status("GET", "/api/v1/me"); s != http.StatusUnauthorized {
				t.Errorf("no credential: %d, want 401", s)
			}
		})

		t.Run("ErrSubjectMismatch", func(t *testing.T) {
			e := e.under(t)
			sid := e.currentSessionID(tok)
			if res := e.do("GET", "/api/v1/me", nil, bearer(signWithServerKey(t, u.ID, sid, e.clock.Now()))...); res.Status != http.StatusOK {
				t.Fatalf("a well-formed token of the session's user: %d %s, want 200", res.Status, res.Raw)
			}
			other := e.user("other@alpha.test", false, "alpha", eonpro.RoleStaff)
			res := e.do("GET", "/api/v1/me", nil, bearer(signWithServerKey(t, other.ID, sid, e.clock.Now()))...)
			garbage := e.do("GET", "/api/v1/me", nil, bearer("not-a-token")...)
			if res.Status != http.StatusUnauthorized || res.errCode() != eonpro.EUNAUTHN {
				t.Errorf("another user's sub on the session: %d %s, want 401 unauthenticated", res.Status, res.Raw)
			}
			if diff := cmp.Diff(withoutRequestID(garbage.Raw), withoutRequestID(res.Raw)); diff != "" {
				t.Errorf("the mismatch answers unlike an invalid token (-invalid +mismatch):\n%s", diff)
			}
		})

		t.Run("ErrExpired", func(t *testing.T) {
			e := e.under(t)
			// The cookie keeps the session alive; only the token expires.
			e.clock.Add(8 * time.Minute)
			if s := e.status("GET", "/api/v1/me", cookie(ck)...); s != http.StatusOK {
				t.Fatalf("cookie at 8 min: %d", s)
			}
			e.clock.Add(8 * time.Minute)
			if s := e.status("GET", "/api/v1/me", bearer(tok)...); s != http.StatusUnauthorized {
				t.Errorf("token at 16 min: %d, want 401", s)
			}
			if s := e.status("GET", "/api/v1/me", cookie(ck)...); s != http.StatusOK {
				t.Errorf("cookie at 16 min: %d, want 200 (the session is live)", s)
			}
		})
	})
}

func TestRefresh(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha")
		e.user("admin@alpha.test", false, "alpha", eonpro.RoleAdmin)
		tok, ck := e.sessionOf("admin@alpha.test", testPassword)
		e.clock.Add(10 * time.Minute)
		res := e.do("POST", "/api/v1/auth/refresh", nil, bearer(tok)...)
		var got loginBody
		decode(t, res, &got)
		if res.Status != http.StatusOK || got.Token == "" || got.Token == tok {
			t.Fatalf("refresh: %d %s", res.Status, res.Raw)
		}
		if want := e.clock.Now().Add(15 * time.Minute); got.ExpiresAt == nil || !got.ExpiresAt.Equal(want) {
			t.Errorf("expires_at = %v, want %v", got.ExpiresAt, want)
		}
		if res.Header.Get("Set-Cookie") != "" {
			t.Errorf("refresh set a cookie: %s", res.Header.Get("Set-Cookie"))
		}
		e.clock.Add(10 * time.Minute) // the first token is dead, the new one not
		if s := e.status("GET", "/api/v1/me", bearer(tok)...); s != http.StatusUnauthorized {
			t.Errorf("old token at 20 min: %d, want 401", s)
		}
		if s := e.status("GET", "/api/v1/me", bearer(got.Token)...); s != http.StatusOK {
			t.Errorf("new token: %d, want 200", s)
		}
		if res := e.do("POST", "/api/v1/auth/refresh", nil, cookie(ck)...); res.Status != http.StatusOK || res.Body["token"] == nil {
			t.Errorf("refresh with the cookie: %d %s", res.Status, res.Raw)
		}
		if s := e.status("POST", "/api/v1/auth/refresh"); s != http.StatusUnauthorized {
			t.Errorf("refresh without a session: %d, want 401", s)
		}
	})
}

// TestNULBytes: PostgreSQL text cannot hold NUL; input carrying one gets a
// 4xx on both engines, never a 500.
func TestNULBytes(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha")
		e.user("admin@alpha.test", false, "alpha", eonpro.RoleAdmin)
		tok := e.login("admin@alpha.test")
		for _, c := range []struct {
			method, path string
			body         any
			hdr          []string
		}{
			{"POST", "/api/v1/auth/login", `{"email":"a\u0000@alpha.test","password":"x"}`, nil},
			{"POST", "/api/v1/auth/password/forgot", `{"email":"a\u0000@alpha.test"}`, nil},
			{"POST", "/api/v1/api-keys", `{"name":"k\u0000","permissions":["clinic:read"]}`, bearer(tok)},
			{"DELETE", "/api/v1/me/sessions/a%00b", nil, bearer(tok)},
			{"DELETE", "/api/v1/api-keys/a%00b", nil, bearer(tok)},
		} {
			res := e.do(c.method, c.path, c.body, c.hdr...)
			if res.Status < 400 || res.Status >= 500 {
				t.Errorf("%s %s: %d %s", c.method, c.path, res.Status, res.Raw)
			}
		}
	})
}
