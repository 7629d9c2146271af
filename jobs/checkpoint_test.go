package jobs_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/jobs"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

func TestQueueCheckpointsOnStart(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		if err := db.RecordAudit(ctx, eonpro.AuditEvent{Action: eonpro.ActionLoginFailed, Outcome: eonpro.OutcomeDenied}); err != nil {
			t.Fatal(err)
		}
		_, key, _ := ed25519.GenerateKey(rand.Reader)
		sink := t.TempDir()
		audit, err := sqlstore.NewAuditService(db, sqlstore.AuditOptions{SigningKey: key, CheckpointDir: sink})
		if err != nil {
			t.Fatal(err)
		}
		if err := jobs.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
		q, err := jobs.New(db, jobs.Config{Poll: 50 * time.Millisecond, CheckpointInterval: time.Hour, Logger: log},
			jobs.Services{Maintenance: sqlstore.NewMaintenanceService(db), Audit: audit})
		if err != nil {
			t.Fatal(err)
		}
		start(t, q)
		want := filepath.Join(sink, "platform", "00000000000000000001.json")
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if files, _ := filepath.Glob(want); len(files) == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no checkpoint %s within 10s", want)
			}
		}
		if res, err := audit.Verify(ctx, ""); err != nil || !res.OK || res.Checkpoints != 1 {
			t.Errorf("verify after the job: %+v %v", res, err)
		}
	})
}
