package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/eonpro/eonpro"
)

var (
	selectAuditChain = Stmt{Name: "select_audit_chain", SQL: `
SELECT ` + auditColumns + `
FROM audit_events
WHERE COALESCE(clinic_id, '') = $1
ORDER BY seq`}
	selectAuditEventAt = Stmt{Name: "select_audit_event_at", SQL: `
SELECT id FROM audit_events WHERE COALESCE(clinic_id, '') = $1 AND seq = $2`}
	selectAuditHeadRead = Stmt{Name: "select_audit_head", SQL: `
SELECT seq, hash FROM audit_heads WHERE clinic_id = $1`}
)

// Verify checks a chain and alerts its admins when it is broken.
func (s *AuditService) Verify(ctx context.Context, clinicID string) (*eonpro.VerifyResult, error) {
	if p := eonpro.PrincipalFromContext(ctx); p != nil && !p.SuperAdmin &&
		(clinicID == "" || clinicID != p.ClinicID || !p.Can(eonpro.PermAuditRead)) {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "You may not verify this audit trail.")
	}
	res, err := s.verify(ctx, clinicID)
	if err != nil {
		return nil, fmt.Errorf("verify audit chain: %w", err)
	}
	if !res.OK {
		s.db.log.ErrorContext(ctx, "audit chain broken", "clinic_id", clinicID, "seq", res.FirstBadSeq, "reason", res.Reason)
		s.alertVerify(ctx, res)
	}
	return res, nil
}

// VerifyAll checks the platform chain and every clinic's (the system and
// super admins only).
func (s *AuditService) VerifyAll(ctx context.Context) ([]*eonpro.VerifyResult, error) {
	if p := eonpro.PrincipalFromContext(ctx); p != nil && !p.SuperAdmin {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "Only platform administrators may verify every audit trail.")
	}
	clinics, err := s.db.clinicIDs(ctx)
	ids := append([]string{""}, clinics...) // the platform chain first
	if err != nil {
		return nil, fmt.Errorf("verify audit chains: %w", err)
	}
	var out []*eonpro.VerifyResult
	for _, id := range ids {
		res, err := s.Verify(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, res)
	}
	return out, nil
}

// verify walks the chain in seq order inside one read transaction.
func (s *AuditService) verify(ctx context.Context, clinicID string) (*eonpro.VerifyResult, error) {
	set, err := s.loadCheckpointSet(ctx, clinicID)
	if err != nil {
		return nil, err
	}
	w := newChainWalker(clinicID, set)
	if set.bad != "" {
		w.fail(0, "", set.bad)
		return w.res, nil
	}
	err = s.db.viewChain(ctx, clinicID, func(tx *Tx) error {
		w = newChainWalker(clinicID, set) // afresh on a retry
		// Heads before and after the walk: under concurrent writers the
		// events seen lie between the two.
		before, _, err := chainHead(ctx, tx, clinicID)
		if err != nil {
			return err
		}
		if err := w.walk(ctx, tx, clinicID); err != nil || !w.res.OK {
			return err
		}
		after, hash, err := chainHead(ctx, tx, clinicID)
		if err != nil {
			return err
		}
		return w.finish(ctx, tx, clinicID, before, after, hash)
	})
	if err == nil {
		w.checkFresh(set.newest(), s.db.Now(), 2*s.interval)
	}
	return w.res, err
}

func (db *DB) viewChain(ctx context.Context, clinicID string, fn func(*Tx) error) error {
	if clinicID == "" {
		return db.View(ctx, fn)
	}
	return db.ViewClinic(ctx, clinicID, fn)
}

func chainHead(ctx context.Context, tx *Tx, clinicID string) (int64, string, error) {
	var seq int64
	var hash string
	err := tx.QueryRow(ctx, selectAuditHeadRead, clinicID).Scan(&seq, &hash)
	if err == ErrNoRows {
		return 0, eonpro.GenesisHash, nil
	}
	return seq, hash, err
}

// chainWalker checks events one by one and remembers the first failure.
type chainWalker struct {
	res         *eonpro.VerifyResult
	prev        string // hash of the last good event
	lastID      string
	first       time.Time // of the first event
	checkpoints map[int64][]sourcedCheckpoint
	latest      sourcedCheckpoint // the one of the highest seq
}

