package web

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
	"github.com/pquerna/otp/totp"
)

// browserLike is a cookie-keeping client that does not follow redirects,
// so tests see each 303.
type browserLike struct {
	e   *idEnv
	c   *http.Client
	jar *cookiejar.Jar
}

func (e *idEnv) browserLike() *browserLike {
	jar, _ := cookiejar.New(nil)
	return &browserLike{e: e, jar: jar, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// pageAnswer is the answer to a page request.
type pageAnswer struct {
	Status   int
	Header   http.Header
	Body     string
	Location string
}

func (b *browserLike) send(method, path string, form url.Values) pageAnswer {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.srv.URL+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return pageAnswer{Status: res.StatusCode, Header: res.Header, Body: string(raw), Location: res.Header.Get("Location")}
}

func (b *browserLike) get(path string) pageAnswer { return b.send("GET", path, nil) }

// post submits a form with the session's CSRF token added.
func (b *browserLike) post(path string, form url.Values) pageAnswer {
	if form == nil {
		form = url.Values{}
	}
	if form.Get("csrf") == "" {
		form.Set("csrf", b.csrf())
	}
	return b.send("POST", path, form)
}

// csrf is the form token of the client's session ("" without one).
func (b *browserLike) csrf() string {
	u, _ := url.Parse(b.e.srv.URL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == sessionCookiePlain {
			return csrfTokenFor(c.Value)
		}
	}
	return ""
}

// signIn signs in through the sign-in form; it fails the test unless a
// session results.
func (b *browserLike) signIn(email string) pageAnswer {
	b.e.t.Helper()
	p := b.send("POST", "/login", url.Values{"email": {email}, "password": {testPassword}})
	if p.Status != http.StatusSeeOther || b.csrf() == "" {
		b.e.t.Fatalf("sign in %s: %d %s", email, p.Status, p.Body)
	}
	return p
}

var requestIDAttr = regexp.MustCompile(`[0-9a-f]{32}`)

// withoutRequestIDs blanks the request ids of a page, to compare pages.
func withoutRequestIDs(s string) string { return requestIDAttr.ReplaceAllString(s, "<id>") }

func TestUITemplatesParse(t *testing.T) {
	tm, err := parseTemplates()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"login", "mfa", "clinics", "dashboard", "error", "welcome"} {
		if tm[name] == nil || tm[name].Lookup("layout") == nil || tm[name].Lookup("content") == nil {
			t.Errorf("page %s: missing or without layout and content", name)
		}
	}
}

func TestUILocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/patients?q=a": "/patients?q=a", "": "/", "//evil.test/x": "/", "https://evil.test": "/",
		"/\\evil.test": "/", "patients": "/", "/ok#frag": "/ok#frag",
	} {
		if got := localPath(in, "/"); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUISignIn(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha")
		e.clinic("beta")
		e.clinic("secure", eonpro.RoleStaff)
		e.user("staff@alpha.test", false, "alpha", eonpro.RoleStaff)
		two := e.user("two@alpha.test", false, "alpha", eonpro.RoleAdmin)
		if err := sqlstore.NewUserService(e.db, e.notify, nil).AddMembership(t.Context(), two.ID, e.clinics["beta"].ID, eonpro.RoleStaff); err != nil {
			t.Fatal(err)
		}
		e.user("mfa@secure.test", false, "secure", eonpro.RoleStaff)

		t.Run("LoginPage", func(t *testing.T) {
			p := e.browserLike().get("/login")
			if p.Status != 200 || !strings.Contains(p.Body, `<label for="email">`) || !strings.Contains(p.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
				t.Errorf("%d %v %s", p.Status, p.Header, p.Body)
			}
		})
		t.Run("AnonymousIsSentToSignIn", func(t *testing.T) {
			p := e.browserLike().get("/clinics?next=%2Fx")
			if p.Status != http.StatusSeeOther || p.Location != "/login?next="+url.QueryEscape("/clinics?next=%2Fx") {
				t.Errorf("%d %q", p.Status, p.Location)
			}
		})
		t.Run("ErrWrongPassword", func(t *testing.T) {
			b := e.browserLike()
			wrong := b.send("POST", "/login", url.Values{"email": {"staff@alpha.test"}, "password": {"nope"}})
			unknown := b.send("POST", "/login", url.Values{"email": {"nobody@alpha.test"}, "password": {"nope"}})
			if wrong.Status != 401 || !strings.Contains(wrong.Body, "The e-mail or password is not right.") || b.csrf() != "" {
				t.Errorf("wrong password: %d %s", wrong.Status, wrong.Body)
			}
			// The same page for an unknown e-mail, but the e-mail typed.
			if withoutRequestIDs(strings.ReplaceAll(unknown.Body, "nobody@", "staff@")) != withoutRequestIDs(wrong.Body) {
				t.Errorf("unknown e-mail page differs:\n%s\n---\n%s", unknown.Body, wrong.Body)
			}
			if p := b.send("POST", "/login", url.Values{"email": {"staff@alpha.test"}}); p.Status != 422 {
				t.Errorf("no password: %d", p.Status)
			}
		})
		t.Run("SignInAndOut", func(t *testing.T) {
			b := e.browserLike()
			if p := b.signIn("staff@alpha.test"); p.Location != "/" {
				t.Errorf("to %q", p.Location)
			}
			home := b.get("/")
			if home.Status != 200 || !strings.Contains(home.Body, "Dashboard") || !strings.Contains(home.Body, "Alpha Clinic") {
				t.Fatalf("home: %d %s", home.Status, home.Body)
			}
			if out := b.post("/logout", nil); out.Status != http.StatusSeeOther || out.Location != "/login" {
				t.Errorf("logout: %d %q", out.Status, out.Location)
			}
			if p := b.get("/"); p.Status != http.StatusSeeOther {
				t.Errorf("after logout: %d", p.Status)
			}
		})
		t.Run("Next", func(t *testing.T) {
			b := e.browserLike()
			p := b.send("POST", "/login", url.Values{"email": {"staff@alpha.test"}, "password": {testPassword}, "next": {"//evil.test/"}})
			if p.Location != "/" {
				t.Errorf("an off-site next: %q", p.Location)
			}
			b = e.browserLike()
			p = b.send("POST", "/login", url.Values{"email": {"staff@alpha.test"}, "password": {testPassword}, "next": {"/providers"}})
			if p.Location != "/providers" {
				t.Errorf("next: %q", p.Location)
			}
		})
		t.Run("ErrCSRF", func(t *testing.T) {
			b := e.browserLike()
			b.signIn("staff@alpha.test")
			if p := b.post("/logout", url.Values{"csrf": {"forged"}}); p.Status != 403 {
				t.Errorf("forged token: %d", p.Status)
			}
			// A cross-site form post is refused before the handler.
			req, _ := http.NewRequest("POST", e.srv.URL+"/logout", strings.NewReader("csrf="+b.csrf()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			res, err := b.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 403 {
				t.Errorf("cross-site: %d", res.StatusCode)
			}
			if p := b.get("/"); p.Status != 200 {
				t.Errorf("the session must survive both: %d", p.Status)
			}
		})
		t.Run("ClinicChooser", func(t *testing.T) {
			b := e.browserLike()
			p := b.signIn("two@alpha.test")
			if !strings.HasPrefix(p.Location, "/clinics") {
				t.Fatalf("to %q, want the chooser", p.Location)
			}
			ch := b.get(p.Location)
			if ch.Status != 200 || !strings.Contains(ch.Body, "Alpha Clinic") || !strings.Contains(ch.Body, "Beta Clinic") {
				t.Fatalf("chooser: %d %s", ch.Status, ch.Body)
			}
			if bad := b.post("/clinics", url.Values{"clinic": {e.clinics["secure"].ID}}); bad.Status != 422 {
				t.Errorf("a clinic not theirs: %d", bad.Status)
			}
			if ok := b.post("/clinics", url.Values{"clinic": {e.clinics["beta"].ID}, "next": {"/"}}); ok.Status != http.StatusSeeOther || ok.Location != "/" {
				t.Fatalf("choose: %d %q", ok.Status, ok.Location)
			}
			if home := b.get("/"); !strings.Contains(home.Body, "Beta Clinic") || !strings.Contains(home.Body, "(staff)") {
				t.Errorf("home after choosing beta: %s", home.Body)
			}
		})
		t.Run("TwoFactor", func(t *testing.T) {
			secret, _ := e.enrolTOTP(e.login("mfa@secure.test"))
			b := e.browserLike()
			p := b.send("POST", "/login", url.Values{"email": {"mfa@secure.test"}, "password": {testPassword}})
			m := regexp.MustCompile(`name="mfa_token" value="([^"]+)"`).FindStringSubmatch(p.Body)
			if p.Status != 200 || m == nil || b.csrf() != "" {
				t.Fatalf("first step: %d %s", p.Status, p.Body)
			}
			bad := b.send("POST", "/login/mfa", url.Values{"mfa_token": {m[1]}, "code": {"000000"}})
			if bad.Status != 401 || !strings.Contains(bad.Body, "That code is not right") || b.csrf() != "" {
				t.Errorf("wrong code: %d %s", bad.Status, bad.Body)
			}
			code, err := totp.GenerateCode(secret, e.clock.Now().Add(30e9))
			if err != nil {
				t.Fatal(err)
			}
			ok := b.send("POST", "/login/mfa", url.Values{"mfa_token": {m[1]}, "code": {code}})
			if ok.Status != http.StatusSeeOther || b.csrf() == "" {
				t.Fatalf("right code: %d %s", ok.Status, ok.Body)
			}
		})
		t.Run("NotFoundPagesAlike", func(t *testing.T) {
			b := e.browserLike()
			b.signIn("staff@alpha.test")
			p := b.get("/no/such/page")
			if p.Status != 404 || !strings.Contains(p.Body, notFoundMessage) || !strings.Contains(p.Body, "Sign out") {
				t.Errorf("%d %s", p.Status, p.Body)
			}
			if api := b.get("/api/v1/nothing"); api.Status != 404 || !strings.HasPrefix(api.Body, `{"error"`) {
				t.Errorf("API paths answer JSON: %d %s", api.Status, api.Body)
			}
			anon := e.browserLike().get("/no/such/page")
			if anon.Status != 404 || !strings.Contains(anon.Body, notFoundMessage) || strings.Contains(anon.Body, "Sign out") {
				t.Errorf("signed out: %d %s", anon.Status, anon.Body)
			}
		})
		t.Run("ForbiddenInLayout", func(t *testing.T) {
			b := e.browserLike()
			b.signIn("staff@alpha.test")
			p := b.get("/admin/settings")
			if p.Status != 403 || !strings.Contains(p.Body, "Not allowed") || !strings.Contains(p.Body, "Sign out") ||
				!strings.Contains(p.Body, "Request ") {
				t.Errorf("%d %s", p.Status, p.Body)
			}
		})
		t.Run("BrandCSS", func(t *testing.T) {
			color := "#0f766e"
			css := "main{max-width:60rem}"
			br := eonpro.Branding{PrimaryColor: color, CustomCSS: css}
			ctx := eonpro.NewContextWithPrincipal(t.Context(), &eonpro.Principal{ClinicID: e.clinics["alpha"].ID,
				Role: eonpro.RoleAdmin, Permissions: eonpro.RolePermissions[eonpro.RoleAdmin]})
			if _, err := sqlstore.NewClinicService(e.db).UpdateClinic(ctx, e.clinics["alpha"].ID, eonpro.ClinicUpdate{Branding: &br}); err != nil {
				t.Fatal(err)
			}
			res := e.do("GET", "/brand.css", nil, "X-Clinic", "alpha")
			if res.Status != 200 || string(res.Raw) != ":root{--brand:"+color+";}\n"+css || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") {
				t.Errorf("%d %q %v", res.Status, res.Raw, res.Header)
			}
			if none := e.do("GET", "/brand.css", nil); none.Status != 200 || len(none.Raw) != 0 {
				t.Errorf("without a clinic: %d %q", none.Status, none.Raw)
			}
			// A signed-in person of one clinic gets theirs with no clinic named.
			b := e.browserLike()
			b.signIn("staff@alpha.test")
			if got := b.get("/brand.css"); got.Status != 200 || got.Body != ":root{--brand:"+color+";}\n"+css {
				t.Errorf("signed in: %d %q", got.Status, got.Body)
			}
		})
	})
}

