package eonpro

import "context"

// PurgeResult counts what a purge removed.
type PurgeResult struct {
	Sessions int64
	Tokens   int64
}

// MaintenanceService is the platform's housekeeping, run by periodic jobs.
type MaintenanceService interface {
	// PurgeExpired deletes sessions that expired, idled out or were revoked,
	// and one-time tokens (password reset, invitation, phone codes) that
	// expired, as of the service's clock.
	PurgeExpired(ctx context.Context) (PurgeResult, error)
}
