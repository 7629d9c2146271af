package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

var (
	dropAuditTrigger = sqlstore.Stmt{Name: "test_drop_audit_trigger",
		SQL: `DROP TRIGGER audit_events_no_change ON audit_events`, SQLite: `DROP TRIGGER audit_events_no_update`}
	modifyAuditEvent = sqlstore.Stmt{Name: "test_modify_audit_event", SQL: `
UPDATE audit_events SET resource_id = 'forged' WHERE COALESCE(clinic_id, '') = $1 AND seq = 2`}
	auditEventAt = sqlstore.Stmt{Name: "test_audit_event_at", SQL: `
SELECT id FROM audit_events WHERE COALESCE(clinic_id, '') = $1 AND seq = 2`}
)

func TestAuditCommands(t *testing.T) {
	for _, e := range sqltest.Engines(t) {
		t.Run(string(e), func(t *testing.T) {
			ctx := context.Background()
			dataDir := t.TempDir()
			kv := map[string]string{"EONPRO_DATABASE_URL": sqltest.URL(t, e), "EONPRO_DATA_DIR": dataDir}
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
			if err := db.RecordAudit(ctx, eonpro.AuditEvent{Action: eonpro.ActionLoginFailed, Outcome: eonpro.OutcomeDenied}); err != nil {
				t.Fatal(err)
			}

			out, err := runCmd(t, kv, "audit", "checkpoint")
			if err != nil || !strings.Contains(out, "clinic sunrise: checkpoint at seq 3") || !strings.Contains(out, "2 checkpoints written") {
				t.Fatalf("audit checkpoint: %v\n%s", err, out)
			}
			if info, err := os.Stat(filepath.Join(dataDir, "audit-signing.key")); err != nil || info.Mode().Perm() != 0o600 {
				t.Errorf("development signing key: %v %v", info, err)
			}
			out, err = runCmd(t, kv, "audit", "verify")
			if err != nil || !strings.Contains(out, "clinic sunrise: 3 events, intact (1 checkpoints)") ||
				!strings.Contains(out, "platform: 1 events, intact") {
				t.Fatalf("audit verify: %v\n%s", err, out)
			}
			if out, err = runCmd(t, kv, "audit", "verify", "--clinic", "sunrise"); err != nil || strings.Contains(out, "platform") {
				t.Errorf("audit verify --clinic: %v\n%s", err, out)
			}
			if _, err := runCmd(t, kv, "audit", "verify", "--clinic", "nope"); err == nil || exitCode(err) != 1 {
				t.Errorf("unknown clinic: %v", err)
			}
			if _, err := runCmd(t, kv, "audit"); exitCode(err) != 2 {
				t.Errorf("audit without a subcommand: %v", err)
			}

			t.Run("ErrModified", func(t *testing.T) {
				var id string
				err := db.InTx(ctx, func(tx *sqlstore.Tx) error {
					if _, err := tx.Exec(ctx, dropAuditTrigger); err != nil {
						return err
					}
					if _, err := tx.Exec(ctx, modifyAuditEvent, clinicID); err != nil {
						return err
					}
					return tx.QueryRow(ctx, auditEventAt, clinicID).Scan(&id)
				})
				if err != nil {
					t.Fatal(err)
				}
				out, err := runCmd(t, kv, "audit", "verify")
				if exitCode(err) != 1 || !strings.Contains(err.Error(), id) || !strings.Contains(err.Error(), "seq 2") ||
					strings.Contains(err.Error(), "\n") {
					t.Errorf("verify of a modified chain: %v\n%s", err, out)
				}
				if !strings.Contains(out, "platform: 1 events, intact") {
					t.Errorf("the other chains are still reported:\n%s", out)
				}
			})
		})
	}
}
