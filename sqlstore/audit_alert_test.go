package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

var countAlerts = sqlstore.Stmt{Name: "test_count_alerts", SQL: `
SELECT count(*) FROM outbox WHERE recipient = $1 AND subject LIKE 'Security alert%'`}

// alerts counts the security alerts sent to a recipient.
func (e *auditEnv) alerts(to string) int {
	e.t.Helper()
	var n int
	e.must(e.db.View(context.Background(), func(tx *sqlstore.Tx) error {
		return tx.QueryRow(context.Background(), countAlerts, to).Scan(&n)
	}))
	return n
}

// actingUser returns a context acting as user id, a stranger to c.
func actingUser(id string) context.Context {
	return eonpro.NewContextWithPrincipal(context.Background(), &eonpro.Principal{UserID: id, SessionID: "s-" + id})
}

// recordIn records a critical event of action in c's chain as actor.
func (e *auditEnv) recordIn(c *eonpro.Clinic, action eonpro.AuditAction, actor string) {
	e.t.Helper()
	ev := eonpro.AuditEvent{ClinicID: c.ID, Action: action, Outcome: eonpro.OutcomeDenied, ResourceType: "clinic", ResourceID: c.ID}
	e.must(e.db.RecordAudit(actingUser(actor), ev))
}

// wantAlerts checks how many alerts each recipient has.
func (e *auditEnv) wantAlerts(want int, to ...string) {
	e.t.Helper()
	for _, addr := range to {
		if got := e.alerts(addr); got != want {
			e.t.Errorf("%s has %d alerts, want %d", addr, got, want)
		}
	}
}

// TestAuditAlertWindows: a flood of critical events of one kind in a
// clinic sends one message per admin at once and one summary when the
// window ends; other kinds and other clinics have windows of their own.
func TestAuditAlertWindows(t *testing.T) {
	for _, engine := range sqltest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			clock := newTestClock()
			e := newAuditEnv(t, sqltest.Open(t, engine, clock.Now))
			alpha, beta := e.clinic("alpha"), e.clinic("beta")
			admins := []string{e.admin(alpha).Email, e.secondAdmin(alpha).Email}
			betaAdmin := e.admin(beta).Email

			actors := []string{"u-mallory", "u-trudy", "u-eve"}
			for i := range 50 {
				e.recordIn(alpha, eonpro.ActionCrossClinic, actors[i%len(actors)])
				clock.Add(10 * time.Second) // 50 events in 8m20s
			}
			t.Run("FirstEventAlertsAtOnce", func(t *testing.T) {
				e.wantAlerts(1, admins...)
				m, err := e.notify.LatestMessage(ctx, admins[0])
				if err != nil || m.Subject != "Security alert: access.cross_clinic" || !strings.Contains(m.Body, "user u-mallory") {
					t.Errorf("first alert: %+v %v", m, err)
				}
			})
			t.Run("OtherClinicUnaffected", func(t *testing.T) { e.wantAlerts(0, betaAdmin) })
			t.Run("NoSummaryWithinWindow", func(t *testing.T) {
				if n, err := e.svc.FlushAlerts(ctx); err != nil || n != 0 {
					t.Errorf("FlushAlerts within the window = %d, %v; want 0", n, err)
				}
				e.wantAlerts(1, admins...)
			})
			t.Run("OtherKindOwnWindow", func(t *testing.T) {
				e.recordIn(alpha, eonpro.ActionEmergencyAccess, "u-doc")
				e.wantAlerts(2, admins...)
				m, _ := e.notify.LatestMessage(ctx, admins[1])
				if m.Subject != "Security alert: emergency.access" {
					t.Errorf("other kind: %+v", m)
				}
			})
			t.Run("SummaryAfterWindow", func(t *testing.T) {
				clock.Add(sqlstore.AlertWindow)
				if n, err := e.svc.FlushAlerts(ctx); err != nil || n != 1 {
					t.Fatalf("FlushAlerts = %d, %v; want 1 summary", n, err)
				}
				e.wantAlerts(3, admins...)
				e.wantAlerts(0, betaAdmin)
				m, _ := e.notify.LatestMessage(ctx, admins[0])
				if m.Subject != "Security alert: access.cross_clinic (49 more)" || !strings.Contains(m.Body, "49 more access.cross_clinic events") ||
					!strings.Contains(m.Body, "from 3 actors: user u-trudy, user u-eve, user u-mallory") {
					t.Errorf("summary: %+v", m)
				}
				if n, err := e.svc.FlushAlerts(ctx); err != nil || n != 0 {
					t.Errorf("second FlushAlerts = %d, %v; want 0", n, err)
				}
			})
			t.Run("SummaryOpensNextWindow", func(t *testing.T) {
				e.recordIn(alpha, eonpro.ActionCrossClinic, "u-mallory")
				e.wantAlerts(3, admins...)
				clock.Add(sqlstore.AlertWindow)
				if n, err := e.svc.FlushAlerts(ctx); err != nil || n != 1 {
					t.Fatalf("FlushAlerts = %d, %v; want 1", n, err)
				}
				e.wantAlerts(4, admins...)
				clock.Add(sqlstore.AlertWindow)
				if n, err := e.svc.FlushAlerts(ctx); err != nil || n != 0 {
					t.Fatalf("FlushAlerts of a quiet window = %d, %v; want 0", n, err)
				}
				e.recordIn(alpha, eonpro.ActionCrossClinic, "u-mallory")
				e.wantAlerts(5, admins...)
				m, _ := e.notify.LatestMessage(ctx, admins[0])
				if m.Subject != "Security alert: access.cross_clinic" {
					t.Errorf("after a quiet window: %+v", m)
				}
			})
			t.Run("ErrForbidden", func(t *testing.T) {
				if _, err := e.svc.FlushAlerts(admin(alpha)); eonpro.ErrorCode(err) != eonpro.EFORBIDDEN {
					t.Errorf("FlushAlerts as a clinic admin = %v, want EFORBIDDEN", err)
				}
			})
		})
	}
}

