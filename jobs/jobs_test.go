package jobs_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"

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
