package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/blob/s3"
	"github.com/eonpro/eonpro/sqlstore"
)

// validateAuditAnchor checks the settings of the checkpoint anchors.
func (c *Config) validateAuditAnchor() error {
	if c.AuditAnchorLockMode != s3.LockCompliance && c.AuditAnchorLockMode != s3.LockGovernance {
		return errors.New("config: EONPRO_AUDIT_ANCHOR_LOCK_MODE must be COMPLIANCE or GOVERNANCE")
	}
	if c.AuditAnchorRetainDays < 1 {
		return errors.New("config: EONPRO_AUDIT_ANCHOR_RETENTION_DAYS must be at least 1")
	}
	return nil
}

// auditAnchorFile is the anchor file: EONPRO_AUDIT_ANCHOR_FILE, else its
// default in DataDir when no bucket anchors the checkpoints, else none.
func (c *Config) auditAnchorFile() string {
	if c.AuditAnchorFile != "" || c.AuditAnchorS3Bucket != "" {
		return c.AuditAnchorFile
	}
	return filepath.Join(c.DataDir, "audit-anchor.jsonl")
}

// auditAnchors opens the places besides the checkpoint directory that
// every checkpoint also goes to: the append-only file, the bucket.
func (m *Main) auditAnchors(ctx context.Context) ([]eonpro.AuditAnchor, error) {
	var out []eonpro.AuditAnchor
	if path := m.Config.auditAnchorFile(); path != "" {
		a, err := sqlstore.OpenFileAnchor(path)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if m.Config.AuditAnchorS3Bucket != "" {
		client, err := s3.NewClient(ctx, m.Config.AWSRegion, m.Config.S3Endpoint)
		if err != nil {
			return nil, err
		}
		a, err := s3.NewAnchor(client, s3.AnchorOptions{Bucket: m.Config.AuditAnchorS3Bucket, Prefix: m.Config.AuditAnchorS3Prefix,
			Mode: m.Config.AuditAnchorLockMode, Retention: time.Duration(m.Config.AuditAnchorRetainDays) * 24 * time.Hour})
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// checkpointAge describes the newest checkpoint of a verified chain.
func checkpointAge(r *eonpro.VerifyResult) string {
	if r.NewestCheckpoint.IsZero() {
		return ", no checkpoint yet"
	}
	return fmt.Sprintf(", newest checkpoint %s old", r.CheckpointAge.Round(time.Second))
}

// newestIn describes the newest checkpoint one source held.
func newestIn(src eonpro.CheckpointSource) string {
	if src.Checkpoints == 0 {
		return ""
	}
	return fmt.Sprintf(", newest at seq %d (%s)", src.NewestSeq, src.NewestTime.Format(time.RFC3339))
}
