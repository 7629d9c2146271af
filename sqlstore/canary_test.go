package sqlstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"maps"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/phi"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

// The canary test writes known values as PHI, through the code that
// stores them, then looks for them in everything at rest: the SQLite file
// and its WAL, every PostgreSQL table (as row_to_json text) and the logs.
// It must find none.
//
// Every registered PHI column (phi.Register) takes part: by default a
// canary is encrypted for it through the key ring and inserted with its
// id, clinic and value only. A column whose table needs more to insert a
// row, or whose values are written by a service that should be tested end
// to end, gets an entry in canaryFlows naming the columns it covers.

// canaryEnv is what a canary flow writes with. Flows that store blobs
// put them in a local blob store on blobDir, which is scanned too.
type canaryEnv struct {
	*phiEnv
	notify  *sqlstore.OutboxNotifier
	blobDir string
}

// canaryFlow writes PHI through real code and returns the plaintexts it
// wrote, which must appear nowhere.
type canaryFlow struct {
	name   string
	covers []string // table.column of each PHI column it writes
	write  func(t *testing.T, e *canaryEnv, canary string) []string
}

var canaryFlows = []canaryFlow{
	{name: "2FA secret via EnrollTOTP", covers: []string{"mfa_factors.secret"}, write: enrollTOTPCanary},
	{name: "document via CreateDocument", covers: []string{"patient_documents.filename", "patient_documents.sha256"},
		write: documentCanary},
	{name: "consent via CreateConsent", covers: []string{"consents.signed_name"}, write: consentCanary},
}

