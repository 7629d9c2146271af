package web

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

// testRates are low enough to reach in a few requests.
var testRates = Rates{
	Strict:   eonpro.Rate{Count: 5, Period: 15 * time.Minute},
	Standard: eonpro.Rate{Count: 3, Period: time.Minute},
	Relaxed:  eonpro.Rate{Count: 4, Period: time.Minute},
}

// eachEngineLimited is eachEngine with testRates.
func eachEngineLimited(t *testing.T, fn func(t *testing.T, e *idEnv)) {
	for _, engine := range sqltest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) { fn(t, newIDEnv(t, engine, testRates)) })
	}
}

// checkLimited fails unless res is within the limit with remaining
// requests left, or (remaining < 0) a 429 that says when to come back.
func checkLimited(t *testing.T, what string, res response, limit, remaining int) {
	t.Helper()
	header := func(name string) int {
		n, err := strconv.Atoi(res.Header.Get(name))
		if err != nil {
			t.Errorf("%s: %s header %q", what, name, res.Header.Get(name))
		}
		return n
	}
	if got := header("RateLimit-Limit"); got != limit {
		t.Errorf("%s: RateLimit-Limit %d, want %d", what, got, limit)
	}
	if got, want := header("RateLimit-Remaining"), max(remaining, 0); got != want {
		t.Errorf("%s: RateLimit-Remaining %d, want %d", what, got, want)
	}
	if header("RateLimit-Reset") <= 0 {
		t.Errorf("%s: RateLimit-Reset %q, want seconds", what, res.Header.Get("RateLimit-Reset"))
	}
	switch {
	case remaining >= 0 && res.Status == http.StatusTooManyRequests:
		t.Errorf("%s: 429 %s, want within the limit", what, res.Raw)
	case remaining < 0 && (res.Status != http.StatusTooManyRequests || res.errCode() != eonpro.ERATELIMITED):
		t.Errorf("%s: %d %s, want 429", what, res.Status, res.Raw)
	case remaining < 0 && header("Retry-After") <= 0:
		t.Errorf("%s: Retry-After %q, want seconds", what, res.Header.Get("Retry-After"))
	}
}

// TestRateLimitStrict: the sixth sign-in attempt from one address within
// 15 minutes is refused, whatever the account, until the wait is over.
func TestRateLimitStrict(t *testing.T) {
	eachEngineLimited(t, func(t *testing.T, e *idEnv) {
		for i := range 5 {
			// Empty credentials: counted, but no password hash spent.
			res := e.do("POST", "/api/v1/auth/login", map[string]string{})
			checkLimited(t, "attempt "+strconv.Itoa(i+1), res, 5, 4-i)
		}
		res := e.do("POST", "/api/v1/auth/login", map[string]string{"email": "someone@alpha.test", "password": testPassword})
		checkLimited(t, "attempt 6", res, 5, -1)
		wait, _ := strconv.Atoi(res.Header.Get("Retry-After"))
		e.clock.Add(time.Duration(wait)*time.Second - time.Second)
		checkLimited(t, "a second early", e.do("POST", "/api/v1/auth/login", map[string]string{}), 5, -1)
		e.clock.Add(time.Second)
		if res := e.do("POST", "/api/v1/auth/login", map[string]string{}); res.Status != http.StatusUnprocessableEntity {
			t.Errorf("after Retry-After: %d %s, want 422", res.Status, res.Raw)
		}
	})
}

// TestRateLimitStandard: the authenticated API is counted per user and
// per API key, each with a budget of its own.
func TestRateLimitStandard(t *testing.T) {
	eachEngineLimited(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha")
		e.user("admin@alpha.test", false, "alpha", eonpro.RoleAdmin)
		e.user("staff@alpha.test", false, "alpha", eonpro.RoleStaff)
		admin, staff := bearer(e.login("admin@alpha.test")), bearer(e.login("staff@alpha.test"))

		res := e.do("POST", "/api/v1/api-keys", map[string]any{"name": "sync", "permissions": []string{"clinic:read"}}, admin...)
		key, _ := res.Body["key"].(string)
		if res.Status != http.StatusCreated {
			t.Fatalf("create key: %d %s", res.Status, res.Raw)
		}
		checkLimited(t, "admin 1", res, 3, 2)
		checkLimited(t, "admin 2", e.do("GET", "/api/v1/me", nil, admin...), 3, 1)
		checkLimited(t, "admin 3", e.do("GET", "/api/v1/clinic", nil, admin...), 3, 0)
		checkLimited(t, "admin 4", e.do("GET", "/api/v1/me", nil, admin...), 3, -1)
		for i := range 3 {
			checkLimited(t, "staff "+strconv.Itoa(i+1), e.do("GET", "/api/v1/me", nil, staff...), 3, 2-i)
			checkLimited(t, "key "+strconv.Itoa(i+1), e.do("GET", "/api/v1/clinic", nil, bearer(key)...), 3, 2-i)
		}
		checkLimited(t, "staff 4", e.do("GET", "/api/v1/me", nil, staff...), 3, -1)
		checkLimited(t, "key 4", e.do("GET", "/api/v1/clinic", nil, bearer(key)...), 3, -1)
		if res := e.do("GET", "/api/v1/me", nil); res.Status != http.StatusUnauthorized {
			t.Errorf("signed out: %d %s, want 401", res.Status, res.Raw)
		}
		e.clock.Add(time.Minute)
		checkLimited(t, "admin a minute later", e.do("GET", "/api/v1/me", nil, admin...), 3, 2)
	})
}

// TestRateLimitRelaxed: health reads are counted per address in the
// relaxed tier.
func TestRateLimitRelaxed(t *testing.T) {
	eachEngineLimited(t, func(t *testing.T, e *idEnv) {
		for i := range 4 {
			checkLimited(t, "health "+strconv.Itoa(i+1), e.do("GET", "/api/health", nil), 4, 3-i)
		}
		checkLimited(t, "health 5", e.do("GET", "/api/health", nil), 4, -1)
		e.clock.Add(time.Minute)
		checkLimited(t, "health a minute later", e.do("GET", "/api/health", nil), 4, 3)
	})
}
