package jobs

import (
	"context"
	"log/slog"

	"github.com/riverqueue/river"

	"github.com/eonpro/eonpro"
)

// PurgeArgs is the periodic purge of expired sessions and one-time tokens.
type PurgeArgs struct{}

// Kind implements river.JobArgs.
func (PurgeArgs) Kind() string { return "purge_expired" }

// PurgeWorker runs PurgeArgs jobs.
type PurgeWorker struct {
	river.WorkerDefaults[PurgeArgs]
	svc eonpro.MaintenanceService
	log *slog.Logger
}

// Work purges and logs the counts.
func (w *PurgeWorker) Work(ctx context.Context, _ *river.Job[PurgeArgs]) error {
	res, err := w.svc.PurgeExpired(ctx)
	if err != nil {
		return err
	}
	if w.log != nil {
		w.log.Info("purged expired", "sessions", res.Sessions, "tokens", res.Tokens,
			"phone_codes", res.PhoneCodes, "login_failures", res.LoginFailures)
	}
	return nil
}
