// Package sqltest opens fresh, migrated databases for tests: a temporary
// SQLite file always, and a temporary PostgreSQL database when
// EONPRO_TEST_POSTGRES_URL is set. With CI=true a missing PostgreSQL fails
// the test rather than skipping it.
package sqltest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
)

// Engines lists the engines the tests of this run cover.
func Engines(t testing.TB) []sqlstore.Engine {
	t.Helper()
	if os.Getenv("EONPRO_TEST_POSTGRES_URL") != "" {
		return []sqlstore.Engine{sqlstore.SQLite, sqlstore.Postgres}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but EONPRO_TEST_POSTGRES_URL is not set")
	}
	return []sqlstore.Engine{sqlstore.SQLite}
}

// Each runs fn as a subtest per engine, each with its own fresh database.
func Each(t *testing.T, fn func(t *testing.T, db *sqlstore.DB)) {
	for _, e := range Engines(t) {
		t.Run(string(e), func(t *testing.T) { fn(t, Open(t, e, nil)) })
	}
}

// URL makes an empty database for the engine and returns its URL; the
// database is dropped when the test ends.
func URL(t testing.TB, e sqlstore.Engine) string {
	t.Helper()
	if e == sqlstore.SQLite {
		return "sqlite:" + filepath.Join(t.TempDir(), "eonpro.db")
	}
	base := os.Getenv("EONPRO_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("EONPRO_TEST_POSTGRES_URL is not set")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to test PostgreSQL: %v", err)
	}
	defer admin.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "eonpro_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			t.Errorf("drop test database: %v", err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// Open returns a migrated database of engine e that is closed when the test
// ends. clock may be nil for the real clock.
func Open(t testing.TB, e sqlstore.Engine, clock eonpro.Clock) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{
		URL:       URL(t, e),
		Clock:     clock,
		SlowQuery: time.Second,
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("open %s: %v", e, err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate %s: %v", e, err)
	}
	return db
}
