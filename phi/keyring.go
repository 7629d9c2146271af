package phi

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/eonpro/eonpro"
)

// WrappedKey is a clinic data key as stored: wrapped by the master key.
type WrappedKey struct {
	ClinicID    string
	Purpose     Purpose
	Version     int
	Wrapped     []byte // nil once destroyed
	MasterKeyID string
	CreatedAt   time.Time
	DestroyedAt *time.Time
}

// KeyStore keeps the wrapped data keys of every clinic.
type KeyStore interface {
	// ClinicKeys returns every key of a clinic, of both purposes and all
	// versions; none for a clinic that has no keys yet. Destroyed keys
	// come back with DestroyedAt set and no Wrapped bytes.
	ClinicKeys(ctx context.Context, clinicID string) ([]WrappedKey, error)
	// AddClinicKeys stores new keys of one clinic in one transaction.
	// Returns ECONFLICT when a version exists (another process made it).
	AddClinicKeys(ctx context.Context, keys []WrappedKey) error
	// DestroyClinicKeys deletes the wrapped keys of a clinic, keeping the
	// record that they existed, so that none are made for it again.
	DestroyClinicKeys(ctx context.Context, clinicID string) error
}

// DefaultRefresh is how long a KeyRing trusts its cache of a clinic's keys
// before it looks for new versions or destruction in the KeyStore: another
// replica's rotation reaches new writes, and a destruction reaches every
// replica, within it.
const DefaultRefresh = time.Minute

// RingOptions configure a KeyRing.
type RingOptions struct {
	// Refresh is the cache lifetime of a clinic's keys; 0 means DefaultRefresh.
	Refresh time.Duration
	// Clock is for tests; nil means the system clock.
	Clock eonpro.Clock
}

// KeyRing encrypts and indexes PHI under per-clinic data keys. It keeps
// the unwrapped keys of the clinics it has used in memory, so the master
// key (a KMS round trip) is needed once per key version and process.
//
// A clinic without keys gets them (version 1) the first time something is
// encrypted or indexed for it, in a transaction of the KeyStore's own: on
// SQLite, with its single writer, call EnsureKeys before opening a write
// transaction that encrypts for a clinic that may be new.
type KeyRing struct {
	store   KeyStore
	master  MasterKey
	refresh time.Duration
	now     eonpro.Clock

	flight singleflight.Group
	mu     sync.Mutex
	cache  map[string]*clinicKeys
}

// clinicKeys are the unwrapped keys of one clinic.
type clinicKeys struct {
	loaded    time.Time
	destroyed bool
	enc       map[int]cipher.AEAD
	raw       map[KeyContext]unwrapped // reused on refresh
	newest    int                      // newest encryption-key version
	index     []byte                   // newest blind-index key
}

// unwrapped is a data key in the clear with the wrapped form it came
// from: it is reused only while the store holds the same wrapped bytes.
type unwrapped struct{ wrapped, raw []byte }

// NewKeyRing returns a key ring over store, with data keys wrapped by master.
func NewKeyRing(store KeyStore, master MasterKey, opts RingOptions) *KeyRing {
	if opts.Refresh <= 0 {
		opts.Refresh = DefaultRefresh
	}
	if opts.Clock == nil {
		opts.Clock = eonpro.SystemClock
	}
	return &KeyRing{store: store, master: master, refresh: opts.Refresh, now: opts.Clock, cache: map[string]*clinicKeys{}}
}

// MasterKeyID names the master key the ring wraps new keys with.
func (r *KeyRing) MasterKeyID() string { return r.master.ID() }

// Encrypt returns the ciphertext of plaintext for a field of a clinic,
// under the clinic's newest key version. The empty string stays empty:
// it stands for an absent value. Returns EUNAVAILABLE (and
// ErrKeysDestroyed) when the clinic's keys were destroyed.
func (r *KeyRing) Encrypt(ctx context.Context, clinicID string, f Field, plaintext string) (string, error) {
	if err := f.validate(); err != nil || plaintext == "" {
		return "", err
	}
	k, err := r.keys(ctx, clinicID, true, false)
	if err != nil {
		return "", fmt.Errorf("encrypt %s.%s: %w", f.Table, f.Column, err)
	}
	return seal(k.enc[k.newest], k.newest, clinicID, f, plaintext), nil
}

