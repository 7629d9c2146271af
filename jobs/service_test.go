package jobs_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"testing"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/jobs"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

// TestFailedJobs: a job that gives up is listed, with its last error, to
// its own clinic's admins only, and an admin can run it again.
func TestFailedJobs(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		_, key, _ := ed25519.GenerateKey(rand.Reader)
		audit, err := sqlstore.NewAuditService(db, sqlstore.AuditOptions{Notifier: sqlstore.NewOutboxNotifier(db, slog.New(slog.DiscardHandler)),
			SigningKey: key, CheckpointDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		clinics := sqlstore.NewClinicService(db)
		alpha, _ := clinics.CreateClinic(ctx, "alpha", "Alpha")
		beta, _ := clinics.CreateClinic(ctx, "beta", "Beta")
		if err := jobs.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError}))
		q, err := jobs.New(db, jobs.Config{Poll: 50 * time.Millisecond, AlertInterval: time.Hour, Logger: log},
			jobs.Services{Maintenance: sqlstore.NewMaintenanceService(db), Audit: audit})
		if err != nil {
			t.Fatal(err)
		}
		// An alert of an event that does not exist gives up at once.
		err = db.InClinic(ctx, alpha.ID, func(tx *sqlstore.Tx) error {
			return tx.Enqueue(ctx, sqlstore.AuditAlertJob{ClinicID: alpha.ID, EventID: eonpro.NewID()})
		})
		if err != nil {
			t.Fatal(err)
		}
		start(t, q)
		admin := func(c *eonpro.Clinic, role eonpro.Role) context.Context {
			return eonpro.NewContextWithPrincipal(ctx, &eonpro.Principal{UserID: eonpro.NewID(), ClinicID: c.ID, Role: role,
				Permissions: eonpro.RolePermissions[role]})
		}
		waitFailed := func() []*eonpro.Job {
			t.Helper()
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				js, err := q.FindJobs(admin(alpha, eonpro.RoleAdmin), eonpro.JobFailed)
				if err != nil {
					t.Fatal(err)
				}
				if len(js) == 1 || time.Now().After(deadline) {
					return js
				}
			}
		}
		js := waitFailed()
		if len(js) != 1 || js[0].Kind != "audit_alert" || js[0].LastError == "" || js[0].FinishedAt == nil {
			t.Fatalf("alpha's failed jobs: %+v", js)
		}
		t.Run("ErrOtherClinic", func(t *testing.T) {
			if got, err := q.FindJobs(admin(beta, eonpro.RoleAdmin), eonpro.JobFailed); err != nil || len(got) != 0 {
				t.Errorf("beta sees %d jobs (%v), want 0", len(got), err)
			}
			if err := q.RetryJob(admin(beta, eonpro.RoleAdmin), js[0].ID); eonpro.ErrorCode(err) != eonpro.ENOTFOUND {
				t.Errorf("beta retries alpha's job: %v, want ENOTFOUND", err)
			}
		})
		t.Run("ErrForbidden", func(t *testing.T) {
			if _, err := q.FindJobs(admin(alpha, eonpro.RoleStaff), eonpro.JobFailed); eonpro.ErrorCode(err) != eonpro.EFORBIDDEN {
				t.Errorf("staff lists jobs: %v, want EFORBIDDEN", err)
			}
		})
		t.Run("ErrState", func(t *testing.T) {
			if _, err := q.FindJobs(admin(alpha, eonpro.RoleAdmin), "lost"); eonpro.ErrorFields(err)["state"] == "" {
				t.Errorf("state lost: %v, want a field error", err)
			}
		})
		t.Run("Retry", func(t *testing.T) {
			if err := q.RetryJob(admin(alpha, eonpro.RoleAdmin), js[0].ID); err != nil {
				t.Fatal(err)
			}
			// It runs again (and, its event still missing, gives up again).
			again := waitFailed()
			if len(again) != 1 || again[0].Attempts < 2 {
				t.Errorf("after the retry: %+v, want a second attempt", again)
			}
		})
	})
}
