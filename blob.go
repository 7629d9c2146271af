package eonpro

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"regexp"
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
