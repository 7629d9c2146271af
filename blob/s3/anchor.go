package s3

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3sdk "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/eonpro/eonpro"
)

var _ eonpro.AuditAnchor = (*Anchor)(nil)

// Anchor keeps audit checkpoints as objects of a bucket created with S3
// Object Lock: each is put with a lock mode and a retain-until date, so
// that until then no one (COMPLIANCE), or no one without the bypass
// permission (GOVERNANCE), can delete or overwrite it — the database's
// administrators included. The objects are
// PREFIX/CHAIN/SEQ-TIME.json, CHAIN the clinic id or "platform", SEQ
// zero-padded to 20 digits, TIME the checkpoint's in UTC.
type Anchor struct {
	client *s3sdk.Client
	opts   AnchorOptions
}

// AnchorOptions configure NewAnchor.
type AnchorOptions struct {
	Bucket string
	// Prefix is the first part of every key (default audit-checkpoints).
	Prefix string
	// Mode is COMPLIANCE (default) or GOVERNANCE.
	Mode string
	// Retention is how long past its time each checkpoint stays locked.
	Retention time.Duration
}

// Object Lock modes.
const (
	LockCompliance = string(types.ObjectLockModeCompliance)
	LockGovernance = string(types.ObjectLockModeGovernance)
)

// NewAnchor returns the anchor on the bucket of client.
func NewAnchor(client *s3sdk.Client, opts AnchorOptions) (*Anchor, error) {
	if opts.Prefix == "" {
		opts.Prefix = "audit-checkpoints"
	}
	if opts.Mode == "" {
		opts.Mode = LockCompliance
	}
	switch {
	case opts.Bucket == "":
		return nil, errors.New("audit anchor: a bucket is required")
	case opts.Mode != LockCompliance && opts.Mode != LockGovernance:
		return nil, fmt.Errorf("audit anchor: lock mode %q is not COMPLIANCE or GOVERNANCE", opts.Mode)
	case opts.Retention <= 0:
		return nil, errors.New("audit anchor: a retention period is required")
	}
	opts.Prefix = strings.Trim(opts.Prefix, "/")
	return &Anchor{client: client, opts: opts}, nil
}

// AnchorName implements eonpro.AuditAnchor.
func (a *Anchor) AnchorName() string { return "S3 anchor" }

// chainPrefix is the key prefix of a chain's checkpoints.
func (a *Anchor) chainPrefix(clinicID string) string {
	if clinicID == "" {
		clinicID = "platform"
	}
	return a.opts.Prefix + "/" + clinicID + "/"
}

// WriteCheckpoint puts cp as a locked object of its own.
func (a *Anchor) WriteCheckpoint(ctx context.Context, cp *eonpro.AuditCheckpoint) error {
	if cp.ClinicID == "platform" || strings.ContainsAny(cp.ClinicID, "/\\") {
		return fmt.Errorf("audit anchor: clinic id %q cannot name a checkpoint key", cp.ClinicID)
	}
	b, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("audit anchor: %w", err)
	}
	key := fmt.Sprintf("%s%020d-%s.json", a.chainPrefix(cp.ClinicID), cp.Seq, cp.Time.UTC().Format("20060102T150405.000000Z"))
	_, err = a.client.PutObject(ctx, &s3sdk.PutObjectInput{
		Bucket:                    aws.String(a.opts.Bucket),
		Key:                       aws.String(key),
		Body:                      bytes.NewReader(b),
		ContentType:               aws.String("application/json"),
		ChecksumAlgorithm:         types.ChecksumAlgorithmCrc32, // Object Lock puts need a checksum
		ObjectLockMode:            types.ObjectLockMode(a.opts.Mode),
		ObjectLockRetainUntilDate: aws.Time(cp.Time.Add(a.opts.Retention)),
	})
	if err != nil {
		return fmt.Errorf("audit anchor: put %s: %w", key, err)
	}
	return nil
}

// FindCheckpoints lists the chain's objects and reads each.
func (a *Anchor) FindCheckpoints(ctx context.Context, clinicID string) ([]*eonpro.AuditCheckpoint, error) {
	var out []*eonpro.AuditCheckpoint
	pages := s3sdk.NewListObjectsV2Paginator(a.client, &s3sdk.ListObjectsV2Input{
		Bucket: aws.String(a.opts.Bucket),
		Prefix: aws.String(a.chainPrefix(clinicID)),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("audit anchor: list: %w", err)
		}
		for _, obj := range page.Contents {
			if path.Ext(aws.ToString(obj.Key)) != ".json" {
				continue
			}
			cp, err := a.read(ctx, aws.ToString(obj.Key))
			if err != nil {
				return nil, err
			}
			out = append(out, cp)
		}
	}
	return out, nil
}

// read gets one checkpoint object. One that does not decode comes back
// as an empty checkpoint, which fails verification: objects are written
// whole, so a broken one was put there by someone else.
func (a *Anchor) read(ctx context.Context, key string) (*eonpro.AuditCheckpoint, error) {
	obj, err := a.client.GetObject(ctx, &s3sdk.GetObjectInput{Bucket: aws.String(a.opts.Bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("audit anchor: get %s: %w", key, err)
	}
	b, err := io.ReadAll(obj.Body)
	obj.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("audit anchor: get %s: %w", key, err)
	}
	cp := &eonpro.AuditCheckpoint{}
	if json.Unmarshal(b, cp) != nil {
		cp = &eonpro.AuditCheckpoint{}
	}
	return cp, nil
}
