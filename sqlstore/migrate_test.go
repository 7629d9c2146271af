package sqlstore_test

import (
	"context"
	"os"
	"testing"

	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

func TestMigrate(t *testing.T) {
	for _, e := range sqltest.Engines(t) {
		t.Run(string(e), func(t *testing.T) {
			ctx := context.Background()
			files, err := os.ReadDir("migrations/" + string(e))
			if err != nil {
				t.Fatal(err)
			}
			db := open(t, sqlstore.Options{URL: sqltest.URL(t, e)})

			pending, err := db.Pending(ctx)
			if err != nil || !pending {
				t.Fatalf("Pending on a fresh database = %v, %v; want true, nil", pending, err)
			}
			n, err := db.Migrate(ctx)
			if err != nil || n != len(files) {
				t.Fatalf("Migrate = %d, %v; want %d, nil", n, err, len(files))
			}
			for _, table := range []string{"clinics", "users", "sessions", "one_time_tokens"} {
				err := db.View(ctx, func(tx *sqlstore.Tx) error {
					var count int64
					return tx.QueryRow(ctx, sqlstore.Stmt{Name: "test_count", SQL: "SELECT count(*) FROM " + table}).Scan(&count)
				})
				if err != nil {
					t.Errorf("table %s after Migrate: %v", table, err)
				}
			}
			n, err = db.Migrate(ctx)
			if err != nil || n != 0 {
				t.Fatalf("second Migrate = %d, %v; want 0, nil", n, err)
			}
			pending, err = db.Pending(ctx)
			if err != nil || pending {
				t.Fatalf("Pending after Migrate = %v, %v; want false, nil", pending, err)
			}
		})
	}
}
