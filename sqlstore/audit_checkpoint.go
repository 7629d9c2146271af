package sqlstore

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/eonpro/eonpro"
)

var (
	selectAuditHeads = Stmt{Name: "select_audit_heads", SQL: `
SELECT clinic_id, seq, hash FROM audit_heads WHERE seq > 0 ORDER BY clinic_id`}
	selectAuditChainAfter = Stmt{Name: "select_audit_chain_after", SQL: `
SELECT ` + auditColumns + `
FROM audit_events
WHERE COALESCE(clinic_id, '') = $1 AND seq > $2
ORDER BY seq`}
)

// Checkpoint signs the head of every chain that moved since its last
// checkpoint, or whose last checkpoint is older than half the checkpoint
// interval (so that a quiet chain keeps a fresh one and Verify can tell
// it from one whose tail was cut off), after checking the events added
// since then, and writes the checkpoints to the anchors and the sink. A
// broken chain is not signed: it is reported (and alerted) and the others
// go on.
func (s *AuditService) Checkpoint(ctx context.Context) ([]*eonpro.AuditCheckpoint, error) {
	if p := eonpro.PrincipalFromContext(ctx); p != nil && !p.SuperAdmin {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "Only platform administrators may checkpoint the audit trail.")
	}
	type head struct {
		clinicID, hash string
		seq            int64
	}
	var heads []head
	err := s.db.View(ctx, func(tx *Tx) error {
		heads = heads[:0]
		rows, err := tx.Query(ctx, selectAuditHeads)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var h head
			if err := rows.Scan(&h.clinicID, &h.seq, &h.hash); err != nil {
				return err
			}
			heads = append(heads, h)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("audit checkpoint: %w", err)
	}
	var out []*eonpro.AuditCheckpoint
	var errs []error
	for _, h := range heads {
		cp, err := s.checkpointChain(ctx, h.clinicID)
		if err != nil {
			errs = append(errs, err)
		} else if cp != nil {
			out = append(out, cp)
		}
	}
	return out, errors.Join(errs...)
}

