package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations
var migrations embed.FS

// Migrate applies every pending schema migration of the engine and returns
// how many it applied. It is safe to run on every start and from many
// replicas: goose takes a lock on PostgreSQL, and SQLite has one writer.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	p, closeDB, err := db.migrator()
	if err != nil {
		return 0, err
	}
	defer closeDB()
	res, err := p.Up(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	return len(res), nil
}

// Pending reports whether any schema migration has not been applied.
func (db *DB) Pending(ctx context.Context) (bool, error) {
	p, closeDB, err := db.migrator()
	if err != nil {
		return false, err
	}
	defer closeDB()
	return p.HasPending(ctx)
}

func (db *DB) migrator() (*goose.Provider, func(), error) {
	sub, err := fs.Sub(migrations, "migrations/"+string(db.engine))
	if err != nil {
		return nil, nil, err
	}
	conn, dialect, opts := db.write, goose.DialectSQLite3, []goose.ProviderOption(nil)
	closeDB := func() {}
	if db.engine == Postgres {
		conn, dialect = stdlib.OpenDBFromPool(db.pool), goose.DialectPostgres
		closeDB = func() { conn.Close() }
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, conn, sub, opts...)
	if err != nil {
		closeDB()
		return nil, nil, fmt.Errorf("migrations: %w", err)
	}
	return p, closeDB, nil
}
