package sqlstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/phi"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

// testPHIColumn is a PHI column of a table that only tests create: there
// are no clinic PHI tables yet, and rotation needs one.
var testPHIColumn = phi.Column{Table: "phi_test_values", Column: "secret", IDColumn: "id", ClinicColumn: "clinic_id"}

var (
	createPHITestTable = sqlstore.Stmt{Name: "test_create_phi_table", SQL: `
CREATE TABLE phi_test_values (
    id        TEXT PRIMARY KEY,
    clinic_id TEXT NOT NULL REFERENCES clinics (id),
    secret    TEXT
)`}
	insertPHIValue = sqlstore.Stmt{Name: "test_insert_phi_value", SQL: `
INSERT INTO phi_test_values (id, clinic_id, secret) VALUES ($1, $2, $3)`}
	selectPHIValue = sqlstore.Stmt{Name: "test_select_phi_value", SQL: `
SELECT secret FROM phi_test_values WHERE clinic_id = $1 AND id = $2`}
	setPHIValue = sqlstore.Stmt{Name: "test_set_phi_value", SQL: `
UPDATE phi_test_values SET secret = $3 WHERE clinic_id = $1 AND id = $2`}
	countKeyRotatedEvents = sqlstore.Stmt{Name: "test_count_key_rotated", SQL: `
SELECT count(*) FROM audit_events WHERE clinic_id = $1 AND action = 'key.rotated'`}
	selectPHIKeyRows = sqlstore.Stmt{Name: "test_select_phi_key_rows", SQL: `
SELECT count(*) FROM phi_keys WHERE clinic_id = $1 AND wrapped_key IS NOT NULL`}
)

// phiEnv is a migrated database with two clinics, the test PHI table, a
// key ring with a local master key and the key service over the table.
type phiEnv struct {
	db     *sqlstore.DB
	master phi.MasterKey
	store  *sqlstore.PHIKeyStore
	ring   *phi.KeyRing
	keys   *sqlstore.KeyService
	// rotations counts the rotate hook's calls, by clinic.
	mu        sync.Mutex
	rotations map[string][]int
}

const phiClinicA, phiClinicB = "00000000-0000-7000-8000-00000000000a", "00000000-0000-7000-8000-00000000000b"

