// Package sqlstore implements the domain services on SQLite (embedded, pure
// Go) and PostgreSQL (pgx) with one body of code. The engines differ only
// where a Stmt carries a SQLite variant and in db.go, tx.go and errors.go.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/eonpro/eonpro"
)

// Engine names a database engine.
type Engine string

// The supported engines.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// Options configure Open.
type Options struct {
	// URL is "sqlite:PATH" or a postgres:// (postgresql://) URL.
	URL string
	// MaxConns caps the PostgreSQL pool; 0 means 2×CPU+1.
	MaxConns int
	// SlowQuery is the duration over which a statement is logged by name.
	SlowQuery time.Duration
	Logger    *slog.Logger
	Clock     eonpro.Clock
	// AuditFallback is the JSON-lines file that receives audit events the
	// database could not store; "" only logs them.
	AuditFallback string
}

// DB is a handle on one database. It is safe for concurrent use.
type DB struct {
	engine Engine
	path   string // SQLite file

	write *sql.DB // SQLite: one connection, BEGIN IMMEDIATE
	read  *sql.DB // SQLite: read-only pool
	pool  *pgxpool.Pool

	now   eonpro.Clock
	log   *slog.Logger
	slow  time.Duration
	audit auditSink
	// enqueuer is the job queue behind Tx.Enqueue (nil without one).
	enqueuer atomic.Pointer[enqueuerBox]
}

// ParseURL splits a database URL into its engine and the driver's address.
func ParseURL(raw string) (Engine, string, error) {
	switch {
	case strings.HasPrefix(raw, "sqlite:"):
		p := strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite:"), "//")
		// The store appends its own query of pragmas to the path; a query
		// here would swallow them (WAL, foreign keys, busy timeout) silently.
		p, query, _ := strings.Cut(p, "?")
		if query != "" {
			return "", "", errors.New("sqlite URL takes no query parameters")
		}
		if p == "" {
			return "", "", errors.New("sqlite URL has no path")
		}
		return SQLite, p, nil
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		if _, err := url.Parse(raw); err != nil {
			return "", "", fmt.Errorf("parse postgres URL: %w", err)
		}
		return Postgres, raw, nil
	}
	return "", "", errors.New("database URL must start with sqlite:, postgres:// or postgresql://")
}

// Open connects to the database named by opts.URL. It does not migrate.
func Open(ctx context.Context, opts Options) (*DB, error) {
	engine, addr, err := ParseURL(opts.URL)
	if err != nil {
		return nil, err
	}
	db := &DB{engine: engine, now: opts.Clock, log: opts.Logger, slow: opts.SlowQuery}
	db.audit.fallback = opts.AuditFallback
	if db.now == nil {
		db.now = eonpro.SystemClock
	}
	if db.log == nil {
		db.log = slog.New(slog.DiscardHandler)
	}
	if engine == SQLite {
		err = db.openSQLite(addr)
	} else {
		err = db.openPostgres(ctx, addr, opts.MaxConns)
	}
	if err != nil {
		return nil, err
	}
	return db, nil
}

func (db *DB) openSQLite(path string) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create database directory: %w", err)
		}
	}
	db.path = path
	// The file holds PHI: create it readable by the owner only; SQLite
	// gives its -wal and -shm files the same mode.
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create database file: %w", err)
	}
	f.Close()
	const common = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_time_format=sqlite"
	w, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_txlock=immediate&"+common)
	if err != nil {
		return fmt.Errorf("open sqlite writer: %w", err)
	}
	w.SetMaxOpenConns(1) // SQLite has one writer; queueing here beats SQLITE_BUSY
	w.SetConnMaxIdleTime(0)
	// The writer creates the file and switches it to WAL before readers open.
	if err := w.Ping(); err != nil {
		w.Close()
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", "file:"+path+"?_pragma=query_only(1)&_txlock=deferred&"+common)
	if err != nil {
		w.Close()
		return fmt.Errorf("open sqlite reader: %w", err)
	}
	r.SetMaxOpenConns(max(4, runtime.NumCPU()))
	db.write, db.read = w, r
	return nil
}

func (db *DB) openPostgres(ctx context.Context, addr string, maxConns int) error {
	cfg, err := pgxpool.ParseConfig(addr)
	if err != nil {
		return fmt.Errorf("parse postgres URL: %w", err)
	}
	if maxConns <= 0 {
		maxConns = 2*runtime.NumCPU() + 1
	}
	cfg.MaxConns = int32(maxConns)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect postgres: %w", err)
	}
	db.pool = pool
	return nil
}

// Engine reports which engine the database runs on.
func (db *DB) Engine() Engine { return db.engine }

// Now returns the store's clock reading in UTC, to the microsecond that
// both engines keep, so a value returned from a write equals a later read.
func (db *DB) Now() time.Time { return db.now().UTC().Truncate(time.Microsecond) }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if db.engine == Postgres {
		return db.pool.Ping(ctx)
	}
	if err := db.write.PingContext(ctx); err != nil {
		return err
	}
	return db.read.PingContext(ctx)
}

// Close releases every connection.
func (db *DB) Close() error {
	if db.engine == Postgres {
		db.pool.Close()
		return nil
	}
	return errors.Join(db.read.Close(), db.write.Close())
}

// SQLDB returns the SQLite writer pool (for River); nil on PostgreSQL.
func (db *DB) SQLDB() *sql.DB { return db.write }

// Pool returns the PostgreSQL pool (for River); nil on SQLite.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// PoolStats is a snapshot of connection pool use.
type PoolStats struct {
	Pool  string // "primary", or on SQLite "writer" and "reader"
	Open  int
	InUse int
	Idle  int
	Max   int
}

// Stats reports connection pool use.
func (db *DB) Stats() []PoolStats {
	if db.engine == Postgres {
		s := db.pool.Stat()
		return []PoolStats{{"primary", int(s.TotalConns()), int(s.AcquiredConns()), int(s.IdleConns()), int(s.MaxConns())}}
	}
	out := make([]PoolStats, 0, 2)
	for _, p := range []struct {
		name string
		db   *sql.DB
	}{{"writer", db.write}, {"reader", db.read}} {
		s := p.db.Stats()
		out = append(out, PoolStats{p.name, s.OpenConnections, s.InUse, s.Idle, s.MaxOpenConnections})
	}
	return out
}
