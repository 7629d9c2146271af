// Package local is a BlobStore on a local directory, the default for a
// single server. Files are owner-only (0600 in 0700 directories), spread
// over 256 subdirectories by the first two hex digits of their key.
package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"

	"github.com/eonpro/eonpro"
)

var _ eonpro.BlobStore = (*Store)(nil)

// Store keeps blobs as files under one directory. Every access goes
// through an os.Root, so neither a key nor a symbolic link can reach
// outside it; keys are also checked to be NewBlobKey's hex.
type Store struct {
	root *os.Root
}

// Open returns the store on dir, creating it (0700) when missing.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open blob directory: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open blob directory: %w", err)
	}
	return &Store{root: root}, nil
}

// Close releases the directory.
func (s *Store) Close() error { return s.root.Close() }

// name returns the file name of key within the root.
func name(key string) (string, error) {
	if err := eonpro.CheckBlobKey(key); err != nil {
		return "", err
	}
	return path.Join(key[:2], key), nil
}

// Put writes r to a temporary file beside the final one and renames it
// into place once synced, so a reader never sees half a blob.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) error {
	final, err := name(key)
	if err != nil {
		return err
	}
	if err := s.root.MkdirAll(path.Dir(final), 0o700); err != nil {
		return fmt.Errorf("put blob: %w", err)
	}
	suffix := make([]byte, 8)
	_, _ = rand.Read(suffix)
	tmp := final + ".tmp-" + hex.EncodeToString(suffix)
	f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("put blob: %w", err)
	}
	_, err = io.Copy(f, contextReader{ctx, r})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.root.Rename(tmp, final)
	}
	if err != nil {
		_ = s.root.Remove(tmp)
		return fmt.Errorf("put blob: %w", err)
	}
	return nil
}

// Get opens the file of key.
func (s *Store) Get(_ context.Context, key string) (io.ReadCloser, error) {
	n, err := name(key)
	if err != nil {
		return nil, err
	}
	f, err := s.root.Open(n)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, eonpro.Errorf(eonpro.ENOTFOUND, "The stored content was not found.")
	} else if err != nil {
		return nil, fmt.Errorf("get blob: %w", err)
	}
	return f, nil
}

// Delete removes the file of key.
func (s *Store) Delete(_ context.Context, key string) error {
	n, err := name(key)
	if err != nil {
		return err
	}
	if err := s.root.Remove(n); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete blob: %w", err)
	}
	return nil
}

// contextReader stops a copy once ctx is done, so a cancelled request
// does not finish writing a large blob.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// List walks the directory and hands over the files named by a key, with
// their modification times.
func (s *Store) List(ctx context.Context, fn func(page []eonpro.BlobInfo) error) error {
	page := make([]eonpro.BlobInfo, 0, eonpro.BlobPage)
	err := fs.WalkDir(s.root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		key := path.Base(p)
		if d.IsDir() || !d.Type().IsRegular() || eonpro.CheckBlobKey(key) != nil || path.Dir(p) != key[:2] {
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted since the directory was read
		} else if err != nil {
			return err
		}
		page = append(page, eonpro.BlobInfo{Key: key, ModTime: info.ModTime().UTC()})
		if len(page) < eonpro.BlobPage {
			return nil
		}
		err = fn(page)
		page = make([]eonpro.BlobInfo, 0, eonpro.BlobPage)
		return err
	})
	if err == nil && len(page) > 0 {
		err = fn(page)
	}
	if err != nil {
		return fmt.Errorf("list blobs: %w", err)
	}
	return nil
}
