package sqlstore

import (
	"context"
	"strconv"
	"time"

	"github.com/eonpro/eonpro"
)

// Lockout limits: lockoutFailures failures of one account from one address
// within lockoutWindow lock that account from that address until the
// oldest of them leaves the window.
const (
	lockoutWindow   = 15 * time.Minute
	lockoutFailures = 5
)

var (
	insertLoginFailure = Stmt{Name: "insert_login_failure", SQL: `
INSERT INTO login_failures (subject_hash, account_hash, at) VALUES ($1, $2, $3)`}
	selectLoginFailures = Stmt{Name: "select_login_failures", SQL: `
SELECT count(*), min(at) FROM login_failures WHERE subject_hash = $1 AND at > $2`}
	deleteLoginFailures = Stmt{Name: "delete_login_failures", SQL: `
DELETE FROM login_failures WHERE subject_hash = $1`}
	deleteAccountFailures = Stmt{Name: "delete_account_failures", SQL: `
DELETE FROM login_failures WHERE account_hash = $1`}
	// claimAccountLock records a lockout of the account unless one was
	// recorded within the window: one row changes only for the first.
	claimAccountLock = Stmt{Name: "claim_account_lock", SQL: `
INSERT INTO account_locks (account_hash, locked_at) VALUES ($1, $2)
ON CONFLICT (account_hash) DO UPDATE SET locked_at = excluded.locked_at
WHERE account_locks.locked_at <= $3`}
)

// lockKey names what a failure counts against. subject is the account
// from one source address: an attacker elsewhere locks only their own
// address out, not the person signing in from theirs. account is the
// account alone: its admins are alerted once per window, and an unlock
// code clears every address.
type lockKey struct{ subject, account string }

// passwordLock is the lock of a sign-in by e-mail (normalised) from ip.
// Unknown e-mails lock the same way, so a lockout tells nothing.
func (s *AuthService) passwordLock(email, ip string) lockKey {
	return lockKey{subject: s.mac("login", email+"\x00"+ip), account: s.mac("account", email)}
}

// mfaLock is the lock of a user's 2FA step from ip. Reaching it takes the
// password, so it counts apart from password failures, but an unlock of
// the account (by its e-mail) clears it too.
func (s *AuthService) mfaLock(userID, email, ip string) lockKey {
	return lockKey{subject: s.mac("mfa", userID+"\x00"+ip), account: s.mac("account", email)}
}

// locked returns ERATELIMITED with the wait when subject has failed too
// often within the window.
func (s *AuthService) locked(ctx context.Context, subject string) error {
	var n int
	var first *time.Time
	err := s.db.View(ctx, func(tx *Tx) (err error) {
		n, first, err = s.failures(ctx, tx, subject)
		return err
	})
	if err != nil {
		return err
	}
	if n < lockoutFailures || first == nil {
		return nil
	}
	return &eonpro.Error{Code: eonpro.ERATELIMITED, Message: "Too many failed attempts. Try again later.",
		RetryAfter: max(first.Add(lockoutWindow).Sub(s.db.Now()), time.Second)}
}

// failures counts subject's failures within the window and finds the oldest.
func (s *AuthService) failures(ctx context.Context, tx *Tx, subject string) (int, *time.Time, error) {
	var n int
	var first *time.Time
	err := tx.QueryRow(ctx, selectLoginFailures, subject, s.db.Now().Add(-lockoutWindow)).Scan(&n, &first)
	return n, first, err
}

// recordFailure counts a failure and audits it; the failure that locks the
// subject also reports the account locked, once per window.
func (s *AuthService) recordFailure(ctx context.Context, lk lockKey, f failure) error {
	return s.db.InTx(ctx, func(tx *Tx) error {
		now := s.db.Now()
		if _, err := tx.Exec(ctx, insertLoginFailure, lk.subject, lk.account, now); err != nil {
			return err
		}
		ev := eonpro.AuditEvent{Action: f.action, Outcome: eonpro.OutcomeDenied, ResourceType: "user",
			ResourceID: f.userID, Detail: map[string]string{"method": f.method}}
		if f.userID != "" {
			ev.ActorType, ev.ActorID = eonpro.ActorUser, f.userID
		}
		if err := recordAudit(ctx, tx, ev); err != nil {
			return err
		}
		n, _, err := s.failures(ctx, tx, lk.subject)
		if err != nil || n != lockoutFailures {
			return err
		}
		// Every address an attacker locks would alert the admins again;
		// the account's row lets only the first lock of a window through.
		claimed, err := tx.Exec(ctx, claimAccountLock, lk.account, now, now.Add(-lockoutWindow))
		if err != nil || claimed == 0 {
			return err
		}
		return s.auditLocked(ctx, tx, f)
	})
}

// failure describes a failed sign-in step for the lockout and the audit.
type failure struct {
	action eonpro.AuditAction
	method string // password, mfa, unlock
	userID string // "" when the account is unknown
}

// auditLocked records auth.locked in the chain of every clinic of the
// user, alerting their admins, or in the platform chain when the account
// is unknown or belongs to no clinic.
func (s *AuthService) auditLocked(ctx context.Context, tx *Tx, f failure) error {
	ev := eonpro.AuditEvent{Action: eonpro.ActionLocked, Outcome: eonpro.OutcomeDenied, ResourceType: "user",
		ResourceID: f.userID, Detail: map[string]string{"method": f.method, "failures": strconv.Itoa(lockoutFailures)}}
	var ms []*eonpro.Membership
	if f.userID != "" {
		ev.ActorType, ev.ActorID = eonpro.ActorUser, f.userID
		var err error
		if ms, err = memberships(ctx, tx, f.userID); err != nil {
			return err
		}
	}
	if len(ms) == 0 {
		return recordAudit(ctx, tx, ev)
	}
	for _, m := range ms {
		ev.ClinicID, ev.ID = m.ClinicID, ""
		if err := recordAudit(ctx, tx, ev); err != nil {
			return err
		}
	}
	return nil
}
