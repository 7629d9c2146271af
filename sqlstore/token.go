package sqlstore

import (
	"context"
	"time"

	"github.com/eonpro/eonpro"
)

// One-time token kinds.
const (
	tokenMFAChallenge  = "mfa_challenge"
	tokenPasswordReset = "password_reset"
	// tokenInvitation is the set-password code of an invitation sent
	// before invitations had a table of their own; new ones carry theirs
	// in invitations.token_hash.
	tokenInvitation = "invitation"
	tokenUnlock     = "unlock"
)

// Lifetimes of one-time tokens.
const (
	passwordResetTTL = 30 * time.Minute
	invitationTTL    = 7 * 24 * time.Hour
	unlockTTL        = 15 * time.Minute
)

var (
	insertToken = Stmt{Name: "insert_one_time_token", SQL: `
INSERT INTO one_time_tokens (id, kind, user_id, clinic_id, token_hash, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)`}
	consumeToken = Stmt{Name: "consume_one_time_token", SQL: `
UPDATE one_time_tokens
SET used_at = $3
WHERE token_hash = $1
  AND kind = $2
  AND user_id IS NOT NULL
  AND used_at IS NULL
  AND expires_at > $3
RETURNING user_id`}
)

// issueToken stores a new single-use token (hashed) and returns it. With
// no user it stores a decoy that nothing accepts: requests that must not
// tell whether an account exists do the same write either way.
func (s *AuthService) issueToken(ctx context.Context, tx *Tx, kind, userID, clinicID string, ttl time.Duration) (string, error) {
	tok, hash := newToken()
	now := s.db.Now()
	var user, clinic *string
	if userID != "" {
		user = &userID
	}
	if clinicID != "" {
		clinic = &clinicID
	}
	_, err := tx.Exec(ctx, insertToken, eonpro.NewID(), kind, user, clinic, hash, now, now.Add(ttl))
	return tok, err
}

// useToken marks a live token of one of kinds used and returns its user.
// Returns EUNAUTHN for an unknown, used or expired token.
func (s *AuthService) useToken(ctx context.Context, tx *Tx, tok string, kinds ...string) (string, error) {
	for _, kind := range kinds {
		var userID string
		err := tx.QueryRow(ctx, consumeToken, hashToken(tok), kind, s.db.Now()).Scan(&userID)
		if err == nil {
			return userID, nil
		} else if err != ErrNoRows {
			return "", err
		}
	}
	return "", eonpro.Errorf(eonpro.EUNAUTHN, "The link or code is invalid or has expired.")
}

var selectTokenUser = Stmt{Name: "select_one_time_token_user", SQL: `
SELECT user_id
FROM one_time_tokens
WHERE token_hash = $1
  AND kind = $2
  AND user_id IS NOT NULL
  AND used_at IS NULL
  AND expires_at > $3`}
