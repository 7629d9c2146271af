package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/eonpro/eonpro"
)

// selectReferencedKeys returns which of the storage keys ($2, a JSON
// array) the clinic's documents reference.
var selectReferencedKeys = Stmt{Name: "select_referenced_storage_keys", SQL: `
SELECT storage_key
FROM patient_documents
WHERE clinic_id = $1
  AND storage_key IN (SELECT json_array_elements_text($2::json))`, SQLite: `
SELECT storage_key
FROM patient_documents
WHERE clinic_id = $1
  AND storage_key IN (SELECT value FROM json_each($2))`}

// SweepOrphanBlobs deletes old content that no document references, a
// page of the blob store's listing at a time.
func (s *DocumentService) SweepOrphanBlobs(ctx context.Context) (eonpro.BlobSweep, error) {
	var res eonpro.BlobSweep
	if p := eonpro.PrincipalFromContext(ctx); p != nil && !p.SuperAdmin {
		return res, eonpro.Errorf(eonpro.EFORBIDDEN, "Only platform administrators may sweep stored documents.")
	}
	cutoff := s.db.Now().Add(-eonpro.OrphanBlobAge)
	clinics, err := s.db.clinicIDs(ctx)
	if err != nil {
		return res, fmt.Errorf("sweep orphan blobs: %w", err)
	}
	err = s.blobs.List(ctx, func(page []eonpro.BlobInfo) error {
		res.Scanned += len(page)
		var old []string
		for _, b := range page {
			if b.ModTime.Before(cutoff) {
				old = append(old, b.Key)
			}
		}
		orphans, err := s.unreferenced(ctx, clinics, old)
		if err != nil {
			return err
		}
		res.Orphaned += len(orphans)
		for _, key := range orphans {
			if err := s.blobs.Delete(ctx, key); err != nil {
				res.Errors++
				continue
			}
			res.Deleted++
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("sweep orphan blobs: %w", err)
	}
	return res, nil
}

// unreferenced returns the keys no clinic's documents reference. It asks
// each clinic in a transaction of its own: on PostgreSQL row-level
// security hides every clinic's documents from a platform transaction,
// which would make every blob look orphaned.
func (s *DocumentService) unreferenced(ctx context.Context, clinics, keys []string) ([]string, error) {
	left := make(map[string]bool, len(keys))
	for _, k := range keys {
		left[k] = true
	}
	for _, clinicID := range clinics {
		if len(left) == 0 {
			break
		}
		ask := make([]string, 0, len(left))
		for k := range left {
			ask = append(ask, k)
		}
		arg, err := json.Marshal(ask)
		if err != nil {
			return nil, err
		}
		var found []string
		err = s.db.ViewClinic(ctx, clinicID, func(tx *Tx) error {
			found = found[:0]
			rows, err := tx.Query(ctx, selectReferencedKeys, clinicID, string(arg))
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var k string
				if err := rows.Scan(&k); err != nil {
					return err
				}
				found = append(found, k)
			}
			return rows.Err()
		})
		if err != nil {
			return nil, err
		}
		for _, k := range found {
			delete(left, k)
		}
	}
	out := make([]string, 0, len(left))
	for _, k := range keys {
		if left[k] {
			out = append(out, k)
		}
	}
	return out, nil
}
