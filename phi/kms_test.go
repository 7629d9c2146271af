package phi_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/eonpro/eonpro/phi"
	"github.com/eonpro/eonpro/phi/kmsfake"
)

func TestKMSMaster(t *testing.T) {
	fake := kmsfake.New()
	defer fake.Close()
	keyID := fake.NewKey()
	m := phi.NewKMSMaster(fake.Client(), keyID)
	if m.ID() != "kms:"+keyID {
		t.Errorf("ID = %q", m.ID())
	}
	testMaster(t, m)

	ctx := context.Background()
	kc := phi.KeyContext{ClinicID: clinicA, Purpose: phi.PurposeEncrypt, Version: 1}
	wrapped, err := m.Wrap(ctx, make([]byte, 32), kc)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("ErrWrongContextIsInvalidCiphertext", func(t *testing.T) {
		_, err := m.Unwrap(ctx, wrapped, phi.KeyContext{ClinicID: clinicB, Purpose: phi.PurposeEncrypt, Version: 1})
		var ic *types.InvalidCiphertextException
		if !errors.As(err, &ic) {
			t.Errorf("Unwrap = %v, want InvalidCiphertextException", err)
		}
	})
	t.Run("ErrOtherKMSKey", func(t *testing.T) {
		_, err := phi.NewKMSMaster(fake.Client(), fake.NewKey()).Unwrap(ctx, wrapped, kc)
		var ik *types.IncorrectKeyException
		if !errors.As(err, &ik) {
			t.Errorf("Unwrap under another key = %v, want IncorrectKeyException", err)
		}
	})
	t.Run("ErrDisabled", func(t *testing.T) {
		other := fake.NewKey()
		om := phi.NewKMSMaster(fake.Client(), other)
		w, err := om.Wrap(ctx, make([]byte, 32), kc)
		if err != nil {
			t.Fatal(err)
		}
		fake.DisableKey(other)
		var de *types.DisabledException
		if _, err := om.Unwrap(ctx, w, kc); !errors.As(err, &de) {
			t.Errorf("Unwrap under a disabled key = %v, want DisabledException", err)
		}
	})
}

// TestKeyRingOnKMS runs the ring on the KMS master and checks that KMS is
// asked once per key, not once per value.
func TestKeyRingOnKMS(t *testing.T) {
	fake := kmsfake.New()
	defer fake.Close()
	keyID := fake.NewKey()
	store := &memStore{}
	ring := phi.NewKeyRing(store, phi.NewKMSMaster(fake.Client(), keyID), phi.RingOptions{})
	ct := mustEncrypt(t, ring, clinicA, noteField, "Ada")
	for range 10 {
		mustEncrypt(t, ring, clinicA, noteField, "Ada")
	}
	if n := fake.Calls("Encrypt"); n != 2 {
		t.Errorf("%d KMS Encrypt calls, want 2 (one per data key)", n)
	}
	// A new process unwraps each key once.
	other := phi.NewKeyRing(store, phi.NewKMSMaster(fake.Client(), keyID), phi.RingOptions{})
	for range 10 {
		if got, err := other.Decrypt(context.Background(), clinicA, noteField, ct); got != "Ada" || err != nil {
			t.Fatalf("Decrypt = %q, %v", got, err)
		}
	}
	if n := fake.Calls("Decrypt"); n != 2 {
		t.Errorf("%d KMS Decrypt calls, want 2", n)
	}
}
