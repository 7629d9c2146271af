package sqlstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

var (
	insertToken = sqlstore.Stmt{Name: "test_insert_token", SQL: `
INSERT INTO one_time_tokens (
    id,
    kind,
    user_id,
    token_hash,
    created_at,
    expires_at,
    used_at
) VALUES ($1, 'test', $2, $3, $4, $5, $6)`}
	findTokenTimes = sqlstore.Stmt{Name: "test_find_token_times", SQL: `
SELECT created_at, used_at FROM one_time_tokens WHERE id = $1`}
	tokensByCreated = sqlstore.Stmt{Name: "test_tokens_by_created", SQL: `
SELECT id FROM one_time_tokens ORDER BY created_at, id`}
)

// createToken inserts a one-time token; userID and usedAt may be nil.
func createToken(ctx context.Context, tx *sqlstore.Tx, id string, userID *string, created, expires time.Time, usedAt *time.Time) error {
	_, err := tx.Exec(ctx, insertToken, id, userID, []byte("hash-"+id), created, expires, usedAt)
	return err
}

// ids returns the first column of every row of s.
func ids(t *testing.T, db *sqlstore.DB, s sqlstore.Stmt) []string {
	t.Helper()
	ctx := context.Background()
	out := []string{}
	err := db.View(ctx, func(tx *sqlstore.Tx) error {
		rows, err := tx.Query(ctx, s)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			out = append(out, id)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatalf("%s: %v", s.Name, err)
	}
	return out
}

func TestTimes(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		est := time.FixedZone("EST", -5*60*60)
		base := time.Date(2025, 3, 4, 5, 6, 7, 0, est)
		t.Run("RoundTrip", func(t *testing.T) {
			tests := []struct {
				name string
				used *time.Time
			}{
				{name: "Null"},
				{name: "Set", used: new(base.Add(987654321 * time.Nanosecond))},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					created := base.Add(123456789 * time.Nanosecond)
					var gotCreated time.Time
					var gotUsed *time.Time
					err := db.InTx(ctx, func(tx *sqlstore.Tx) error {
						if err := createToken(ctx, tx, "rt-"+tt.name, nil, created, created, tt.used); err != nil {
							return err
						}
						return tx.QueryRow(ctx, findTokenTimes, "rt-"+tt.name).Scan(&gotCreated, &gotUsed)
					})
					if err != nil {
						t.Fatal(err)
					}
					checkUTC(t, "created_at", created, gotCreated)
					switch {
					case tt.used == nil && gotUsed != nil:
						t.Errorf("used_at = %v, want NULL", gotUsed)
					case tt.used != nil && gotUsed == nil:
						t.Errorf("used_at = NULL, want %v", tt.used)
					case tt.used != nil:
						checkUTC(t, "used_at", *tt.used, *gotUsed)
					}
				})
			}
		})
		t.Run("Order", func(t *testing.T) {
			// Inserted out of order, with different numbers of fractional
			// digits: text order must still be time order on SQLite.
			offsets := []struct {
				id string
				d  time.Duration
			}{
				{"o4", time.Second},
				{"o3", 500 * time.Millisecond},
				{"o1", 0},
				{"o2", 123456 * time.Microsecond},
				{"o5", time.Second + time.Microsecond},
			}
			err := db.InTx(ctx, func(tx *sqlstore.Tx) error {
				for _, o := range offsets {
					at := base.AddDate(1, 0, 0).Add(o.d)
					if err := createToken(ctx, tx, o.id, nil, at, at, nil); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			got := ids(t, db, tokensByCreated)
			// The round-trip rows were created a year earlier and sort first.
			diff(t, "ORDER BY created_at", []string{"rt-Null", "rt-Set", "o1", "o2", "o3", "o4", "o5"}, got)
		})
	})
}

// checkUTC checks that got is in UTC and equals want at microsecond precision.
func checkUTC(t *testing.T, what string, want, got time.Time) {
	t.Helper()
	want = want.Truncate(time.Microsecond)
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
	if got.Location() != time.UTC {
		t.Errorf("%s location = %q, want UTC", what, got.Location())
	}
}

func TestSlowStatementLog(t *testing.T) {
	for _, e := range sqltest.Engines(t) {
		t.Run(string(e), func(t *testing.T) {
			ctx := context.Background()
			var buf bytes.Buffer
			db := open(t, sqlstore.Options{
				URL:       sqltest.URL(t, e),
				SlowQuery: time.Nanosecond,
				Logger:    slog.New(slog.NewJSONHandler(&buf, nil)),
			})
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			const secret = "slug-7f3a9c-never-logged"
			if err := db.InTx(ctx, func(tx *sqlstore.Tx) error { return createClinic(ctx, tx, "c-slow", secret) }); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(buf.String(), secret) {
				t.Errorf("log holds the argument value:\n%s", buf.String())
			}
			var found bool
			for line := range strings.Lines(buf.String()) {
				var rec struct{ Msg, Statement, Engine string }
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("log line %q: %v", line, err)
				}
				found = found || rec.Msg == "slow statement" && rec.Statement == insertClinic.Name && rec.Engine == string(e)
			}
			if !found {
				t.Errorf("no slow statement record for %s:\n%s", insertClinic.Name, buf.String())
			}
		})
	}
}
