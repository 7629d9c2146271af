package eonpro

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"regexp"
	"time"
)

// BlobStore keeps opaque content by key: a local directory or an S3
// bucket. What it is given is already encrypted (see DocumentService); it
// never sees plaintext PHI, names, or anything but random keys.
type BlobStore interface {
	// Put stores the content of r under key, replacing what was there.
	// A key NewBlobKey could not have made is refused with ErrBlobKey.
	Put(ctx context.Context, key string, r io.Reader) error
	// Get opens the content under key; the caller closes it.
	// Returns ENOTFOUND; ErrBlobKey.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Delete removes the content under key; a missing key is no error.
	// Returns ErrBlobKey.
	Delete(ctx context.Context, key string) error
	// List calls fn with what is stored, a page of at most BlobPage
	// blobs at a time, in no set order; an error of fn stops the listing
	// and is returned. Names NewBlobKey could not have made (temporary
	// files, strangers in the bucket) are left out.
	List(ctx context.Context, fn func(page []BlobInfo) error) error
}

// OrphanBlobAge is how old stored content no document row references
// must be before SweepOrphanBlobs deletes it. Content is written before
// its row commits, so a younger orphan may be an upload still under way.
const OrphanBlobAge = 24 * time.Hour

// BlobSweep counts what a sweep of orphaned blobs did: blobs listed, those
// old enough that no row references, those deleted, and failed deletions.
type BlobSweep struct {
	Scanned  int
	Orphaned int
	Deleted  int
	Errors   int
}

// BlobPage is the most blobs List hands over at once.
const BlobPage = 1000

// BlobInfo is a stored blob: its key and when it was last written.
type BlobInfo struct {
	Key     string
	ModTime time.Time
}

var blobKeyRe = regexp.MustCompile(`^[0-9a-f]{32}$`)

// NewBlobKey returns a random storage key: 128 bits as 32 lower-case hex
// digits. Keys carry no clinic, patient or file name, and being only hex
// they cannot name a path outside a store's directory.
func NewBlobKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// ErrBlobKey is the error of a blob store given a key that NewBlobKey
// could not have made. Keys come from the store's own records, never
// from a client, so it is internal.
var ErrBlobKey = errors.New("blob: malformed storage key")

// CheckBlobKey returns ErrBlobKey unless key has the form of NewBlobKey's.
func CheckBlobKey(key string) error {
	if !blobKeyRe.MatchString(key) {
		return ErrBlobKey
	}
	return nil
}
