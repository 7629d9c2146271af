package sqlstore

import (
	"context"
	"fmt"

	"github.com/eonpro/eonpro"
)

var _ eonpro.MaintenanceService = (*MaintenanceService)(nil)

// MaintenanceService implements eonpro.MaintenanceService.
type MaintenanceService struct{ db *DB }

// NewMaintenanceService returns the housekeeping service on db.
func NewMaintenanceService(db *DB) *MaintenanceService { return &MaintenanceService{db: db} }

var (
	purgeSessions = Stmt{Name: "purge_sessions", SQL: `
DELETE FROM sessions
WHERE expires_at < $1
   OR idle_expires_at < $1
   OR revoked_at IS NOT NULL`}
	purgeTokens = Stmt{Name: "purge_one_time_tokens", SQL: `
DELETE FROM one_time_tokens
WHERE expires_at < $1`}
	purgePhoneCodes = Stmt{Name: "purge_phone_codes", SQL: `
DELETE FROM phone_codes
WHERE expires_at < $1`}
	purgeLoginFailures = Stmt{Name: "purge_login_failures", SQL: `
DELETE FROM login_failures
WHERE at < $1`}
	purgeAccountLocks = Stmt{Name: "purge_account_locks", SQL: `
DELETE FROM account_locks
WHERE locked_at < $1`}
)

// PurgeExpired deletes dead sessions and expired one-time tokens.
func (s *MaintenanceService) PurgeExpired(ctx context.Context) (eonpro.PurgeResult, error) {
	var res eonpro.PurgeResult
	err := s.db.InTx(ctx, func(tx *Tx) error {
		now := s.db.Now()
		var err error
		if res.Sessions, err = tx.Exec(ctx, purgeSessions, now); err != nil {
			return err
		}
		if res.Tokens, err = tx.Exec(ctx, purgeTokens, now); err != nil {
			return err
		}
		if res.PhoneCodes, err = tx.Exec(ctx, purgePhoneCodes, now); err != nil {
			return err
		}
		// Failures older than the lockout window no longer count, and
		// a lock reported before it no longer holds back an alert.
		if res.LoginFailures, err = tx.Exec(ctx, purgeLoginFailures, now.Add(-lockoutWindow)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, purgeAccountLocks, now.Add(-lockoutWindow))
		return err
	})
	if err != nil {
		return eonpro.PurgeResult{}, fmt.Errorf("purge expired: %w", err)
	}
	return res, nil
}
