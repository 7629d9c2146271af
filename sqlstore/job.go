package sqlstore

import (
	"context"
	"errors"
)

// Job is work that leaves the process (an e-mail, a text, a call to an
// outside service), done by a worker in jobs/ once the transaction that
// enqueued it has committed. Kind names its worker; its fields are its
// arguments, stored in the clear, so they carry ids, never PHI or secrets.
type Job interface {
	Kind() string
}

// Enqueuer inserts jobs in store transactions: the job queue (jobs.Queue),
// which sets itself on the database it works (SetEnqueuer).
type Enqueuer interface {
	Insert(ctx context.Context, tx *Tx, job Job) error
}

// enqueuerBox lets SetEnqueuer store an interface in an atomic pointer.
type enqueuerBox struct{ Enqueuer }

// SetEnqueuer makes e the door out of db's transactions (Tx.Enqueue).
func (db *DB) SetEnqueuer(e Enqueuer) { db.enqueuer.Store(&enqueuerBox{e}) }

// ErrNoQueue is returned by Tx.Enqueue on a database without a job queue
// (a command-line process, a test without one).
var ErrNoQueue = errors.New("no job queue on this database")

// Enqueue inserts job in the transaction: the job exists exactly when the
// transaction commits. A transaction InClinic runs again after a transient
// error enqueues anew in the new attempt, so nothing is sent twice or
// lost; the job runs after commit, with retries, in jobs/. Nothing that
// leaves the process may be called inside a transaction: enqueue it.
func (tx *Tx) Enqueue(ctx context.Context, job Job) error {
	box := tx.db.enqueuer.Load()
	if box == nil {
		return ErrNoQueue
	}
	return box.Insert(ctx, tx, job)
}
