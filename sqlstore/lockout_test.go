package sqlstore_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

const lockPassword = "correct horse battery staple"

// Source addresses of the lockout tests: the person, and attackers.
var (
	fromPerson   = eonpro.RequestMeta{IP: "198.51.100.7"}
	fromAttacker = eonpro.RequestMeta{IP: "203.0.113.9"}
)

// memoryNotifier keeps the messages it is given. With a gate, each send
// waits until the gate is closed.
type memoryNotifier struct {
	gate chan struct{}
	mu   sync.Mutex
	sent []eonpro.Message
}

func (n *memoryNotifier) Notify(_ context.Context, m eonpro.Message) error {
	if n.gate != nil {
		<-n.gate
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent = append(n.sent, m)
	return nil
}

func (n *memoryNotifier) messages() []eonpro.Message {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]eonpro.Message(nil), n.sent...)
}

// lockEnv is an auth service with one clinic, its admin and a staff user.
type lockEnv struct {
	db     *sqlstore.DB
	auth   *sqlstore.AuthService
	notify *memoryNotifier
	now    time.Time
	staff  *eonpro.User
}

func newLockEnv(t *testing.T, engine sqlstore.Engine, notify *memoryNotifier) *lockEnv {
	t.Helper()
	e := &lockEnv{notify: notify, now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	e.db = sqltest.Open(t, engine, func() time.Time { return e.now })
	e.setup(t)
	return e
}

func (e *lockEnv) setup(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	var err error
	if e.auth, err = sqlstore.NewAuthService(e.db, e.notify, []byte(strings.Repeat("s", 32))); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.auth.Wait)
	c, err := sqlstore.NewClinicService(e.db).CreateClinic(ctx, "alpha", "Alpha Clinic")
	if err != nil {
		t.Fatal(err)
	}
	users := sqlstore.NewUserService(e.db, e.notify, e.auth)
	for _, u := range []struct {
		email string
		role  eonpro.Role
	}{{"admin@alpha.test", eonpro.RoleAdmin}, {"staff@alpha.test", eonpro.RoleStaff}} {
		nu, err := users.CreateUser(ctx, eonpro.NewUser{Email: u.email, Password: lockPassword, Name: "Test"})
		if err != nil {
			t.Fatal(err)
		}
		if err := users.AddMembership(ctx, nu.ID, c.ID, u.role); err != nil {
			t.Fatal(err)
		}
		e.staff = nu
	}
}

// fail signs in n times with a wrong password from meta.
func (e *lockEnv) fail(t *testing.T, email string, n int, meta eonpro.RequestMeta) {
	t.Helper()
	for i := range n {
		if _, err := e.auth.Login(context.Background(), email, "wrong password", meta); eonpro.ErrorCode(err) != eonpro.EUNAUTHN {
			t.Fatalf("failure %d from %s: %v, want unauthenticated", i+1, meta.IP, err)
		}
	}
}

// login signs in with the right password and returns the error code.
func (e *lockEnv) login(email string, meta eonpro.RequestMeta) string {
	_, err := e.auth.Login(context.Background(), email, lockPassword, meta)
	return eonpro.ErrorCode(err)
}

var countLockedEvents = sqlstore.Stmt{Name: "test_count_locked_events", SQL: `
SELECT count(*) FROM audit_events WHERE action = 'auth.locked'`}

func (e *lockEnv) lockedEvents(t *testing.T) int {
	t.Helper()
	var n int
	err := e.db.View(context.Background(), func(tx *sqlstore.Tx) error {
		return tx.QueryRow(context.Background(), countLockedEvents).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLockoutPerAddress(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := &lockEnv{db: db, notify: &memoryNotifier{}}
		e.setup(t)
		e.fail(t, "staff@alpha.test", 5, fromAttacker)
		if code := e.login("staff@alpha.test", fromAttacker); code != eonpro.ERATELIMITED {
			t.Errorf("from the failing address: %q, want rate_limited", code)
		}
		if code := e.login("staff@alpha.test", fromPerson); code != "" {
			t.Errorf("from the person's address: %q, want a session", code)
		}
		// The person's success clears only their own address.
		if code := e.login("staff@alpha.test", fromAttacker); code != eonpro.ERATELIMITED {
			t.Errorf("from the failing address after the person signed in: %q, want rate_limited", code)
		}
	})
}

func TestLockoutAlertsOncePerWindow(t *testing.T) {
	for _, engine := range sqltest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			e := newLockEnv(t, engine, &memoryNotifier{})
			for _, ip := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
				e.fail(t, "staff@alpha.test", 5, eonpro.RequestMeta{IP: ip})
			}
			if n := e.lockedEvents(t); n != 1 {
				t.Errorf("auth.locked events after 3 addresses locked: %d, want 1", n)
			}
			e.now = e.now.Add(15 * time.Minute)
			e.fail(t, "staff@alpha.test", 5, eonpro.RequestMeta{IP: "203.0.113.4"})
			if n := e.lockedEvents(t); n != 2 {
				t.Errorf("auth.locked events after a lock in the next window: %d, want 2", n)
			}
		})
	}
}
