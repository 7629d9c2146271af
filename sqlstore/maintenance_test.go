package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/sqlstore"
	"github.com/eonpro/eonpro/sqlstore/sqltest"
)

var (
	insertUser = sqlstore.Stmt{Name: "test_insert_user", SQL: `
INSERT INTO users (
    id,
    email_normalized,
    created_at,
    updated_at
) VALUES ($1, $2, $3, $3)`}
	insertSession = sqlstore.Stmt{Name: "test_insert_session", SQL: `
INSERT INTO sessions (
    id,
    user_id,
    token_hash,
    created_at,
    last_seen_at,
    idle_expires_at,
    expires_at,
    revoked_at
) VALUES ($1, $2, $3, $4, $4, $5, $6, $7)`}
	insertPhoneCode = sqlstore.Stmt{Name: "test_insert_phone_code", SQL: `
INSERT INTO phone_codes (id, phone_hash, code_hash, created_at, expires_at)
VALUES ($1, 'p', 'c', $2, $3)`}
	insertLoginFailure = sqlstore.Stmt{Name: "test_insert_login_failure", SQL: `
INSERT INTO login_failures (subject_hash, at) VALUES ($1, $2)`}
	sessionIDs = sqlstore.Stmt{Name: "test_session_ids", SQL: `SELECT id FROM sessions ORDER BY id`}
	tokenIDs   = sqlstore.Stmt{Name: "test_token_ids", SQL: `SELECT id FROM one_time_tokens ORDER BY id`}
)

// testSession is a session row; revoked may be nil.
type testSession struct {
	id          string
	idleExpires time.Time
	expires     time.Time
	revoked     *time.Time
}

// createUser inserts a user whose sessions and tokens the test creates.
func createUser(ctx context.Context, tx *sqlstore.Tx, id string, now time.Time) error {
	_, err := tx.Exec(ctx, insertUser, id, id+"@example.test", now)
	return err
}

func createSession(ctx context.Context, tx *sqlstore.Tx, userID string, s testSession, now time.Time) error {
	_, err := tx.Exec(ctx, insertSession, s.id, userID, []byte("hash-"+s.id), now.Add(-2*time.Hour), s.idleExpires, s.expires, s.revoked)
	return err
}

func TestMaintenancePurgeExpired(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	const day = 24 * time.Hour
	sessions := []testSession{
		{id: "expired", idleExpires: now.Add(time.Hour), expires: now.Add(-time.Second)},
		{id: "expired-1us", idleExpires: now.Add(time.Hour), expires: now.Add(-time.Microsecond)},
		{id: "idle", idleExpires: now.Add(-time.Minute), expires: now.Add(day)},
		{id: "revoked", idleExpires: now.Add(time.Hour), expires: now.Add(day), revoked: new(now.Add(-time.Hour))},
		{id: "live", idleExpires: now.Add(30 * time.Minute), expires: now.Add(day)},
		{id: "live-1us", idleExpires: now.Add(time.Microsecond), expires: now.Add(time.Microsecond)},
	}
	tokens := []struct {
		id      string
		expires time.Time
		used    *time.Time
	}{
		{id: "expired", expires: now.Add(-time.Hour)},
		{id: "expired-1us", expires: now.Add(-time.Microsecond)},
		{id: "live", expires: now.Add(time.Hour)},
		{id: "used", expires: now.Add(time.Hour), used: new(now.Add(-time.Minute))},
	}
	for _, e := range sqltest.Engines(t) {
		t.Run(string(e), func(t *testing.T) {
			ctx := context.Background()
			db := sqltest.Open(t, e, clock)
			user := "u-1"
			err := db.InTx(ctx, func(tx *sqlstore.Tx) error {
				if err := createUser(ctx, tx, user, now); err != nil {
					return err
				}
				for _, s := range sessions {
					if err := createSession(ctx, tx, user, s, now); err != nil {
						return err
					}
				}
				for _, tk := range tokens {
					if err := createToken(ctx, tx, tk.id, &user, now.Add(-day), tk.expires, tk.used); err != nil {
						return err
					}
				}
				for i, exp := range []time.Time{now.Add(-time.Minute), now.Add(5 * time.Minute)} {
					if _, err := tx.Exec(ctx, insertPhoneCode, fmt.Sprint("code-", i), now.Add(-time.Hour), exp); err != nil {
						return err
					}
				}
				for _, at := range []time.Time{now.Add(-16 * time.Minute), now.Add(-time.Minute)} {
					if _, err := tx.Exec(ctx, insertLoginFailure, "subject", at); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			svc := sqlstore.NewMaintenanceService(db)

			got, err := svc.PurgeExpired(ctx)
			if err != nil {
				t.Fatal(err)
			}
			diff(t, "first PurgeExpired", eonpro.PurgeResult{Sessions: 4, Tokens: 2, PhoneCodes: 1, LoginFailures: 1}, got)
			diff(t, "sessions left", []string{"live", "live-1us"}, ids(t, db, sessionIDs))
			diff(t, "tokens left", []string{"live", "used"}, ids(t, db, tokenIDs))

			got, err = svc.PurgeExpired(ctx)
			if err != nil {
				t.Fatal(err)
			}
			diff(t, "second PurgeExpired", eonpro.PurgeResult{}, got)
		})
	}
}
