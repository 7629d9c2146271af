package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/password"
	"github.com/eonpro/eonpro/totp"
)

const backupCodeCount = 10

var (
	upsertFactor = Stmt{Name: "upsert_mfa_factor", SQL: `
INSERT INTO mfa_factors (user_id, secret, confirmed_at, last_step, created_at)
VALUES ($1, $2, NULL, 0, $3)
ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at, last_step = 0
WHERE mfa_factors.confirmed_at IS NULL`}
	selectFactor = Stmt{Name: "select_mfa_factor", SQL: `
SELECT secret, confirmed_at IS NOT NULL, last_step FROM mfa_factors WHERE user_id = $1`}
	confirmFactor = Stmt{Name: "confirm_mfa_factor", SQL: `
UPDATE mfa_factors SET confirmed_at = $2, last_step = $3 WHERE user_id = $1`}
	stepFactor = Stmt{Name: "step_mfa_factor", SQL: `
UPDATE mfa_factors SET last_step = $2 WHERE user_id = $1 AND last_step < $2`}
	deleteFactor = Stmt{Name: "delete_mfa_factor", SQL: `
DELETE FROM mfa_factors WHERE user_id = $1`}
	deleteBackupCodes = Stmt{Name: "delete_backup_codes", SQL: `
DELETE FROM backup_codes WHERE user_id = $1`}
	insertBackupCode = Stmt{Name: "insert_backup_code", SQL: `
INSERT INTO backup_codes (user_id, code_hash) VALUES ($1, $2)`}
	useBackupCode = Stmt{Name: "use_backup_code", SQL: `
UPDATE backup_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL`}
	clearMFAPending = Stmt{Name: "clear_mfa_pending", SQL: `
UPDATE sessions SET mfa_pending = $2 WHERE user_id = $1 AND mfa_pending = $3`}
	selectPasswordHash = Stmt{Name: "select_password_hash", SQL: `
SELECT password_hash FROM users WHERE id = $1`}
	selectUserEmail = Stmt{Name: "select_user_email", SQL: `
SELECT email_normalized FROM users WHERE id = $1`}
)

func factorAAD(userID string) string { return "mfa_factors.secret:" + userID }

// EnrollTOTP starts (or restarts, while unconfirmed) TOTP enrolment.
func (s *AuthService) EnrollTOTP(ctx context.Context) (secret, otpauthURL string, err error) {
	p := eonpro.PrincipalFromContext(ctx)
	if p == nil || p.SessionID == "" {
		return "", "", eonpro.Errorf(eonpro.EUNAUTHN, "Sign in first.")
	}
	err = s.db.InTx(ctx, func(tx *Tx) error {
		u, err := findUser(ctx, tx, selectUserByID, p.UserID)
		if err != nil {
			return err
		}
		if u.MFAEnrolled {
			return eonpro.Errorf(eonpro.ECONFLICT, "Two-factor authentication is already on. Turn it off first to enrol again.")
		}
		if secret, otpauthURL, err = totp.Generate("EONPRO", u.Email); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, upsertFactor, u.ID, s.sealer.seal(secret, factorAAD(u.ID)), s.db.Now())
		return err
	})
	if err != nil {
		return "", "", fmt.Errorf("enrol totp: %w", err)
	}
	return secret, otpauthURL, nil
}

// ConfirmTOTP finishes enrolment with a current code and returns ten
// single-use backup codes (stored hashed). Sessions limited to enrolling
// become full sessions.
func (s *AuthService) ConfirmTOTP(ctx context.Context, code string) ([]string, error) {
	p := eonpro.PrincipalFromContext(ctx)
	if p == nil || p.SessionID == "" {
		return nil, eonpro.Errorf(eonpro.EUNAUTHN, "Sign in first.")
	}
	codes, err := totp.BackupCodes(backupCodeCount)
	if err != nil {
		return nil, err
	}
	err = s.db.InTx(ctx, func(tx *Tx) error {
		secret, confirmed, last, err := s.factor(ctx, tx, p.UserID)
		if err != nil {
			return err
		}
		if confirmed {
			return eonpro.Errorf(eonpro.ECONFLICT, "Two-factor authentication is already on.")
		}
		step, ok := totp.Verify(secret, code, s.db.Now(), last)
		if !ok {
			return eonpro.FieldError("code", "is not the current code from your authenticator app")
		}
		if _, err := tx.Exec(ctx, confirmFactor, p.UserID, s.db.Now(), step); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, deleteBackupCodes, p.UserID); err != nil {
			return err
		}
		for _, c := range codes {
			if _, err := tx.Exec(ctx, insertBackupCode, p.UserID, totp.HashBackupCode(c)); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, clearMFAPending, p.UserID, false, true); err != nil {
			return err
		}
		return recordAudit(ctx, tx, eonpro.AuditEvent{Action: eonpro.ActionMFAEnrolled, ResourceType: "user", ResourceID: p.UserID,
			Detail: map[string]string{"factor": "totp"}})
	})
	if err != nil {
		return nil, fmt.Errorf("confirm totp: %w", err)
	}
	return codes, nil
}

