package phi

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// format is the version of the ciphertext layout:
// v1:<key version>:<base64(nonce | ciphertext | tag)>.
const format = "v1"

// KeyPrefix is how every value encrypted under a clinic's key version
// starts, for finding the values an old version still protects.
func KeyPrefix(version int) string {
	return format + ":" + strconv.Itoa(version) + ":"
}

// KeyVersion returns the key version a ciphertext was made with.
func KeyVersion(ciphertext string) (int, error) {
	v, _, err := parse(ciphertext)
	return v, err
}

// newAEAD returns AES-256-GCM under key.
func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("phi: key is %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// lengthPrefixed joins fields so that none can be shifted into another:
// each is preceded by its length.
func lengthPrefixed(fields ...string) []byte {
	var b []byte
	for _, f := range fields {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

// fieldAAD binds a ciphertext to its format, key version, clinic and field.
func fieldAAD(version int, clinicID string, f Field) []byte {
	return lengthPrefixed(format, strconv.Itoa(version), clinicID, f.Table, f.Column, f.RowID)
}

// seal encrypts plain with a fresh random 96-bit nonce.
func seal(aead cipher.AEAD, version int, clinicID string, f Field, plain string) string {
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	out := aead.Seal(nonce, nonce, []byte(plain), fieldAAD(version, clinicID, f))
	return KeyPrefix(version) + base64.StdEncoding.EncodeToString(out)
}

// open decrypts what seal made, for the same clinic and field only.
func open(aead cipher.AEAD, version int, sealed []byte, clinicID string, f Field) (string, error) {
	n := aead.NonceSize()
	if len(sealed) < n+aead.Overhead() {
		return "", ErrDecrypt
	}
	plain, err := aead.Open(nil, sealed[:n], sealed[n:], fieldAAD(version, clinicID, f))
	if err != nil {
		return "", ErrDecrypt
	}
	return string(plain), nil
}

// parse splits a ciphertext into its key version and sealed bytes.
func parse(ciphertext string) (int, []byte, error) {
	f, rest, ok := strings.Cut(ciphertext, ":")
	if !ok || f != format {
		return 0, nil, fmt.Errorf("%w: unknown format", ErrDecrypt)
	}
	id, b64, ok := strings.Cut(rest, ":")
	version, err := strconv.Atoi(id)
	if !ok || err != nil || version < 1 || strconv.Itoa(version) != id {
		return 0, nil, fmt.Errorf("%w: bad key id", ErrDecrypt)
	}
	sealed, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: bad encoding", ErrDecrypt)
	}
	return version, sealed, nil
}
