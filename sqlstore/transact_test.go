package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

var (
	errBoom       = errors.New("boom")
	currentClinic = sqlstore.Stmt{Name: "test_current_clinic", SQL: "SELECT coalesce(current_setting('app.clinic_id', true), '')"}
)

func TestInClinic(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		t.Run("ErrNoClinic", func(t *testing.T) {
			calls := 0
			fn := func(*sqlstore.Tx) error { calls++; return nil }
			if err := db.InClinic(ctx, "", fn); err == nil {
				t.Error("InClinic with an empty clinic succeeded")
			}
			if err := db.ViewClinic(ctx, "", fn); err == nil {
				t.Error("ViewClinic with an empty clinic succeeded")
			}
			if calls != 0 {
				t.Errorf("fn ran %d times, want 0", calls)
			}
		})
		t.Run("OK", func(t *testing.T) {
			var got string
			err := db.InClinic(ctx, "c-ok", func(tx *sqlstore.Tx) error {
				got = tx.ClinicID()
				return createClinic(ctx, tx, "c-ok", "ok")
			})
			if err != nil {
				t.Fatal(err)
			}
			if got != "c-ok" {
				t.Errorf("tx.ClinicID() = %q, want %q", got, "c-ok")
			}
			if !clinicExists(t, db, "c-ok") {
				t.Error("clinic not committed")
			}
		})
		t.Run("ErrRollback", func(t *testing.T) {
			err := db.InClinic(ctx, "c-err", func(tx *sqlstore.Tx) error {
				if err := createClinic(ctx, tx, "c-err", "err"); err != nil {
					return err
				}
				return errBoom
			})
			if !errors.Is(err, errBoom) {
				t.Fatalf("InClinic = %v, want %v", err, errBoom)
			}
			if clinicExists(t, db, "c-err") {
				t.Error("clinic of a failed transaction exists")
			}
		})
		t.Run("Panic", func(t *testing.T) {
			func() {
				defer func() {
					if p := recover(); p != errBoom {
						t.Errorf("recovered %v, want %v", p, errBoom)
					}
				}()
				_ = db.InClinic(ctx, "c-panic", func(tx *sqlstore.Tx) error {
					if err := createClinic(ctx, tx, "c-panic", "panic"); err != nil {
						return err
					}
					panic(errBoom)
				})
			}()
			if clinicExists(t, db, "c-panic") {
				t.Error("clinic of a panicked transaction exists")
			}
			// The connection went back to the pool: the single SQLite writer
			// takes the next transaction.
			if err := db.InClinic(ctx, "c-after", func(tx *sqlstore.Tx) error {
				return createClinic(ctx, tx, "c-after", "after")
			}); err != nil {
				t.Fatalf("InClinic after a panic: %v", err)
			}
		})
	})
}

func TestInClinicSetsClinicSetting(t *testing.T) {
	requireEngine(t, sqlstore.Postgres)
	const clinic = "c-0192"
	ctx := context.Background()
	// One connection, so every transaction below runs on the same session.
	db := open(t, sqlstore.Options{URL: sqltest.URL(t, sqlstore.Postgres), MaxConns: 1})
	read := func(run func(context.Context, func(*sqlstore.Tx) error) error) string {
		t.Helper()
		var got string
		if err := run(ctx, func(tx *sqlstore.Tx) error { return tx.QueryRow(ctx, currentClinic).Scan(&got) }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	inClinic := func(ctx context.Context, fn func(*sqlstore.Tx) error) error { return db.InClinic(ctx, clinic, fn) }
	viewClinic := func(ctx context.Context, fn func(*sqlstore.Tx) error) error { return db.ViewClinic(ctx, clinic, fn) }

	if got := read(inClinic); got != clinic {
		t.Errorf("app.clinic_id in InClinic = %q, want %q", got, clinic)
	}
	if got := read(viewClinic); got != clinic {
		t.Errorf("app.clinic_id in ViewClinic = %q, want %q", got, clinic)
	}
	if got := read(db.InTx); got != "" {
		t.Errorf("app.clinic_id in a later InTx = %q, want empty", got)
	}
	var got string
	if err := db.Pool().QueryRow(ctx, currentClinic.SQL).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != "" {
		t.Errorf("app.clinic_id outside a transaction = %q, want empty (SET LOCAL)", got)
	}
}

// transientError returns a real error of the engine that the store retries:
// a serialization failure on PostgreSQL, SQLITE_BUSY on SQLite.
func transientError(t *testing.T, e sqlstore.Engine) error {
	t.Helper()
	if e == sqlstore.Postgres {
		return &pgconn.PgError{Code: "40001", Message: "could not serialize access"}
	}
	// Two connections of a pool without a busy timeout race for the write
	// lock: the second BEGIN IMMEDIATE fails at once with SQLITE_BUSY.
	path := filepath.Join(t.TempDir(), "busy.db")
	other, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate&_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	holder, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback()
	_, err = other.Begin()
	var se *sqlite.Error
	if !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY {
		t.Fatalf("second BEGIN IMMEDIATE = %v, want SQLITE_BUSY", err)
	}
	return err
}

func TestRetry(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		transient := transientError(t, db.Engine())
		t.Run("OK", func(t *testing.T) {
			calls := 0
			err := db.InTx(context.Background(), func(tx *sqlstore.Tx) error {
				calls++
				if calls < 3 {
					return transient
				}
				return createClinic(context.Background(), tx, "c-retry", "retry")
			})
			if err != nil {
				t.Fatal(err)
			}
			if calls != 3 {
				t.Errorf("fn ran %d times, want 3", calls)
			}
			if !clinicExists(t, db, "c-retry") {
				t.Error("clinic of the retried transaction not committed")
			}
		})
		t.Run("ErrGivesUp", func(t *testing.T) {
			calls := 0
			err := db.View(context.Background(), func(*sqlstore.Tx) error { calls++; return transient })
			if !errors.Is(err, transient) {
				t.Fatalf("View = %v, want %v", err, transient)
			}
			if calls < 2 {
				t.Errorf("fn ran %d times, want retries", calls)
			}
		})
		t.Run("ErrNotTransient", func(t *testing.T) {
			calls := 0
			err := db.InTx(context.Background(), func(*sqlstore.Tx) error { calls++; return errBoom })
			if !errors.Is(err, errBoom) {
				t.Fatalf("InTx = %v, want %v", err, errBoom)
			}
			if calls != 1 {
				t.Errorf("fn ran %d times, want 1", calls)
			}
		})
		t.Run("ErrCanceled", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			calls := 0
			err := db.InTx(ctx, func(*sqlstore.Tx) error {
				calls++
				cancel()
				return transient
			})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("InTx = %v, want context.Canceled", err)
			}
			if calls != 1 {
				t.Errorf("fn ran %d times, want 1", calls)
			}
		})
	})
}