func newPHIEnv(t *testing.T, db *sqlstore.DB) *phiEnv {
	t.Helper()
	ctx := context.Background()
	err := db.InTx(ctx, func(tx *sqlstore.Tx) error {
		if err := createClinic(ctx, tx, phiClinicA, "clinic-a"); err != nil {
			return err
		}
		if err := createClinic(ctx, tx, phiClinicB, "clinic-b"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, createPHITestTable)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	master, err := phi.ParseLocalMaster(phi.GenerateLocalMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	e := &phiEnv{db: db, master: master, rotations: map[string][]int{}}
	e.store = sqlstore.NewPHIKeyStore(db, func(_ context.Context, _ *sqlstore.Tx, clinicID string, version int) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.rotations[clinicID] = append(e.rotations[clinicID], version)
		return nil
	})
	e.ring = phi.NewKeyRing(e.store, master, phi.RingOptions{})
	if e.keys, err = sqlstore.NewKeyService(db, e.ring, e.store, append(phi.Columns(), testPHIColumn)); err != nil {
		t.Fatal(err)
	}
	return e
}

// put encrypts plain for the row (before the transaction, as stores do)
// and inserts it.
func (e *phiEnv) put(t *testing.T, clinicID, rowID, plain string) string {
	t.Helper()
	ctx := context.Background()
	ct, err := e.ring.Encrypt(ctx, clinicID, testPHIColumn.Field(rowID), plain)
	if err != nil {
		t.Fatal(err)
	}
	err = e.db.InClinic(ctx, clinicID, func(tx *sqlstore.Tx) error {
		_, err := tx.Exec(ctx, insertPHIValue, rowID, clinicID, ct)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

// raw returns a row's stored ciphertext.
func (e *phiEnv) raw(t *testing.T, clinicID, rowID string) string {
	t.Helper()
	var ct string
	err := e.db.ViewClinic(context.Background(), clinicID, func(tx *sqlstore.Tx) error {
		return tx.QueryRow(context.Background(), selectPHIValue, clinicID, rowID).Scan(&ct)
	})
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

// get reads and decrypts a row with ring.
func (e *phiEnv) get(t *testing.T, ring *phi.KeyRing, clinicID, rowID string) (string, error) {
	t.Helper()
	return ring.Decrypt(context.Background(), clinicID, testPHIColumn.Field(rowID), e.raw(t, clinicID, rowID))
}

func (e *phiEnv) set(t *testing.T, clinicID, rowID, ct string) {
	t.Helper()
	err := e.db.InClinic(context.Background(), clinicID, func(tx *sqlstore.Tx) error {
		_, err := tx.Exec(context.Background(), setPHIValue, clinicID, rowID, ct)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPHIKeyStore(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		e := newPHIEnv(t, db)
		created := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		k1 := phi.WrappedKey{ClinicID: phiClinicA, Purpose: phi.PurposeEncrypt, Version: 1, Wrapped: []byte{1, 2, 3}, MasterKeyID: "local:x", CreatedAt: created}
		k2 := phi.WrappedKey{ClinicID: phiClinicA, Purpose: phi.PurposeIndex, Version: 1, Wrapped: []byte{4}, MasterKeyID: "local:x", CreatedAt: created}
		if err := e.store.AddClinicKeys(ctx, []phi.WrappedKey{k1, k2}); err != nil {
			t.Fatal(err)
		}
		got, err := e.store.ClinicKeys(ctx, phiClinicA)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "ClinicKeys", []phi.WrappedKey{k1, k2}, got)

		t.Run("ErrConflict", func(t *testing.T) {
			err := e.store.AddClinicKeys(ctx, []phi.WrappedKey{k1})
			if eonpro.ErrorCode(err) != eonpro.ECONFLICT {
				t.Errorf("AddClinicKeys(existing version) = %v, want ECONFLICT", err)
			}
		})
		t.Run("RotateHookInTransaction", func(t *testing.T) {
			k3 := k1
			k3.Version = 2
			if err := e.store.AddClinicKeys(ctx, []phi.WrappedKey{k3}); err != nil {
				t.Fatal(err)
			}
			diff(t, "rotations", map[string][]int{phiClinicA: {2}}, e.rotations)
			failing := sqlstore.NewPHIKeyStore(db, func(context.Context, *sqlstore.Tx, string, int) error { return errors.New("queue down") })
			k3.Version = 3
			if err := failing.AddClinicKeys(ctx, []phi.WrappedKey{k3}); err == nil {
				t.Fatal("AddClinicKeys succeeded though the hook failed")
			}
			if got, _ := e.store.ClinicKeys(ctx, phiClinicA); len(got) != 3 {
				t.Errorf("%d keys after a failed hook, want 3: the key must roll back with it", len(got))
			}
			if n := countRows(t, db, countKeyRotatedEvents, phiClinicA); n != 1 {
				t.Errorf("%d key.rotated audit events, want 1 (none for the rolled-back rotation)", n)
			}
		})
		t.Run("Destroy", func(t *testing.T) {
			for range 2 { // idempotent
				if err := e.store.DestroyClinicKeys(ctx, phiClinicA); err != nil {
					t.Fatal(err)
				}
			}
			got, _ := e.store.ClinicKeys(ctx, phiClinicA)
			for _, k := range got {
				if k.Wrapped != nil || k.DestroyedAt == nil {
					t.Errorf("key %s v%d after destroy: wrapped %x, destroyed_at %v", k.Purpose, k.Version, k.Wrapped, k.DestroyedAt)
				}
			}
			if len(got) != 3 {
				t.Errorf("%d key rows after destroy, want the 3 kept as a record", len(got))
			}
			// A clinic destroyed before it had keys keeps a record too.
			if err := e.store.DestroyClinicKeys(ctx, phiClinicB); err != nil {
				t.Fatal(err)
			}
			if got, _ := e.store.ClinicKeys(ctx, phiClinicB); len(got) != 2 || got[0].DestroyedAt == nil {
				t.Errorf("keys of a clinic destroyed before first use: %+v", got)
			}
		})
	})
}

func TestKeyRingOnStore(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newPHIEnv(t, db)
		e.put(t, phiClinicA, "row-1", "Type 2 diabetes")
		e.put(t, phiClinicA, "row-2", "Asthma")
		e.put(t, phiClinicB, "row-3", "Migraine")
		// Another process: a new ring on the same database and master key.
		other := phi.NewKeyRing(sqlstore.NewPHIKeyStore(db, nil), e.master, phi.RingOptions{})
		for row, want := range map[string]string{"row-1": "Type 2 diabetes", "row-2": "Asthma"} {
			if got, err := e.get(t, other, phiClinicA, row); got != want || err != nil {
				t.Errorf("Decrypt(%s) = %q, %v; want %q", row, got, err, want)
			}
		}
		t.Run("ErrCopiedToOtherRow", func(t *testing.T) {
			e.set(t, phiClinicA, "row-2", e.raw(t, phiClinicA, "row-1"))
			if _, err := e.get(t, e.ring, phiClinicA, "row-2"); !errors.Is(err, phi.ErrDecrypt) {
				t.Errorf("copied ciphertext: %v, want ErrDecrypt", err)
			}
		})
		t.Run("ErrCopiedToOtherClinic", func(t *testing.T) {
			// Same row id in both clinics is impossible here; reuse the
			// field of the source row to isolate the clinic binding.
			ct := e.raw(t, phiClinicA, "row-1")
			if _, err := e.ring.Decrypt(context.Background(), phiClinicB, testPHIColumn.Field("row-1"), ct); !errors.Is(err, phi.ErrDecrypt) {
				t.Errorf("other clinic: %v, want ErrDecrypt", err)
			}
		})
		t.Run("ErrOtherColumn", func(t *testing.T) {
			ct := e.raw(t, phiClinicA, "row-1")
			f := phi.Field{Table: testPHIColumn.Table, Column: "other", RowID: "row-1"}
			if _, err := e.ring.Decrypt(context.Background(), phiClinicA, f, ct); !errors.Is(err, phi.ErrDecrypt) {
				t.Errorf("other column: %v, want ErrDecrypt", err)
			}
		})
		t.Run("ConcurrentFirstUse", func(t *testing.T) {
			ctx := context.Background()
			rings := []*phi.KeyRing{
				phi.NewKeyRing(sqlstore.NewPHIKeyStore(db, nil), e.master, phi.RingOptions{}),
				phi.NewKeyRing(sqlstore.NewPHIKeyStore(db, nil), e.master, phi.RingOptions{}),
			}
			const clinic = "00000000-0000-7000-8000-00000000000c"
			if err := db.InTx(ctx, func(tx *sqlstore.Tx) error { return createClinic(ctx, tx, clinic, "clinic-c") }); err != nil {
				t.Fatal(err)
			}
			cts := make([]string, 8)
			errs := make([]error, 8)
			var wg sync.WaitGroup
			for i := range cts {
				wg.Go(func() { cts[i], errs[i] = rings[i%2].Encrypt(ctx, clinic, testPHIColumn.Field("r"), "v") })
			}
			wg.Wait()
			for i, ct := range cts {
				if errs[i] != nil {
					t.Fatalf("Encrypt: %v", errs[i])
				}
				if got, err := rings[(i+1)%2].Decrypt(ctx, clinic, testPHIColumn.Field("r"), ct); got != "v" || err != nil {
					t.Errorf("cross-ring Decrypt = %q, %v", got, err)
				}
			}
		})
	})
}

// countRows runs a count(*) statement.
func countRows(t *testing.T, db *sqlstore.DB, s sqlstore.Stmt, args ...any) int64 {
	t.Helper()
	var n int64
	err := db.View(context.Background(), func(tx *sqlstore.Tx) error {
		return tx.QueryRow(context.Background(), s, args...).Scan(&n)
	})
	if err != nil {
		t.Fatalf("%s: %v", s.Name, err)
	}
	return n
}
