package sqlstore

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/eonpro/eonpro"
)

// sourcedCheckpoint is a checkpoint and the name of the source it was
// read from, which a failure cites.
type sourcedCheckpoint struct {
	*eonpro.AuditCheckpoint
	source string
}

// checkpointSet is every checkpoint of one chain that the checkpoint
// directory and the anchors hold. bad says why a source's content is not
// to be trusted (a forged or misplaced checkpoint).
type checkpointSet struct {
	cps     []sourcedCheckpoint
	sources []eonpro.CheckpointSource
	bad     string
}

// loadCheckpointSet reads a chain's checkpoints from the directory, then
// from each anchor. A source that cannot be read is an error: verifying
// without it would pass a chain it might fail.
func (s *AuditService) loadCheckpointSet(ctx context.Context, clinicID string) (*checkpointSet, error) {
	set := &checkpointSet{}
	cps, bad, err := s.loadCheckpoints(clinicID)
	if err != nil {
		return nil, err
	}
	set.add("checkpoint directory", cps)
	set.bad = bad
	for _, a := range s.anchors {
		cps, err := a.FindCheckpoints(ctx, clinicID)
		if err != nil {
			return nil, fmt.Errorf("read checkpoints of %s: %w", a.AnchorName(), err)
		}
		if set.bad == "" {
			set.bad = s.badAnchored(a.AnchorName(), clinicID, cps)
		}
		set.add(a.AnchorName(), cps)
	}
	return set, nil
}

// badAnchored checks the signature and chain of each anchored checkpoint.
func (s *AuditService) badAnchored(name, clinicID string, cps []*eonpro.AuditCheckpoint) string {
	pub := s.key.Public().(ed25519.PublicKey)
	for _, cp := range cps {
		if !cp.VerifySignature(pub) {
			return fmt.Sprintf("the checkpoint at seq %d in %s is not signed by the audit signing key %s", cp.Seq, name,
				eonpro.AuditKeyID(pub))
		}
		if cp.ClinicID != clinicID {
			return fmt.Sprintf("the checkpoint at seq %d in %s belongs to another chain", cp.Seq, name)
		}
	}
	return ""
}

// add records what one source held.
func (set *checkpointSet) add(name string, cps []*eonpro.AuditCheckpoint) {
	src := eonpro.CheckpointSource{Name: name, Checkpoints: len(cps)}
	for _, cp := range cps {
		set.cps = append(set.cps, sourcedCheckpoint{cp, name})
		if cp.Time.After(src.NewestTime) {
			src.NewestSeq, src.NewestTime = cp.Seq, cp.Time
		}
	}
	set.sources = append(set.sources, src)
}

// distinct counts the checkpoints that differ in chain position, hash or
// time: the same checkpoint in the directory and an anchor counts once.
func (set *checkpointSet) distinct() int {
	type id struct {
		seq        int64
		hash, time string
	}
	seen := map[id]bool{}
	for _, cp := range set.cps {
		seen[id{cp.Seq, cp.Hash, cp.Time.UTC().Format(eonpro.AuditTimeLayout)}] = true
	}
	return len(seen)
}

// newest returns the latest checkpoint by time, or nil.
func (set *checkpointSet) newest() *sourcedCheckpoint {
	var out *sourcedCheckpoint
	for i, cp := range set.cps {
		if out == nil || cp.Time.After(out.Time) {
			out = &set.cps[i]
		}
	}
	return out
}

// checkFresh fails a chain that has events older than window while its
// newest checkpoint is older than window too (or missing): checkpoints
// have stopped, and since then its tail could have been cut off or
// rewritten unnoticed. It also reports the newest checkpoint's age.
func (w *chainWalker) checkFresh(newest *sourcedCheckpoint, now time.Time, window time.Duration) {
	var seq int64
	if newest != nil {
		seq = newest.Seq
		w.res.NewestCheckpoint, w.res.CheckpointAge = newest.Time, now.Sub(newest.Time)
	}
	if !w.res.OK || w.res.Count == 0 || now.Sub(w.first) <= window || (newest != nil && w.res.CheckpointAge <= window) {
		return
	}
	what := "the chain has no checkpoint"
	if newest != nil {
		what = fmt.Sprintf("the newest checkpoint (seq %d, in %s) is %s old", seq, newest.source, w.res.CheckpointAge.Round(time.Second))
	}
	w.fail(seq+1, "", fmt.Sprintf("%s, more than twice the checkpoint interval (%s), and the chain has older events: "+
		"checkpoints have stopped, so events after seq %d may have been removed or rewritten unnoticed", what, window, seq))
}