// TestUISignInRateLimit: showing the sign-in page is free; each form sent
// counts in the strict tier per IP and route, as the API's sign-in does.
func TestUISignInRateLimit(t *testing.T) {
	for _, engine := range sqltest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			big := eonpro.Rate{Count: 100000, Period: time.Minute}
			e := newIDEnv(t, engine, Rates{Strict: eonpro.Rate{Count: 2, Period: time.Minute}, Standard: big, Relaxed: big})
			e.clinic("alpha")
			e.user("staff@alpha.test", false, "alpha", eonpro.RoleStaff)
			b := e.browserLike()
			for range 5 {
				if p := b.get("/login"); p.Status != http.StatusOK {
					t.Fatalf("GET /login: %d", p.Status)
				}
			}
			wrong := url.Values{"email": {"staff@alpha.test"}, "password": {"not the password"}}
			for i := range 2 {
				if p := b.send("POST", "/login", wrong); p.Status != http.StatusUnauthorized {
					t.Fatalf("attempt %d: %d", i+1, p.Status)
				}
			}
			if p := b.send("POST", "/login", wrong); p.Status != http.StatusTooManyRequests || p.Header.Get("Retry-After") == "" {
				t.Errorf("third attempt: %d %v", p.Status, p.Header)
			}
			// Another public form has its own count.
			if p := b.send("POST", "/forgot", url.Values{"email": {"staff@alpha.test"}}); p.Status != http.StatusSeeOther {
				t.Errorf("forgot after the sign-in limit: %d", p.Status)
			}
		})
	}
}
