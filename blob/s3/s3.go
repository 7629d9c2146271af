// Package s3 is a BlobStore on an Amazon S3 bucket (or an S3-compatible
// one, such as MinIO), for servers that share their documents: replicas
// behind a load balancer see the same bucket. It also holds Anchor, the
// audit checkpoint anchor on a bucket with Object Lock.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3sdk "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/eonpro/eonpro/awsconf"

	"github.com/eonpro/eonpro"
)

var _ eonpro.BlobStore = (*Store)(nil)

// Store keeps blobs as objects of one bucket, named by their keys.
type Store struct {
	client *s3sdk.Client
	bucket string
}

// New returns the store on bucket of client.
func New(client *s3sdk.Client, bucket string) *Store {
	return &Store{client: client, bucket: bucket}
}

// NewClient returns an S3 client with the SDK's default credential chain
// (environment, shared config, web identity, instance role). region may
// be empty for the SDK's default. endpoint overrides the service address
// (MinIO, a fake in tests) and then addresses buckets by path, as those
// servers expect.
func NewClient(ctx context.Context, region, endpoint string) (*s3sdk.Client, error) {
	cfg, err := awsconf.Load(ctx, region)
	if err != nil {
		return nil, err
	}
	return s3sdk.NewFromConfig(cfg, func(o *s3sdk.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
	}), nil
}

// Put uploads r as the object key. The SDK signs the payload, which needs
// a seekable body: other readers are read into memory first (blobs are
// bounded by the upload limit).
func (s *Store) Put(ctx context.Context, key string, r io.Reader) error {
	if err := eonpro.CheckBlobKey(key); err != nil {
		return err
	}
	body, ok := r.(io.ReadSeeker)
	if !ok {
		b, err := io.ReadAll(r)
		if err != nil {
			return fmt.Errorf("put blob: %w", err)
		}
		body = bytes.NewReader(b)
	}
	_, err := s.client.PutObject(ctx, &s3sdk.PutObjectInput{
		Bucket:      aws.String(s.bucket),
		Key:         aws.String(key),
		Body:        body,
		ContentType: aws.String("application/octet-stream"),
	})
	if err != nil {
		return fmt.Errorf("put blob: %w", err)
	}
	return nil
}

// Get downloads the object key.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := eonpro.CheckBlobKey(key); err != nil {
		return nil, err
	}
	out, err := s.client.GetObject(ctx, &s3sdk.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if notFound(err) {
		return nil, eonpro.Errorf(eonpro.ENOTFOUND, "The stored content was not found.")
	} else if err != nil {
		return nil, fmt.Errorf("get blob: %w", err)
	}
	return out.Body, nil
}

// Delete removes the object key; S3 answers a missing key as a success.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := eonpro.CheckBlobKey(key); err != nil {
		return err
	}
	_, err := s.client.DeleteObject(ctx, &s3sdk.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("delete blob: %w", err)
	}
	return nil
}

// notFound reports whether err is S3's answer for a missing key. Only
// NoSuchKey counts: a missing bucket (also a 404) is a broken
// configuration, not a missing document.
func notFound(err error) bool {
	var nsk *types.NoSuchKey
	var api smithy.APIError
	return errors.As(err, &nsk) || (errors.As(err, &api) && api.ErrorCode() == "NoSuchKey")
}

// List pages through the bucket with ListObjectsV2 and hands over the
// objects named by a key, with their LastModified times.
func (s *Store) List(ctx context.Context, fn func(page []eonpro.BlobInfo) error) error {
	p := s3sdk.NewListObjectsV2Paginator(s.client, &s3sdk.ListObjectsV2Input{
		Bucket:  aws.String(s.bucket),
		MaxKeys: aws.Int32(eonpro.BlobPage),
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list blobs: %w", err)
		}
		page := make([]eonpro.BlobInfo, 0, len(out.Contents))
		for _, o := range out.Contents {
			key := aws.ToString(o.Key)
			if eonpro.CheckBlobKey(key) != nil || o.LastModified == nil {
				continue
			}
			page = append(page, eonpro.BlobInfo{Key: key, ModTime: o.LastModified.UTC()})
		}
		if len(page) == 0 {
			continue
		}
		if err := fn(page); err != nil {
			return fmt.Errorf("list blobs: %w", err)
		}
	}
	return nil
}
