package jobs

import (
	"context"
	"log/slog"

	"github.com/riverqueue/river"

	"github.com/eonpro/eonpro"
)

// AlertsArgs is the periodic sending of the summaries of ended audit alert
// windows.
type AlertsArgs struct{}

// Kind implements river.JobArgs.
func (AlertsArgs) Kind() string { return "audit_alerts" }

// AlertsWorker runs AlertsArgs jobs.
type AlertsWorker struct {
	river.WorkerDefaults[AlertsArgs]
	svc eonpro.AuditService
	log *slog.Logger
}

// Work sends the due summaries. A failure is logged, not retried: the
// windows it did not claim stay due for the next run a minute later.
func (w *AlertsWorker) Work(ctx context.Context, _ *river.Job[AlertsArgs]) error {
	n, err := w.svc.FlushAlerts(ctx)
	if w.log == nil {
		return nil
	}
	if err != nil {
		w.log.Error("audit alert summaries", "sent", n, "err", err)
	} else if n > 0 {
		w.log.Info("audit alert summaries", "sent", n)
	}
	return nil
}
