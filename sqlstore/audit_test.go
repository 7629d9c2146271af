package sqlstore_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

// auditEnv is an audit service on a fresh database of one engine.
type auditEnv struct {
	t      *testing.T
	db     *sqlstore.DB
	svc    *sqlstore.AuditService
	notify *sqlstore.OutboxNotifier
	key    ed25519.PrivateKey
	sink   string
}

func newAuditEnv(t *testing.T, db *sqlstore.DB) *auditEnv {
	t.Helper()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	e := &auditEnv{t: t, db: db, notify: sqlstore.NewOutboxNotifier(db, slog.New(slog.DiscardHandler)), key: key, sink: t.TempDir()}
	svc, err := sqlstore.NewAuditService(db, sqlstore.AuditOptions{Notifier: e.notify, SigningKey: key, CheckpointDir: e.sink})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	return e
}

// clinic creates a clinic as the system.
func (e *auditEnv) clinic(slug string) *eonpro.Clinic {
	e.t.Helper()
	c, err := sqlstore.NewClinicService(e.db).CreateClinic(context.Background(), slug, "Clinic "+slug)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// admin returns a context acting as an admin of clinic c.
func admin(c *eonpro.Clinic) context.Context {
	return eonpro.NewContextWithPrincipal(context.Background(), &eonpro.Principal{UserID: "u-admin-" + c.Slug,
		SessionID: "s-1", ClinicID: c.ID, Role: eonpro.RoleAdmin, Permissions: eonpro.RolePermissions[eonpro.RoleAdmin]})
}

// record appends n phi.view events to c's chain and returns them oldest
// first.
func (e *auditEnv) record(c *eonpro.Clinic, n int) []*eonpro.AuditEvent {
	e.t.Helper()
	for i := range n {
		ev := eonpro.AuditEvent{ClinicID: c.ID, Action: eonpro.ActionPHIView, ResourceType: "patient",
			ResourceID: fmt.Sprintf("p-%d", i), PatientID: fmt.Sprintf("p-%d", i), Detail: map[string]string{"i": fmt.Sprint(i)}}
		if err := e.db.RecordAudit(admin(c), ev); err != nil {
			e.t.Fatal(err)
		}
	}
	return e.events(c)
}

// events lists c's events oldest first.
func (e *auditEnv) events(c *eonpro.Clinic) []*eonpro.AuditEvent {
	e.t.Helper()
	var out []*eonpro.AuditEvent
	cursor := ""
	for {
		page, next, err := e.svc.FindAuditEvents(admin(c), eonpro.AuditFilter{Limit: 200, Cursor: cursor})
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, page...)
		if cursor = next; next == "" {
			break
		}
	}
	slices.Reverse(out)
	return out
}

func (e *auditEnv) exec(stmts ...sqlstore.Stmt) {
	e.t.Helper()
	for _, s := range stmts {
		if err := e.db.InTx(context.Background(), func(tx *sqlstore.Tx) error {
			_, err := tx.Exec(context.Background(), s)
			return err
		}); err != nil {
			e.t.Fatalf("%s: %v", s.Name, err)
		}
	}
}

func (e *auditEnv) execArgs(s sqlstore.Stmt, args ...any) error {
	return e.db.InTx(context.Background(), func(tx *sqlstore.Tx) error {
		_, err := tx.Exec(context.Background(), s, args...)
		return err
	})
}

