package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/phi"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

// versionCounts returns, per clinic slug, the values each key version
// protects, as "1:7 2:1"; "destroyed" for a destroyed clinic.
func versionCounts(t *testing.T, keys eonpro.KeyService) map[string]string {
	t.Helper()
	st, err := keys.KeyStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range st {
		var parts []string
		for _, v := range c.Versions {
			parts = append(parts, fmt.Sprintf("%d:%d", v.Version, v.Values))
		}
		out[c.ClinicSlug] = strings.Join(parts, " ")
		if c.DestroyedAt != nil {
			out[c.ClinicSlug] = "destroyed"
		}
	}
	return out
}

// checkAll decrypts every value written so far.
func (e *phiEnv) checkAll(t *testing.T, want map[string]string) {
	t.Helper()
	for row, plain := range want {
		clinic, id, _ := strings.Cut(row, "/")
		if got, err := e.get(t, e.ring, clinic, id); got != plain || err != nil {
			t.Errorf("%s: Decrypt = %q, %v; want %q", row, got, err, plain)
		}
	}
}

func TestRotateAndReencrypt(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		e := newPHIEnv(t, db)
		written := map[string]string{}
		for i := range 7 {
			id := fmt.Sprintf("a-%02d", i)
			written[phiClinicA+"/"+id] = "diagnosis " + id
			e.put(t, phiClinicA, id, written[phiClinicA+"/"+id])
		}
		for i := range 3 {
			id := fmt.Sprintf("b-%02d", i)
			written[phiClinicB+"/"+id] = "diagnosis " + id
			e.put(t, phiClinicB, id, written[phiClinicB+"/"+id])
		}
		diff(t, "status before", map[string]string{"clinic-a": "1:7", "clinic-b": "1:3"}, versionCounts(t, e.keys))

		v, err := e.keys.RotateKeys(ctx, phiClinicA)
		if err != nil || v != 2 {
			t.Fatalf("RotateKeys = %d, %v; want 2", v, err)
		}
		diff(t, "rotate hook", map[string][]int{phiClinicA: {2}}, e.rotations)
		if ct := e.put(t, phiClinicA, "a-new", "after rotation"); !strings.HasPrefix(ct, phi.KeyPrefix(2)) {
			t.Errorf("write after rotation starts %q, want %q", ct[:5], phi.KeyPrefix(2))
		}
		written[phiClinicA+"/a-new"] = "after rotation"
		diff(t, "status after rotate", map[string]string{"clinic-a": "1:7 2:1", "clinic-b": "1:3"}, versionCounts(t, e.keys))

		// One batch of 3, as if the process were then killed: every value
		// still decrypts, under one version or the other.
		if n, err := e.keys.ReencryptBatch(ctx, phiClinicA, 3); n != 3 || err != nil {
			t.Fatalf("ReencryptBatch = %d, %v; want 3", n, err)
		}
		diff(t, "status after one batch", map[string]string{"clinic-a": "1:4 2:4", "clinic-b": "1:3"}, versionCounts(t, e.keys))
		e.checkAll(t, written)

		// A cancelled run changes nothing.
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := e.keys.ReencryptBatch(cancelled, phiClinicA, 3); !errors.Is(err, context.Canceled) {
			t.Errorf("ReencryptBatch(cancelled) = %v, want context.Canceled", err)
		}
		diff(t, "status after a cancelled batch", map[string]string{"clinic-a": "1:4 2:4", "clinic-b": "1:3"}, versionCounts(t, e.keys))

		// A rerun (a new process: a fresh ring) finishes the work.
		fresh := phi.NewKeyRing(sqlstore.NewPHIKeyStore(db, nil), e.master, phi.RingOptions{})
		keys, err := sqlstore.NewKeyService(db, fresh, e.store, []phi.Column{testPHIColumn})
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for {
			n, err := keys.ReencryptBatch(ctx, phiClinicA, 3)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			total += n
		}
		if total != 4 {
			t.Errorf("the rerun re-encrypted %d values, want the 4 left", total)
		}
		diff(t, "status after re-encryption", map[string]string{"clinic-a": "1:0 2:8", "clinic-b": "1:3"}, versionCounts(t, e.keys))
		e.checkAll(t, written)
	})
}

// TestReencryptBatchIsAtomic: a batch that fails part way (here at a value
// that does not decrypt) commits nothing, so no value is half-done.
func TestReencryptBatchIsAtomic(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		e := newPHIEnv(t, db)
		written := map[string]string{}
		for i := range 4 {
			id := fmt.Sprintf("a-%02d", i)
			written[phiClinicA+"/"+id] = "value " + id
			e.put(t, phiClinicA, id, written[phiClinicA+"/"+id])
		}
		bad := e.put(t, phiClinicA, "a-99", "x")
		e.set(t, phiClinicA, "a-99", bad[:len(bad)-4]+"AAA=") // tampered
		if _, err := e.keys.RotateKeys(ctx, phiClinicA); err != nil {
			t.Fatal(err)
		}
		_, err := e.keys.ReencryptBatch(ctx, phiClinicA, 10)
		if !errors.Is(err, phi.ErrDecrypt) || !strings.Contains(err.Error(), "a-99") {
			t.Errorf("ReencryptBatch over a tampered value = %v, want ErrDecrypt naming the row", err)
		}
		diff(t, "status", map[string]string{"clinic-a": "1:5 2:0", "clinic-b": ""}, versionCounts(t, e.keys))
		e.checkAll(t, written)
	})
}

