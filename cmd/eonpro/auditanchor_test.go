package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

var (
	dropAuditDeleteTriggers = []sqlstore.Stmt{
		{Name: "test_drop_event_delete", SQL: `DROP TRIGGER audit_events_no_change ON audit_events`, SQLite: `DROP TRIGGER audit_events_no_delete`},
		{Name: "test_drop_head_update", SQL: `DROP TRIGGER audit_heads_forward_only ON audit_heads`, SQLite: `DROP TRIGGER audit_heads_forward_only`},
	}
	deleteLastAuditEvent = sqlstore.Stmt{Name: "test_delete_last_audit_event", SQL: `
DELETE FROM audit_events WHERE clinic_id = $1 AND seq = 3`}
	rewindAuditHead = sqlstore.Stmt{Name: "test_rewind_audit_head", SQL: `
UPDATE audit_heads SET seq = 2, hash = (SELECT hash FROM audit_events WHERE clinic_id = $1 AND seq = 2) WHERE clinic_id = $1`}
)

// TestAuditVerifyS3Anchor checkpoints into an S3 bucket (gofakes3), then
// wipes the checkpoint directory and cuts the newest event off: verify
// fails through the bucket's checkpoint.
func TestAuditVerifyS3Anchor(t *testing.T) {
	backend := s3mem.New()
	if err := backend.CreateBucket("eonpro-audit"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	for _, e := range sqltest.Engines(t) {
		t.Run(string(e), func(t *testing.T) {
			ctx := context.Background()
			dataDir := t.TempDir()
			prefix := "audit-" + string(e)
			kv := map[string]string{"EONPRO_DATABASE_URL": sqltest.URL(t, e), "EONPRO_DATA_DIR": dataDir,
				"EONPRO_AUDIT_ANCHOR_S3_BUCKET": "eonpro-audit", "EONPRO_AUDIT_ANCHOR_S3_PREFIX": prefix,
				"EONPRO_S3_ENDPOINT": srv.URL, "EONPRO_AWS_REGION": "us-east-1"}
			clinicID, err := runCmd(t, kv, "clinic", "create", "--slug", "sunrise", "--name", "Sunrise Health")
			if err != nil {
				t.Fatal(err)
			}
			db, err := sqlstore.Open(ctx, sqlstore.Options{URL: kv["EONPRO_DATABASE_URL"]})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for range 3 {
				if err := db.RecordAudit(ctx, eonpro.AuditEvent{ClinicID: clinicID, Action: eonpro.ActionPHIView, ResourceID: "r"}); err != nil {
					t.Fatal(err)
				}
			}
			if out, err := runCmd(t, kv, "audit", "checkpoint"); err != nil {
				t.Fatalf("audit checkpoint: %v\n%s", err, out)
			}
			if _, err := os.Stat(filepath.Join(dataDir, "audit-anchor.jsonl")); err == nil {
				t.Error("an anchor file was written although only the bucket was configured")
			}
			anchor := "S3 anchor"
			out, err := runCmd(t, kv, "audit", "verify", "--clinic", "sunrise")
			if err != nil || !strings.Contains(out, "intact (1 checkpoints), newest checkpoint") ||
				!strings.Contains(out, "  "+anchor+": 1 checkpoints, newest at seq 3") {
				t.Fatalf("audit verify: %v\n%s", err, out)
			}

			if err := os.RemoveAll(filepath.Join(dataDir, "audit-checkpoints")); err != nil {
				t.Fatal(err)
			}
			err = db.InTx(ctx, func(tx *sqlstore.Tx) error {
				for _, s := range dropAuditDeleteTriggers {
					if _, err := tx.Exec(ctx, s); err != nil {
						return err
					}
				}
				if _, err := tx.Exec(ctx, deleteLastAuditEvent, clinicID); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, rewindAuditHead, clinicID)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			out, err = runCmd(t, kv, "audit", "verify", "--clinic", "sunrise")
			if exitCode(err) != 1 || !strings.Contains(err.Error(), "covers seq 3") || !strings.Contains(err.Error(), anchor) {
				t.Errorf("verify of a truncated chain with its checkpoint directory gone: %v\n%s", err, out)
			}
		})
	}
}
