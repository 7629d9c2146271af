package jobs

import (
	"context"
	"log/slog"

	"github.com/riverqueue/river"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
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

// AuditAlertWorker sends the alert of one critical audit event, enqueued
// in the event's own transaction (sqlstore.AuditAlertJob).
type AuditAlertWorker struct {
	river.WorkerDefaults[sqlstore.AuditAlertJob]
	svc eonpro.AuditService
}

// Work sends the alert. An event that is gone (its clinic deleted) is not
// retried.
func (w *AuditAlertWorker) Work(ctx context.Context, job *river.Job[sqlstore.AuditAlertJob]) error {
	err := w.svc.SendAlert(ctx, job.Args.ClinicID, job.Args.EventID)
	if eonpro.ErrorCode(err) == eonpro.ENOTFOUND {
		return river.JobCancel(err)
	}
	return err
}
