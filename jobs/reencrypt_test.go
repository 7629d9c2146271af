package jobs_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/eonpro/eonpro/jobs"
	"github.com/eonpro/eonpro/phi"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

var (
	insertClinic = sqlstore.Stmt{Name: "test_insert_clinic", SQL: `
INSERT INTO clinics (id, slug, name, created_at, updated_at) VALUES ($1, $2, 'Test', $3, $3)`}
	createValues = sqlstore.Stmt{Name: "test_create_values", SQL: `
CREATE TABLE phi_job_values (
    id        TEXT PRIMARY KEY,
    clinic_id TEXT NOT NULL REFERENCES clinics (id),
    secret    TEXT
)`}
	insertValue = sqlstore.Stmt{Name: "test_insert_value", SQL: `
INSERT INTO phi_job_values (id, clinic_id, secret) VALUES ($1, $2, $3)`}
	countJobsInState = sqlstore.Stmt{Name: "test_count_jobs_in_state", SQL: `
SELECT count(*) FROM river_job WHERE kind = $1 AND state = $2`}
)

var jobColumn = phi.Column{Table: "phi_job_values", Column: "secret", IDColumn: "id", ClinicColumn: "clinic_id"}

const jobClinic = "00000000-0000-7000-8000-0000000000aa"

// keysEnv is a database with one clinic holding n PHI values, its key
// service, and a queue whose rotations enqueue re-encryption.
func keysEnv(t *testing.T, db *sqlstore.DB, n int) (*sqlstore.KeyService, *jobs.Queue) {
	t.Helper()
	ctx := context.Background()
	err := db.InTx(ctx, func(tx *sqlstore.Tx) error {
		if _, err := tx.Exec(ctx, insertClinic, jobClinic, "job-clinic", db.Now()); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, createValues)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	master, _ := phi.ParseLocalMaster(phi.GenerateLocalMasterKey())
	var q *jobs.Queue
	store := sqlstore.NewPHIKeyStore(db, func(ctx context.Context, tx *sqlstore.Tx, clinicID string, version int) error {
		return q.EnqueueTx(ctx, tx, jobs.ReencryptArgs{ClinicID: clinicID, Version: version, RotatedAt: db.Now()}, nil)
	})
	ring := phi.NewKeyRing(store, master, phi.RingOptions{})
	keys, err := sqlstore.NewKeyService(db, ring, store, []phi.Column{jobColumn})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		id := fmt.Sprintf("v-%03d", i)
		ct, err := ring.Encrypt(ctx, jobClinic, jobColumn.Field(id), "value "+id)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.InClinic(ctx, jobClinic, func(tx *sqlstore.Tx) error {
			_, err := tx.Exec(ctx, insertValue, id, jobClinic, ct)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := jobs.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	q, err = jobs.New(db, jobs.Config{Poll: 50 * time.Millisecond, KeyRefresh: 100 * time.Millisecond, ReencryptBatch: 7,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))},
		jobs.Services{Maintenance: sqlstore.NewMaintenanceService(db), Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return keys, q
}

// startQueue starts q and stops it when the test ends.
func startQueue(t *testing.T, q *jobs.Queue) {
	t.Helper()
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = q.Stop(ctx)
	})
}

// waitFor polls cond for up to 15 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(25 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestReencryptJob(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		keys, q := keysEnv(t, db, 30)
		if v, err := keys.RotateKeys(ctx, jobClinic); v != 2 || err != nil {
			t.Fatalf("RotateKeys = %d, %v", v, err)
		}
		kind := jobs.ReencryptArgs{}.Kind()
		if n := count(t, db, countJobsInState, kind, "available"); n != 1 {
			t.Fatalf("%d re-encryption jobs enqueued by the rotation, want 1", n)
		}
		startQueue(t, q)
		waitFor(t, "the re-encryption job to complete", func() bool {
			return count(t, db, countJobsInState, kind, "completed") == 1
		})
		st, err := keys.KeyStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(st) != 1 || len(st[0].Versions) != 2 || st[0].Versions[0].Values != 0 || st[0].Versions[1].Values != 30 {
			t.Errorf("status after the job: %+v, want version 1: 0 values, version 2: 30", st)
		}
	})
}

func TestReencryptJobCancelledWhenKeysDestroyed(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		keys, q := keysEnv(t, db, 3)
		if _, err := keys.RotateKeys(ctx, jobClinic); err != nil {
			t.Fatal(err)
		}
		if err := keys.DestroyKeys(ctx, jobClinic); err != nil {
			t.Fatal(err)
		}
		startQueue(t, q)
		waitFor(t, "the re-encryption job to be cancelled", func() bool {
			return count(t, db, countJobsInState, jobs.ReencryptArgs{}.Kind(), "cancelled") == 1
		})
	})
}
