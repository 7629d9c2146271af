package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/eonpro/eonpro"
)

// ErrNoRows is returned by Row.Scan when the query matched nothing. Store
// methods turn it into an ENOTFOUND error with a message for the entity.
var ErrNoRows = errors.New("sqlstore: no rows")

// mapError turns driver errors into the store's vocabulary, by error code,
// once per engine: a unique violation becomes ECONFLICT, "no rows" becomes
// ErrNoRows. Anything else is returned unchanged (and is internal).
func (db *DB) mapError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows) {
		return ErrNoRows
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return conflict(err)
	}
	if errors.As(err, &pe) && (pe.Code == "22021" || pe.Code == "22P05") {
		// character_not_in_repertoire: a NUL byte, which PostgreSQL text
		// cannot hold (SQLite can; both answer the same way through here).
		return fmt.Errorf("%w: %w", eonpro.Errorf(eonpro.EINVALID, "The input contains a character that is not allowed."), err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return conflict(err)
	}
	return err
}

// conflict keeps the driver error for logs behind a safe, coded message.
func conflict(cause error) error {
	return fmt.Errorf("%w: %w", eonpro.Errorf(eonpro.ECONFLICT, "The record already exists."), cause)
}

// isTransient reports whether err is worth retrying the whole transaction
// for. Lock contention and serialization failures are always transient;
// connection failures are transient when nothing reached the server, or
// when the work was read-only (readOnly), because replaying it is harmless.
func isTransient(err error, readOnly bool) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01" // serialization_failure, deadlock_detected
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		primary := se.Code() & 0xff
		return primary == sqlite3.SQLITE_BUSY || primary == sqlite3.SQLITE_LOCKED
	}
	if pgconn.SafeToRetry(err) {
		return true
	}
	if !readOnly {
		return false
	}
	var ne net.Error
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne)
}
