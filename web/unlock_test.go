package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
)

// unlockCode finds the code in an unlock e-mail.
var unlockCode = regexp.MustCompile(`unlock it: ([A-Za-z0-9_-]{43})`)

// The person signs in from the harness's own address; attackers from
// other loopback addresses.
const (
	attackerIP  = "127.0.0.2"
	attacker2IP = "127.0.0.3"
	attacker3IP = "127.0.0.4"
)

// failLogins signs in n times with a wrong password, expecting 401s.
func (e *idEnv) failLogins(email string, n int) {
	e.t.Helper()
	for i := range n {
		if res := e.postLogin(email, "wrong password number"); res.Status != http.StatusUnauthorized {
			e.t.Fatalf("failure %d for %s: %d %s, want 401", i+1, email, res.Status, res.Raw)
		}
	}
}

// TestLockoutPerAddress: failures from one address lock the account from
// that address only; the person signs in from theirs.
func TestLockoutPerAddress(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha")
		e.user("staff@alpha.test", false, "alpha", eonpro.RoleStaff)
		attacker := e.from(attackerIP)
		attacker.failLogins("staff@alpha.test", 5)
		if res := attacker.postLogin("staff@alpha.test", testPassword); res.Status != http.StatusTooManyRequests || res.errCode() != eonpro.ERATELIMITED {
			t.Errorf("from the failing address: %d %s, want 429", res.Status, res.Raw)
		}
		if res := e.postLogin("staff@alpha.test", testPassword); res.Status != http.StatusOK {
			t.Errorf("from the person's address: %d %s, want 200", res.Status, res.Raw)
		}
	})
}

var countOutbox = sqlstore.Stmt{Name: "test_count_outbox", SQL: `
SELECT count(*) FROM outbox WHERE recipient = $1`}

// messagesTo counts the messages sent to a recipient.
func (e *idEnv) messagesTo(to string) int {
	e.t.Helper()
	e.auth.Wait()
	var n int
	err := e.db.View(context.Background(), func(tx *sqlstore.Tx) error {
		return tx.QueryRow(context.Background(), countOutbox, to).Scan(&n)
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestLockoutAlertsOncePerWindow: three addresses locking one account
// within the window alert its admins once.
func TestLockoutAlertsOncePerWindow(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		alpha := e.clinic("alpha")
		e.user("admin@alpha.test", false, "alpha", eonpro.RoleAdmin)
		staff := e.user("staff@alpha.test", false, "alpha", eonpro.RoleStaff)
		for _, ip := range []string{attackerIP, attacker2IP, attacker3IP} {
			e.from(ip).failLogins("staff@alpha.test", 5)
		}
		locked := 0
		for _, r := range auditRows(t, e) {
			if r.action == string(eonpro.ActionLocked) && r.clinic == alpha.ID && r.actor == staff.ID {
				locked++
			}
		}
		if locked != 1 {
			t.Errorf("auth.locked events: %d, want 1", locked)
		}
		if n := e.messagesTo("admin@alpha.test"); n != 1 {
			t.Errorf("alerts to the admin: %d, want 1", n)
		}
	})
}

func TestUnlock(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha")
		e.user("staff@alpha.test", false, "alpha", eonpro.RoleStaff)
		e.user("other@alpha.test", false, "alpha", eonpro.RoleStaff)
		attacker := e.from(attackerIP)
		request := func(e *idEnv, email string) response {
			e.t.Helper()
			res := e.do("POST", "/api/v1/auth/unlock", map[string]string{"email": email})
			if res.Status != http.StatusAccepted {
				e.t.Fatalf("unlock request for %s: %d %s, want 202", email, res.Status, res.Raw)
			}
			return res
		}
		confirm := func(e *idEnv, email, code string) response {
			e.t.Helper()
			return e.do("POST", "/api/v1/auth/unlock/confirm", map[string]string{"email": email, "code": code})
		}

		t.Run("OK", func(t *testing.T) {
			e, attacker := e.under(t), attacker.under(t)
			notLocked := request(e, "other@alpha.test")
			e.failLogins("staff@alpha.test", 5)
			attacker.failLogins("staff@alpha.test", 5)
			known := request(e, "staff@alpha.test")
			unknown := request(e, "nobody@alpha.test")
			for name, res := range map[string]response{"unknown": unknown, "not locked": notLocked} {
				if diff := cmp.Diff(string(known.Raw), string(res.Raw)); diff != "" {
					t.Errorf("unlock answers differ (-locked +%s):\n%s", name, diff)
				}
			}
			e.noMessage("nobody@alpha.test")
			e.noMessage("other@alpha.test")
			code := e.sentCode("staff@alpha.test", unlockCode)
			if res := confirm(attacker, "staff@alpha.test", strings.Repeat("x", 43)); res.Status != http.StatusUnauthorized || res.errCode() != eonpro.EUNAUTHN {
				t.Errorf("a wrong code: %d %s, want 401", res.Status, res.Raw)
			}
			if res := confirm(attacker, "other@alpha.test", code); res.Status != http.StatusUnauthorized {
				t.Errorf("the code with another account: %d %s, want 401", res.Status, res.Raw)
			}
			if res := confirm(e, "staff@alpha.test", code); res.Status != http.StatusNoContent {
				t.Fatalf("unlock: %d %s, want 204", res.Status, res.Raw)
			}
			for name, from := range map[string]*idEnv{"person": e, "other address": attacker} {
				if res := from.postLogin("staff@alpha.test", testPassword); res.Status != http.StatusOK {
					t.Errorf("sign in after the unlock from the %s: %d %s, want 200", name, res.Status, res.Raw)
				}
			}
			if res := confirm(e, "staff@alpha.test", code); res.Status != http.StatusUnauthorized || res.errCode() != eonpro.EUNAUTHN {
				t.Errorf("second use of the code: %d %s, want 401", res.Status, res.Raw)
			}
		})

		t.Run("ErrBadInput", func(t *testing.T) {
			e := e.under(t)
			if res := e.do("POST", "/api/v1/auth/unlock", `{}`); res.Status != http.StatusUnprocessableEntity || res.field("email") == "" {
				t.Errorf("unlock without e-mail: %d %s, want 422 field email", res.Status, res.Raw)
			}
			if res := e.do("POST", "/api/v1/auth/unlock/confirm", `{}`); res.Status != http.StatusUnprocessableEntity || res.field("email") == "" || res.field("code") == "" {
				t.Errorf("confirm without fields: %d %s, want 422 naming email and code", res.Status, res.Raw)
			}
		})
	})
}

