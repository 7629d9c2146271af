package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

var (
	// holdAuditHead locks the head of a clinic's audit chain (on SQLite
	// the transaction holds the one writer), so audit writes queue.
	holdAuditHead = sqlstore.Stmt{Name: "test_hold_audit_head", SQL: `
SELECT seq FROM audit_heads WHERE clinic_id = $1 FOR UPDATE`, SQLite: `
SELECT seq FROM audit_heads WHERE clinic_id = $1`}
	countReadEvents = sqlstore.Stmt{Name: "test_count_read_events", SQL: `
SELECT count(*) FROM audit_events WHERE clinic_id = $1 AND request_id = $2 AND action = 'phi.view'`}
)

// goneRequestID marks the request whose client hangs up.
const goneRequestID = "client-gone-read-1"

// TestClientGoneMidRead: a client hangs up while the audit write of its
// read waits. The read happened, so it is recorded; the request is logged
// as 499 at INFO; nothing reaches the fallback file or the error log.
func TestClientGoneMidRead(t *testing.T) {
	for _, engine := range sqltest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			fallback := t.TempDir() + "/audit-fallback.jsonl"
			dbLogs := &logBuffer{}
			var db *sqlstore.DB
			gone, served := make(chan struct{}), make(chan struct{})
			e := newIDEnvWith(t, engine, Rates{}, envOptions{
				open: func(now eonpro.Clock) *sqlstore.DB {
					db = openWithFallback(t, engine, now, fallback, dbLogs)
					return db
				},
				wrap: func(h http.Handler) http.Handler {
					return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						if r.Header.Get("X-Request-ID") != goneRequestID {
							h.ServeHTTP(w, r)
							return
						}
						context.AfterFunc(r.Context(), func() { close(gone) })
						h.ServeHTTP(w, r)
						close(served)
					})
				},
			})
			w := seedPatients(e)
			alpha := e.clinics["alpha"].ID
			p := e.patientRecord("alpha", "", "Ada", "Lovelace")
			if res := w.as("staff", "GET", "/api/v1/patients/"+p.ID, nil); res.Status != http.StatusOK {
				t.Fatalf("first read: %d %s", res.Status, res.Raw)
			}

			release := holdAudit(t, db, alpha)
			ctx, cancel := context.WithCancel(context.Background())
			req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/patients/"+p.ID, nil)
			req.Header.Set("Authorization", "Bearer "+w.tokens["staff"])
			req.Header.Set("X-Request-ID", goneRequestID)
			done := make(chan error, 1)
			go func() {
				res, err := http.DefaultClient.Do(req)
				if err == nil {
					res.Body.Close()
				}
				done <- err
			}()
			waitAuditQueued(t, db, engine)
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("client: %v, want its own cancellation", err)
			}
			waitFor(t, gone, "the server to see the client go")
			release()
			waitFor(t, served, "the handler to finish")

			var n int
			err := db.ViewClinic(context.Background(), alpha, func(tx *sqlstore.Tx) error {
				return tx.QueryRow(context.Background(), countReadEvents, alpha, goneRequestID).Scan(&n)
			})
			if err != nil || n != 1 {
				t.Errorf("%d phi.view events for the read (%v), want 1", n, err)
			}
			var line map[string]any
			for _, rec := range e.logRecords("request") {
				if rec["request_id"] == goneRequestID {
					line = rec
				}
			}
			if line["status"] != 499.0 || line["level"] != "INFO" {
				t.Errorf("access log line = %v, want status 499 at INFO", line)
			}
			for name, logs := range map[string]string{"server": e.log.String(), "database": dbLogs.String()} {
				if strings.Contains(logs, `"level":"ERROR"`) {
					t.Errorf("the %s logged an error:\n%s", name, logs)
				}
			}
			if b, err := os.ReadFile(fallback); len(b) > 0 || !errors.Is(err, os.ErrNotExist) {
				t.Errorf("fallback file (%v):\n%s", err, b)
			}
		})
	}
}

// openWithFallback opens a migrated database with an audit fallback file
// and its log in logs.
func openWithFallback(t *testing.T, engine sqlstore.Engine, now eonpro.Clock, fallback string, logs *logBuffer) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{URL: sqltest.URL(t, engine), Clock: now,
		Logger: slog.New(slog.NewJSONHandler(logs, nil)), AuditFallback: fallback})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// holdAudit holds the clinic's audit chain in a transaction until the
// returned function is called.
func holdAudit(t *testing.T, db *sqlstore.DB, clinicID string) (release func()) {
	t.Helper()
	held, stop, ended := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		ended <- db.InClinic(context.Background(), clinicID, func(tx *sqlstore.Tx) error {
			var seq int64
			if err := tx.QueryRow(context.Background(), holdAuditHead, clinicID).Scan(&seq); err != nil {
				return err
			}
			close(held)
			<-stop
			return nil
		})
	}()
	select {
	case <-held:
	case err := <-ended:
		t.Fatalf("hold the audit chain: %v", err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			close(stop)
			if err := <-ended; err != nil {
				t.Errorf("hold the audit chain: %v", err)
			}
		})
	}
	t.Cleanup(release) // before the server closes, which waits for its handlers
	return release
}

// waitAuditQueued waits until an audit write queues behind holdAudit: on
// SQLite for the writer connection, on PostgreSQL for the head's lock.
func waitAuditQueued(t *testing.T, db *sqlstore.DB, engine sqlstore.Engine) {
	t.Helper()
	var waits int64
	if engine == sqlstore.SQLite {
		waits = db.SQLDB().Stats().WaitCount
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if engine == sqlstore.SQLite && db.SQLDB().Stats().WaitCount > waits {
			return
		}
		var n int
		if engine == sqlstore.Postgres && db.Pool().QueryRow(context.Background(),
			"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'").Scan(&n) == nil && n > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the read's audit write never queued")
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}
