package jobs_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/jobs"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

var countAlerts = sqlstore.Stmt{Name: "test_count_alerts", SQL: `
SELECT count(*) FROM outbox WHERE recipient = $1 AND subject LIKE 'Security alert%'`}

// TestQueueSendsAlertSummaries: once a window with more events has ended,
// the periodic job sends its summary.
func TestQueueSendsAlertSummaries(t *testing.T) {
	for _, engine := range sqltest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			var now atomic.Int64
			now.Store(time.Now().UnixNano())
			db := sqltest.Open(t, engine, func() time.Time { return time.Unix(0, now.Load()).UTC() })
			notify := sqlstore.NewOutboxNotifier(db, slog.New(slog.DiscardHandler))
			_, key, _ := ed25519.GenerateKey(rand.Reader)
			audit, err := sqlstore.NewAuditService(db, sqlstore.AuditOptions{Notifier: notify, SigningKey: key, CheckpointDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			c, err := sqlstore.NewClinicService(db).CreateClinic(ctx, "alpha", "Alpha")
			if err != nil {
				t.Fatal(err)
			}
			users := sqlstore.NewUserService(db, notify, nil)
			u, err := users.CreateUser(ctx, eonpro.NewUser{Email: "admin@alpha.test", Password: "correct horse battery staple"})
			if err != nil {
				t.Fatal(err)
			}
			if err := users.AddMembership(ctx, u.ID, c.ID, eonpro.RoleAdmin); err != nil {
				t.Fatal(err)
			}
			for range 3 {
				ev := eonpro.AuditEvent{ClinicID: c.ID, Action: eonpro.ActionCrossClinic, Outcome: eonpro.OutcomeDenied}
				if err := db.RecordAudit(ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
			if n := count(t, db, countAlerts, u.Email); n != 1 {
				t.Fatalf("%d alerts before the window ended, want 1", n)
			}
			now.Add(int64(sqlstore.AlertWindow))

			if err := jobs.Migrate(ctx, db); err != nil {
				t.Fatal(err)
			}
			log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			q, err := jobs.New(db, jobs.Config{Poll: 50 * time.Millisecond, AlertInterval: time.Hour, Logger: log},
				jobs.Services{Maintenance: sqlstore.NewMaintenanceService(db), Audit: audit})
			if err != nil {
				t.Fatal(err)
			}
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = q.Stop(sctx)
			})
			for deadline := time.Now().Add(10 * time.Second); count(t, db, countAlerts, u.Email) < 2; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("no summary within 10s")
				}
			}
			m, err := notify.LatestMessage(ctx, u.Email)
			if err != nil || m.Subject != "Security alert: access.cross_clinic (2 more)" {
				t.Errorf("summary: %+v %v", m, err)
			}
		})
	}
}
