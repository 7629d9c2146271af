package phi_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/phi"
)

// memStore is a KeyStore in memory, for tests of the ring alone (the SQL
// one is tested in sqlstore).
type memStore struct {
	mu   sync.Mutex
	keys []phi.WrappedKey
}

func (s *memStore) ClinicKeys(_ context.Context, clinicID string) ([]phi.WrappedKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []phi.WrappedKey
	for _, k := range s.keys {
		if k.ClinicID == clinicID {
			out = append(out, k)
		}
	}
	return out, nil
}

func (s *memStore) AddClinicKeys(_ context.Context, keys []phi.WrappedKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		if slices.ContainsFunc(s.keys, func(o phi.WrappedKey) bool {
			return o.ClinicID == k.ClinicID && o.Purpose == k.Purpose && o.Version == k.Version
		}) {
			return eonpro.Errorf(eonpro.ECONFLICT, "The record already exists.")
		}
	}
	s.keys = append(s.keys, keys...)
	return nil
}

func (s *memStore) DestroyClinicKeys(_ context.Context, clinicID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	found := false
	for i := range s.keys {
		if s.keys[i].ClinicID == clinicID {
			s.keys[i].Wrapped, s.keys[i].DestroyedAt, found = nil, &now, true
		}
	}
	if !found {
		s.keys = append(s.keys, phi.WrappedKey{ClinicID: clinicID, Purpose: phi.PurposeEncrypt, Version: 1, DestroyedAt: &now})
	}
	return nil
}

func (s *memStore) count(clinicID string) int {
	ks, _ := s.ClinicKeys(context.Background(), clinicID)
	return len(ks)
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newMaster(t *testing.T) *phi.LocalMaster {
	t.Helper()
	m, err := phi.ParseLocalMaster(phi.GenerateLocalMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// newRing returns a ring over a fresh memory store with a local master.
func newRing(t *testing.T) (*phi.KeyRing, *memStore) {
	t.Helper()
	store := &memStore{}
	return phi.NewKeyRing(store, newMaster(t), phi.RingOptions{}), store
}
