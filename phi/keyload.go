package phi

import (
	"bytes"
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"maps"

	"github.com/eonpro/eonpro"
)

// errNoKeys: the clinic has no keys yet, and the caller did not ask for them.
var errNoKeys = errors.New("phi: clinic has no keys")

// keys returns the clinic's unwrapped keys, from the cache unless it is
// stale or fresh is set. With create, a clinic without keys gets them.
func (r *KeyRing) keys(ctx context.Context, clinicID string, create, fresh bool) (*clinicKeys, error) {
	if clinicID == "" {
		return nil, errors.New("phi: no clinic")
	}
	r.mu.Lock()
	k := r.cache[clinicID]
	r.mu.Unlock()
	var err error
	if fresh {
		// Not shared: a load that started earlier may predate what the
		// caller needs to see.
		k, err = r.load(ctx, clinicID, k)
	} else if k == nil || r.now().Sub(k.loaded) >= r.refresh {
		// One load per clinic at a time, however many requests wait for it.
		var v any
		v, err, _ = r.flight.Do(clinicID, func() (any, error) { return r.load(ctx, clinicID, k) })
		k, _ = v.(*clinicKeys)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case k.destroyed:
		return nil, destroyed()
	case k.newest > 0:
		return k, nil
	case !create:
		return nil, errNoKeys
	}
	first := []KeyContext{{ClinicID: clinicID, Purpose: PurposeEncrypt, Version: 1}, {ClinicID: clinicID, Purpose: PurposeIndex, Version: 1}}
	if err := r.add(ctx, clinicID, first); err != nil && eonpro.ErrorCode(err) != eonpro.ECONFLICT {
		return nil, fmt.Errorf("create clinic keys: %w", err)
	}
	// Ours, or those of a process that made them first.
	return r.keys(ctx, clinicID, false, true)
}

// load reads and unwraps the clinic's keys, reusing what prev unwrapped
// (a stored key version never changes, it can only be destroyed).
func (r *KeyRing) load(ctx context.Context, clinicID string, prev *clinicKeys) (*clinicKeys, error) {
	wks, err := r.store.ClinicKeys(ctx, clinicID)
	if err != nil {
		return nil, fmt.Errorf("load clinic keys: %w", err)
	}
	k := &clinicKeys{loaded: r.now(), enc: map[int]cipher.AEAD{}, raw: map[KeyContext]unwrapped{}}
	indexVersion := 0
	for _, wk := range wks {
		if wk.DestroyedAt != nil {
			k = &clinicKeys{loaded: k.loaded, destroyed: true}
			break
		}
		kc := KeyContext{ClinicID: clinicID, Purpose: wk.Purpose, Version: wk.Version}
		raw, err := r.unwrap(ctx, prev, kc, wk)
		if err != nil {
			return nil, err
		}
		k.raw[kc] = unwrapped{wrapped: wk.Wrapped, raw: raw}
		switch wk.Purpose {
		case PurposeEncrypt:
			if k.enc[wk.Version], err = newAEAD(raw); err != nil {
				return nil, err
			}
			k.newest = max(k.newest, wk.Version)
		case PurposeIndex:
			if wk.Version > indexVersion {
				k.index, indexVersion = raw, wk.Version
			}
		}
	}
	if !k.destroyed && (k.newest == 0) != (k.index == nil) {
		return nil, fmt.Errorf("phi: clinic %s has an encryption key without an index key, or the reverse", clinicID)
	}
	r.mu.Lock()
	r.cache[clinicID] = k
	r.mu.Unlock()
	return k, nil
}

func (r *KeyRing) unwrap(ctx context.Context, prev *clinicKeys, kc KeyContext, wk WrappedKey) ([]byte, error) {
	if prev != nil {
		if u, ok := prev.raw[kc]; ok && bytes.Equal(u.wrapped, wk.Wrapped) {
			return u.raw, nil
		}
	}
	if wk.MasterKeyID != r.master.ID() {
		return nil, fmt.Errorf("phi: clinic %s %s key version %d is wrapped by master key %q, but the configured master key is %q",
			kc.ClinicID, kc.Purpose, kc.Version, wk.MasterKeyID, r.master.ID())
	}
	raw, err := r.master.Unwrap(ctx, wk.Wrapped, kc)
	if err != nil {
		return nil, fmt.Errorf("unwrap clinic %s %s key version %d: %w", kc.ClinicID, kc.Purpose, kc.Version, err)
	}
	return raw, nil
}

// add makes, wraps and stores new keys, and leaves them unwrapped in the
// cache for the load that follows, which must still read the store: the
// keys of another process that won a race are the ones that count.
func (r *KeyRing) add(ctx context.Context, clinicID string, kcs []KeyContext) error {
	var wks []WrappedKey
	made := map[KeyContext]unwrapped{}
	for _, kc := range kcs {
		raw := randomKey()
		w, err := r.master.Wrap(ctx, raw, kc)
		if err != nil {
			return fmt.Errorf("wrap clinic %s %s key version %d: %w", kc.ClinicID, kc.Purpose, kc.Version, err)
		}
		wks = append(wks, WrappedKey{ClinicID: kc.ClinicID, Purpose: kc.Purpose, Version: kc.Version, Wrapped: w,
			MasterKeyID: r.master.ID(), CreatedAt: r.now()})
		made[kc] = unwrapped{wrapped: w, raw: raw}
	}
	if err := r.store.AddClinicKeys(ctx, wks); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	stale := &clinicKeys{raw: made} // never loaded: the next use reloads
	if old := r.cache[clinicID]; old != nil {
		maps.Copy(stale.raw, old.raw)
		maps.Copy(stale.raw, made)
	}
	r.cache[clinicID] = stale
	return nil
}