// enrollTOTPCanary enrols a user in TOTP through the auth service; the
// secret it generates (sealed in mfa_factors.secret) is the canary.
func enrollTOTPCanary(t *testing.T, e *canaryEnv, canary string) []string {
	t.Helper()
	ctx := context.Background()
	auth, err := sqlstore.NewAuthService(e.db, e.notify, []byte(strings.Repeat("s", 32)))
	if err != nil {
		t.Fatal(err)
	}
	users := sqlstore.NewUserService(e.db, e.notify, auth)
	const pw = "correct horse battery staple"
	if _, err := users.CreateUser(ctx, eonpro.NewUser{Email: canary + "@example.test", Password: pw}); err != nil {
		t.Fatal(err)
	}
	res, err := auth.Login(ctx, canary+"@example.test", pw, eonpro.RequestMeta{})
	if err != nil || res.SessionID == "" {
		t.Fatalf("login: %+v %v", res, err)
	}
	ctx = eonpro.NewContextWithPrincipal(ctx, &eonpro.Principal{UserID: res.User.ID, SessionID: res.SessionID})
	secret, _, err := auth.EnrollTOTP(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return []string{secret}
}

// genericCanary encrypts a canary for a registered column and inserts a
// row holding it.
func genericCanary(t *testing.T, e *canaryEnv, col phi.Column, canary string) string {
	t.Helper()
	ctx := context.Background()
	id := eonpro.NewID()
	ct, err := e.ring.Encrypt(ctx, phiClinicA, col.Field(id), canary)
	if err != nil {
		t.Fatal(err)
	}
	insert := sqlstore.Stmt{Name: "canary_insert_" + col.Table, SQL: "INSERT INTO " + col.Table +
		" (" + col.IDColumn + ", " + col.ClinicColumn + ", " + col.Column + ") VALUES ($1, $2, $3)"}
	err = e.db.InClinic(ctx, phiClinicA, func(tx *sqlstore.Tx) error {
		_, err := tx.Exec(ctx, insert, id, phiClinicA, ct)
		return err
	})
	if err != nil {
		t.Fatalf("canary row for %s: %v; add a canaryFlow that writes it through its store", col, err)
	}
	if got, err := e.ring.Decrypt(ctx, phiClinicA, col.Field(id), ct); got != canary || err != nil {
		t.Fatalf("canary for %s does not decrypt: %v", col, err)
	}
	return canary
}

func newCanary(t *testing.T, what string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "CANARY" + strings.ToUpper(strings.NewReplacer(".", "", " ", "", "_", "").Replace(what)) + hex.EncodeToString(b)
}

// lockedBuffer is a log sink safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

func TestCanaryNoPlaintextAtRest(t *testing.T) {
	for _, engine := range sqltest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			url := sqltest.URL(t, engine)
			logs := &lockedBuffer{}
			logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			// SlowQuery 0 logs every statement, to give leaks every chance.
			db, err := sqlstore.Open(ctx, sqlstore.Options{URL: url, Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			e := &canaryEnv{phiEnv: newPHIEnv(t, db), notify: sqlstore.NewOutboxNotifier(db, logger), blobDir: t.TempDir()}

			var canaries []string
			covered := map[string]bool{}
			for _, f := range canaryFlows {
				canaries = append(canaries, f.write(t, e, newCanary(t, f.name))...)
				for _, c := range f.covers {
					covered[c] = true
				}
			}
			for _, col := range append(phi.Columns(), testPHIColumn) {
				if !covered[col.String()] {
					canaries = append(canaries, genericCanary(t, e, col, newCanary(t, col.String())))
				}
			}
			// The scan must be able to see: a value stored in the clear is found.
			control := newCanary(t, "control")
			if err := db.InTx(ctx, func(tx *sqlstore.Tx) error {
				return createClinic(ctx, tx, eonpro.NewID(), strings.ToLower(control))
			}); err != nil {
				t.Fatal(err)
			}

			sources := map[string][]byte{"logs": logs.Bytes()}
			if engine == sqlstore.SQLite {
				path := strings.TrimPrefix(url, "sqlite:")
				for _, p := range []string{path, path + "-wal"} {
					sources[p] = readFile(t, p)
				}
				// Closing checkpoints the WAL into the file: scan that too.
				db.Close()
				sources[path+" (closed)"] = readFile(t, path)
			} else {
				sources["tables"] = dumpTables(t, db)
			}
			blobs := blobFiles(t, e.blobDir)
			if len(blobs) == 0 {
				t.Error("no blob was written: the blob scan is blind")
			}
			maps.Copy(sources, blobs)
			all := bytes.Join(slicesOf(sources), nil)
			if !bytes.Contains(bytes.ToLower(all), []byte(strings.ToLower(control))) {
				t.Fatalf("the control value stored in the clear was not found: the scan is blind")
			}
			for name, b := range sources {
				for _, c := range canaries {
					if bytes.Contains(b, []byte(c)) {
						t.Errorf("plaintext PHI canary %q found in %s", c, name)
					}
				}
			}
			if len(canaries) < 2 {
				t.Errorf("only %d canaries written", len(canaries))
			}
		})
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return b
}

func slicesOf(m map[string][]byte) [][]byte {
	var out [][]byte
	for _, b := range m {
		out = append(out, b)
	}
	return out
}

var selectTables = sqlstore.Stmt{Name: "test_select_tables", SQL: `
SELECT table_name
FROM information_schema.tables
WHERE table_schema = current_schema()
  AND table_type = 'BASE TABLE'
ORDER BY table_name`}

// dumpTables returns every row of every table as JSON text.
func dumpTables(t *testing.T, db *sqlstore.DB) []byte {
	t.Helper()
	ctx := context.Background()
	var out bytes.Buffer
	err := db.View(ctx, func(tx *sqlstore.Tx) error {
		var tables []string
		rows, err := tx.Query(ctx, selectTables)
		if err != nil {
			return err
		}
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				return err
			}
			tables = append(tables, name)
		}
		rows.Close()
		for _, name := range tables {
			dump := sqlstore.Stmt{Name: "test_dump_" + name, SQL: "SELECT row_to_json(t)::text FROM " + pgx.Identifier{name}.Sanitize() + " t"}
			rows, err := tx.Query(ctx, dump)
			if err != nil {
				return err
			}
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					return err
				}
				out.WriteString(line + "\n")
			}
			rows.Close()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
