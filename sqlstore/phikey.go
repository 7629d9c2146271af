package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/phi"
)

var _ phi.KeyStore = (*PHIKeyStore)(nil)

// PHIKeyStore keeps the wrapped clinic data keys of the phi package in
// the phi_keys table.
type PHIKeyStore struct {
	db          *DB
	afterRotate RotateHook
}

// RotateHook runs in the transaction that stores a new encryption-key
// version after the first, so that what it enqueues (the re-encryption
// job) commits with the key or not at all.
type RotateHook func(ctx context.Context, tx *Tx, clinicID string, version int) error

// NewPHIKeyStore returns the key store on db; afterRotate may be nil.
func NewPHIKeyStore(db *DB, afterRotate RotateHook) *PHIKeyStore {
	return &PHIKeyStore{db: db, afterRotate: afterRotate}
}

var (
	selectPHIKeys = Stmt{Name: "select_phi_keys", SQL: `
SELECT purpose,
       version,
       wrapped_key,
       master_key_id,
       created_at,
       destroyed_at
FROM phi_keys
WHERE clinic_id = $1
ORDER BY purpose, version`}
	insertPHIKey = Stmt{Name: "insert_phi_key", SQL: `
INSERT INTO phi_keys (
    clinic_id,
    purpose,
    version,
    wrapped_key,
    master_key_id,
    created_at,
    destroyed_at
) VALUES ($1, $2, $3, $4, $5, $6, $7)`}
	destroyPHIKeys = Stmt{Name: "destroy_phi_keys", SQL: `
UPDATE phi_keys
SET wrapped_key = NULL,
    destroyed_at = $2
WHERE clinic_id = $1
  AND destroyed_at IS NULL`}
	countPHIKeys = Stmt{Name: "count_phi_keys", SQL: `
SELECT count(*) FROM phi_keys WHERE clinic_id = $1`}
)

// ClinicKeys implements phi.KeyStore.
func (s *PHIKeyStore) ClinicKeys(ctx context.Context, clinicID string) ([]phi.WrappedKey, error) {
	var out []phi.WrappedKey
	err := s.db.ViewClinic(ctx, clinicID, func(tx *Tx) error {
		out = nil
		rows, err := tx.Query(ctx, selectPHIKeys, clinicID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			k := phi.WrappedKey{ClinicID: clinicID}
			if err := rows.Scan(&k.Purpose, &k.Version, &k.Wrapped, &k.MasterKeyID, &k.CreatedAt, &k.DestroyedAt); err != nil {
				return err
			}
			out = append(out, k)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("find clinic keys: %w", err)
	}
	return out, nil
}

// AddClinicKeys implements phi.KeyStore. A new encryption-key version
// after the first records key.rotated in the clinic's audit trail and runs
// the rotate hook, in the same transaction.
func (s *PHIKeyStore) AddClinicKeys(ctx context.Context, keys []phi.WrappedKey) error {
	if len(keys) == 0 {
		return nil
	}
	clinicID := keys[0].ClinicID
	err := s.db.InClinic(ctx, clinicID, func(tx *Tx) error {
		for _, k := range keys {
			if k.ClinicID != clinicID {
				return errors.New("keys of several clinics")
			}
			if _, err := tx.Exec(ctx, insertPHIKey, k.ClinicID, string(k.Purpose), k.Version, k.Wrapped, k.MasterKeyID, k.CreatedAt, nil); err != nil {
				return err
			}
			if k.Purpose == phi.PurposeEncrypt && k.Version > 1 {
				if err := s.rotated(ctx, tx, k.Version); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add clinic keys: %w", err)
	}
	return nil
}

// rotated records key.rotated and runs the rotate hook, in the
// transaction of the new key.
func (s *PHIKeyStore) rotated(ctx context.Context, tx *Tx, version int) error {
	v := strconv.Itoa(version)
	err := recordAudit(ctx, tx, eonpro.AuditEvent{Action: eonpro.ActionKeyRotated, ResourceType: "phi_key",
		ResourceID: string(phi.PurposeEncrypt) + ":" + v, Detail: map[string]string{"version": v}})
	if err != nil || s.afterRotate == nil {
		return err
	}
	return s.afterRotate(ctx, tx, tx.ClinicID(), version)
}

// DestroyClinicKeys implements phi.KeyStore. A clinic that never had keys
// gets a destroyed version 1 of each, so that it never gets any.
func (s *PHIKeyStore) DestroyClinicKeys(ctx context.Context, clinicID string) error {
	err := s.db.InClinic(ctx, clinicID, func(tx *Tx) error {
		now := s.db.Now()
		if n, err := tx.Exec(ctx, destroyPHIKeys, clinicID, now); err != nil || n > 0 {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, countPHIKeys, clinicID).Scan(&n); err != nil || n > 0 {
			return err // none left to destroy: done before
		}
		for _, p := range []phi.Purpose{phi.PurposeEncrypt, phi.PurposeIndex} {
			if _, err := tx.Exec(ctx, insertPHIKey, clinicID, string(p), 1, nil, "", now, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("destroy clinic keys: %w", err)
	}
	return nil
}