// factor loads and decrypts a user's TOTP secret. ENOTFOUND when none.
func (s *AuthService) factor(ctx context.Context, tx *Tx, userID string) (string, bool, int64, error) {
	var sealed string
	var confirmed bool
	var last int64
	err := tx.QueryRow(ctx, selectFactor, userID).Scan(&sealed, &confirmed, &last)
	if err == ErrNoRows {
		return "", false, 0, eonpro.Errorf(eonpro.ENOTFOUND, "Start enrolment first.")
	} else if err != nil {
		return "", false, 0, err
	}
	secret, err := s.sealer.open(sealed, factorAAD(userID))
	return secret, confirmed, last, err
}

// checkSecondFactor accepts a current, unused TOTP code or an unused
// backup code, and spends it.
func (s *AuthService) checkSecondFactor(ctx context.Context, tx *Tx, userID, code string) (bool, error) {
	secret, confirmed, last, err := s.factor(ctx, tx, userID)
	if err != nil || !confirmed {
		return false, err
	}
	code = strings.TrimSpace(code)
	if step, ok := totp.Verify(secret, code, s.db.Now(), last); ok {
		n, err := tx.Exec(ctx, stepFactor, userID, step)
		return n == 1, err
	}
	n, err := tx.Exec(ctx, useBackupCode, userID, totp.HashBackupCode(code), s.db.Now())
	return n == 1, err
}

// VerifyMFA answers a login's challenge and starts the session.
func (s *AuthService) VerifyMFA(ctx context.Context, mfaToken, code string, meta eonpro.RequestMeta) (*eonpro.LoginResult, error) {
	var res *eonpro.LoginResult
	var userID, email string
	err := s.db.View(ctx, func(tx *Tx) error {
		if err := tx.QueryRow(ctx, selectTokenUser, hashToken(mfaToken), tokenMFAChallenge, s.db.Now()).Scan(&userID); err != nil {
			return err
		}
		return tx.QueryRow(ctx, selectUserEmail, userID).Scan(&email)
	})
	if err == ErrNoRows {
		return nil, eonpro.Errorf(eonpro.EUNAUTHN, "The sign-in has expired. Start again.")
	} else if err != nil {
		return nil, fmt.Errorf("verify mfa: %w", err)
	}
	lk := s.mfaLock(userID, email, meta.IP)
	if err := s.locked(ctx, lk.subject); err != nil {
		return nil, err
	}
	err = s.db.InTx(ctx, func(tx *Tx) error {
		ok, err := s.checkSecondFactor(ctx, tx, userID, code)
		if err != nil || !ok {
			return err
		}
		if _, err := s.useToken(ctx, tx, mfaToken, tokenMFAChallenge); err != nil {
			return err
		}
		// As for passwords, a success clears the count: earlier typos
		// must not lock the user out with their next one.
		if _, err := tx.Exec(ctx, deleteLoginFailures, lk.subject); err != nil {
			return err
		}
		u, err := findUser(ctx, tx, selectUserByID, userID)
		if err != nil {
			return err
		}
		ms, err := memberships(ctx, tx, userID)
		if err != nil {
			return err
		}
		pol, err := policyFor(ctx, tx, ms)
		if err != nil {
			return err
		}
		res, err = s.createSession(ctx, tx, u, ms, pol, false, meta, "mfa")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("verify mfa: %w", err)
	}
	if res == nil {
		if err := s.recordFailure(ctx, lk, failure{eonpro.ActionMFAFailed, "mfa", userID}); err != nil {
			return nil, err
		}
		return nil, eonpro.Errorf(eonpro.EUNAUTHN, "The code is wrong or was already used.")
	}
	return res, nil
}

// DisableMFA turns 2FA off; it needs the password and a current code,
// and no clinic of the user may require 2FA of their role there.
func (s *AuthService) DisableMFA(ctx context.Context, pw, code string) error {
	p := eonpro.PrincipalFromContext(ctx)
	if p == nil || p.SessionID == "" {
		return eonpro.Errorf(eonpro.EUNAUTHN, "Sign in first.")
	}
	return s.db.InTx(ctx, func(tx *Tx) error {
		ms, err := memberships(ctx, tx, p.UserID)
		if err != nil {
			return err
		}
		if pol, err := policyFor(ctx, tx, ms); err != nil {
			return err
		} else if pol.mfaRequired {
			return eonpro.Errorf(eonpro.EFORBIDDEN, "A clinic of yours requires two-factor authentication for your role.")
		}
		var hash string
		if err := tx.QueryRow(ctx, selectPasswordHash, p.UserID).Scan(&hash); err != nil {
			return err
		}
		if ok, _ := password.Verify(pw, hash); !ok {
			return eonpro.FieldError("password", "is wrong")
		}
		ok, err := s.checkSecondFactor(ctx, tx, p.UserID, code)
		if eonpro.ErrorCode(err) == eonpro.ENOTFOUND {
			return eonpro.Errorf(eonpro.ENOTFOUND, "Two-factor authentication is not on.")
		} else if err != nil {
			return err
		} else if !ok {
			return eonpro.FieldError("code", "is wrong or was already used")
		}
		if _, err := tx.Exec(ctx, deleteFactor, p.UserID); err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, deleteBackupCodes, p.UserID); err != nil {
			return err
		}
		return recordAudit(ctx, tx, eonpro.AuditEvent{Action: eonpro.ActionMFADisabled, ResourceType: "user", ResourceID: p.UserID,
			Detail: map[string]string{"factor": "totp"}})
	})
}