// checkpointChain checks the events since the chain's latest checkpoint
// and signs its head; nil when the head has not moved.
func (s *AuditService) checkpointChain(ctx context.Context, clinicID string) (*eonpro.AuditCheckpoint, error) {
	last, err := s.latestCheckpoint(clinicID)
	if err != nil {
		return nil, err
	}
	var w *chainWalker
	cp := &eonpro.AuditCheckpoint{ClinicID: clinicID, Time: s.db.Now()}
	err = s.db.viewChain(ctx, clinicID, func(tx *Tx) error {
		w = newChainWalker(clinicID, nil)
		if last != nil {
			w.res.Count, w.prev = last.Seq, last.Hash
		}
		var err error
		if cp.Seq, cp.Hash, err = chainHead(ctx, tx, clinicID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, selectAuditChainAfter, clinicID, w.res.Count)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() && w.res.Count < cp.Seq {
			ev, err := scanAuditEvent(rows)
			if err != nil {
				return err
			}
			if !w.step(ev) {
				return nil
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("audit checkpoint of %q: %w", clinicID, err)
	}
	if w.res.OK && (w.res.Count != cp.Seq || w.prev != cp.Hash) {
		w.fail(w.res.Count+1, "", fmt.Sprintf("the events since the last checkpoint (seq %d) do not reach the head at seq %d", w.res.Count, cp.Seq))
	}
	if !w.res.OK {
		s.alertVerify(ctx, w.res)
		return nil, fmt.Errorf("audit chain of %q is broken at seq %d, not checkpointed: %s", clinicID, w.res.FirstBadSeq, w.res.Reason)
	}
	if last != nil && last.Seq == cp.Seq && cp.Time.Sub(last.Time) < s.interval/2 {
		return nil, nil
	}
	cp.Sign(s.key)
	if err := s.anchorCheckpoint(ctx, cp); err != nil {
		return nil, err
	}
	return cp, s.writeCheckpoint(cp)
}

// anchorCheckpoint writes cp to every anchor and logs it (ids and hashes
// only), before the checkpoint directory: a checkpoint missing from an
// anchor is then written again, under a new time, by the next run.
func (s *AuditService) anchorCheckpoint(ctx context.Context, cp *eonpro.AuditCheckpoint) error {
	var errs []error
	for _, a := range s.anchors {
		if err := a.WriteCheckpoint(ctx, cp); err != nil {
			errs = append(errs, fmt.Errorf("audit checkpoint of %q to %s: %w", cp.ClinicID, a.AnchorName(), err))
		}
	}
	s.db.log.InfoContext(ctx, "audit checkpoint", "clinic_id", cp.ClinicID, "seq", cp.Seq, "hash", cp.Hash,
		"time", cp.Time.Format(eonpro.AuditTimeLayout), "key_id", cp.KeyID, "anchors", len(s.anchors)-len(errs))
	return errors.Join(errs...)
}

// chainDir is the sink directory of a chain: its clinic id, or platform.
func (s *AuditService) chainDir(clinicID string) (string, error) {
	if clinicID == "" {
		return filepath.Join(s.sink, "platform"), nil
	}
	if clinicID == "platform" || !filepath.IsLocal(clinicID) || strings.ContainsAny(clinicID, `/\`) {
		return "", fmt.Errorf("audit: clinic id %q cannot name a checkpoint directory", clinicID)
	}
	return filepath.Join(s.sink, clinicID), nil
}

// writeCheckpoint writes cp as DIR/CHAIN/SEQ.json, whole or not at all.
func (s *AuditService) writeCheckpoint(cp *eonpro.AuditCheckpoint) error {
	dir, err := s.chainDir(cp.ClinicID)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("audit checkpoint: %w", err)
	}
	b, err := json.MarshalIndent(cp, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".checkpoint-*")
	if err != nil {
		return fmt.Errorf("audit checkpoint: %w", err)
	}
	_, err = tmp.Write(append(b, '\n'))
	if err = errors.Join(err, tmp.Sync(), tmp.Close()); err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, fmt.Sprintf("%020d.json", cp.Seq)))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("audit checkpoint: %w", err)
	}
	return nil
}

// checkpointFiles lists a chain's checkpoint files in seq order.
func (s *AuditService) checkpointFiles(clinicID string) ([]string, error) {
	dir, err := s.chainDir(clinicID)
	if err != nil {
		return nil, err
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	slices.Sort(names) // zero-padded seqs sort as numbers
	return names, nil
}

// readCheckpoint reads one checkpoint file and checks its signature and
// chain; bad says what is wrong with a file that fails.
func (s *AuditService) readCheckpoint(path, clinicID string) (cp *eonpro.AuditCheckpoint, bad string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("audit checkpoint: %w", err)
	}
	cp = &eonpro.AuditCheckpoint{}
	name := filepath.Base(path)
	if json.Unmarshal(b, cp) != nil {
		return nil, fmt.Sprintf("checkpoint file %s is not a checkpoint", name), nil
	}
	if !cp.VerifySignature(s.key.Public().(ed25519.PublicKey)) {
		return nil, fmt.Sprintf("checkpoint file %s is not signed by the audit signing key %s", name,
			eonpro.AuditKeyID(s.key.Public().(ed25519.PublicKey))), nil
	}
	if cp.ClinicID != clinicID || name != fmt.Sprintf("%020d.json", cp.Seq) {
		return nil, fmt.Sprintf("checkpoint file %s belongs to another chain or position", name), nil
	}
	return cp, "", nil
}

// loadCheckpoints reads every checkpoint of a chain, in seq order.
func (s *AuditService) loadCheckpoints(clinicID string) ([]*eonpro.AuditCheckpoint, string, error) {
	names, err := s.checkpointFiles(clinicID)
	if err != nil {
		return nil, "", err
	}
	var out []*eonpro.AuditCheckpoint
	for _, name := range names {
		cp, bad, err := s.readCheckpoint(name, clinicID)
		if err != nil || bad != "" {
			return nil, bad, err
		}
		out = append(out, cp)
	}
	return out, "", nil
}

// latestCheckpoint reads the newest checkpoint of a chain, or nil.
func (s *AuditService) latestCheckpoint(clinicID string) (*eonpro.AuditCheckpoint, error) {
	names, err := s.checkpointFiles(clinicID)
	if err != nil || len(names) == 0 {
		return nil, err
	}
	cp, bad, err := s.readCheckpoint(names[len(names)-1], clinicID)
	if err == nil && bad != "" {
		err = errors.New("audit checkpoint: " + bad)
	}
	return cp, err
}
