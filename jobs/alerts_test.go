package jobs_test

import (
	"context"
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
			f := newAlertFixture(t, db)
			audit, c, u := f.audit, f.clinic, f.admin
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
			start(t, q)
			for deadline := time.Now().Add(10 * time.Second); count(t, db, countAlerts, u.Email) < 2; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("no summary within 10s")
				}
			}
			m, err := sqlstore.NewOutboxNotifier(db, slog.New(slog.DiscardHandler)).LatestMessage(ctx, u.Email)
			if err != nil || m.Subject != "Security alert: access.cross_clinic (2 more)" {
				t.Errorf("summary: %+v %v", m, err)
			}
		})
	}
}
