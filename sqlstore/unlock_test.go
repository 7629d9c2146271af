package sqlstore_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

var unlockCode = regexp.MustCompile(`unlock it: ([A-Za-z0-9_-]{43})`)

func TestUnlock(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		e := &lockEnv{db: db, notify: &memoryNotifier{}}
		e.setup(t)
		requestCode := func(t *testing.T, email string, meta eonpro.RequestMeta) string {
			t.Helper()
			before := len(e.notify.messages())
			if err := e.auth.RequestUnlock(ctx, email, meta); err != nil {
				t.Fatal(err)
			}
			e.auth.Wait()
			sent := e.notify.messages()[before:]
			if len(sent) == 0 {
				return ""
			}
			m := unlockCode.FindStringSubmatch(sent[0].Body)
			if len(sent) != 1 || sent[0].To != email || m == nil {
				t.Fatalf("unlock messages %+v, want one code to %s", sent, email)
			}
			return m[1]
		}

		if code := requestCode(t, "staff@alpha.test", fromPerson); code != "" {
			t.Error("a code was sent for an account that is not locked")
		}
		e.fail(t, "staff@alpha.test", 5, fromPerson)
		e.fail(t, "staff@alpha.test", 5, fromAttacker)
		if code := requestCode(t, "nobody@alpha.test", fromPerson); code != "" {
			t.Error("a code was sent for an unknown address")
		}
		code := requestCode(t, "staff@alpha.test", fromPerson)
		if code == "" {
			t.Fatal("no unlock code for the locked account")
		}
		for name, c := range map[string]struct{ email, code string }{
			"WrongCode":    {"staff@alpha.test", strings.Repeat("A", 43)},
			"OtherAccount": {"admin@alpha.test", code},
			"Unknown":      {"nobody@alpha.test", code},
		} {
			if err := e.auth.Unlock(ctx, c.email, c.code, fromAttacker); eonpro.ErrorCode(err) != eonpro.EUNAUTHN {
				t.Errorf("%s: %v, want unauthenticated", name, err)
			}
		}
		if err := e.auth.Unlock(ctx, "Staff@Alpha.test", code, fromPerson); err != nil {
			t.Fatalf("unlock: %v", err)
		}
		for _, meta := range []eonpro.RequestMeta{fromPerson, fromAttacker} {
			if code := e.login("staff@alpha.test", meta); code != "" {
				t.Errorf("after the unlock, from %s: %q, want a session", meta.IP, code)
			}
		}
		if err := e.auth.Unlock(ctx, "staff@alpha.test", code, fromPerson); eonpro.ErrorCode(err) != eonpro.EUNAUTHN {
			t.Errorf("second use of the code: %v, want unauthenticated", err)
		}
	})
}

// TestUnlockWrongCodeCounts: wrong unlock codes are failed sign-ins of the
// address they come from.
func TestUnlockWrongCodeCounts(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := &lockEnv{db: db, notify: &memoryNotifier{}}
		e.setup(t)
		for range 5 {
			if err := e.auth.Unlock(context.Background(), "staff@alpha.test", "guess", fromAttacker); eonpro.ErrorCode(err) != eonpro.EUNAUTHN {
				t.Fatalf("wrong code: %v, want unauthenticated", err)
			}
		}
		if code := e.login("staff@alpha.test", fromAttacker); code != eonpro.ERATELIMITED {
			t.Errorf("after 5 wrong codes: %q, want rate_limited", code)
		}
		if code := e.login("staff@alpha.test", fromPerson); code != "" {
			t.Errorf("from another address: %q, want a session", code)
		}
	})
}
