package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/eonpro/eonpro"
)

// ReencryptArgs re-encrypts a clinic's PHI under its newest key version
// after a rotation. It is enqueued with the new key, in its transaction.
type ReencryptArgs struct {
	ClinicID  string    `json:"clinic_id"`
	Version   int       `json:"version"`
	RotatedAt time.Time `json:"rotated_at"`
}

// Kind implements river.JobArgs.
func (ReencryptArgs) Kind() string { return "phi_reencrypt" }

// Re-encryption pacing: values per transaction, and how long one run of
// the job works before it yields (River's job timeout is a minute).
const (
	reencryptBatch  = 500
	reencryptBudget = 30 * time.Second
)

// ReencryptWorker runs ReencryptArgs jobs, batch after batch. Each batch
// is its own transaction, so a crash or shutdown loses at most one batch
// of work and never leaves a value unreadable; the retry resumes.
type ReencryptWorker struct {
	river.WorkerDefaults[ReencryptArgs]
	svc eonpro.KeyService
	log *slog.Logger
	// settle is how long other processes may still write under the old
	// version: their key rings refresh within it (phi.DefaultRefresh).
	settle time.Duration
	batch  int
}

// Work re-encrypts until nothing is left, then once more after the other
// processes' key rings have seen the new version.
func (w *ReencryptWorker) Work(ctx context.Context, job *river.Job[ReencryptArgs]) error {
	start := time.Now()
	total := 0
	for {
		n, err := w.svc.ReencryptBatch(ctx, job.Args.ClinicID, w.batch)
		if eonpro.ErrorCode(err) == eonpro.EUNAVAILABLE {
			return river.JobCancel(err) // keys destroyed: nothing left to protect
		} else if err != nil {
			return err
		}
		total += n
		if n == 0 {
			break
		}
		if time.Since(start) > reencryptBudget {
			w.log.Info("re-encryption continues", "clinic_id", job.Args.ClinicID, "version", job.Args.Version, "values", total)
			return river.JobSnooze(time.Second)
		}
	}
	if settled := job.Args.RotatedAt.Add(w.settle); time.Now().Before(settled) {
		return river.JobSnooze(time.Until(settled))
	}
	w.log.Info("re-encrypted", "clinic_id", job.Args.ClinicID, "version", job.Args.Version, "values", total)
	return nil
}
