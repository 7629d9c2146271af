package sqlstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

func TestErrorMapping(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		if err := db.InTx(ctx, func(tx *sqlstore.Tx) error { return createClinic(ctx, tx, "c-1", "acme") }); err != nil {
			t.Fatal(err)
		}
		conflicts := []struct{ name, id, slug string }{
			{"ErrConflictSlug", "c-2", "acme"},
			{"ErrConflictID", "c-1", "other"},
		}
		for _, tt := range conflicts {
			t.Run(tt.name, func(t *testing.T) {
				err := db.InTx(ctx, func(tx *sqlstore.Tx) error { return createClinic(ctx, tx, tt.id, tt.slug) })
				if got := eonpro.ErrorCode(err); got != eonpro.ECONFLICT {
					t.Errorf("ErrorCode(%v) = %q, want %q", err, got, eonpro.ECONFLICT)
				}
			})
		}
		t.Run("ErrNoRows", func(t *testing.T) {
			err := db.View(ctx, func(tx *sqlstore.Tx) error {
				var id string
				return tx.QueryRow(ctx, sqlstore.Stmt{Name: "test_find_clinic", SQL: "SELECT id FROM clinics WHERE id = $1"}, "missing").Scan(&id)
			})
			if !errors.Is(err, sqlstore.ErrNoRows) {
				t.Errorf("QueryRow.Scan = %v, want %v", err, sqlstore.ErrNoRows)
			}
		})
	})
}
