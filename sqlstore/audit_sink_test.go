package sqlstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

// requireFallback checks that the fallback file holds n lines for event id.
func requireFallback(t *testing.T, path, id string, n int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("fallback file mode: %v %v", info.Mode(), err)
	}
	got := 0
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var l struct {
			Error string
			Event eonpro.AuditEvent
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("fallback line %q: %v", line, err)
		}
		if l.Event.ID == id {
			got++
			if l.Error == "" || l.Event.Action == "" {
				t.Errorf("fallback line without error or action: %s", line)
			}
		}
	}
	if got != n {
		t.Errorf("%d fallback lines for %s, want %d:\n%s", got, id, n, b)
	}
}

func TestAuditFailClosed(t *testing.T) {
	for _, engine := range sqltest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			fallback := t.TempDir() + "/audit/fallback.jsonl"
			db := open(t, sqlstore.Options{URL: sqltest.URL(t, engine), AuditFallback: fallback})
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			outbox := sqlstore.NewOutboxNotifier(db, slog.New(slog.DiscardHandler))

			t.Run("ErrForeignKeyRollsBack", func(t *testing.T) {
				ev := eonpro.AuditEvent{ID: eonpro.NewID(), ClinicID: "no-such-clinic", Action: eonpro.ActionPHIUpdate}
				err := db.InTx(ctx, func(tx *sqlstore.Tx) error {
					if _, err := tx.Exec(ctx, insertOutboxRow, "o-1", "audit@test"); err != nil {
						return err
					}
					return sqlstore.RecordAuditTx(ctx, tx, ev)
				})
				if err == nil {
					t.Fatal("the transaction committed without its audit event")
				}
				if _, err := outbox.LatestMessage(ctx, "audit@test"); eonpro.ErrorCode(err) != eonpro.ENOTFOUND {
					t.Errorf("the caller's write survived the failed audit: %v", err)
				}
				requireFallback(t, fallback, ev.ID, 1)
			})
			t.Run("ErrUnknownAction", func(t *testing.T) {
				ev := eonpro.AuditEvent{ID: eonpro.NewID(), Action: "phi.peek"}
				if err := db.RecordAudit(ctx, ev); err == nil {
					t.Fatal("recorded")
				}
				requireFallback(t, fallback, ev.ID, 1)
			})
			t.Run("ErrClosedDB", func(t *testing.T) {
				db.Close()
				ev := eonpro.AuditEvent{ID: eonpro.NewID(), Action: eonpro.ActionLogin}
				if err := db.RecordAudit(ctx, ev); err == nil {
					t.Fatal("recorded on a closed database")
				}
				requireFallback(t, fallback, ev.ID, 1)
			})
		})
	}
}

func TestAuditAlerts(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		e := newAuditEnv(t, db)
		c := e.clinic("alpha")
		u := e.admin(c)
		t.Run("ErrRolledBackSendsNothing", func(t *testing.T) {
			err := db.InClinic(ctx, c.ID, func(tx *sqlstore.Tx) error {
				if err := sqlstore.RecordAuditTx(ctx, tx, eonpro.AuditEvent{Action: eonpro.ActionEmergencyAccess}); err != nil {
					return err
				}
				return errors.New("boom")
			})
			if err == nil {
				t.Fatal("committed")
			}
			if m, err := e.notify.LatestMessage(ctx, u.Email); err == nil {
				t.Errorf("alert for a rolled-back event: %+v", m)
			}
		})
		for _, action := range []eonpro.AuditAction{eonpro.ActionLocked, eonpro.ActionCrossClinic, eonpro.ActionEmergencyAccess} {
			t.Run(string(action), func(t *testing.T) {
				err := db.InClinic(ctx, c.ID, func(tx *sqlstore.Tx) error {
					return sqlstore.RecordAuditTx(ctx, tx, eonpro.AuditEvent{Action: action, Outcome: eonpro.OutcomeDenied})
				})
				if err != nil {
					t.Fatal(err)
				}
				m, err := e.notify.LatestMessage(ctx, u.Email)
				if err != nil || m.Subject != "Security alert: "+string(action) {
					t.Fatalf("alert: %+v %v", m, err)
				}
				if strings.Contains(m.Body, "192.0.2") {
					t.Errorf("alert carries an IP address: %s", m.Body)
				}
			})
		}
		t.Run("NotCritical", func(t *testing.T) {
			if err := db.RecordAudit(admin(c), eonpro.AuditEvent{Action: eonpro.ActionPHIView}); err != nil {
				t.Fatal(err)
			}
			if m, _ := e.notify.LatestMessage(ctx, u.Email); m.Subject != "Security alert: emergency.access" {
				t.Errorf("phi.view alerted: %+v", m)
			}
		})
	})
}

var insertOutboxRow = sqlstore.Stmt{Name: "test_insert_outbox", SQL: `
INSERT INTO outbox (id, channel, recipient, subject, body, created_at)
VALUES ($1, 'email', $2, 's', 'b', CURRENT_TIMESTAMP)`}

var countAuditEvent = sqlstore.Stmt{Name: "test_count_audit_event", SQL: `
SELECT count(*) FROM audit_events WHERE clinic_id = $1 AND id = $2`}

// noFallback checks that the fallback file holds no line for event id.
func noFallback(t *testing.T, path, id string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if strings.Contains(string(b), id) {
		t.Errorf("the fallback file holds event %s:\n%s", id, b)
	}
}

// TestAuditCancelled: a client hanging up neither loses the audit event
// of a read that happened nor fills the fallback file.
func TestAuditCancelled(t *testing.T) {
	for _, engine := range sqltest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			fallback := t.TempDir() + "/audit-fallback.jsonl"
			db := open(t, sqlstore.Options{URL: sqltest.URL(t, engine), AuditFallback: fallback})
			if _, err := db.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			c := newAuditEnv(t, db).clinic("alpha")
			cancelled, cancel := context.WithCancel(admin(c))
			cancel()

			t.Run("ReadRecordedAfterCancel", func(t *testing.T) {
				ev := eonpro.AuditEvent{ID: eonpro.NewID(), ClinicID: c.ID, Action: eonpro.ActionPHIView,
					ResourceType: "patient", ResourceID: "p-1", PatientID: "p-1"}
				if err := db.RecordAudit(cancelled, ev); err != nil {
					t.Fatalf("RecordAudit after the client went away: %v", err)
				}
				var n int
				err := db.ViewClinic(context.Background(), c.ID, func(tx *sqlstore.Tx) error {
					return tx.QueryRow(context.Background(), countAuditEvent, c.ID, ev.ID).Scan(&n)
				})
				if err != nil || n != 1 {
					t.Errorf("%d events stored (%v), want the read recorded", n, err)
				}
				noFallback(t, fallback, ev.ID)
			})
			t.Run("CancelledWriteNoFallback", func(t *testing.T) {
				ctx, cancel := context.WithCancel(admin(c))
				ev := eonpro.AuditEvent{ID: eonpro.NewID(), ClinicID: c.ID, Action: eonpro.ActionPHIUpdate}
				err := db.InClinic(ctx, c.ID, func(tx *sqlstore.Tx) error {
					cancel() // the client hangs up mid-transaction
					return sqlstore.RecordAuditTx(ctx, tx, ev)
				})
				if err == nil {
					t.Fatal("the cancelled transaction committed")
				}
				noFallback(t, fallback, ev.ID)
			})
		})
	}
}
