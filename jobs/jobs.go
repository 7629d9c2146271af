// Package jobs runs background work on River, on SQLite and PostgreSQL alike.
// Jobs are enqueued inside the caller's store transaction (EnqueueTx), so a
// job exists exactly when the data it belongs to was committed.
package jobs

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/phi"
	"github.com/eonpro/eonpro/sqlstore"
)

// Config configures the queue.
type Config struct {
	// PurgeInterval is how often expired sessions and tokens are purged.
	PurgeInterval time.Duration
	// CheckpointInterval is how often the audit chain heads are signed.
	CheckpointInterval time.Duration
	// BlobSweepInterval is how often orphaned document content is swept
	// (default an hour).
	BlobSweepInterval time.Duration
	// AlertInterval is how often the summaries of ended audit alert
	// windows are sent (default a minute).
	AlertInterval time.Duration
	// Workers is the number of jobs run at once on the default queue.
	Workers int
	// Poll is how often workers look for new jobs (SQLite always polls).
	Poll time.Duration
	// KeyRefresh is how long key rings take to see a new key version
	// (phi.DefaultRefresh); re-encryption looks again after it.
	KeyRefresh time.Duration
	// ReencryptBatch is the number of values re-encrypted per transaction.
	ReencryptBatch int
	Logger         *slog.Logger
}

// Services are what the workers call.
type Services struct {
	Maintenance eonpro.MaintenanceService
	// Keys re-encrypts PHI after key rotation; without it the queue runs
	// no phi_reencrypt jobs.
	Keys eonpro.KeyService
	// Audit signs the audit chain heads and sends the summaries of audit
	// alert windows; without it the queue does neither.
	Audit eonpro.AuditService
	// Documents sweeps orphaned document content; without it the queue
	// runs no blob sweep.
	Documents eonpro.DocumentService
}

// Queue is the job client of one database. Exactly one of pg and lite is set.
type Queue struct {
	db   *sqlstore.DB
	pg   *river.Client[pgx.Tx]
	lite *river.Client[*sql.Tx]
}

// Migrate applies River's own schema migrations.
func Migrate(ctx context.Context, db *sqlstore.DB) error {
	var err error
	if db.Engine() == sqlstore.Postgres {
		err = migrate(ctx, riverpgxv5.New(db.Pool()))
	} else {
		err = migrate(ctx, riversqlite.New(db.SQLDB()))
	}
	if err != nil {
		return fmt.Errorf("migrate jobs: %w", err)
	}
	return nil
}

func migrate[TTx any](ctx context.Context, driver riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// New builds the queue on db with the platform's workers and periodic jobs.
// It does not start working until Start.
func New(db *sqlstore.DB, cfg Config, svc Services) (*Queue, error) {
	if cfg.PurgeInterval <= 0 {
		cfg.PurgeInterval = time.Hour
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 10
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.KeyRefresh <= 0 {
		cfg.KeyRefresh = phi.DefaultRefresh
	}
	if cfg.ReencryptBatch <= 0 {
		cfg.ReencryptBatch = reencryptBatch
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &PurgeWorker{svc: svc.Maintenance, log: cfg.Logger}); err != nil {
		return nil, err
	}
	if svc.Keys != nil {
		log := cfg.Logger
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		w := &ReencryptWorker{svc: svc.Keys, log: log, settle: cfg.KeyRefresh, batch: cfg.ReencryptBatch}
		if err := river.AddWorkerSafely(workers, w); err != nil {
			return nil, err
		}
	}
	rc := &river.Config{
		Logger:            cfg.Logger,
		FetchCooldown:     min(cfg.Poll, river.FetchCooldownDefault), // River refuses a poll shorter than the cooldown
		FetchPollInterval: cfg.Poll,
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}},
		Workers:           workers,
		PeriodicJobs: []*river.PeriodicJob{river.NewPeriodicJob(
			river.PeriodicInterval(cfg.PurgeInterval),
			func() (river.JobArgs, *river.InsertOpts) { return PurgeArgs{}, nil },
			&river.PeriodicJobOpts{ID: "purge_expired", RunOnStart: true},
		)},
	}
	if svc.Audit != nil {
		if err := river.AddWorkerSafely(workers, &CheckpointWorker{svc: svc.Audit, log: cfg.Logger}); err != nil {
			return nil, err
		}
		rc.PeriodicJobs = append(rc.PeriodicJobs, river.NewPeriodicJob(
			river.PeriodicInterval(cmp.Or(cfg.CheckpointInterval, 15*time.Minute)),
			func() (river.JobArgs, *river.InsertOpts) { return CheckpointArgs{}, nil },
			&river.PeriodicJobOpts{ID: "audit_checkpoint", RunOnStart: true},
		))
		if err := river.AddWorkerSafely(workers, &AuditAlertWorker{svc: svc.Audit}); err != nil {
			return nil, err
		}
		w := &AlertsWorker{svc: svc.Audit, log: cfg.Logger}
		if err := addPeriodic(rc, w, cmp.Or(cfg.AlertInterval, time.Minute)); err != nil {
			return nil, err
		}
	}
	if svc.Documents != nil {
		w := &BlobSweepWorker{svc: svc.Documents, log: cfg.Logger}
		if err := addPeriodic(rc, w, cmp.Or(cfg.BlobSweepInterval, time.Hour)); err != nil {
			return nil, err
		}
	}
	q := &Queue{db: db}
	var err error
	if db.Engine() == sqlstore.Postgres {
		q.pg, err = river.NewClient(riverpgxv5.New(db.Pool()), rc)
	} else {
		rc.PollOnly = true
		q.lite, err = river.NewClient(riversqlite.New(db.SQLDB()), rc)
	}
	if err != nil {
		return nil, fmt.Errorf("new job client: %w", err)
	}
	db.SetEnqueuer(q)
	return q, nil
}

