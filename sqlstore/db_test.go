package sqlstore_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

var (
	insertClinic = sqlstore.Stmt{Name: "test_insert_clinic", SQL: `
INSERT INTO clinics (
    id,
    slug,
    name,
    created_at,
    updated_at
) VALUES ($1, $2, 'Test Clinic', $3, $3)`}
	countClinic = sqlstore.Stmt{Name: "test_count_clinic", SQL: `
SELECT count(*) FROM clinics WHERE id = $1`}
)

// createClinic inserts a clinic row in tx.
func createClinic(ctx context.Context, tx *sqlstore.Tx, id, slug string) error {
	_, err := tx.Exec(ctx, insertClinic, id, slug, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	return err
}

// clinicExists reports whether the clinic row id is committed.
func clinicExists(t *testing.T, db *sqlstore.DB, id string) bool {
	t.Helper()
	var n int64
	err := db.View(context.Background(), func(tx *sqlstore.Tx) error {
		return tx.QueryRow(context.Background(), countClinic, id).Scan(&n)
	})
	if err != nil {
		t.Fatalf("count clinic %s: %v", id, err)
	}
	return n == 1
}

// open opens an unmigrated database that is closed when the test ends.
func open(t *testing.T, opts sqlstore.Options) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// requireEngine skips the test unless this run covers engine e.
func requireEngine(t *testing.T, e sqlstore.Engine) {
	t.Helper()
	if !slices.Contains(sqltest.Engines(t), e) {
		t.Skipf("%s is not covered by this run", e)
	}
}

// diff reports want and got in the house "(-want +got)" form when they differ.
func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		t.Errorf("%s mismatch (-want +got):\n-%#v\n+%#v", what, want, got)
	}
}

func TestParseURL(t *testing.T) {
	type parsed struct {
		Engine sqlstore.Engine
		Addr   string
	}
	tests := []struct {
		name    string
		raw     string
		want    parsed
		wantErr bool
	}{
		{name: "SQLitePath", raw: "sqlite:data/eonpro.db", want: parsed{sqlstore.SQLite, "data/eonpro.db"}},
		{name: "SQLiteSlashes", raw: "sqlite:///var/lib/eonpro.db", want: parsed{sqlstore.SQLite, "/var/lib/eonpro.db"}},
		{name: "SQLiteEmptyQuery", raw: "sqlite://data/eonpro.db?", want: parsed{sqlstore.SQLite, "data/eonpro.db"}},
		{name: "Postgres", raw: "postgres://u@db:5432/eonpro?sslmode=require", want: parsed{sqlstore.Postgres, "postgres://u@db:5432/eonpro?sslmode=require"}},
		{name: "PostgreSQL", raw: "postgresql://u@db/eonpro", want: parsed{sqlstore.Postgres, "postgresql://u@db/eonpro"}},
		{name: "ErrSQLiteQuery", raw: "sqlite:data/eonpro.db?_pragma=foreign_keys(0)", wantErr: true},
		{name: "ErrSQLiteNoPath", raw: "sqlite:", wantErr: true},
		{name: "ErrSQLiteSlashesNoPath", raw: "sqlite://", wantErr: true},
		{name: "ErrSQLiteOnlyQuery", raw: "sqlite://?", wantErr: true},
		{name: "ErrPostgresEscape", raw: "postgres://u@db/%zz", wantErr: true},
		{name: "ErrScheme", raw: "mysql://u@db/eonpro", wantErr: true},
		{name: "ErrEmpty", raw: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, addr, err := sqlstore.ParseURL(tt.raw)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseURL(%q) = %q, %q; want an error", tt.raw, e, addr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseURL(%q): %v", tt.raw, err)
			}
			diff(t, "ParseURL", tt.want, parsed{e, addr})
		})
	}
}

func TestSQLitePragmas(t *testing.T) {
	db := sqltest.Open(t, sqlstore.SQLite, nil)
	ctx := context.Background()
	pools := []struct {
		name string
		run  func(context.Context, func(*sqlstore.Tx) error) error
	}{{"writer", db.InTx}, {"reader", db.View}}
	pragmas := []struct{ name, want string }{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"busy_timeout", "5000"},
	}
	for _, p := range pools {
		for _, pr := range pragmas {
			t.Run(p.name+"/"+pr.name, func(t *testing.T) {
				var got string
				err := p.run(ctx, func(tx *sqlstore.Tx) error {
					return tx.QueryRow(ctx, sqlstore.Stmt{Name: "test_pragma", SQL: "PRAGMA " + pr.name}).Scan(&got)
				})
				if err != nil {
					t.Fatal(err)
				}
				if got != pr.want {
					t.Errorf("PRAGMA %s = %q, want %q", pr.name, got, pr.want)
				}
			})
		}
	}
}

func TestViewRefusesWrites(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		err := db.View(ctx, func(tx *sqlstore.Tx) error {
			return createClinic(ctx, tx, "c-view", "view")
		})
		if err == nil {
			t.Fatal("write inside View succeeded, want an error")
		}
		if clinicExists(t, db, "c-view") {
			t.Error("clinic written inside View exists")
		}
	})
}

func TestStats(t *testing.T) {
	tests := []struct {
		name     string
		engine   sqlstore.Engine
		maxConns int
		want     map[string]int // pool name → Max
	}{
		{name: "SQLite", engine: sqlstore.SQLite, want: map[string]int{"writer": 1, "reader": max(4, runtime.NumCPU())}},
		{name: "PostgresDefault", engine: sqlstore.Postgres, want: map[string]int{"primary": 2*runtime.NumCPU() + 1}},
		{name: "PostgresMaxConns", engine: sqlstore.Postgres, maxConns: 3, want: map[string]int{"primary": 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireEngine(t, tt.engine)
			db := open(t, sqlstore.Options{URL: sqltest.URL(t, tt.engine), MaxConns: tt.maxConns})
			got := map[string]int{}
			for _, s := range db.Stats() {
				got[s.Pool] = s.Max
			}
			diff(t, "Stats Max", tt.want, got)
		})
	}
}

func TestSQLiteFileMode(t *testing.T) {
	path := strings.TrimPrefix(sqltest.URL(t, sqlstore.SQLite), "sqlite:")
	db2, err := sqlstore.Open(context.Background(), sqlstore.Options{URL: "sqlite:" + path})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if _, err := db2.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode&0o077 != 0 {
			t.Errorf("%s has mode %o, want no group or other access", filepath.Base(p), mode)
		}
	}
}
