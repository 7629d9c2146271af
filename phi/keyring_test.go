package phi_test

import (
	"context"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/phi"
)

const clinicA, clinicB = "clinic-a", "clinic-b"

var noteField = phi.Field{Table: "notes", Column: "body", RowID: "row-1"}

func mustEncrypt(t *testing.T, r *phi.KeyRing, clinic string, f phi.Field, plain string) string {
	t.Helper()
	ct, err := r.Encrypt(context.Background(), clinic, f, plain)
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	return ct
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	ring, store := newRing(t)
	for _, plain := range []string{"Ada Lovelace", "x", "ünïcødé ✓", strings.Repeat("long ", 1000)} {
		ct := mustEncrypt(t, ring, clinicA, noteField, plain)
		if !regexp.MustCompile(`^v1:1:[A-Za-z0-9+/]+=*$`).MatchString(ct) {
			t.Fatalf("ciphertext %q is not v1:1:<base64>", ct[:min(len(ct), 40)])
		}
		raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(ct, "v1:1:"))
		if want := 12 + len(plain) + 16; len(raw) != want {
			t.Errorf("sealed length %d, want nonce+plaintext+tag = %d", len(raw), want)
		}
		got, err := ring.Decrypt(ctx, clinicA, noteField, ct)
		if err != nil || got != plain {
			t.Errorf("Decrypt = %q, %v; want %q", got[:min(len(got), 20)], err, plain[:min(len(plain), 20)])
		}
	}
	if a, b := mustEncrypt(t, ring, clinicA, noteField, "same"), mustEncrypt(t, ring, clinicA, noteField, "same"); a == b {
		t.Error("two encryptions of one value are equal: the nonce is not random")
	}
	if n := store.count(clinicA); n != 2 {
		t.Errorf("clinic has %d stored keys after first use, want 2 (enc and idx)", n)
	}
	if ct, err := ring.Encrypt(ctx, clinicA, noteField, ""); ct != "" || err != nil {
		t.Errorf("Encrypt(\"\") = %q, %v; want \"\", nil", ct, err)
	}
	if _, err := ring.Encrypt(ctx, clinicA, phi.Field{Table: "notes", Column: "body"}, "x"); err == nil {
		t.Error("Encrypt without a row id succeeded")
	}
}

func TestDecryptBinding(t *testing.T) {
	ctx := context.Background()
	ring, _ := newRing(t)
	ct := mustEncrypt(t, ring, clinicA, noteField, "Hypertension")
	_ = mustEncrypt(t, ring, clinicB, noteField, "give clinic B keys")
	for _, tt := range []struct {
		name   string
		clinic string
		field  phi.Field
	}{
		{"ErrOtherRow", clinicA, phi.Field{Table: "notes", Column: "body", RowID: "row-2"}},
		{"ErrOtherColumn", clinicA, phi.Field{Table: "notes", Column: "title", RowID: "row-1"}},
		{"ErrOtherTable", clinicA, phi.Field{Table: "letters", Column: "body", RowID: "row-1"}},
		{"ErrOtherClinic", clinicB, noteField},
		{"ErrShiftedFields", clinicA, phi.Field{Table: "notesb", Column: "ody", RowID: "row-1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ring.Decrypt(ctx, tt.clinic, tt.field, ct)
			if !errors.Is(err, phi.ErrDecrypt) || got != "" {
				t.Errorf("Decrypt = %q, %v; want ErrDecrypt", got, err)
			}
		})
	}
}

func TestDecryptTampered(t *testing.T) {
	ctx := context.Background()
	ring, _ := newRing(t)
	ct := mustEncrypt(t, ring, clinicA, noteField, "Hypertension")
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(ct, "v1:1:"))
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 1
		return "v1:1:" + base64.StdEncoding.EncodeToString(b)
	}
	for _, tt := range []struct{ name, ct string }{
		{"Nonce", flip(0)},
		{"Body", flip(12)},
		{"Tag", flip(len(raw) - 1)},
		{"Truncated", "v1:1:" + base64.StdEncoding.EncodeToString(raw[:20])},
		{"Short", "v1:1:" + base64.StdEncoding.EncodeToString(raw[:5])},
		{"OtherKeyVersion", strings.Replace(ct, "v1:1:", "v1:2:", 1)},
		{"PaddedKeyVersion", strings.Replace(ct, "v1:1:", "v1:01:", 1)},
		{"Format", strings.Replace(ct, "v1:", "v2:", 1)},
		{"Base64", ct + "!"},
		{"Plaintext", "Hypertension"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := ring.Decrypt(ctx, clinicA, noteField, tt.ct); !errors.Is(err, phi.ErrDecrypt) {
				t.Errorf("Decrypt = %q, %v; want ErrDecrypt", got, err)
			}
		})
	}
}

