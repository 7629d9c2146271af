package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/eonpro/eonpro/phi"
	"github.com/eonpro/eonpro/phi/kmsfake"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

// cmdTestColumn is a PHI column of a table only these tests create, so
// that key status has values to count (no clinic PHI table exists yet).
var cmdTestColumn = phi.Column{Table: "cmd_phi_values", Column: "secret", IDColumn: "id", ClinicColumn: "clinic_id"}

func init() { phi.Register(cmdTestColumn) }

var (
	createCmdValues = sqlstore.Stmt{Name: "test_create_cmd_values", SQL: `
CREATE TABLE cmd_phi_values (
    id        TEXT PRIMARY KEY,
    clinic_id TEXT NOT NULL REFERENCES clinics (id),
    secret    TEXT
)`}
	insertCmdValue = sqlstore.Stmt{Name: "test_insert_cmd_value", SQL: `
INSERT INTO cmd_phi_values (id, clinic_id, secret) VALUES ($1, $2, $3)`}
)

// writeValues stores n values for a clinic, encrypted as the server would.
func writeValues(t *testing.T, dbURL, masterPath, clinicID string, n int) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, sqlstore.Options{URL: dbURL, SlowQuery: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	master, err := phi.LoadLocalMaster(masterPath)
	if err != nil {
		t.Fatal(err)
	}
	ring := phi.NewKeyRing(sqlstore.NewPHIKeyStore(db, nil), master, phi.RingOptions{})
	for i := range n {
		id := fmt.Sprintf("%s-%d", clinicID, i)
		ct, err := ring.Encrypt(ctx, clinicID, cmdTestColumn.Field(id), "value")
		if err != nil {
			t.Fatal(err)
		}
		if err := db.InClinic(ctx, clinicID, func(tx *sqlstore.Tx) error {
			_, err := tx.Exec(ctx, insertCmdValue, id, clinicID, ct)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
}

func createCmdTable(t *testing.T, dbURL string) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, sqlstore.Options{URL: dbURL, SlowQuery: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.InTx(ctx, func(tx *sqlstore.Tx) error { _, err := tx.Exec(ctx, createCmdValues); return err }); err != nil {
		t.Fatal(err)
	}
}

// statusRows returns the lines of keys status after the header, with the
// creation times blanked out.
func statusRows(t *testing.T, kv map[string]string) string {
	t.Helper()
	out, err := runCmd(t, kv, "keys", "status")
	if err != nil {
		t.Fatalf("keys status: %v", err)
	}
	lines := strings.Split(out, "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "master key: local:") {
		t.Fatalf("keys status:\n%s", out)
	}
	times := regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)
	var rows []string
	for _, l := range lines[2:] {
		rows = append(rows, strings.Join(strings.Fields(times.ReplaceAllString(l, "T")), " "))
	}
	return strings.Join(rows, "\n")
}

func TestKeyCommands(t *testing.T) {
	for _, e := range sqltest.Engines(t) {
		t.Run(string(e), func(t *testing.T) {
			dataDir := t.TempDir()
			dbURL := sqltest.URL(t, e)
			kv := map[string]string{"EONPRO_DATABASE_URL": dbURL, "EONPRO_DATA_DIR": dataDir}
			sunrise, err := runCmd(t, kv, "clinic", "create", "--slug", "sunrise", "--name", "Sunrise")
			if err != nil {
				t.Fatal(err)
			}
			acme, err := runCmd(t, kv, "clinic", "create", "--slug", "acme", "--name", "Acme")
			if err != nil {
				t.Fatal(err)
			}
			createCmdTable(t, dbURL)
			if got := statusRows(t, kv); got != "acme - no keys yet 0\nsunrise - no keys yet 0" {
				t.Errorf("status before use:\n%s", got)
			}
			masterPath := filepath.Join(dataDir, "master.key")
			if fi, err := os.Stat(masterPath); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("development master key file: %v %v", fi, err)
			}
			writeValues(t, dbURL, masterPath, sunrise, 5)
			writeValues(t, dbURL, masterPath, acme, 2)
			if got := statusRows(t, kv); got != "acme 1 (newest) T 2\nsunrise 1 (newest) T 5" {
				t.Errorf("status before rotation:\n%s", got)
			}

			out, err := runCmd(t, kv, "keys", "rotate", "--clinic", "sunrise")
			if err != nil || out != "sunrise: key version 2; re-encryption of older values queued" {
				t.Fatalf("keys rotate: %q %v", out, err)
			}
			if got := statusRows(t, kv); got != "acme 1 (newest) T 2\nsunrise 1 T 5\nsunrise 2 (newest) T 0" {
				t.Errorf("status after rotation:\n%s", got)
			}
			// A server works the queued job.
			startMain(t, map[string]string{"EONPRO_DATABASE_URL": dbURL, "EONPRO_DATA_DIR": dataDir})
			want := "acme 1 (newest) T 2\nsunrise 1 T 0\nsunrise 2 (newest) T 5"
			for deadline := time.Now().Add(20 * time.Second); statusRows(t, kv) != want; time.Sleep(100 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("status after re-encryption:\n%s\nwant:\n%s", statusRows(t, kv), want)
				}
			}

			if _, err := runCmd(t, kv, "clinic", "destroy-keys", "acme"); exitCode(err) != 2 || !strings.Contains(err.Error(), "--confirm") {
				t.Errorf("destroy-keys without --confirm: %v", err)
			}
			if out, err := runCmd(t, kv, "clinic", "destroy-keys", "acme", "--confirm"); err != nil || !strings.Contains(out, "Destroyed the keys of clinic acme") {
				t.Errorf("destroy-keys: %q %v", out, err)
			}
			if out, err := runCmd(t, kv, "keys", "rotate"); err != nil || out != "acme: keys destroyed, skipped\nsunrise: key version 3; re-encryption of older values queued" {
				t.Errorf("keys rotate (all): %q %v", out, err)
			}
			if got := statusRows(t, kv); !strings.HasPrefix(got, "acme - destroyed T -\nsunrise 1 T 0\nsunrise 2 T ") {
				t.Errorf("status after destroy:\n%s", got)
			}
			if _, err := runCmd(t, kv, "keys", "rotate", "--clinic", "nope"); err == nil || !strings.Contains(err.Error(), "not found") {
				t.Errorf("rotate of an unknown clinic: %v", err)
			}
		})
	}
}

