package jobs

import (
	"context"
	"log/slog"

	"github.com/riverqueue/river"

	"github.com/eonpro/eonpro"
)

// CheckpointArgs is the periodic signing of the audit chain heads.
type CheckpointArgs struct{}

// Kind implements river.JobArgs.
func (CheckpointArgs) Kind() string { return "audit_checkpoint" }

// CheckpointWorker runs CheckpointArgs jobs.
type CheckpointWorker struct {
	river.WorkerDefaults[CheckpointArgs]
	svc eonpro.AuditService
	log *slog.Logger
}

// Work writes the checkpoints. A chain that cannot be checkpointed (a
// broken one has already alerted its admins) is logged, not retried: the
// next run tries again, and retries would repeat the alerts.
func (w *CheckpointWorker) Work(ctx context.Context, _ *river.Job[CheckpointArgs]) error {
	cps, err := w.svc.Checkpoint(ctx)
	if w.log == nil {
		return nil
	}
	if err != nil {
		w.log.Error("audit checkpoint", "written", len(cps), "err", err)
	} else {
		w.log.Info("audit checkpoint", "written", len(cps))
	}
	return nil
}