// TestAuditAlertConcurrent: recorders racing on one clinic open one window.
func TestAuditAlertConcurrent(t *testing.T) {
	for _, engine := range sqltest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			clock := newTestClock()
			e := newAuditEnv(t, sqltest.Open(t, engine, clock.Now))
			c := e.clinic("gamma")
			to := e.admin(c).Email
			const n = 20
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Go(func() {
					ev := eonpro.AuditEvent{ClinicID: c.ID, Action: eonpro.ActionLocked, Outcome: eonpro.OutcomeDenied}
					errs <- e.db.RecordAudit(actingUser(fmt.Sprintf("u-%d", i)), ev)
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			e.wantAlerts(1, to)
			clock.Add(sqlstore.AlertWindow)
			if got, err := e.svc.FlushAlerts(context.Background()); err != nil || got != 1 {
				t.Fatalf("FlushAlerts = %d, %v; want 1", got, err)
			}
			e.wantAlerts(2, to)
			if m, _ := e.notify.LatestMessage(context.Background(), to); !strings.Contains(m.Body, fmt.Sprintf("%d more auth.locked events", n-1)) {
				t.Errorf("summary: %+v", m)
			}
		})
	}
}

// TestAuditAlertVerifyWindow: a chain found broken again and again alerts
// once, then once more in a summary.
func TestAuditAlertVerifyWindow(t *testing.T) {
	for _, engine := range sqltest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			clock := newTestClock()
			e := newAuditEnv(t, sqltest.Open(t, engine, clock.Now))
			c := e.clinic("broken")
			to := e.admin(c).Email
			evs := e.record(c, 3)
			e.exec(dropEventTriggers...)
			e.must(e.execArgs(tamperSeq, evs[1].ID, 7))
			for range 3 {
				if res := e.verify(c); res.OK {
					t.Fatal("tampered chain verified")
				}
			}
			e.wantAlerts(1, to)
			clock.Add(sqlstore.AlertWindow)
			if n, err := e.svc.FlushAlerts(context.Background()); err != nil || n != 1 {
				t.Fatalf("FlushAlerts = %d, %v; want 1", n, err)
			}
			m, _ := e.notify.LatestMessage(context.Background(), to)
			if m.Subject != "Security alert: audit verification failed (2 more)" || !strings.Contains(m.Body, "checked by 1 actor: system") {
				t.Errorf("summary: %+v", m)
			}
		})
	}
}

// secondAdmin adds another admin to c.
func (e *auditEnv) secondAdmin(c *eonpro.Clinic) *eonpro.User {
	e.t.Helper()
	ctx := context.Background()
	users := sqlstore.NewUserService(e.db, e.notify, nil)
	u, err := users.CreateUser(ctx, eonpro.NewUser{Email: "admin2@" + c.Slug + ".test", Password: "correct horse battery staple"})
	e.must(err)
	e.must(users.AddMembership(ctx, u.ID, c.ID, eonpro.RoleAdmin))
	return u
}
