package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

// Retry policy for transient errors: up to maxAttempts runs of the whole
// transaction, backing off exponentially with jitter from baseBackoff.
const (
	maxAttempts = 5
	baseBackoff = 10 * time.Millisecond
)

// InClinic runs fn in one read-write transaction scoped to clinicID. It is
// the one door to tenant data: on PostgreSQL it sets app.clinic_id for the
// transaction so row-level security stands behind the clinic_id condition
// that every tenant statement carries. The clinic must come from the
// verified request context, never from client input.
//
// fn may run more than once when the transaction hits a transient error, so
// it must have no effects outside the transaction.
func (db *DB) InClinic(ctx context.Context, clinicID string, fn func(*Tx) error) error {
	if clinicID == "" {
		return errors.New("sqlstore: InClinic without a clinic")
	}
	return db.transact(ctx, clinicID, false, fn)
}

// ViewClinic is InClinic for read-only work; on SQLite it runs on the
// reader pool, beside the writer.
func (db *DB) ViewClinic(ctx context.Context, clinicID string, fn func(*Tx) error) error {
	if clinicID == "" {
		return errors.New("sqlstore: ViewClinic without a clinic")
	}
	return db.transact(ctx, clinicID, true, fn)
}

// InTx runs fn in one read-write transaction on platform data that belongs
// to no clinic (users, sessions, the clinic list). Retries as InClinic.
func (db *DB) InTx(ctx context.Context, fn func(*Tx) error) error {
	return db.transact(ctx, "", false, fn)
}

// View runs fn in one read-only transaction on platform data.
func (db *DB) View(ctx context.Context, fn func(*Tx) error) error {
	return db.transact(ctx, "", true, fn)
}

func (db *DB) transact(ctx context.Context, clinicID string, readOnly bool, fn func(*Tx) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = db.attempt(ctx, clinicID, readOnly, fn)
		if attempt == maxAttempts || !isTransient(err, readOnly) {
			db.auditFailed(ctx, err)
			return err
		}
		wait := baseBackoff << (attempt - 1)
		wait += rand.N(wait)
		db.log.Info("retrying transaction", "attempt", attempt, "backoff_ms", wait.Milliseconds())
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (retrying after: %w)", ctx.Err(), err)
		case <-time.After(wait):
		}
	}
}

func (db *DB) attempt(ctx context.Context, clinicID string, readOnly bool, fn func(*Tx) error) (err error) {
	tx, err := db.begin(ctx, clinicID, readOnly)
	if err != nil {
		return db.mapError(err)
	}
	defer func() {
		if p := recover(); p != nil {
			tx.rollback()
			panic(p)
		}
		if err != nil {
			tx.rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = db.mapError(tx.commit(ctx)); err != nil {
		return err
	}
	for _, f := range tx.onCommit {
		f(ctx)
	}
	return nil
}

func (db *DB) begin(ctx context.Context, clinicID string, readOnly bool) (*Tx, error) {
	tx := &Tx{db: db, clinicID: clinicID}
	if db.engine == SQLite {
		pool := db.write
		if readOnly {
			pool = db.read
		}
		t, err := pool.BeginTx(ctx, &sql.TxOptions{ReadOnly: readOnly})
		tx.sql = t
		return tx, err
	}
	mode := pgx.ReadWrite
	if readOnly {
		mode = pgx.ReadOnly
	}
	t, err := db.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: mode})
	if err != nil {
		return nil, err
	}
	tx.pg = t
	if _, err := t.Exec(ctx, "SELECT set_config('app.clinic_id', $1, true)", clinicID); err != nil {
		_ = t.Rollback(context.WithoutCancel(ctx))
		return nil, err
	}
	return tx, nil
}

func (tx *Tx) commit(ctx context.Context) error {
	if tx.pg != nil {
		return tx.pg.Commit(ctx)
	}
	return tx.sql.Commit()
}

func (tx *Tx) rollback() {
	if tx.pg != nil {
		_ = tx.pg.Rollback(context.Background())
		return
	}
	_ = tx.sql.Rollback()
}
