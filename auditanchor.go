package eonpro

import (
	"context"
	"time"
)

// AuditAnchor keeps signed audit checkpoints where the database's writer
// cannot rewrite them (an append-only file, an S3 bucket with Object
// Lock), so that a tail cut off the chain, or events rewritten after the
// newest checkpoint of the checkpoint directory, still show against an
// older anchored checkpoint. Anchors never replace or remove what they
// hold.
type AuditAnchor interface {
	// AnchorName names the kind of anchor ("anchor file", "S3 anchor")
	// for verification results, which clinic admins read: no path, no
	// bucket.
	AnchorName() string
	// WriteCheckpoint stores cp durably next to the ones already held.
	WriteCheckpoint(ctx context.Context, cp *AuditCheckpoint) error
	// FindCheckpoints returns every checkpoint held for a chain (clinicID,
	// "" for the platform chain), unchecked, in no particular order. An
	// anchor that holds none returns an empty list, not an error.
	FindCheckpoints(ctx context.Context, clinicID string) ([]*AuditCheckpoint, error)
}

// CheckpointSource says what one place of checkpoints (the checkpoint
// directory or an anchor) held for a chain when it was verified.
type CheckpointSource struct {
	// Name is "checkpoint directory" or the anchor's name.
	Name string `json:"name"`
	// Checkpoints is how many valid checkpoints of the chain it held.
	Checkpoints int `json:"checkpoints"`
	// NewestSeq and NewestTime describe its newest checkpoint (zero when
	// it held none).
	NewestSeq  int64     `json:"newest_seq,omitempty"`
	NewestTime time.Time `json:"newest_time,omitzero"`
}