func TestDestroyKeys(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		e := newPHIEnv(t, db)
		e.put(t, phiClinicA, "a-1", "shred me")
		e.put(t, phiClinicB, "b-1", "keep me")
		if err := e.keys.DestroyKeys(ctx, phiClinicA); err != nil {
			t.Fatal(err)
		}
		// This process and a new one alike.
		other := phi.NewKeyRing(sqlstore.NewPHIKeyStore(db, nil), e.master, phi.RingOptions{})
		for name, ring := range map[string]*phi.KeyRing{"same": e.ring, "other": other} {
			t.Run(name, func(t *testing.T) {
				_, err := e.get(t, ring, phiClinicA, "a-1")
				if !errors.Is(err, phi.ErrKeysDestroyed) || eonpro.ErrorCode(err) != eonpro.EUNAVAILABLE {
					t.Errorf("Decrypt after destroy = %v, want ErrKeysDestroyed coded unavailable", err)
				}
				if _, err := ring.Encrypt(ctx, phiClinicA, testPHIColumn.Field("a-2"), "new"); !errors.Is(err, phi.ErrKeysDestroyed) {
					t.Errorf("Encrypt after destroy = %v, want ErrKeysDestroyed", err)
				}
				if got, err := e.get(t, ring, phiClinicB, "b-1"); got != "keep me" || err != nil {
					t.Errorf("other clinic: Decrypt = %q, %v", got, err)
				}
			})
		}
		if _, err := e.keys.RotateKeys(ctx, phiClinicA); eonpro.ErrorCode(err) != eonpro.EUNAVAILABLE {
			t.Errorf("RotateKeys after destroy = %v, want EUNAVAILABLE", err)
		}
		if _, err := e.keys.ReencryptBatch(ctx, phiClinicA, 10); eonpro.ErrorCode(err) != eonpro.EUNAVAILABLE {
			t.Errorf("ReencryptBatch after destroy = %v, want EUNAVAILABLE", err)
		}
		if n := countRows(t, db, selectPHIKeyRows, phiClinicA); n != 0 {
			t.Errorf("%d wrapped keys left for the destroyed clinic", n)
		}
		diff(t, "status", map[string]string{"clinic-a": "destroyed", "clinic-b": "1:1"}, versionCounts(t, e.keys))
	})
}

func TestKeyServiceErrors(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		e := newPHIEnv(t, db)
		if _, err := e.keys.RotateKeys(ctx, "no-such-clinic"); eonpro.ErrorCode(err) != eonpro.ENOTFOUND {
			t.Errorf("RotateKeys(unknown) = %v, want ENOTFOUND", err)
		}
		if _, err := e.keys.RotateKeys(ctx, "clinic-a"); eonpro.ErrorCode(err) != eonpro.ENOTFOUND {
			t.Errorf("RotateKeys(slug) = %v, want ENOTFOUND: the service takes ids", err)
		}
		if err := e.keys.DestroyKeys(ctx, "no-such-clinic"); eonpro.ErrorCode(err) != eonpro.ENOTFOUND {
			t.Errorf("DestroyKeys(unknown) = %v, want ENOTFOUND", err)
		}
		admin := eonpro.NewContextWithPrincipal(ctx, &eonpro.Principal{UserID: "u", ClinicID: phiClinicA, Role: eonpro.RoleAdmin})
		if _, err := e.keys.RotateKeys(admin, phiClinicA); eonpro.ErrorCode(err) != eonpro.EFORBIDDEN {
			t.Errorf("RotateKeys(clinic admin) = %v, want EFORBIDDEN", err)
		}
		if err := e.keys.DestroyKeys(admin, phiClinicA); eonpro.ErrorCode(err) != eonpro.EFORBIDDEN {
			t.Errorf("DestroyKeys(clinic admin) = %v, want EFORBIDDEN", err)
		}
		if _, err := e.keys.KeyStatus(admin); eonpro.ErrorCode(err) != eonpro.EFORBIDDEN {
			t.Errorf("KeyStatus(clinic admin) = %v, want EFORBIDDEN", err)
		}
		if _, err := sqlstore.NewKeyService(db, e.ring, e.store, []phi.Column{{Table: "x; --", Column: "c", IDColumn: "id", ClinicColumn: "clinic_id"}}); err == nil {
			t.Error("NewKeyService accepted a column that is not an identifier")
		}
	})
}