// Decrypt returns the plaintext of a ciphertext made by Encrypt for the
// same clinic and field. Returns ErrDecrypt when it was tampered with or
// made for another clinic or field; EUNAVAILABLE (and ErrKeysDestroyed)
// when the clinic's keys were destroyed.
func (r *KeyRing) Decrypt(ctx context.Context, clinicID string, f Field, ciphertext string) (string, error) {
	if err := f.validate(); err != nil || ciphertext == "" {
		return "", err
	}
	version, sealed, err := parse(ciphertext)
	if err != nil {
		return "", fmt.Errorf("decrypt %s.%s row %s: %w", f.Table, f.Column, f.RowID, err)
	}
	k, err := r.keys(ctx, clinicID, false, false)
	if err == nil && k.enc[version] == nil {
		k, err = r.keys(ctx, clinicID, false, true) // a version newer than the cache
	}
	if err != nil {
		return "", fmt.Errorf("decrypt %s.%s row %s: %w", f.Table, f.Column, f.RowID, err)
	}
	aead := k.enc[version]
	if aead == nil {
		return "", fmt.Errorf("decrypt %s.%s row %s: %w: no key version %d", f.Table, f.Column, f.RowID, ErrDecrypt, version)
	}
	plain, err := open(aead, version, sealed, clinicID, f)
	if err != nil {
		return "", fmt.Errorf("decrypt %s.%s row %s: %w", f.Table, f.Column, f.RowID, err)
	}
	return plain, nil
}

// EnsureKeys makes the clinic's keys if it has none, and loads them.
// Returns EUNAVAILABLE (and ErrKeysDestroyed) when they were destroyed.
func (r *KeyRing) EnsureKeys(ctx context.Context, clinicID string) error {
	_, err := r.keys(ctx, clinicID, true, false)
	return err
}

// Newest returns the clinic's newest encryption-key version, which new
// writes use; it makes the keys of a clinic that has none.
func (r *KeyRing) Newest(ctx context.Context, clinicID string) (int, error) {
	k, err := r.keys(ctx, clinicID, true, false)
	if err != nil {
		return 0, err
	}
	return k.newest, nil
}

// Rotate makes a new encryption-key version for the clinic and returns it;
// new writes use it at once in this process, and in others within their
// refresh time. A clinic without keys gets version 1. The blind-index key
// is not rotated (see docs/security.md).
func (r *KeyRing) Rotate(ctx context.Context, clinicID string) (int, error) {
	k, err := r.keys(ctx, clinicID, false, true)
	if errors.Is(err, errNoKeys) {
		k, err = r.keys(ctx, clinicID, true, true)
		if err == nil {
			return k.newest, nil
		}
	}
	if err != nil {
		return 0, fmt.Errorf("rotate keys: %w", err)
	}
	v := k.newest + 1
	if err := r.add(ctx, clinicID, []KeyContext{{ClinicID: clinicID, Purpose: PurposeEncrypt, Version: v}}); err != nil {
		return 0, fmt.Errorf("rotate keys: %w", err)
	}
	return v, nil
}

// Destroy deletes the clinic's wrapped keys (crypto-shredding): its PHI
// becomes unreadable for good, here at once and in other processes within
// their refresh time. Other clinics are unaffected.
func (r *KeyRing) Destroy(ctx context.Context, clinicID string) error {
	if err := r.store.DestroyClinicKeys(ctx, clinicID); err != nil {
		return fmt.Errorf("destroy keys: %w", err)
	}
	r.mu.Lock()
	r.cache[clinicID] = &clinicKeys{loaded: r.now(), destroyed: true}
	r.mu.Unlock()
	return nil
}