func (e *auditEnv) verify(c *eonpro.Clinic) *eonpro.VerifyResult {
	e.t.Helper()
	res, err := e.svc.Verify(context.Background(), c.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func TestAuditRecord(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newAuditEnv(t, db)
		c := e.clinic("alpha")
		ctx := eonpro.NewContextWithRequestID(admin(c), "req-12345678")
		ctx = eonpro.NewContextWithRequestMeta(ctx, eonpro.RequestMeta{IP: "192.0.2.7", UserAgent: "curl/8\x00\xff"})
		if err := e.svc.Record(ctx, eonpro.AuditEvent{Action: eonpro.ActionMemberInvited, ResourceType: "user", ResourceID: "u-2"}); err != nil {
			t.Fatal(err)
		}
		e.record(c, 2)
		evs := e.events(c)
		if len(evs) != 3 {
			t.Fatalf("%d events, want 3", len(evs))
		}
		got := evs[0]
		want := eonpro.AuditEvent{ID: got.ID, Time: got.Time, ClinicID: c.ID, Seq: 1, ActorType: eonpro.ActorUser,
			ActorID: "u-admin-alpha", ActorRole: "admin", Action: eonpro.ActionMemberInvited, ResourceType: "user",
			ResourceID: "u-2", Outcome: eonpro.OutcomeSuccess, IP: "192.0.2.7", UserAgent: "curl/8\uFFFD",
			RequestID: "req-12345678", SessionID: "s-1", Detail: map[string]string{}, PrevHash: eonpro.GenesisHash, Hash: got.Hash}
		diff(t, "first event", &want, got)
		if got.Time.IsZero() || got.Time.Location() != time.UTC {
			t.Errorf("time %v, want set and in UTC", got.Time)
		}
		for i, ev := range evs {
			if ev.Seq != int64(i+1) || (i > 0 && ev.PrevHash != evs[i-1].Hash) {
				t.Errorf("event %d: seq %d prev %s, want seq %d linked to the one before", i, ev.Seq, ev.PrevHash, i+1)
			}
			if h, err := ev.ComputeHash(); err != nil || h != ev.Hash {
				t.Errorf("event %d: stored hash %s, computed %s (%v)", i, ev.Hash, h, err)
			}
		}

		t.Run("PlatformChain", func(t *testing.T) {
			if err := db.RecordAudit(context.Background(), eonpro.AuditEvent{Action: eonpro.ActionLoginFailed,
				Outcome: eonpro.OutcomeDenied, Detail: map[string]string{"reason": "unknown_email"}}); err != nil {
				t.Fatal(err)
			}
			res, err := e.svc.Verify(context.Background(), "")
			if err != nil || !res.OK || res.Count != 1 {
				t.Errorf("platform chain: %+v %v", res, err)
			}
		})
		t.Run("ErrUnknownAction", func(t *testing.T) {
			if err := db.RecordAudit(admin(c), eonpro.AuditEvent{Action: "phi.peek"}); err == nil {
				t.Error("unknown action recorded")
			}
		})
		t.Run("ErrOtherClinicInTx", func(t *testing.T) {
			beta := e.clinic("beta")
			err := db.InClinic(context.Background(), c.ID, func(tx *sqlstore.Tx) error {
				return sqlstore.RecordAuditTx(context.Background(), tx, eonpro.AuditEvent{ClinicID: beta.ID, Action: eonpro.ActionPHIView})
			})
			if err == nil {
				t.Error("an alpha transaction wrote to beta's chain")
			}
		})
	})
}

var (
	auditUpdate   = sqlstore.Stmt{Name: "test_audit_update", SQL: `UPDATE audit_events SET action = 'phi.delete' WHERE id = $1`}
	auditDelete   = sqlstore.Stmt{Name: "test_audit_delete", SQL: `DELETE FROM audit_events WHERE id = $1`}
	auditTruncate = sqlstore.Stmt{Name: "test_audit_truncate", SQL: `TRUNCATE audit_events`}
	headBack      = sqlstore.Stmt{Name: "test_head_back", SQL: `UPDATE audit_heads SET seq = seq - 1 WHERE clinic_id = $1`}
	headDelete    = sqlstore.Stmt{Name: "test_head_delete", SQL: `DELETE FROM audit_heads WHERE clinic_id = $1`}
)

