package eonpro

import (
	"context"
	"time"
)

// Job states as the API names them.
const (
	// JobFailed: gave up after its last attempt, or was cancelled.
	JobFailed = "failed"
	// JobRetrying: failed an attempt and waits for the next.
	JobRetrying = "retrying"
)

// Job is background work of a clinic that leaves the process (a message,
// a call to an outside service), run after the transaction that enqueued
// it committed. Its arguments are ids only; LastError never holds PHI.
type Job struct {
	ID          int64      `json:"id"`
	Kind        string     `json:"kind"`
	State       string     `json:"state"`
	Attempts    int        `json:"attempts"`
	MaxAttempts int        `json:"max_attempts"`
	LastError   string     `json:"last_error,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
}

// JobService shows a clinic's admins their clinic's background jobs.
type JobService interface {
	// FindJobs lists the clinic's jobs in state (JobFailed or
	// JobRetrying), newest first, at most 200. Returns EFORBIDDEN, or
	// EINVALID naming "state".
	FindJobs(ctx context.Context, state string) ([]*Job, error)
	// RetryJob runs a failed job of the clinic again at once. Returns
	// ENOTFOUND for a job that is missing, another clinic's, or not
	// failed; EFORBIDDEN.
	RetryJob(ctx context.Context, id int64) error
}
