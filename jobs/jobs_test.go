package jobs_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/jobs"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

var countPurgeJobs = sqlstore.Stmt{Name: "test_count_purge_jobs", SQL: `
SELECT count(*) FROM river_job WHERE kind = $1`}

// newQueue migrates River's schema on db and builds an unstarted queue.
func newQueue(t *testing.T, db *sqlstore.DB, cfg jobs.Config) *jobs.Queue {
	t.Helper()
	if err := jobs.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	q, err := jobs.New(db, cfg, jobs.Services{Maintenance: sqlstore.NewMaintenanceService(db)})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// count runs a count(*) statement.
// start starts q and stops it when the test ends.
func start(t *testing.T, q *jobs.Queue) {
	t.Helper()
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = q.Stop(sctx)
	})
}

// alertFixture is a clinic with an admin and the audit service that
// alerts them through the development outbox.
type alertFixture struct {
	audit  *sqlstore.AuditService
	clinic *eonpro.Clinic
	admin  *eonpro.User
}

func newAlertFixture(t *testing.T, db *sqlstore.DB) alertFixture {
	t.Helper()
	ctx := context.Background()
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
	return alertFixture{audit: audit, clinic: c, admin: u}
}

func count(t *testing.T, db *sqlstore.DB, s sqlstore.Stmt, args ...any) int64 {
	t.Helper()
	var n int64
	err := db.View(context.Background(), func(tx *sqlstore.Tx) error {
		return tx.QueryRow(context.Background(), s, args...).Scan(&n)
	})
	if err != nil {
		t.Fatalf("%s: %v", s.Name, err)
	}
	return n
}

func TestMigrate(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		for i := range 2 {
			if err := jobs.Migrate(context.Background(), db); err != nil {
				t.Fatalf("Migrate #%d: %v", i+1, err)
			}
		}
		if n := count(t, db, countPurgeJobs, jobs.PurgeArgs{}.Kind()); n != 0 {
			t.Errorf("%d jobs after Migrate, want 0", n)
		}
	})
}

func TestEnqueueTx(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		q := newQueue(t, db, jobs.Config{})
		kind := jobs.PurgeArgs{}.Kind()
		errBoom := errors.New("boom")
		tests := []struct {
			name    string
			fnErr   error
			wantAdd int64
		}{
			{name: "OK", wantAdd: 1},
			{name: "ErrRollback", fnErr: errBoom, wantAdd: 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := count(t, db, countPurgeJobs, kind)
				err := db.InTx(ctx, func(tx *sqlstore.Tx) error {
					if err := q.EnqueueTx(ctx, tx, jobs.PurgeArgs{}, nil); err != nil {
						return err
					}
					return tt.fnErr
				})
				if !errors.Is(err, tt.fnErr) {
					t.Fatalf("InTx = %v, want %v", err, tt.fnErr)
				}
				if got := count(t, db, countPurgeJobs, kind) - before; got != tt.wantAdd {
					t.Errorf("%d jobs added, want %d", got, tt.wantAdd)
				}
			})
		}
	})
}
