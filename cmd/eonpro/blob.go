package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/blob/local"
	"github.com/eonpro/eonpro/blob/s3"
)

// maxUploadLimit caps EONPRO_MAX_UPLOAD_BYTES: a document is read,
// encrypted and decrypted in memory.
const maxUploadLimit = 256 << 20

// validateBlobs checks the document store settings.
func (c *Config) validateBlobs() error {
	if c.MaxUploadBytes < 1 || c.MaxUploadBytes > maxUploadLimit {
		return fmt.Errorf("config: EONPRO_MAX_UPLOAD_BYTES must be 1 to %d", maxUploadLimit)
	}
	if c.BlobSweepInterval < time.Minute {
		return errors.New("config: EONPRO_BLOB_SWEEP_INTERVAL must be at least 1m")
	}
	if c.S3Endpoint == "" {
		return nil
	}
	if c.S3Bucket == "" && c.AuditAnchorS3Bucket == "" {
		return errors.New("config: EONPRO_S3_ENDPOINT needs EONPRO_S3_BUCKET or EONPRO_AUDIT_ANCHOR_S3_BUCKET")
	}
	if u, err := url.Parse(c.S3Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("config: EONPRO_S3_ENDPOINT must be an http:// or https:// URL")
	}
	return nil
}

// blobDir is EONPRO_BLOB_DIR or its default in DataDir.
func (c *Config) blobDir() string {
	if c.BlobDir != "" {
		return c.BlobDir
	}
	return filepath.Join(c.DataDir, "blobs")
}

// openBlobs opens the document store, the S3 bucket when one is set and
// the local directory otherwise, and checks that it takes, returns and
// deletes content, so that a wrong bucket or missing permissions stop
// the start rather than the first upload.
func (m *Main) openBlobs(ctx context.Context) error {
	if m.Config.S3Bucket == "" {
		store, err := local.Open(m.Config.blobDir())
		if err != nil {
			return err
		}
		m.blobs = store
		m.log.Info("documents", "store", "local", "dir", m.Config.blobDir())
	} else {
		client, err := s3.NewClient(ctx, m.Config.AWSRegion, m.Config.S3Endpoint)
		if err != nil {
			return err
		}
		m.blobs = s3.New(client, m.Config.S3Bucket)
		m.log.Info("documents", "store", "s3", "bucket", m.Config.S3Bucket)
	}
	if err := checkBlobs(ctx, m.blobs); err != nil {
		return fmt.Errorf("document store does not work: %w", err)
	}
	return nil
}

// checkBlobs puts, reads back and deletes a throw-away blob.
func checkBlobs(ctx context.Context, store eonpro.BlobStore) error {
	key, probe := eonpro.NewBlobKey(), []byte("eonpro start-up check")
	if err := store.Put(ctx, key, bytes.NewReader(probe)); err != nil {
		return err
	}
	rc, err := store.Get(ctx, key)
	if err != nil {
		return err
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err == nil && !bytes.Equal(got, probe) {
		err = errors.New("the check blob came back different")
	}
	return errors.Join(err, store.Delete(ctx, key))
}
