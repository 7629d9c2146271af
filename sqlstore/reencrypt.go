package sqlstore

import (
	"context"
	"fmt"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/phi"
)

// ReencryptBatch rewrites up to limit values under the clinic's newest key
// version, column after column, in one transaction. A process killed
// between batches leaves every value readable (each is under one version
// or the other), and the next run picks up what is left.
func (s *KeyService) ReencryptBatch(ctx context.Context, clinicID string, limit int) (int, error) {
	// Loaded before the transaction: on SQLite the store's own reads and
	// writes must not wait for the writer this transaction holds.
	newest, err := s.ring.Newest(ctx, clinicID)
	if err != nil {
		return 0, fmt.Errorf("re-encrypt: %w", err)
	}
	pattern := phi.KeyPrefix(newest) + "%"
	var done int
	err = s.db.InClinic(ctx, clinicID, func(tx *Tx) error {
		done = 0
		for _, c := range s.cols {
			if done >= limit {
				break
			}
			n, err := s.reencryptColumn(ctx, tx, c, clinicID, pattern, limit-done)
			if err != nil {
				return err
			}
			done += n
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("re-encrypt: %w", err)
	}
	return done, nil
}

func (s *KeyService) reencryptColumn(ctx context.Context, tx *Tx, c phiColumn, clinicID, pattern string, limit int) (int, error) {
	type value struct{ id, ciphertext string }
	var todo []value
	rows, err := tx.Query(ctx, c.pending, clinicID, pattern, limit)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var v value
		if err := rows.Scan(&v.id, &v.ciphertext); err != nil {
			return 0, err
		}
		todo = append(todo, v)
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	rows.Close()
	n := 0
	for _, v := range todo {
		f := c.Field(v.id)
		plain, err := s.ring.Decrypt(ctx, clinicID, f, v.ciphertext)
		if err != nil {
			return 0, err // a value that does not decrypt stops rotation: look at it
		}
		ct, err := s.ring.Encrypt(ctx, clinicID, f, plain)
		if err != nil {
			return 0, err
		}
		// Only if unchanged: a concurrent write already used a newer key.
		m, err := tx.Exec(ctx, c.rewrite, ct, clinicID, v.id, v.ciphertext)
		if err != nil {
			return 0, err
		}
		n += int(m)
	}
	return n, nil
}

var selectClinicSlugs = Stmt{Name: "select_clinic_slugs", SQL: `
SELECT id, slug FROM clinics ORDER BY slug`}

// KeyStatus reports each clinic's encryption-key versions and how many
// values of the PHI columns each protects.
func (s *KeyService) KeyStatus(ctx context.Context) ([]eonpro.ClinicKeyStatus, error) {
	if err := operatorOnly(ctx); err != nil {
		return nil, err
	}
	var out []eonpro.ClinicKeyStatus
	err := s.db.View(ctx, func(tx *Tx) error {
		rows, err := tx.Query(ctx, selectClinicSlugs)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c eonpro.ClinicKeyStatus
			if err := rows.Scan(&c.ClinicID, &c.ClinicSlug); err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("key status: %w", err)
	}
	for i := range out {
		if err := s.clinicStatus(ctx, &out[i]); err != nil {
			return nil, fmt.Errorf("key status: %w", err)
		}
	}
	return out, nil
}

func (s *KeyService) clinicStatus(ctx context.Context, c *eonpro.ClinicKeyStatus) error {
	keys, err := s.store.ClinicKeys(ctx, c.ClinicID)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.DestroyedAt != nil {
			c.DestroyedAt, c.Versions = k.DestroyedAt, nil
			return nil
		}
		if k.Purpose == phi.PurposeEncrypt {
			c.Versions = append(c.Versions, eonpro.KeyVersionStatus{Version: k.Version, CreatedAt: k.CreatedAt})
		}
	}
	return s.db.ViewClinic(ctx, c.ClinicID, func(tx *Tx) error {
		for i := range c.Versions {
			v := &c.Versions[i]
			v.Values = 0
			for _, col := range s.cols {
				var n int64
				if err := tx.QueryRow(ctx, col.count, c.ClinicID, phi.KeyPrefix(v.Version)+"%").Scan(&n); err != nil {
					return err
				}
				v.Values += n
			}
		}
		return nil
	})
}
