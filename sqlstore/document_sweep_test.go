package sqlstore_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/blob/local"
	"github.com/eonpro/eonpro/blob/s3"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

// sweepStore is a blob store whose blobs a test can make old.
type sweepStore struct {
	eonpro.BlobStore
	backdate func(t *testing.T, key string, at time.Time)
}

func localSweepStore(t *testing.T) sweepStore {
	dir := t.TempDir()
	store, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return sweepStore{store, func(t *testing.T, key string, at time.Time) {
		if err := os.Chtimes(filepath.Join(dir, key[:2], key), at, at); err != nil {
			t.Fatal(err)
		}
	}}
}

// s3Time is the clock of the fake S3's objects: the real one unless a
// test sets it (requests are still checked against the real one).
type s3Time struct {
	mu sync.Mutex
	at time.Time
}

func (c *s3Time) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() {
		return time.Now().UTC()
	}
	return c.at
}

func (c *s3Time) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

func (c *s3Time) set(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = at
}

func s3SweepStore(t *testing.T) sweepStore {
	clock := &s3Time{}
	backend := s3mem.New(s3mem.WithTimeSource(clock))
	if err := backend.CreateBucket("eonpro-docs"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	client, err := s3.NewClient(context.Background(), "us-east-1", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	store := s3.New(client, "eonpro-docs")
	// An object's time is when it was written: write it again, then.
	return sweepStore{store, func(t *testing.T, key string, at time.Time) {
		obj, err := backend.GetObject("eonpro-docs", key, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Contents.Close()
		var b bytes.Buffer
		if _, err := b.ReadFrom(obj.Contents); err != nil {
			t.Fatal(err)
		}
		clock.set(at)
		defer clock.set(time.Time{})
		if err := store.Put(context.Background(), key, &b); err != nil {
			t.Fatal(err)
		}
	}}
}

// TestDocumentSweepOrphanBlobs: old content no row references goes; a
// document's content (in any clinic) and a young orphan stay.
func TestDocumentSweepOrphanBlobs(t *testing.T) {
	for name, open := range map[string]func(*testing.T) sweepStore{"local": localSweepStore, "s3": s3SweepStore} {
		t.Run(name, func(t *testing.T) {
			sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
				ctx := context.Background()
				e := newDocEnv(t, db)
				store := open(t)
				docs := sqlstore.NewDocumentService(db, e.ring, store, 0)
				old := db.Now().Add(-eonpro.OrphanBlobAge - time.Hour)
				var referenced []string
				for _, c := range []struct {
					ctx     context.Context
					patient string
				}{{e.adminA, e.patientA}, {e.adminB, e.patientB}} {
					if _, err := docs.CreateDocument(c.ctx, c.patient, eonpro.NewDocument{Kind: eonpro.DocumentLabResult,
						Filename: "lab.pdf", Content: pdf("lab")}); err != nil {
						t.Fatal(err)
					}
				}
				if err := store.List(ctx, func(page []eonpro.BlobInfo) error {
					for _, b := range page {
						referenced = append(referenced, b.Key)
					}
					return nil
				}); err != nil || len(referenced) != 2 {
					t.Fatalf("listed %v, %v; want the 2 documents' blobs", referenced, err)
				}
				oldOrphan, freshOrphan := eonpro.NewBlobKey(), eonpro.NewBlobKey()
				for _, k := range []string{oldOrphan, freshOrphan} {
					if err := store.Put(ctx, k, bytes.NewReader([]byte("v1:1:sealed"))); err != nil {
						t.Fatal(err)
					}
				}
				for _, k := range append([]string{oldOrphan}, referenced...) {
					store.backdate(t, k, old)
				}

				t.Run("ErrForbidden", func(t *testing.T) {
					if _, err := docs.SweepOrphanBlobs(e.adminA); eonpro.ErrorCode(err) != eonpro.EFORBIDDEN {
						t.Errorf("sweep as a clinic admin = %v, want EFORBIDDEN", err)
					}
				})
				t.Run("OK", func(t *testing.T) {
					res, err := docs.SweepOrphanBlobs(ctx)
					if want := (eonpro.BlobSweep{Scanned: 4, Orphaned: 1, Deleted: 1}); err != nil || res != want {
						t.Fatalf("sweep = %+v, %v; want %+v", res, err, want)
					}
					for _, k := range append([]string{freshOrphan}, referenced...) {
						if _, err := store.Get(ctx, k); err != nil {
							t.Errorf("blob %s kept? %v", k, err)
						}
					}
					if _, err := store.Get(ctx, oldOrphan); eonpro.ErrorCode(err) != eonpro.ENOTFOUND {
						t.Errorf("old orphan still there: %v", err)
					}
				})
			})
		})
	}
}

// TestDocumentSweepUnderRowSecurity runs the sweep as a role that is
// neither superuser nor BYPASSRLS, as production's: row-level security
// must not make the documents' content look orphaned.
func TestDocumentSweepUnderRowSecurity(t *testing.T) {
	requireEngine(t, sqlstore.Postgres)
	ctx := context.Background()
	url := sqltest.URL(t, sqlstore.Postgres)
	owner, err := sqlstore.Open(ctx, sqlstore.Options{URL: url, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { owner.Close() })
	if _, err := owner.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	e := newDocEnv(t, owner)
	store := localSweepStore(t)
	if _, err := sqlstore.NewDocumentService(owner, e.ring, store, 0).CreateDocument(e.adminB, e.patientB,
		eonpro.NewDocument{Kind: eonpro.DocumentLabResult, Filename: "lab.pdf", Content: pdf("lab")}); err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := store.List(ctx, func(page []eonpro.BlobInfo) error {
		for _, b := range page {
			keys = append(keys, b.Key)
			store.backdate(t, b.Key, owner.Now().Add(-2*eonpro.OrphanBlobAge))
		}
		return nil
	}); err != nil || len(keys) != 1 {
		t.Fatalf("listed %v, %v", keys, err)
	}
	role := loginRole(t, owner)
	u, _ := neturl.Parse(url)
	u.User = neturl.User(role)
	db, err := sqlstore.Open(ctx, sqlstore.Options{URL: u.String(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	res, err := sqlstore.NewDocumentService(db, e.ring, store, 0).SweepOrphanBlobs(ctx)
	if want := (eonpro.BlobSweep{Scanned: 1}); err != nil || res != want {
		t.Fatalf("sweep = %+v, %v; want %+v", res, err, want)
	}
	if _, err := store.Get(ctx, keys[0]); err != nil {
		t.Errorf("a document's content was swept: %v", err)
	}
}

// loginRole creates a role that can sign in but bypasses no row security.
func loginRole(t *testing.T, db *sqlstore.DB) string {
	t.Helper()
	role := rlsRole(t, db)
	for _, stmt := range []string{
		"ALTER ROLE " + role + " LOGIN",
		"GRANT SELECT ON clinics, patient_documents TO " + role,
	} {
		if _, err := db.Pool().Exec(context.Background(), stmt); err != nil {
			t.Fatal(err)
		}
	}
	return role
}