func TestKeyCommandUsage(t *testing.T) {
	for _, args := range [][]string{
		{"keys"}, {"keys", "nope"}, {"clinic", "destroy-keys"}, {"clinic", "destroy-keys", "a", "b"}, {"keys", "status", "--clinic", "x"},
	} {
		if _, err := runCmd(t, nil, args...); exitCode(err) != 2 {
			t.Errorf("%v: got %v, want a usage error", args, err)
		}
	}
	m := NewMain()
	m.Getenv = env(nil)
	if err := m.ParseFlags([]string{"clinic", "destroy-keys", "--confirm", "acme"}); err != nil || m.keyFlags.slug != "acme" || !m.keyFlags.confirm {
		t.Errorf("flags before the slug: %v %+v", err, m.keyFlags)
	}
}

func TestMainServeKMS(t *testing.T) {
	fake := kmsfake.New()
	defer fake.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	kv := map[string]string{
		"EONPRO_DATABASE_URL": sqltest.URL(t, sqlstore.SQLite),
		"EONPRO_HEALTH_TOKEN": "health-token-for-tests",
		"EONPRO_KMS_KEY_ID":   fake.NewKey(),
		"EONPRO_KMS_ENDPOINT": fake.URL,
		"EONPRO_AWS_REGION":   kmsfake.Region,
		"EONPRO_DATA_DIR":     t.TempDir(),
	}
	_, base := startMain(t, kv)
	_, body := get(t, base+"/api/health?full=true", "Authorization", "Bearer health-token-for-tests")
	comps, _ := body["components"].(map[string]any)
	if enc, _ := comps["encryption"].(map[string]any); enc["status"] != "kms" {
		t.Errorf("encryption: %v", comps["encryption"])
	}
	if fake.Calls("Encrypt") != 1 || fake.Calls("Decrypt") != 1 {
		t.Errorf("start-up check: %d Encrypt, %d Decrypt calls, want 1 each", fake.Calls("Encrypt"), fake.Calls("Decrypt"))
	}

	kv["EONPRO_KMS_KEY_ID"] = "arn:aws:kms:us-east-1:111122223333:key/missing"
	if _, err := runCmd(t, kv, "keys", "status"); err == nil || !strings.Contains(err.Error(), "does not work") {
		t.Errorf("unknown KMS key: %v, want a start-up error", err)
	}
}
