package phi

import (
	"context"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Purpose tells a clinic's two kinds of data key apart.
type Purpose string

// The purposes of clinic data keys.
const (
	PurposeEncrypt Purpose = "enc" // AES-256-GCM field encryption
	PurposeIndex   Purpose = "idx" // HMAC-SHA256 blind indexes
)

// KeyContext names the data key being wrapped. Master keys bind the wrapping
// to it, so a wrapped key copied to another clinic, purpose or version does
// not unwrap.
type KeyContext struct {
	ClinicID string
	Purpose  Purpose
	Version  int
}

// pairs is the context as AWS KMS encryption context.
func (kc KeyContext) pairs() map[string]string {
	return map[string]string{
		"eonpro_clinic_id":   kc.ClinicID,
		"eonpro_key_purpose": string(kc.Purpose),
		"eonpro_key_version": strconv.Itoa(kc.Version),
	}
}

// MasterKey wraps and unwraps clinic data keys (envelope encryption). It
// never sees PHI, only 32-byte data keys.
type MasterKey interface {
	// ID names the master key. It is stored beside every wrapped key, so a
	// wrong master key is reported as such rather than as tampering.
	ID() string
	// Wrap encrypts a data key for kc.
	Wrap(ctx context.Context, key []byte, kc KeyContext) ([]byte, error)
	// Unwrap decrypts a data key wrapped for kc; it fails for any other kc.
	Unwrap(ctx context.Context, wrapped []byte, kc KeyContext) ([]byte, error)
}

// LocalMaster is a master key held by the process itself
// (EONPRO_MASTER_KEY or a key file), for installations without a KMS.
type LocalMaster struct {
	id   string
	aead cipher.AEAD
}

// NewLocalMaster returns a master key of 32 raw bytes.
func NewLocalMaster(key []byte) (*LocalMaster, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	// The id is an HMAC under the key itself: it names the key without
	// revealing anything of it.
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("eonpro master key id"))
	return &LocalMaster{id: "local:" + hex.EncodeToString(mac.Sum(nil)[:8]), aead: aead}, nil
}

// ParseLocalMaster reads a master key written as base64 of 32 bytes.
func ParseLocalMaster(b64 string) (*LocalMaster, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil || len(key) != 32 {
		return nil, errors.New("master key must be the base64 encoding of 32 bytes")
	}
	return NewLocalMaster(key)
}

// LoadLocalMaster reads a key file holding base64 of 32 bytes.
func LoadLocalMaster(path string) (*LocalMaster, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("master key file: %w", err)
	}
	m, err := ParseLocalMaster(string(raw))
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return m, nil
}

// GenerateLocalMasterKey returns a new random master key, base64-encoded.
func GenerateLocalMasterKey() string {
	return base64.StdEncoding.EncodeToString(randomKey())
}

// ID implements MasterKey.
func (m *LocalMaster) ID() string { return m.id }

func wrapAAD(kc KeyContext) []byte {
	return lengthPrefixed("eonpro wrapped key v1", kc.ClinicID, string(kc.Purpose), strconv.Itoa(kc.Version))
}

// Wrap implements MasterKey with AES-256-GCM, the key context as AAD.
func (m *LocalMaster) Wrap(_ context.Context, key []byte, kc KeyContext) ([]byte, error) {
	nonce := make([]byte, m.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return m.aead.Seal(nonce, nonce, key, wrapAAD(kc)), nil
}

// Unwrap implements MasterKey.
func (m *LocalMaster) Unwrap(_ context.Context, wrapped []byte, kc KeyContext) ([]byte, error) {
	n := m.aead.NonceSize()
	if len(wrapped) < n {
		return nil, errors.New("phi: wrapped key is malformed")
	}
	key, err := m.aead.Open(nil, wrapped[:n], wrapped[n:], wrapAAD(kc))
	if err != nil {
		return nil, errors.New("phi: wrapped key does not unwrap")
	}
	return key, nil
}

// randomKey returns 32 random bytes.
func randomKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}
