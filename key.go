package eonpro

import (
	"context"
	"time"
)

// ClinicKeyStatus is the state of one clinic's PHI data keys.
type ClinicKeyStatus struct {
	ClinicID   string
	ClinicSlug string
	// DestroyedAt is set once the keys were destroyed (crypto-shredding).
	DestroyedAt *time.Time
	// Versions are the encryption-key versions, oldest first; new writes
	// use the last. Empty for a clinic that has not needed keys yet.
	Versions []KeyVersionStatus
}

// KeyVersionStatus is one encryption-key version of a clinic and how many
// stored values it still protects.
type KeyVersionStatus struct {
	Version   int
	CreatedAt time.Time
	Values    int64
}

// KeyService manages the per-clinic data keys that protect PHI at rest.
// It is for operators (the CLI runs as the system, with no principal) and
// system jobs; a principal must be a super admin.
type KeyService interface {
	// RotateKeys makes a new encryption-key version for a clinic, which new
	// writes use, and schedules the re-encryption of older values; a
	// clinic without keys gets version 1. Returns the version.
	// Returns ENOTFOUND, EFORBIDDEN, EUNAVAILABLE if the keys were destroyed.
	RotateKeys(ctx context.Context, clinicID string) (int, error)
	// ReencryptBatch rewrites, in one transaction, up to limit PHI values
	// of a clinic that are under an older key version, and returns how
	// many it rewrote: 0 when none are left.
	// Returns EUNAVAILABLE if the keys were destroyed.
	ReencryptBatch(ctx context.Context, clinicID string, limit int) (int, error)
	// KeyStatus reports every clinic's key versions and how many values
	// each protects. Returns EFORBIDDEN.
	KeyStatus(ctx context.Context) ([]ClinicKeyStatus, error)
	// DestroyKeys deletes a clinic's keys for good: its PHI becomes
	// unreadable (crypto-shredding), the rest of the platform carries on.
	// Returns ENOTFOUND, EFORBIDDEN.
	DestroyKeys(ctx context.Context, clinicID string) error
}
