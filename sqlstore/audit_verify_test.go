package sqlstore_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

// Tampering as an attacker with database access would: first the triggers go.
var (
	dropEventTriggers = []sqlstore.Stmt{
		{Name: "test_drop_event_update", SQL: `DROP TRIGGER audit_events_no_change ON audit_events`, SQLite: `DROP TRIGGER audit_events_no_update`},
		{Name: "test_drop_event_delete", SQL: `SELECT 1`, SQLite: `DROP TRIGGER audit_events_no_delete`},
		{Name: "test_drop_head_update", SQL: `DROP TRIGGER audit_heads_forward_only ON audit_heads`, SQLite: `DROP TRIGGER audit_heads_forward_only`},
	}
	tamperSeq    = sqlstore.Stmt{Name: "test_tamper_seq", SQL: `UPDATE audit_events SET seq = $2 WHERE id = $1`}
	tamperRehash = sqlstore.Stmt{Name: "test_tamper_rehash", SQL: `
UPDATE audit_events SET resource_id = $2, prev_hash = $3, hash = $4 WHERE id = $1`}
	tamperHead = sqlstore.Stmt{Name: "test_tamper_head", SQL: `UPDATE audit_heads SET seq = $2, hash = $3 WHERE clinic_id = $1`}
	forgeEvent = sqlstore.Stmt{Name: "test_forge_event", SQL: `
INSERT INTO audit_events (id, clinic_id, seq, occurred_at, actor_type, action, outcome, prev_hash, hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`}
)

