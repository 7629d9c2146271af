package jobs_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/jobs"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

var countKind = sqlstore.Stmt{Name: "test_count_jobs_of_kind", SQL: `
SELECT count(*) FROM river_job WHERE kind = $1 AND ($2 = '' OR CAST(state AS TEXT) = $2)`}

// TestTxEnqueue: a job enqueued through Tx.Enqueue exists exactly when its
// transaction commits, names its clinic, and runs once; a critical audit
// event's alert is such a job, sent once after commit.
func TestTxEnqueue(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		kind := sqlstore.AuditAlertJob{}.Kind()
		if err := db.InTx(ctx, func(tx *sqlstore.Tx) error { return tx.Enqueue(ctx, sqlstore.AuditAlertJob{}) }); !errors.Is(err, sqlstore.ErrNoQueue) {
			t.Fatalf("Enqueue without a queue = %v, want ErrNoQueue", err)
		}
		f := newAlertFixture(t, db)
		audit, c, u := f.audit, f.clinic, f.admin
		if err := jobs.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
		q, err := jobs.New(db, jobs.Config{Poll: 50 * time.Millisecond, AlertInterval: time.Hour, Logger: log},
			jobs.Services{Maintenance: sqlstore.NewMaintenanceService(db), Audit: audit})
		if err != nil {
			t.Fatal(err)
		}

		t.Run("ErrRolledBack", func(t *testing.T) {
			errBoom := errors.New("boom")
			err := db.InClinic(ctx, c.ID, func(tx *sqlstore.Tx) error {
				if err := tx.Enqueue(ctx, sqlstore.AuditAlertJob{ClinicID: c.ID, EventID: eonpro.NewID()}); err != nil {
					return err
				}
				return errBoom
			})
			if !errors.Is(err, errBoom) {
				t.Fatalf("InClinic = %v", err)
			}
			if n := count(t, db, countKind, kind, ""); n != 0 {
				t.Errorf("%d jobs after a rollback, want 0", n)
			}
		})
		t.Run("OK", func(t *testing.T) {
			ev := eonpro.AuditEvent{ClinicID: c.ID, Action: eonpro.ActionCrossClinic, Outcome: eonpro.OutcomeDenied}
			if err := db.RecordAudit(ctx, ev); err != nil {
				t.Fatal(err)
			}
			if n := count(t, db, countKind, kind, "available"); n != 1 {
				t.Fatalf("%d alert jobs after the event committed, want 1", n)
			}
			if n := count(t, db, countAlerts, u.Email); n != 0 {
				t.Errorf("%d alerts sent before a worker ran, want 0", n)
			}
			start(t, q)
			for deadline := time.Now().Add(10 * time.Second); count(t, db, countKind, kind, "completed") < 1; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the alert job did not complete within 10s")
				}
			}
			time.Sleep(200 * time.Millisecond) // a second run, if there were one, would show
			if n := count(t, db, countAlerts, u.Email); n != 1 {
				t.Errorf("%d alerts to the admin, want exactly 1", n)
			}
			var clinic string
			err := db.View(ctx, func(tx *sqlstore.Tx) error {
				return tx.QueryRow(ctx, selectJobClinic, kind).Scan(&clinic)
			})
			if err != nil || clinic != c.ID {
				t.Errorf("job's clinic %q (%v), want %s", clinic, err, c.ID)
			}
		})
	})
}

var selectJobClinic = sqlstore.Stmt{Name: "test_select_job_clinic", SQL: `
SELECT metadata->>'clinic_id' FROM river_job WHERE kind = $1`, SQLite: `
SELECT json_extract(metadata, '$.clinic_id') FROM river_job WHERE kind = $1`}
