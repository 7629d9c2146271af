package phi_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/eonpro/eonpro/phi"
)

var contentField = phi.Field{Table: "patient_documents", Column: "content", RowID: "doc-1"}

func TestBytesRoundTrip(t *testing.T) {
	ctx := context.Background()
	ring, _ := newRing(t)
	for _, plain := range [][]byte{{0}, []byte("%PDF-1.7 lab result"), bytes.Repeat([]byte{0xff, 0, ':'}, 100_000)} {
		sealed, err := ring.EncryptBytes(ctx, clinicA, contentField, plain)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(sealed, []byte("v1:1:")) || len(sealed) != len("v1:1:")+12+len(plain)+16 {
			t.Errorf("sealed is %d bytes starting %q, want v1:1: + nonce + %d + tag", len(sealed), sealed[:5], len(plain))
		}
		if len(plain) > 8 && bytes.Contains(sealed, plain) {
			t.Error("the plaintext is in the ciphertext")
		}
		got, err := ring.DecryptBytes(ctx, clinicA, contentField, sealed)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("DecryptBytes = %d bytes, %v; want the %d bytes put in", len(got), err, len(plain))
		}
	}
	if out, err := ring.EncryptBytes(ctx, clinicA, contentField, nil); out != nil || err != nil {
		t.Errorf("EncryptBytes(nil) = %q, %v; want nil, nil", out, err)
	}
	if _, err := ring.EncryptBytes(ctx, clinicA, phi.Field{Table: "t", Column: "c"}, []byte("x")); err == nil {
		t.Error("EncryptBytes without a row id succeeded")
	}
}

func TestBytesBinding(t *testing.T) {
	ctx := context.Background()
	ring, _ := newRing(t)
	sealed, err := ring.EncryptBytes(ctx, clinicA, contentField, []byte("insurance card"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ring.EncryptBytes(ctx, clinicB, contentField, []byte("give clinic B keys")); err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 1
		return b
	}
	for _, tt := range []struct {
		name   string
		clinic string
		field  phi.Field
		sealed []byte
	}{
		{"ErrOtherDocument", clinicA, phi.Field{Table: "patient_documents", Column: "content", RowID: "doc-2"}, sealed},
		{"ErrOtherClinic", clinicB, contentField, sealed},
		{"ErrTextField", clinicA, phi.Field{Table: "patient_documents", Column: "filename", RowID: "doc-1"}, sealed},
		{"ErrNonce", clinicA, contentField, flip(len("v1:1:"))},
		{"ErrBody", clinicA, contentField, flip(len("v1:1:") + 12)},
		{"ErrTag", clinicA, contentField, flip(len(sealed) - 1)},
		{"ErrTruncated", clinicA, contentField, sealed[:len("v1:1:")+20]},
		{"ErrOtherKeyVersion", clinicA, contentField, append([]byte("v1:2:"), sealed[5:]...)},
		{"ErrPaddedKeyVersion", clinicA, contentField, append([]byte("v1:01:"), sealed[5:]...)},
		{"ErrFormat", clinicA, contentField, append([]byte("v2:1:"), sealed[5:]...)},
		{"ErrPlaintext", clinicA, contentField, []byte("insurance card")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := ring.DecryptBytes(ctx, tt.clinic, tt.field, tt.sealed); !errors.Is(err, phi.ErrDecrypt) || got != nil {
				t.Errorf("DecryptBytes = %q, %v; want ErrDecrypt", got, err)
			}
		})
	}
}

func TestBytesRotateAndDestroy(t *testing.T) {
	ctx := context.Background()
	ring, _ := newRing(t)
	old, err := ring.EncryptBytes(ctx, clinicA, contentField, []byte("before"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ring.Rotate(ctx, clinicA); err != nil {
		t.Fatal(err)
	}
	if got, err := ring.DecryptBytes(ctx, clinicA, contentField, old); string(got) != "before" || err != nil {
		t.Errorf("DecryptBytes after rotation = %q, %v", got, err)
	}
	if sealed, _ := ring.EncryptBytes(ctx, clinicA, contentField, []byte("after")); !bytes.HasPrefix(sealed, []byte("v1:2:")) {
		t.Errorf("write after rotation starts %q, want v1:2:", sealed[:5])
	}
	if err := ring.Destroy(ctx, clinicA); err != nil {
		t.Fatal(err)
	}
	if _, err := ring.DecryptBytes(ctx, clinicA, contentField, old); !errors.Is(err, phi.ErrKeysDestroyed) {
		t.Errorf("DecryptBytes after destroy = %v, want ErrKeysDestroyed", err)
	}
	if _, err := ring.EncryptBytes(ctx, clinicA, contentField, []byte("x")); !errors.Is(err, phi.ErrKeysDestroyed) {
		t.Errorf("EncryptBytes after destroy = %v, want ErrKeysDestroyed", err)
	}
}