func TestAuditVerify(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newAuditEnv(t, db)
		chains := map[string][]*eonpro.AuditEvent{}
		clinics := map[string]*eonpro.Clinic{}
		for _, name := range []string{"ok", "modify", "delete", "insert", "reorder", "truncate", "rewind", "rewrite", "forged"} {
			clinics[name] = e.clinic(name)
			chains[name] = e.record(clinics[name], 5)
		}
		e.admin(clinics["modify"])
		if cps, err := e.svc.Checkpoint(context.Background()); err != nil || len(cps) != len(clinics) {
			t.Fatalf("checkpoint: %d written, %v", len(cps), err)
		}
		e.exec(dropEventTriggers...)

		type want struct {
			firstBad *eonpro.AuditEvent // nil: a missing event
			seq      int64
			reason   string
		}
		tests := []struct {
			name   string
			tamper func(c *eonpro.Clinic, evs []*eonpro.AuditEvent)
			want   want
		}{
			{"OK", func(*eonpro.Clinic, []*eonpro.AuditEvent) {}, want{}},
			{"ErrModified", func(_ *eonpro.Clinic, evs []*eonpro.AuditEvent) {
				e.must(e.execArgs(auditUpdate, evs[2].ID))
			}, want{chains["modify"][2], 3, "modified"}},
			{"ErrDeleted", func(_ *eonpro.Clinic, evs []*eonpro.AuditEvent) {
				e.must(e.execArgs(auditDelete, evs[2].ID))
			}, want{chains["delete"][3], 4, "deleted"}},
			{"ErrInserted", func(c *eonpro.Clinic, evs []*eonpro.AuditEvent) {
				for i := 4; i >= 2; i-- {
					e.must(e.execArgs(tamperSeq, evs[i].ID, evs[i].Seq+1))
				}
				forged := eonpro.AuditEvent{ID: eonpro.NewID(), ClinicID: c.ID, Seq: 3, Time: evs[1].Time,
					ActorType: eonpro.ActorSystem, Action: eonpro.ActionPHIView, Outcome: eonpro.OutcomeSuccess, PrevHash: evs[1].Hash}
				forged.Hash, _ = forged.ComputeHash()
				e.must(e.execArgs(forgeEvent, forged.ID, c.ID, forged.Seq, forged.Time, forged.ActorType,
					string(forged.Action), forged.Outcome, forged.PrevHash, forged.Hash))
			}, want{chains["insert"][2], 4, "inserted"}},
			{"ErrReordered", func(_ *eonpro.Clinic, evs []*eonpro.AuditEvent) {
				e.must(e.execArgs(tamperSeq, evs[1].ID, 100))
				e.must(e.execArgs(tamperSeq, evs[2].ID, 2))
				e.must(e.execArgs(tamperSeq, evs[1].ID, 3))
			}, want{chains["reorder"][2], 2, "moved"}},
			{"ErrTruncated", func(_ *eonpro.Clinic, evs []*eonpro.AuditEvent) {
				e.must(e.execArgs(auditDelete, evs[4].ID))
				e.must(e.execArgs(auditDelete, evs[3].ID))
			}, want{nil, 4, "tail was removed"}},
			{"ErrTruncatedHeadRewound", func(c *eonpro.Clinic, evs []*eonpro.AuditEvent) {
				e.must(e.execArgs(auditDelete, evs[4].ID))
				e.must(e.execArgs(auditDelete, evs[3].ID))
				e.must(e.execArgs(tamperHead, c.ID, 3, evs[2].Hash))
			}, want{nil, 4, "signed checkpoint covers seq 5"}},
			{"ErrRewritten", func(c *eonpro.Clinic, evs []*eonpro.AuditEvent) {
				prev := eonpro.GenesisHash
				for i, ev := range evs {
					if i == 1 {
						ev.ResourceID = "someone-else"
					}
					ev.PrevHash = prev
					ev.Hash, _ = ev.ComputeHash()
					prev = ev.Hash
					e.must(e.execArgs(tamperRehash, ev.ID, ev.ResourceID, ev.PrevHash, ev.Hash))
				}
				e.must(e.execArgs(tamperHead, c.ID, 5, prev))
			}, want{chains["rewrite"][4], 5, "signed checkpoint"}},
		}
		names := map[string]string{"OK": "ok", "ErrModified": "modify", "ErrDeleted": "delete", "ErrInserted": "insert",
			"ErrReordered": "reorder", "ErrTruncated": "truncate", "ErrTruncatedHeadRewound": "rewind", "ErrRewritten": "rewrite"}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := clinics[names[tt.name]]
				tt.tamper(c, chains[names[tt.name]])
				res := e.verify(c)
				if tt.want.seq == 0 {
					if !res.OK || res.Count != 5 || res.Checkpoints != 1 {
						t.Errorf("intact chain: %+v", res)
					}
					return
				}
				var wantID *string
				if tt.want.firstBad != nil {
					wantID = &tt.want.firstBad.ID
				}
				if res.OK || res.FirstBadSeq != tt.want.seq || !strings.Contains(res.Reason, tt.want.reason) {
					t.Errorf("got ok=%v seq=%d reason %q, want seq %d and a reason with %q", res.OK, res.FirstBadSeq,
						res.Reason, tt.want.seq, tt.want.reason)
				}
				diff(t, "first bad event", wantID, res.FirstBad)
			})
		}
		t.Run("ErrCheckpointForged", func(t *testing.T) {
			c := clinics["forged"]
			_, other, _ := ed25519.GenerateKey(rand.Reader)
			cp := &eonpro.AuditCheckpoint{ClinicID: c.ID, Seq: 5, Hash: chains["forged"][4].Hash, Time: db.Now()}
			cp.Sign(other)
			writeFile(t, e.sink+"/"+c.ID+"/00000000000000000005.json", cp)
			if res := e.verify(c); res.OK || !strings.Contains(res.Reason, "not signed by the audit signing key") {
				t.Errorf("forged checkpoint: %+v", res)
			}
		})
		t.Run("VerifyAlertsAdmins", func(t *testing.T) {
			m, err := e.notify.LatestMessage(context.Background(), "admin@modify.test")
			if err != nil || !strings.Contains(m.Subject, "audit verification failed") {
				t.Errorf("alert: %+v %v", m, err)
			}
		})
		t.Run("ErrCheckpointRefusesBrokenChain", func(t *testing.T) {
			c := e.clinic("late")
			evs := e.record(c, 3)
			e.must(e.execArgs(auditUpdate, evs[1].ID))
			_, err := e.svc.Checkpoint(context.Background())
			if err == nil || !strings.Contains(err.Error(), c.ID) || !strings.Contains(err.Error(), "not checkpointed") {
				t.Errorf("checkpoint over a modified chain: %v", err)
			}
			if files, _ := filepath.Glob(filepath.Join(e.sink, c.ID, "*.json")); len(files) != 0 {
				t.Errorf("broken chain checkpointed: %v", files)
			}
		})
	})
}

func writeFile(t *testing.T, path string, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
