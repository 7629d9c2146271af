package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
)

var _ eonpro.JobService = (*Queue)(nil)

// riverStates are the River states of each state the API names.
var riverStates = map[string][2]string{
	eonpro.JobFailed:   {"discarded", "cancelled"},
	eonpro.JobRetrying: {"retryable", "retryable"},
}

var (
	selectClinicJobs = sqlstore.Stmt{Name: "select_clinic_jobs", SQL: `
SELECT id, kind, CAST(state AS TEXT), attempt, max_attempts,
    COALESCE(errors[array_length(errors, 1)]->>'error', ''),
    created_at, finalized_at
FROM river_job
WHERE metadata->>'clinic_id' = $1 AND CAST(state AS TEXT) IN ($2, $3)
ORDER BY id DESC
LIMIT 200`, SQLite: `
SELECT id, kind, state, attempt, max_attempts,
    COALESCE(json_extract(errors, '$[#-1].error'), ''),
    created_at, finalized_at
FROM river_job
WHERE json_extract(metadata, '$.clinic_id') = $1 AND state IN ($2, $3)
ORDER BY id DESC
LIMIT 200`}
	selectClinicFailedJob = sqlstore.Stmt{Name: "select_clinic_failed_job", SQL: `
SELECT count(*) FROM river_job
WHERE id = $1 AND metadata->>'clinic_id' = $2 AND CAST(state AS TEXT) IN ('discarded', 'cancelled')`, SQLite: `
SELECT count(*) FROM river_job
WHERE id = $1 AND json_extract(metadata, '$.clinic_id') = $2 AND state IN ('discarded', 'cancelled')`}
)

// FindJobs lists the clinic's jobs in state.
func (q *Queue) FindJobs(ctx context.Context, state string) ([]*eonpro.Job, error) {
	p := eonpro.PrincipalFromContext(ctx)
	if !p.Can(eonpro.PermClinicManage) {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "You may not see the clinic's jobs.")
	}
	rs, ok := riverStates[state]
	if !ok {
		return nil, eonpro.FieldError("state", "must be failed or retrying")
	}
	out := []*eonpro.Job{}
	err := q.db.View(ctx, func(tx *sqlstore.Tx) error {
		rows, err := tx.Query(ctx, selectClinicJobs, p.ClinicID, rs[0], rs[1])
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			j := &eonpro.Job{State: state}
			var finished *time.Time
			if err := rows.Scan(&j.ID, &j.Kind, new(string), &j.Attempts, &j.MaxAttempts, &j.LastError, &j.CreatedAt, &finished); err != nil {
				return err
			}
			if finished != nil {
				t := finished.UTC()
				j.FinishedAt = &t
			}
			j.CreatedAt = j.CreatedAt.UTC()
			out = append(out, j)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("find jobs: %w", err)
	}
	return out, nil
}

// RetryJob makes a failed job of the clinic available again.
func (q *Queue) RetryJob(ctx context.Context, id int64) error {
	p := eonpro.PrincipalFromContext(ctx)
	if !p.Can(eonpro.PermClinicManage) {
		return eonpro.Errorf(eonpro.EFORBIDDEN, "You may not retry the clinic's jobs.")
	}
	var n int
	err := q.db.View(ctx, func(tx *sqlstore.Tx) error {
		return tx.QueryRow(ctx, selectClinicFailedJob, id, p.ClinicID).Scan(&n)
	})
	if err != nil {
		return fmt.Errorf("retry job: %w", err)
	}
	if n == 0 {
		return eonpro.Errorf(eonpro.ENOTFOUND, "Job not found.")
	}
	if q.pg != nil {
		_, err = q.pg.JobRetry(ctx, id)
	} else {
		_, err = q.lite.JobRetry(ctx, id)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("retry job: %w", err)
	}
	return err
}