// addPeriodic adds w to rc's workers and runs its job, which takes no
// arguments, every interval and once at start.
func addPeriodic[T river.JobArgs](rc *river.Config, w river.Worker[T], every time.Duration) error {
	if err := river.AddWorkerSafely(rc.Workers, w); err != nil {
		return err
	}
	var args T
	rc.PeriodicJobs = append(rc.PeriodicJobs, river.NewPeriodicJob(
		river.PeriodicInterval(every),
		func() (river.JobArgs, *river.InsertOpts) { return args, nil },
		&river.PeriodicJobOpts{ID: args.Kind(), RunOnStart: true},
	))
	return nil
}

// Start begins working jobs and scheduling periodic ones.
func (q *Queue) Start(ctx context.Context) error {
	if q.pg != nil {
		return q.pg.Start(ctx)
	}
	return q.lite.Start(ctx)
}

// Stop waits for running jobs to finish, up to ctx's deadline, then cancels
// what is still running.
func (q *Queue) Stop(ctx context.Context) error {
	var err error
	if q.pg != nil {
		err = q.pg.Stop(ctx)
	} else {
		err = q.lite.Stop(ctx)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if q.pg != nil {
			return q.pg.StopAndCancel(cctx)
		}
		return q.lite.StopAndCancel(cctx)
	}
	return err
}

// EnqueueTx inserts a job in the caller's transaction: it is committed or
// rolled back with the data it belongs to.
func (q *Queue) EnqueueTx(ctx context.Context, tx *sqlstore.Tx, args river.JobArgs, opts *river.InsertOpts) error {
	var err error
	if q.pg != nil {
		_, err = q.pg.InsertTx(ctx, tx.PgxTx(), args, opts)
	} else {
		_, err = q.lite.InsertTx(ctx, tx.SQLTx(), args, opts)
	}
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", args.Kind(), err)
	}
	return nil
}

// Insert enqueues job in the store transaction tx (sqlstore.Enqueuer, so
// Tx.Enqueue reaches the queue). The job's metadata names the clinic of
// the transaction, so a clinic's admins see their own failed jobs only.
func (q *Queue) Insert(ctx context.Context, tx *sqlstore.Tx, job sqlstore.Job) error {
	meta, err := json.Marshal(jobMeta{ClinicID: tx.ClinicID()})
	if err != nil {
		return err
	}
	return q.EnqueueTx(ctx, tx, job, &river.InsertOpts{Metadata: meta})
}

// jobMeta is the metadata of a job enqueued through Tx.Enqueue.
type jobMeta struct {
	ClinicID string `json:"clinic_id,omitempty"`
}

var countJobs = sqlstore.Stmt{Name: "count_jobs_by_state", SQL: `
SELECT state, count(*)
FROM river_job
GROUP BY state`}

// Counts returns how many jobs are in each state (available, running,
// retryable, completed, discarded, …).
func (q *Queue) Counts(ctx context.Context) (map[string]int64, error) {
	counts := map[string]int64{}
	err := q.db.View(ctx, func(tx *sqlstore.Tx) error {
		rows, err := tx.Query(ctx, countJobs)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var state string
			var n int64
			if err := rows.Scan(&state, &n); err != nil {
				return err
			}
			counts[state] = n
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	return counts, nil
}
