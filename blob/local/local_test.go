package local_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/blob/blobtest"
	"github.com/eonpro/eonpro/blob/local"
)

func open(t *testing.T, dir string) *local.Store {
	t.Helper()
	s, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	blobtest.Run(t, open(t, filepath.Join(t.TempDir(), "blobs")))
}

// TestOwnerOnly: the directory, its subdirectories and files are the
// server's alone, and no temporary file is left behind.
func TestOwnerOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "blobs")
	s := open(t, dir)
	key := eonpro.NewBlobKey()
	if err := s.Put(context.Background(), key, strings.NewReader("ciphertext")); err != nil {
		t.Fatal(err)
	}
	var files int
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		} else {
			files++
			if filepath.Base(path) != key || filepath.Base(filepath.Dir(path)) != key[:2] {
				t.Errorf("file %s, want %s/%s", path, key[:2], key)
			}
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", path, info.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files != 1 {
		t.Errorf("%d files, want 1", files)
	}
}

// TestErrSymlinkOut: a link planted in the directory cannot lead a write
// outside it.
func TestErrSymlinkOut(t *testing.T) {
	dir, outside := filepath.Join(t.TempDir(), "blobs"), t.TempDir()
	s := open(t, dir)
	key := eonpro.NewBlobKey()
	if err := os.Symlink(outside, filepath.Join(dir, key[:2])); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(context.Background(), key, bytes.NewReader([]byte("x"))); err == nil {
		t.Error("Put through a symlink out of the directory succeeded")
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("files written outside: %v", entries)
	}
}

// TestListSkipsStrangers: temporary files and names that are no key are
// not listed, so a sweep can never delete them by key.
func TestListSkipsStrangers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "blobs")
	s := open(t, dir)
	key := eonpro.NewBlobKey()
	if err := s.Put(context.Background(), key, strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	other := "00" + key[2:] // a key, but in another key's subdirectory
	if key[:2] == "00" {
		other = "11" + key[2:]
	}
	for _, name := range []string{key + ".tmp-0011223344556677", "README", other} {
		if err := os.WriteFile(filepath.Join(dir, key[:2], name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	err := s.List(context.Background(), func(page []eonpro.BlobInfo) error {
		for _, b := range page {
			got = append(got, b.Key)
		}
		return nil
	})
	if err != nil || len(got) != 1 || got[0] != key {
		t.Errorf("List = %v, %v; want only %s", got, err, key)
	}
}
