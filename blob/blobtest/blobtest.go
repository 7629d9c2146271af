// Package blobtest is the conformance suite every BlobStore passes.
package blobtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/eonpro/eonpro"
)

// Run checks store against the BlobStore contract, each case a subtest.
func Run(t *testing.T, store eonpro.BlobStore) {
	for name, fn := range map[string]func(*testing.T, eonpro.BlobStore){
		"RoundTrip":      roundTrip,
		"Overwrite":      overwrite,
		"Unseekable":     unseekable,
		"Concurrent":     concurrent,
		"ErrNotFound":    notFound,
		"Delete":         deleteBlob,
		"ErrBadKey":      badKeys,
		"ErrReaderFails": readerFails,
		"List":           list,
		"ErrListStopped": listStopped,
	} {
		t.Run(name, func(t *testing.T) { fn(t, store) })
	}
}

func random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// Get reads the blob of key in full.
func Get(t *testing.T, store eonpro.BlobStore, key string) []byte {
	t.Helper()
	rc, err := store.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read blob: %v", err)
	}
	return b
}

func put(t *testing.T, store eonpro.BlobStore, key string, b []byte) {
	t.Helper()
	if err := store.Put(context.Background(), key, bytes.NewReader(b)); err != nil {
		t.Fatalf("Put: %v", err)
	}
}

func roundTrip(t *testing.T, store eonpro.BlobStore) {
	for _, size := range []int{1, 4096, 3<<20 + 7} {
		key, want := eonpro.NewBlobKey(), random(size)
		put(t, store, key, want)
		if got := Get(t, store, key); !bytes.Equal(got, want) {
			t.Errorf("%d bytes: got %d bytes back, different", size, len(got))
		}
	}
}

func overwrite(t *testing.T, store eonpro.BlobStore) {
	key := eonpro.NewBlobKey()
	put(t, store, key, []byte("first, and longer"))
	put(t, store, key, []byte("second"))
	if got := Get(t, store, key); string(got) != "second" {
		t.Errorf("after overwrite: %q, want %q", got, "second")
	}
}

func unseekable(t *testing.T, store eonpro.BlobStore) {
	key, want := eonpro.NewBlobKey(), random(70_000)
	r := io.MultiReader(bytes.NewReader(want[:100]), bytes.NewReader(want[100:]))
	if err := store.Put(context.Background(), key, r); err != nil {
		t.Fatalf("Put of a reader that cannot seek: %v", err)
	}
	if got := Get(t, store, key); !bytes.Equal(got, want) {
		t.Error("content differs")
	}
}

func concurrent(t *testing.T, store eonpro.BlobStore) {
	keys, blobs := make([]string, 8), make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		keys[i], blobs[i] = eonpro.NewBlobKey(), random(10_000+i)
		wg.Go(func() {
			if err := store.Put(context.Background(), keys[i], bytes.NewReader(blobs[i])); err != nil {
				t.Errorf("Put %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	for i, key := range keys {
		if !bytes.Equal(Get(t, store, key), blobs[i]) {
			t.Errorf("blob %d differs", i)
		}
	}
}

func notFound(t *testing.T, store eonpro.BlobStore) {
	rc, err := store.Get(context.Background(), eonpro.NewBlobKey())
	if eonpro.ErrorCode(err) != eonpro.ENOTFOUND {
		t.Errorf("Get of a missing key = %v, want ENOTFOUND", err)
	}
	if rc != nil {
		rc.Close()
	}
}

func deleteBlob(t *testing.T, store eonpro.BlobStore) {
	ctx := context.Background()
	key, other := eonpro.NewBlobKey(), eonpro.NewBlobKey()
	put(t, store, key, []byte("gone soon"))
	put(t, store, other, []byte("stays"))
	if err := store.Delete(ctx, key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := store.Get(ctx, key); eonpro.ErrorCode(err) != eonpro.ENOTFOUND {
		t.Errorf("Get after Delete = %v, want ENOTFOUND", err)
	}
	if err := store.Delete(ctx, key); err != nil {
		t.Errorf("second Delete = %v, want nil", err)
	}
	if got := Get(t, store, other); string(got) != "stays" {
		t.Errorf("other blob = %q after a Delete", got)
	}
}

func badKeys(t *testing.T, store eonpro.BlobStore) {
	ctx := context.Background()
	for _, key := range []string{"", "../../etc/passwd", "..", "/etc/passwd", "ab/" + eonpro.NewBlobKey()[3:],
		"0123456789ABCDEF0123456789ABCDEF", eonpro.NewBlobKey() + "0", eonpro.NewBlobKey()[1:], "\x00" + eonpro.NewBlobKey()[1:]} {
		if err := store.Put(ctx, key, bytes.NewReader([]byte("x"))); !errors.Is(err, eonpro.ErrBlobKey) {
			t.Errorf("Put(%q) = %v, want ErrBlobKey", key, err)
		}
		if _, err := store.Get(ctx, key); !errors.Is(err, eonpro.ErrBlobKey) {
			t.Errorf("Get(%q) = %v, want ErrBlobKey", key, err)
		}
		if err := store.Delete(ctx, key); !errors.Is(err, eonpro.ErrBlobKey) {
			t.Errorf("Delete(%q) = %v, want ErrBlobKey", key, err)
		}
	}
}

// failingReader gives some bytes, then an error.
type failingReader struct{ sent bool }

var errRead = errors.New("blobtest: connection reset")

func (f *failingReader) Read(p []byte) (int, error) {
	if f.sent {
		return 0, errRead
	}
	f.sent = true
	return copy(p, "partial"), nil
}

// readerFails: a Put whose reader fails leaves nothing, not half a blob.
func readerFails(t *testing.T, store eonpro.BlobStore) {
	key := eonpro.NewBlobKey()
	if err := store.Put(context.Background(), key, &failingReader{}); !errors.Is(err, errRead) {
		t.Errorf("Put = %v, want the reader's error", err)
	}
	if _, err := store.Get(context.Background(), key); eonpro.ErrorCode(err) != eonpro.ENOTFOUND {
		t.Errorf("Get after a failed Put = %v, want ENOTFOUND", err)
	}
}

// list: every blob put is listed once, with the time it was written.
func list(t *testing.T, store eonpro.BlobStore) {
	keys := map[string]bool{eonpro.NewBlobKey(): true, eonpro.NewBlobKey(): true}
	for k := range keys {
		put(t, store, k, random(8))
	}
	seen := map[string]int{}
	err := store.List(context.Background(), func(page []eonpro.BlobInfo) error {
		if len(page) == 0 || len(page) > eonpro.BlobPage {
			t.Errorf("page of %d blobs", len(page))
		}
		for _, b := range page {
			seen[b.Key]++
			if keys[b.Key] && time.Since(b.ModTime).Abs() > time.Minute {
				t.Errorf("blob written now listed at %v", b.ModTime)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for k := range keys {
		if seen[k] != 1 {
			t.Errorf("blob listed %d times, want once", seen[k])
		}
	}
}

// listStopped: an error of the callback ends the listing and comes back.
func listStopped(t *testing.T, store eonpro.BlobStore) {
	put(t, store, eonpro.NewBlobKey(), random(8))
	stop := errors.New("stop")
	calls := 0
	err := store.List(context.Background(), func([]eonpro.BlobInfo) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("List = %v after %d calls, want the callback's error after 1", err, calls)
	}
}
