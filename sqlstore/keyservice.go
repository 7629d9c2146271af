package sqlstore

import (
	"context"
	"fmt"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/phi"
)

var _ eonpro.KeyService = (*KeyService)(nil)

// KeyService implements eonpro.KeyService over the PHI columns it is given
// (phi.Columns() in production).
type KeyService struct {
	db    *DB
	ring  *phi.KeyRing
	store *PHIKeyStore
	cols  []phiColumn
}

// phiColumn is a PHI column with its statements. Table and column names
// are written into the SQL: phi.Column.Validate admits plain identifiers only.
type phiColumn struct {
	phi.Column
	pending, rewrite, count Stmt
}

// NewKeyService returns the key service. It fails for a column whose names
// are not plain SQL identifiers.
func NewKeyService(db *DB, ring *phi.KeyRing, store *PHIKeyStore, cols []phi.Column) (*KeyService, error) {
	s := &KeyService{db: db, ring: ring, store: store}
	for _, c := range cols {
		if err := c.Validate(); err != nil {
			return nil, err
		}
		s.cols = append(s.cols, newPHIColumn(c))
	}
	return s, nil
}

func newPHIColumn(c phi.Column) phiColumn {
	name := c.Table + "_" + c.Column
	return phiColumn{Column: c,
		pending: Stmt{Name: "reencrypt_select_" + name, SQL: fmt.Sprintf(`
SELECT %[3]s, %[2]s
FROM %[1]s
WHERE %[4]s = $1
  AND %[2]s IS NOT NULL
  AND %[2]s <> ''
  AND %[2]s NOT LIKE $2
ORDER BY %[3]s
LIMIT $3`, c.Table, c.Column, c.IDColumn, c.ClinicColumn)},
		rewrite: Stmt{Name: "reencrypt_update_" + name, SQL: fmt.Sprintf(`
UPDATE %[1]s
SET %[2]s = $1
WHERE %[4]s = $2
  AND %[3]s = $3
  AND %[2]s = $4`, c.Table, c.Column, c.IDColumn, c.ClinicColumn)},
		count: Stmt{Name: "count_key_version_" + name, SQL: fmt.Sprintf(`
SELECT count(*)
FROM %[1]s
WHERE %[3]s = $1
  AND %[2]s LIKE $2`, c.Table, c.Column, c.ClinicColumn)},
	}
}

// operatorOnly admits the system (no principal) and super admins.
func operatorOnly(ctx context.Context) error {
	if p := eonpro.PrincipalFromContext(ctx); p != nil && !p.SuperAdmin {
		return eonpro.Errorf(eonpro.EFORBIDDEN, "Only platform administrators may manage encryption keys.")
	}
	return nil
}

// clinicExists returns ENOTFOUND for an unknown clinic id.
func (s *KeyService) clinicExists(ctx context.Context, clinicID string) error {
	return s.db.View(ctx, func(tx *Tx) error {
		c, err := findClinic(ctx, tx, selectClinicByRef, clinicID)
		if err == nil && c.ID != clinicID {
			return eonpro.Errorf(eonpro.ENOTFOUND, "Clinic not found.")
		}
		return err
	})
}

// RotateKeys makes a new encryption-key version; the store's rotate hook
// enqueues the re-encryption with it.
func (s *KeyService) RotateKeys(ctx context.Context, clinicID string) (int, error) {
	if err := operatorOnly(ctx); err != nil {
		return 0, err
	}
	if err := s.clinicExists(ctx, clinicID); err != nil {
		return 0, fmt.Errorf("rotate keys: %w", err)
	}
	return s.ring.Rotate(ctx, clinicID)
}

// DestroyKeys crypto-shreds a clinic.
func (s *KeyService) DestroyKeys(ctx context.Context, clinicID string) error {
	if err := operatorOnly(ctx); err != nil {
		return err
	}
	if err := s.clinicExists(ctx, clinicID); err != nil {
		return fmt.Errorf("destroy keys: %w", err)
	}
	return s.ring.Destroy(ctx, clinicID)
}
