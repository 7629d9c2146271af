package jobs_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/blob/local"
	"github.com/eonpro/eonpro/jobs"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

// syncBuffer is a log destination the workers and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestQueueSweepsOrphanBlobs: the periodic sweep deletes an orphan older
// than a day, keeps a young one, and logs counts, never keys.
func TestQueueSweepsOrphanBlobs(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		dir := t.TempDir()
		blobs, err := local.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { blobs.Close() })
		old, fresh := eonpro.NewBlobKey(), eonpro.NewBlobKey()
		for _, k := range []string{old, fresh} {
			if err := blobs.Put(ctx, k, strings.NewReader("v1:1:sealed")); err != nil {
				t.Fatal(err)
			}
		}
		then := time.Now().Add(-eonpro.OrphanBlobAge - time.Hour)
		if err := os.Chtimes(filepath.Join(dir, old[:2], old), then, then); err != nil {
			t.Fatal(err)
		}
		if err := jobs.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		logs := &syncBuffer{}
		q, err := jobs.New(db, jobs.Config{Poll: 50 * time.Millisecond, BlobSweepInterval: time.Hour,
			Logger: slog.New(slog.NewJSONHandler(logs, nil))},
			jobs.Services{Maintenance: sqlstore.NewMaintenanceService(db), Documents: sqlstore.NewDocumentService(db, nil, blobs, 0)})
		if err != nil {
			t.Fatal(err)
		}
		start(t, q)
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), `"msg":"blob sweep"`); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no sweep within 10s:\n%s", logs)
			}
		}
		if _, err := blobs.Get(ctx, old); eonpro.ErrorCode(err) != eonpro.ENOTFOUND {
			t.Errorf("old orphan kept: %v", err)
		}
		if _, err := blobs.Get(ctx, fresh); err != nil {
			t.Errorf("young orphan swept: %v", err)
		}
		out := logs.String()
		if !strings.Contains(out, `"scanned":2,"orphaned":1,"deleted":1,"errors":0`) {
			t.Errorf("sweep log without its counts:\n%s", out)
		}
		if strings.Contains(out, old) || strings.Contains(out, fresh) {
			t.Errorf("the log names a storage key:\n%s", out)
		}
	})
}