func TestRotate(t *testing.T) {
	ctx := context.Background()
	ring, store := newRing(t)
	v1 := mustEncrypt(t, ring, clinicA, noteField, "old")
	v, err := ring.Rotate(ctx, clinicA)
	if err != nil || v != 2 {
		t.Fatalf("Rotate = %d, %v; want 2", v, err)
	}
	v2 := mustEncrypt(t, ring, clinicA, noteField, "new")
	if !strings.HasPrefix(v2, phi.KeyPrefix(2)) {
		t.Errorf("write after rotation %q does not use version 2", v2[:8])
	}
	for ct, want := range map[string]string{v1: "old", v2: "new"} {
		if got, err := ring.Decrypt(ctx, clinicA, noteField, ct); got != want || err != nil {
			t.Errorf("Decrypt = %q, %v; want %q", got, err, want)
		}
	}
	if n, err := phi.KeyVersion(v2); n != 2 || err != nil {
		t.Errorf("KeyVersion = %d, %v; want 2", n, err)
	}
	if n := store.count(clinicA); n != 3 {
		t.Errorf("%d stored keys, want 3 (enc 1, enc 2, idx 1)", n)
	}
	// A clinic with no keys gets its first version, not two.
	if v, err := ring.Rotate(ctx, clinicB); v != 1 || err != nil {
		t.Errorf("Rotate(new clinic) = %d, %v; want 1", v, err)
	}
}

func TestRingRefresh(t *testing.T) {
	ctx := context.Background()
	store := &memStore{}
	master := newMaster(t)
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	a := phi.NewKeyRing(store, master, phi.RingOptions{Refresh: time.Minute, Clock: clock.Now})
	b := phi.NewKeyRing(store, master, phi.RingOptions{Refresh: time.Minute, Clock: clock.Now})
	old := mustEncrypt(t, b, clinicA, noteField, "x")
	if _, err := a.Rotate(ctx, clinicA); err != nil {
		t.Fatal(err)
	}
	// b reads a's new version at once, but writes its cached one until it refreshes.
	if got, err := b.Decrypt(ctx, clinicA, noteField, mustEncrypt(t, a, clinicA, noteField, "from a")); got != "from a" || err != nil {
		t.Errorf("Decrypt of a newer version = %q, %v", got, err)
	}
	clock.Add(time.Minute)
	if ct := mustEncrypt(t, b, clinicA, noteField, "y"); !strings.HasPrefix(ct, phi.KeyPrefix(2)) {
		t.Errorf("after refresh b writes %q, want version 2", ct[:6])
	}
	if err := a.Destroy(ctx, clinicA); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Minute)
	if _, err := b.Decrypt(ctx, clinicA, noteField, old); !errors.Is(err, phi.ErrKeysDestroyed) {
		t.Errorf("after refresh b decrypts a destroyed clinic: %v", err)
	}
}

func TestConcurrentFirstUse(t *testing.T) {
	store := &memStore{}
	master := newMaster(t)
	rings := []*phi.KeyRing{phi.NewKeyRing(store, master, phi.RingOptions{}), phi.NewKeyRing(store, master, phi.RingOptions{})}
	cts := make([]string, 20)
	var wg sync.WaitGroup
	for i := range cts {
		wg.Go(func() { cts[i] = mustEncrypt(t, rings[i%2], clinicA, noteField, "v") })
	}
	wg.Wait()
	if n := store.count(clinicA); n != 2 {
		t.Fatalf("%d keys after racing first uses, want 2", n)
	}
	for i, ct := range cts {
		if got, err := rings[(i+1)%2].Decrypt(context.Background(), clinicA, noteField, ct); got != "v" || err != nil {
			t.Errorf("cross-ring Decrypt = %q, %v", got, err)
		}
	}
}

func TestDestroy(t *testing.T) {
	ctx := context.Background()
	ring, store := newRing(t)
	ctA := mustEncrypt(t, ring, clinicA, noteField, "a")
	ctB := mustEncrypt(t, ring, clinicB, noteField, "b")
	if err := ring.Destroy(ctx, clinicA); err != nil {
		t.Fatal(err)
	}
	_, decErr := ring.Decrypt(ctx, clinicA, noteField, ctA)
	_, encErr := ring.Encrypt(ctx, clinicA, noteField, "new")
	_, idxErr := ring.BlindIndex(ctx, clinicA, phi.KindEmail, "a@example.test")
	_, rotErr := ring.Rotate(ctx, clinicA)
	for name, err := range map[string]error{"Decrypt": decErr, "Encrypt": encErr, "BlindIndex": idxErr, "Rotate": rotErr} {
		if !errors.Is(err, phi.ErrKeysDestroyed) || eonpro.ErrorCode(err) != eonpro.EUNAVAILABLE {
			t.Errorf("%s after destroy = %v; want ErrKeysDestroyed coded unavailable", name, err)
		}
	}
	if got, err := ring.Decrypt(ctx, clinicB, noteField, ctB); got != "b" || err != nil {
		t.Errorf("other clinic: Decrypt = %q, %v", got, err)
	}
	// A clinic destroyed before it ever had keys never gets any.
	if err := ring.Destroy(ctx, "clinic-c"); err != nil {
		t.Fatal(err)
	}
	fresh := phi.NewKeyRing(store, newMaster(t), phi.RingOptions{})
	if _, err := fresh.Encrypt(ctx, "clinic-c", noteField, "x"); !errors.Is(err, phi.ErrKeysDestroyed) {
		t.Errorf("Encrypt for a clinic destroyed before first use = %v; want ErrKeysDestroyed", err)
	}
}

func TestWrongMasterKey(t *testing.T) {
	ring, store := newRing(t)
	ct := mustEncrypt(t, ring, clinicA, noteField, "x")
	other := phi.NewKeyRing(store, newMaster(t), phi.RingOptions{})
	_, err := other.Decrypt(context.Background(), clinicA, noteField, ct)
	if err == nil || !strings.Contains(err.Error(), "master key") {
		t.Errorf("Decrypt under another master key = %v; want an error naming the master key", err)
	}
}