// TestUIUnlock: the sign-in page that answers "too many attempts" offers
// an unlock code; the code page unlocks and sends back to sign-in.
func TestUIUnlock(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *idEnv) {
		e.clinic("alpha")
		e.user("staff@alpha.test", false, "alpha", eonpro.RoleStaff)
		b := e.browserLike()
		wrong := url.Values{"email": {"staff@alpha.test"}, "password": {"not the password"}}
		for range 5 {
			b.send("POST", "/login", wrong)
		}
		p := b.send("POST", "/login", url.Values{"email": {"staff@alpha.test"}, "password": {testPassword}})
		if p.Status != http.StatusTooManyRequests || !strings.Contains(p.Body, `action="/unlock"`) || !strings.Contains(p.Body, "E-mail me an unlock code") {
			t.Fatalf("locked sign-in: %d %s", p.Status, p.Body)
		}
		if !strings.Contains(p.Body, `name="email" value="staff@alpha.test"`) {
			t.Errorf("the unlock form does not carry the e-mail: %s", p.Body)
		}
		p = b.send("POST", "/unlock", url.Values{"email": {"staff@alpha.test"}})
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `action="/unlock/confirm"`) || !strings.Contains(p.Body, "we have sent it a code") {
			t.Fatalf("unlock request: %d %s", p.Status, p.Body)
		}
		if unknown := b.send("POST", "/unlock", url.Values{"email": {"nobody@alpha.test"}}); withoutRequestIDs(strings.ReplaceAll(unknown.Body, "nobody@", "staff@")) != withoutRequestIDs(p.Body) {
			t.Errorf("the unlock page differs for an unknown e-mail:\n%s\n---\n%s", unknown.Body, p.Body)
		}
		code := e.sentCode("staff@alpha.test", unlockCode)
		if p := b.send("POST", "/unlock/confirm", url.Values{"email": {"staff@alpha.test"}, "code": {"wrong"}}); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "The code is wrong, used or has expired.") {
			t.Errorf("a wrong code: %d %s", p.Status, p.Body)
		}
		if p := b.get("/unlock/confirm?token=" + code); p.Status != http.StatusOK || !strings.Contains(p.Body, `value="`+code+`"`) {
			t.Errorf("the e-mail's link: %d %s", p.Status, p.Body)
		}
		p = b.send("POST", "/unlock/confirm", url.Values{"email": {"staff@alpha.test"}, "code": {code}})
		if p.Status != http.StatusSeeOther || p.Location != "/login?unlocked=1" {
			t.Fatalf("unlock: %d %q %s", p.Status, p.Location, p.Body)
		}
		if p := b.get(p.Location); p.Status != http.StatusOK || !strings.Contains(p.Body, "Your account is unlocked.") {
			t.Errorf("sign-in after the unlock: %d %s", p.Status, p.Body)
		}
		b.signIn("staff@alpha.test")
		if p := b.send("POST", "/unlock/confirm", url.Values{"email": {"staff@alpha.test"}, "code": {code}}); p.Status != http.StatusUnprocessableEntity {
			t.Errorf("second use of the code: %d", p.Status)
		}
		if p := e.browserLike().get("/unlock"); p.Status != http.StatusOK || !strings.Contains(p.Body, `action="/unlock"`) {
			t.Errorf("GET /unlock: %d %s", p.Status, p.Body)
		}
	})
}