func TestAuditAppendOnly(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newAuditEnv(t, db)
		c := e.clinic("alpha")
		evs := e.record(c, 3)
		tests := []struct {
			name string
			stmt sqlstore.Stmt
			args []any
			pg   bool
		}{
			{"ErrUpdate", auditUpdate, []any{evs[1].ID}, false},
			{"ErrDelete", auditDelete, []any{evs[1].ID}, false},
			{"ErrTruncate", auditTruncate, nil, true},
			{"ErrHeadBackwards", headBack, []any{c.ID}, false},
			{"ErrHeadDelete", headDelete, []any{c.ID}, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if tt.pg && db.Engine() != sqlstore.Postgres {
					t.Skip("PostgreSQL only")
				}
				err := e.execArgs(tt.stmt, tt.args...)
				if err == nil || !strings.Contains(err.Error(), "audit_") {
					t.Errorf("%s = %v, want refused by a trigger", tt.stmt.Name, err)
				}
			})
		}
		if res := e.verify(c); !res.OK || res.Count != 3 {
			t.Errorf("after refused changes: %+v", res)
		}
	})
}

// admin makes an admin of c, who receives its alerts.
func (e *auditEnv) admin(c *eonpro.Clinic) *eonpro.User {
	e.t.Helper()
	ctx := context.Background()
	users := sqlstore.NewUserService(e.db, e.notify, nil)
	u, err := users.CreateUser(ctx, eonpro.NewUser{Email: "admin@" + c.Slug + ".test", Password: "correct horse battery staple"})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := users.AddMembership(ctx, u.ID, c.ID, eonpro.RoleAdmin); err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *auditEnv) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

// TestAuditConcurrentWriters has 20 writers append to one chain at once:
// the head lock must queue them into one unforked chain.
func TestAuditConcurrentWriters(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		e := newAuditEnv(t, db)
		c := e.clinic("busy")
		const writers, each = 20, 5
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					ev := eonpro.AuditEvent{ClinicID: c.ID, Action: eonpro.ActionPHIView, ResourceID: fmt.Sprintf("w%d-%d", w, i)}
					if err := db.RecordAudit(admin(c), ev); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		res := e.verify(c)
		if !res.OK || res.Count != writers*each {
			t.Errorf("after %d concurrent writes: %+v", writers*each, res)
		}
		evs := e.events(c)
		for i, ev := range evs {
			if ev.Seq != int64(i+1) {
				t.Fatalf("event %d has seq %d", i, ev.Seq)
			}
		}
	})
}

func TestAuditCheckpoint(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		e := newAuditEnv(t, db)
		a, b := e.clinic("alpha"), e.clinic("beta")
		e.record(a, 2)
		e.record(b, 1)
		cps, err := e.svc.Checkpoint(ctx)
		if err != nil || len(cps) != 2 {
			t.Fatalf("first checkpoint: %d %v", len(cps), err)
		}
		for _, cp := range cps {
			if !cp.VerifySignature(e.key.Public().(ed25519.PublicKey)) {
				t.Errorf("checkpoint of %s does not verify", cp.ClinicID)
			}
		}
		if cps, err = e.svc.Checkpoint(ctx); err != nil || len(cps) != 0 {
			t.Errorf("unchanged heads: %d written, %v", len(cps), err)
		}
		evs := e.record(a, 1)
		cps, err = e.svc.Checkpoint(ctx)
		if err != nil || len(cps) != 1 || cps[0].ClinicID != a.ID || cps[0].Seq != 3 || cps[0].Hash != evs[2].Hash {
			t.Errorf("after one more event: %+v %v", cps, err)
		}
		if res := e.verify(a); !res.OK || res.Checkpoints != 2 {
			t.Errorf("verify: %+v", res)
		}
		staff := eonpro.NewContextWithPrincipal(ctx, &eonpro.Principal{UserID: "u", ClinicID: a.ID, Role: eonpro.RoleStaff,
			Permissions: eonpro.RolePermissions[eonpro.RoleStaff]})
		if _, err := e.svc.Checkpoint(staff); eonpro.ErrorCode(err) != eonpro.EFORBIDDEN {
			t.Errorf("staff checkpoint: %v", err)
		}
		if _, err := e.svc.Verify(staff, a.ID); eonpro.ErrorCode(err) != eonpro.EFORBIDDEN {
			t.Errorf("staff verify: %v", err)
		}
		if _, err := e.svc.Verify(admin(a), b.ID); eonpro.ErrorCode(err) != eonpro.EFORBIDDEN {
			t.Errorf("alpha admin verifying beta: %v", err)
		}
	})
}
