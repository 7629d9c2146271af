package phi

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
)

// EncryptBytes is Encrypt for binary content, such as a document: the
// same clinic key and AAD (format, key version, clinic, table, column,
// row), with the result as bytes rather than base64 text:
// "v1:<key version>:" followed by nonce | ciphertext | tag. Empty content
// stays empty. Returns EUNAVAILABLE (and ErrKeysDestroyed) when the
// clinic's keys were destroyed.
func (r *KeyRing) EncryptBytes(ctx context.Context, clinicID string, f Field, plain []byte) ([]byte, error) {
	if err := f.validate(); err != nil || len(plain) == 0 {
		return nil, err
	}
	k, err := r.keys(ctx, clinicID, true, false)
	if err != nil {
		return nil, fmt.Errorf("encrypt %s.%s: %w", f.Table, f.Column, err)
	}
	aead := k.enc[k.newest]
	prefix := KeyPrefix(k.newest)
	out := make([]byte, len(prefix)+aead.NonceSize(), len(prefix)+aead.NonceSize()+len(plain)+aead.Overhead())
	copy(out, prefix)
	nonce := out[len(prefix):]
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	return aead.Seal(out, nonce, plain, fieldAAD(k.newest, clinicID, f)), nil
}

// DecryptBytes returns the plaintext of what EncryptBytes made for the
// same clinic and field. Returns ErrDecrypt when it was tampered with or
// made for another clinic or field; EUNAVAILABLE (and ErrKeysDestroyed)
// when the clinic's keys were destroyed.
func (r *KeyRing) DecryptBytes(ctx context.Context, clinicID string, f Field, sealed []byte) ([]byte, error) {
	if err := f.validate(); err != nil || len(sealed) == 0 {
		return nil, err
	}
	version, body, err := parseBytes(sealed)
	if err != nil {
		return nil, fmt.Errorf("decrypt %s.%s row %s: %w", f.Table, f.Column, f.RowID, err)
	}
	k, err := r.keys(ctx, clinicID, false, false)
	if err == nil && k.enc[version] == nil {
		k, err = r.keys(ctx, clinicID, false, true) // a version newer than the cache
	}
	if err != nil {
		return nil, fmt.Errorf("decrypt %s.%s row %s: %w", f.Table, f.Column, f.RowID, err)
	}
	aead := k.enc[version]
	if aead == nil {
		return nil, fmt.Errorf("decrypt %s.%s row %s: %w: no key version %d", f.Table, f.Column, f.RowID, ErrDecrypt, version)
	}
	n := aead.NonceSize()
	if len(body) < n+aead.Overhead() {
		return nil, fmt.Errorf("decrypt %s.%s row %s: %w", f.Table, f.Column, f.RowID, ErrDecrypt)
	}
	plain, err := aead.Open(nil, body[:n], body[n:], fieldAAD(version, clinicID, f))
	if err != nil {
		return nil, fmt.Errorf("decrypt %s.%s row %s: %w", f.Table, f.Column, f.RowID, ErrDecrypt)
	}
	return plain, nil
}

// parseBytes splits binary ciphertext into its key version and sealed
// bytes, with the checks parse makes of the text form.
func parseBytes(sealed []byte) (int, []byte, error) {
	rest, ok := bytes.CutPrefix(sealed, []byte(format+":"))
	if !ok {
		return 0, nil, fmt.Errorf("%w: unknown format", ErrDecrypt)
	}
	id, body, ok := bytes.Cut(rest, []byte(":"))
	version, err := strconv.Atoi(string(id))
	if !ok || err != nil || version < 1 || strconv.Itoa(version) != string(id) {
		return 0, nil, fmt.Errorf("%w: bad key id", ErrDecrypt)
	}
	return version, body, nil
}
