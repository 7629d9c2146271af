package sqlstore_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

// statementLog is a log handler that keeps the names of the statements the
// store reports. With a negative slow-statement threshold the store
// reports every statement it runs.
type statementLog struct {
	mu    sync.Mutex
	names []string
}

func (l *statementLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *statementLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *statementLog) WithGroup(string) slog.Handler            { return l }

func (l *statementLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "slow statement" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "statement" {
			l.mu.Lock()
			l.names = append(l.names, a.Value.String())
			l.mu.Unlock()
		}
		return true
	})
	return nil
}

// take returns the statements run since the last take.
func (l *statementLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.names
	l.names = nil
	return out
}

// openCounted opens a migrated database that reports every statement to log.
func openCounted(t *testing.T, engine sqlstore.Engine, log *statementLog) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{URL: sqltest.URL(t, engine), SlowQuery: -1, Logger: slog.New(log)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// sameWork runs request for each address and checks that every one ran
// the same statements, and that the request answered before any message
// was sent: the notifier is held shut until then. It returns the messages
// sent after the gate opened.
func sameWork(t *testing.T, e *lockEnv, log *statementLog, request func(email string) error, emails ...string) []eonpro.Message {
	t.Helper()
	var first []string
	for i, email := range emails {
		log.take()
		done := make(chan error, 1)
		go func() { done <- request(email) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s: %v", email, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: the request waited for its message to be sent", email)
		}
		got := log.take()
		if i == 0 {
			if first = got; len(first) == 0 {
				t.Fatal("the store reported no statements")
			}
			continue
		}
		if diff := cmp.Diff(first, got); diff != "" {
			t.Errorf("statements of %s and %s differ (-%s +%s):\n%s", emails[0], email, emails[0], email, diff)
		}
	}
	if n := len(e.notify.messages()); n != 0 {
		t.Fatalf("%d messages sent before the gate opened", n)
	}
	close(e.notify.gate)
	e.auth.Wait()
	return e.notify.messages()
}

func TestForgotPasswordSameWork(t *testing.T) {
	for _, engine := range sqltest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			log := &statementLog{}
			e := &lockEnv{db: openCounted(t, engine, log), notify: &memoryNotifier{gate: make(chan struct{})}}
			e.setup(t)
			forgot := func(email string) error { return e.auth.ForgotPassword(context.Background(), email) }
			sent := sameWork(t, e, log, forgot, "staff@alpha.test", "nobody@alpha.test")
			if len(sent) != 1 || sent[0].To != "staff@alpha.test" || !strings.Contains(sent[0].Body, "new password") {
				t.Errorf("messages %+v, want one reset code to staff@alpha.test", sent)
			}
		})
	}
}

func TestRequestUnlockSameWork(t *testing.T) {
	for _, engine := range sqltest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			log := &statementLog{}
			e := &lockEnv{db: openCounted(t, engine, log), notify: &memoryNotifier{gate: make(chan struct{})}}
			e.setup(t)
			e.fail(t, "staff@alpha.test", 5, fromPerson)
			unlock := func(email string) error { return e.auth.RequestUnlock(context.Background(), email, fromPerson) }
			// A locked account, an unknown address, an account not locked.
			sent := sameWork(t, e, log, unlock, "staff@alpha.test", "nobody@alpha.test", "admin@alpha.test")
			if len(sent) != 1 || sent[0].To != "staff@alpha.test" || !unlockCode.MatchString(sent[0].Body) {
				t.Errorf("messages %+v, want one unlock code to staff@alpha.test", sent)
			}
		})
	}
}
