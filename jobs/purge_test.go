package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/eonpro/eonpro/jobs"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

var (
	insertUser = sqlstore.Stmt{Name: "test_insert_user", SQL: `
INSERT INTO users (
    id,
    email_normalized,
    created_at,
    updated_at
) VALUES ($1, $2, $3, $3)`}
	insertSession = sqlstore.Stmt{Name: "test_insert_session", SQL: `
INSERT INTO sessions (
    id,
    user_id,
    token_hash,
    created_at,
    last_seen_at,
    idle_expires_at,
    expires_at
) VALUES ($1, $2, $3, $4, $4, $5, $5)`}
	countSessions = sqlstore.Stmt{Name: "test_count_sessions", SQL: `SELECT count(*) FROM sessions`}
)

func TestQueuePurgesOnStart(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		past := db.Now().Add(-48 * time.Hour)
		err := db.InTx(ctx, func(tx *sqlstore.Tx) error {
			if _, err := tx.Exec(ctx, insertUser, "u-1", "u-1@example.test", past); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, insertSession, "s-expired", "u-1", []byte("hash"), past, past.Add(time.Hour))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		q := newQueue(t, db, jobs.Config{Poll: 50 * time.Millisecond})
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		stopped := false
		stop := func() error {
			stopped = true
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return q.Stop(sctx)
		}
		t.Cleanup(func() {
			if !stopped {
				_ = stop()
			}
		})

		var counts map[string]int64
		var sessions int64
		for deadline := time.Now().Add(10 * time.Second); ; {
			sessions = count(t, db, countSessions)
			if counts, err = q.Counts(ctx); err != nil {
				t.Fatal(err)
			}
			if sessions == 0 && counts["completed"] >= 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("purge did not run: %d sessions left, job counts %v", sessions, counts)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := stop(); err != nil {
			t.Errorf("Stop = %v, want nil", err)
		}
	})
}