// newChainWalker returns a walker that holds the chain to the
// checkpoints of set (none when set is nil).
func newChainWalker(clinicID string, set *checkpointSet) *chainWalker {
	w := &chainWalker{res: &eonpro.VerifyResult{ClinicID: clinicID, OK: true, Sources: []eonpro.CheckpointSource{}},
		prev: eonpro.GenesisHash, checkpoints: map[int64][]sourcedCheckpoint{},
		latest: sourcedCheckpoint{AuditCheckpoint: &eonpro.AuditCheckpoint{}}}
	if set == nil {
		return w
	}
	w.res.Checkpoints, w.res.Sources = set.distinct(), set.sources
	for _, cp := range set.cps {
		w.checkpoints[cp.Seq] = append(w.checkpoints[cp.Seq], cp)
		if cp.Seq > w.latest.Seq {
			w.latest = cp
		}
	}
	return w
}

func (w *chainWalker) fail(seq int64, id, reason string) {
	w.res.OK, w.res.FirstBadSeq, w.res.Reason = false, seq, reason
	if id != "" {
		w.res.FirstBad = &id
	}
}

func (w *chainWalker) walk(ctx context.Context, tx *Tx, clinicID string) error {
	rows, err := tx.Query(ctx, selectAuditChain, clinicID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		ev, err := scanAuditEvent(rows)
		if err != nil {
			return err
		}
		if !w.step(ev) {
			return nil
		}
	}
	return rows.Err()
}

// step checks one event against the one before it, its own contents and
// the checkpoints at its seq.
func (w *chainWalker) step(ev *eonpro.AuditEvent) bool {
	want := w.res.Count + 1
	hash, _ := ev.ComputeHash()
	switch {
	case ev.Seq > want:
		w.fail(ev.Seq, ev.ID, fmt.Sprintf("events %d to %d are missing before this one: deleted", want, ev.Seq-1))
	case ev.Seq < want:
		w.fail(ev.Seq, ev.ID, "seq repeats an earlier event's: inserted")
	case ev.PrevHash != w.prev:
		w.fail(ev.Seq, ev.ID, "prev_hash is not the hash of the event before it: an event was inserted, deleted or moved here")
	case hash != ev.Hash:
		w.fail(ev.Seq, ev.ID, "hash does not match the event's contents: modified")
	}
	for _, cp := range w.checkpoints[ev.Seq] {
		if w.res.OK && cp.Hash != ev.Hash {
			w.fail(ev.Seq, ev.ID, fmt.Sprintf("hash differs from the signed checkpoint of %s in %s: the chain was rewritten at or before this event",
				cp.Time.Format(time.RFC3339), cp.source))
		}
	}
	if !w.res.OK {
		return false
	}
	if ev.Seq == 1 {
		w.first = ev.Time
	}
	w.prev, w.lastID = ev.Hash, ev.ID
	w.res.Count++
	return true
}

// finish compares the end of the chain with its head and checkpoints:
// events past the head were inserted, a head or checkpoint past the end
// means the tail was removed.
func (w *chainWalker) finish(ctx context.Context, tx *Tx, clinicID string, before, after int64, hash string) error {
	n := w.res.Count
	switch {
	case n > after:
		var id string
		if err := tx.QueryRow(ctx, selectAuditEventAt, clinicID, after+1).Scan(&id); err != nil {
			return err
		}
		w.fail(after+1, id, fmt.Sprintf("the chain head is at seq %d, but events follow it: inserted", after))
	case n < before:
		w.fail(n+1, "", fmt.Sprintf("the chain ends at seq %d, but its head is at seq %d: the tail was removed", n, before))
	case n == after && hash != w.prev:
		w.fail(n, w.lastID, "the last event's hash differs from the chain head's: modified")
	case w.latest.Seq > n:
		w.fail(n+1, "", fmt.Sprintf("the chain ends at seq %d, but a signed checkpoint covers seq %d (of %s in %s): the tail was removed",
			n, w.latest.Seq, w.latest.Time.Format(time.RFC3339), w.latest.source))
	}
	return nil
}
