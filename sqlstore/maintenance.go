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
		res.Tokens, err = tx.Exec(ctx, purgeTokens, now)
		return err
	})
	if err != nil {
		return eonpro.PurgeResult{}, fmt.Errorf("purge expired: %w", err)
	}
	return res, nil
}
