package jobs

import (
	"context"
	"log/slog"

	"github.com/riverqueue/river"

	"github.com/eonpro/eonpro"
)

// BlobSweepArgs is the periodic deletion of orphaned document content.
type BlobSweepArgs struct{}

// Kind implements river.JobArgs.
func (BlobSweepArgs) Kind() string { return "blob_sweep" }

// BlobSweepWorker runs BlobSweepArgs jobs.
type BlobSweepWorker struct {
	river.WorkerDefaults[BlobSweepArgs]
	svc eonpro.DocumentService
	log *slog.Logger
}

// Work sweeps and logs the counts only: a storage key locates a patient's
// document, so none is logged. A failed sweep is retried by River; the
// blobs it did not reach wait for the next run either way.
func (w *BlobSweepWorker) Work(ctx context.Context, _ *river.Job[BlobSweepArgs]) error {
	res, err := w.svc.SweepOrphanBlobs(ctx)
	if w.log != nil {
		level := slog.LevelInfo // orphans are left by failed uploads and crashes: worth a look
		if err != nil || res.Errors > 0 {
			level = slog.LevelError
		} else if res.Orphaned > 0 {
			level = slog.LevelWarn
		}
		w.log.Log(ctx, level, "blob sweep", "scanned", res.Scanned, "orphaned", res.Orphaned,
			"deleted", res.Deleted, "errors", res.Errors, "failed", err != nil)
	}
	return err
}
