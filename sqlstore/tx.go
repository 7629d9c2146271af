package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Stmt is a named SQL statement. Name is what slow-statement logs show (never
// the arguments). SQL uses $1-style parameters and runs on both engines
// unless SQLite is set, in which case SQLite runs that text instead: where
// the engines differ, both statements are written out in full.
type Stmt struct {
	Name   string
	SQL    string
	SQLite string
}

func (s Stmt) text(e Engine) string {
	if e == SQLite && s.SQLite != "" {
		return s.SQLite
	}
	return s.SQL
}

// Tx is a transaction on either engine. Store methods take one from InClinic,
// InTx or View and pass it to their private helpers.
type Tx struct {
	db       *DB
	sql      *sql.Tx
	pg       pgx.Tx
	clinicID string
	// onCommit runs after a successful commit (audit alerts).
	onCommit []func(context.Context)
}

// ClinicID returns the clinic the transaction is scoped to ("" for platform
// transactions).
func (tx *Tx) ClinicID() string { return tx.clinicID }

// SQLTx returns the SQLite transaction (for enqueuing jobs); nil on PostgreSQL.
func (tx *Tx) SQLTx() *sql.Tx { return tx.sql }

// PgxTx returns the PostgreSQL transaction (for enqueuing jobs); nil on SQLite.
func (tx *Tx) PgxTx() pgx.Tx { return tx.pg }

// Exec runs a statement and returns the number of rows it affected.
func (tx *Tx) Exec(ctx context.Context, s Stmt, args ...any) (int64, error) {
	defer tx.db.timed(s.Name, time.Now())
	if tx.pg != nil {
		tag, err := tx.pg.Exec(ctx, s.SQL, args...)
		return tag.RowsAffected(), tx.db.mapError(err)
	}
	res, err := tx.sql.ExecContext(ctx, s.text(SQLite), sqliteArgs(args)...)
	if err != nil {
		return 0, tx.db.mapError(err)
	}
	return res.RowsAffected()
}

// Query runs a statement that returns rows. The caller closes them.
func (tx *Tx) Query(ctx context.Context, s Stmt, args ...any) (*Rows, error) {
	defer tx.db.timed(s.Name, time.Now())
	if tx.pg != nil {
		rows, err := tx.pg.Query(ctx, s.SQL, args...)
		if err != nil {
			return nil, tx.db.mapError(err)
		}
		return &Rows{db: tx.db, pg: rows}, nil
	}
	rows, err := tx.sql.QueryContext(ctx, s.text(SQLite), sqliteArgs(args)...)
	if err != nil {
		return nil, tx.db.mapError(err)
	}
	return &Rows{db: tx.db, sql: rows}, nil
}

// QueryRow runs a statement expected to return at most one row. Scan
// returns ENOTFOUND-mapped sql.ErrNoRows as ErrNoRows.
func (tx *Tx) QueryRow(ctx context.Context, s Stmt, args ...any) *Row {
	rows, err := tx.Query(ctx, s, args...)
	return &Row{rows: rows, err: err}
}

// Rows iterates over a query's result on either engine.
type Rows struct {
	db  *DB
	sql *sql.Rows
	pg  pgx.Rows
}

// Next prepares the next row for Scan.
func (r *Rows) Next() bool {
	if r.pg != nil {
		return r.pg.Next()
	}
	return r.sql.Next()
}

// Scan copies the current row into dest. Times come back in UTC.
func (r *Rows) Scan(dest ...any) error {
	var err error
	if r.pg != nil {
		err = r.pg.Scan(dest...)
	} else {
		err = r.sql.Scan(sqliteDest(dest)...)
	}
	if err != nil {
		return r.db.mapError(err)
	}
	inUTC(dest)
	return nil
}

// sqliteDest wraps time destinations: SQLite returns times as text when a
// column has no declared type, as with min(at), and database/sql cannot
// scan text into a time.
func sqliteDest(dest []any) []any {
	out := dest
	for i, d := range dest {
		switch d.(type) {
		case *time.Time, **time.Time:
			if &out[0] == &dest[0] {
				out = append([]any(nil), dest...)
			}
			out[i] = sqliteTimeDest{d}
		}
	}
	return out
}

// sqliteTimeDest scans a time or its text into *time.Time or **time.Time.
type sqliteTimeDest struct{ dest any }

func (s sqliteTimeDest) Scan(src any) error {
	var t time.Time
	switch v := src.(type) {
	case nil:
		if pp, ok := s.dest.(**time.Time); ok {
			*pp = nil
			return nil
		}
		return errors.New("sqlstore: NULL scanned into a time.Time")
	case time.Time:
		t = v
	case string:
		var err error
		if t, err = time.Parse(sqliteTime, v); err != nil {
			if t, err = time.Parse("2006-01-02 15:04:05.999999999-07:00", v); err != nil {
				return fmt.Errorf("sqlstore: time %q: %w", v, err)
			}
		}
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a time", src)
	}
	switch d := s.dest.(type) {
	case *time.Time:
		*d = t
	case **time.Time:
		*d = &t
	}
	return nil
}

// inUTC moves scanned times to UTC: pgx returns them in time.Local and the
// SQLite driver in the zone it parsed, which is not time.UTC either.
func inUTC(dest []any) {
	for _, d := range dest {
		switch v := d.(type) {
		case *time.Time:
			*v = v.UTC()
		case **time.Time:
			if *v != nil {
				u := (*v).UTC()
				*v = &u
			}
		}
	}
}

// Err returns the error that ended iteration, if any.
func (r *Rows) Err() error {
	if r.pg != nil {
		return r.db.mapError(r.pg.Err())
	}
	return r.db.mapError(r.sql.Err())
}

// Close releases the rows.
func (r *Rows) Close() {
	if r.pg != nil {
		r.pg.Close()
		return
	}
	r.sql.Close()
}

// Row is the result of QueryRow.
type Row struct {
	rows *Rows
	err  error
}

// Scan copies the row into dest, or returns ErrNoRows when there is none.
func (r *Row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	return r.rows.Err()
}

// sqliteTime is the one layout times are written in on SQLite: fixed width
// and UTC, so that text order is time order.
const sqliteTime = "2006-01-02 15:04:05.000000+00:00"

func sqliteArgs(args []any) []any {
	out := args
	for i, a := range args {
		var s any
		switch v := a.(type) {
		case time.Time:
			s = v.UTC().Format(sqliteTime)
		case *time.Time:
			if v == nil {
				s = nil
			} else {
				s = v.UTC().Format(sqliteTime)
			}
		default:
			continue
		}
		if &out[0] == &args[0] {
			out = append([]any(nil), args...)
		}
		out[i] = s
	}
	return out
}

func (db *DB) timed(name string, start time.Time) {
	if d := time.Since(start); d > db.slow {
		db.log.Warn("slow statement", "statement", name, "duration_ms", d.Milliseconds(), "engine", string(db.engine))
	}
}

// cutPage trims rows read with a LIMIT of limit+1 to one page and returns
// the cursor of the next: the key of the page's last row, or "" when no
// row was left over.
func cutPage[T any](rows []T, limit int, key func(T) string) ([]T, string) {
	if len(rows) <= limit {
		return rows, ""
	}
	rows = rows[:limit]
	return rows, key(rows[limit-1])
}

// queryAll runs a statement and scans every row with scan, returning an
// empty (not nil) slice when there are none, so lists render as [].
func queryAll[T any](ctx context.Context, tx *Tx, s Stmt, scan func(scanner) (T, error), args ...any) ([]T, error) {
	rows, err := tx.Query(ctx, s, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// scanner is a row to scan: *Rows or *Row.
type scanner interface{ Scan(dest ...any) error }

// scanString scans a one-column row of text.
func scanString(rows scanner) (string, error) {
	var v string
	err := rows.Scan(&v)
	return v, err
}
