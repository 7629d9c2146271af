package eonpro

import "context"

// PurgeResult counts what a purge removed.
type PurgeResult struct {
	Sessions      int64
	Tokens        int64
	PhoneCodes    int64
	LoginFailures int64
}

// MaintenanceService is the platform's housekeeping, run by periodic jobs.
type MaintenanceService interface {
	// PurgeExpired deletes sessions that expired, idled out or were revoked,
	// one-time tokens (MFA challenges, password reset, invitations) and
	// phone codes that expired, and login failures older than the lockout
	// window, as of the service's clock.
	PurgeExpired(ctx context.Context) (PurgeResult, error)
}
