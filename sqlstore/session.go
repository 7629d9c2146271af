package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"

	"github.com/eonpro/eonpro"
)

// touchEvery throttles last-seen writes: a session's idle clock moves at
// most once a minute, so busy pages do not write on every request.
const touchEvery = time.Minute

var (
	insertSession = Stmt{Name: "insert_session", SQL: `
INSERT INTO sessions (id, user_id, clinic_id, token_hash, created_at, last_seen_at, idle_expires_at, expires_at, mfa_pending, ip, user_agent, idle_minutes)
VALUES ($1, $2, NULL, $3, $4, $4, $5, $6, $7, $8, $9, $10)`}
	selectSessionByHash = Stmt{Name: "select_session_by_hash", SQL: `
SELECT s.id, s.user_id, s.mfa_pending, s.created_at, s.last_seen_at, s.idle_minutes, u.super_admin,
    EXISTS (SELECT 1 FROM mfa_factors f WHERE f.user_id = u.id AND f.confirmed_at IS NOT NULL)
FROM sessions s
JOIN users u ON u.id = s.user_id
WHERE s.token_hash = $1
  AND s.revoked_at IS NULL
  AND s.expires_at > $2
  AND s.idle_expires_at > $2
  AND u.status = 'active'`}
	selectSessionByID = Stmt{Name: "select_session_by_id", SQL: `
SELECT s.id, s.user_id, s.mfa_pending, s.created_at, s.last_seen_at, s.idle_minutes, u.super_admin,
    EXISTS (SELECT 1 FROM mfa_factors f WHERE f.user_id = u.id AND f.confirmed_at IS NOT NULL)
FROM sessions s
JOIN users u ON u.id = s.user_id
WHERE s.id = $1
  AND s.revoked_at IS NULL
  AND s.expires_at > $2
  AND s.idle_expires_at > $2
  AND u.status = 'active'`}
	touchSession = Stmt{Name: "touch_session", SQL: `
UPDATE sessions SET last_seen_at = $2, idle_expires_at = $3 WHERE id = $1 AND revoked_at IS NULL`}
	selectUserSessions = Stmt{Name: "select_user_sessions", SQL: `
SELECT id, ip, user_agent, created_at, last_seen_at, expires_at
FROM sessions
WHERE user_id = $1
  AND revoked_at IS NULL
  AND expires_at > $2
  AND idle_expires_at > $2
ORDER BY created_at DESC`}
	revokeSessionRow = Stmt{Name: "revoke_session", SQL: `
UPDATE sessions SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL`}
	revokeUserSessionRows = Stmt{Name: "revoke_user_sessions", SQL: `
UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL`}
)

// newToken returns a random 256-bit token and its SHA-256 hash. Only the
// hash is stored: a database dump yields no usable credential.
func newToken() (string, []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	return tok, hashToken(tok)
}

func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// sessionPolicy is what a new session of a user gets from the security
// policies of their clinics: the most lenient idle timeout and absolute
// lifetime, since each clinic applies its own, stricter ones to the
// session in that clinic only (AuthService.Admit); and whether a clinic
// requires 2FA of the user's role there (then the session is limited to
// enrolment, but Admit applies the limit only in clinics requiring it).
type sessionPolicy struct {
	idle, absolute time.Duration
	mfaRequired    bool
}

func policyFor(ctx context.Context, tx *Tx, ms []*eonpro.Membership) (sessionPolicy, error) {
	def := eonpro.DefaultSecurityPolicy()
	pol := sessionPolicy{idle: time.Duration(def.IdleTimeoutMinutes) * time.Minute, absolute: time.Duration(def.AbsoluteSessionHours) * time.Hour}
	for i, m := range ms {
		c, err := findClinic(ctx, tx, selectClinicByRef, m.ClinicID)
		if err != nil {
			return pol, err
		}
		sp := c.Settings.SecurityPolicy
		idle, abs := time.Duration(sp.IdleTimeoutMinutes)*time.Minute, time.Duration(sp.AbsoluteSessionHours)*time.Hour
		if i == 0 || idle > pol.idle {
			pol.idle = idle
		}
		if i == 0 || abs > pol.absolute {
			pol.absolute = abs
		}
		pol.mfaRequired = pol.mfaRequired || sp.RequiresMFA(m.Role)
	}
	return pol, nil
}

// createSession starts a session for the user and returns the login result
// with its cookie token and bearer JWT.
func (s *AuthService) createSession(ctx context.Context, tx *Tx, u *eonpro.User, ms []*eonpro.Membership,
	pol sessionPolicy, mfaPending bool, meta eonpro.RequestMeta, method string) (*eonpro.LoginResult, error) {
	now := s.db.Now()
	tok, hash := newToken()
	id := eonpro.NewID()
	_, err := tx.Exec(ctx, insertSession, id, u.ID, hash, now, now.Add(pol.idle), now.Add(pol.absolute), mfaPending,
		truncate(meta.IP, 64), truncate(meta.UserAgent, 512), int(pol.idle/time.Minute))
	if err != nil {
		return nil, err
	}
	err = recordAudit(ctx, tx, eonpro.AuditEvent{Action: eonpro.ActionLogin, ActorType: eonpro.ActorUser, ActorID: u.ID,
		SessionID: id, ResourceType: "session", ResourceID: id,
		Detail: map[string]string{"method": method, "mfa_enrollment_required": strconv.FormatBool(mfaPending)}})
	if err != nil {
		return nil, err
	}
	jwt, exp, err := s.signJWT(id, u.ID, now)
	if err != nil {
		return nil, err
	}
	return &eonpro.LoginResult{User: u, Memberships: ms, MFAPending: mfaPending, SessionID: id,
		SessionToken: tok, Token: jwt, ExpiresAt: exp}, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// liveSession loads a live session by stmt. It writes nothing: the
// request counts as use of the session only once Admit lets it in.
func (s *AuthService) liveSession(ctx context.Context, stmt Stmt, key any) (*eonpro.Principal, error) {
	var p eonpro.Principal
	var idleMinutes int
	err := s.db.View(ctx, func(tx *Tx) error {
		return tx.QueryRow(ctx, stmt, key, s.db.Now()).Scan(&p.SessionID, &p.UserID, &p.MFAPending, &p.SessionCreatedAt,
			&p.SessionLastSeenAt, &idleMinutes, &p.SuperAdmin, &p.MFAEnrolled)
	})
	if err == ErrNoRows {
		return nil, eonpro.Errorf(eonpro.EUNAUTHN, "Your session has ended. Please sign in again.")
	} else if err != nil {
		return nil, err
	}
	p.SessionIdle = time.Duration(idleMinutes) * time.Minute
	return &p, nil
}

// errClinicSessionEnded is the answer for a session that a clinic's
// policy has ended there (it may go on in the person's other clinics).
var errClinicSessionEnded = eonpro.Errorf(eonpro.EUNAUTHN, "Your session has ended. Please sign in again.")

// Admit applies the security policy of clinic c to the principal's
// session there, then moves the session's idle clock (at most once a
// minute, so busy pages do not write on every request).
func (s *AuthService) Admit(ctx context.Context, p *eonpro.Principal, c *eonpro.Clinic, m *eonpro.Membership) error {
	if p.SessionID == "" {
		return nil
	}
	now := s.db.Now()
	if c != nil && m != nil {
		sp := c.Settings.SecurityPolicy
		if sp.Ends(p.SessionCreatedAt, p.SessionLastSeenAt, now) ||
			(m.SessionsNotBefore != nil && !p.SessionCreatedAt.After(*m.SessionsNotBefore)) {
			return errClinicSessionEnded
		}
		// A session limited to enrolment at sign-in (a clinic of the user
		// required 2FA then) is limited only where the clinic requires it.
		p.MFAPending = p.MFAPending && sp.RequiresMFA(m.Role) && !p.MFAEnrolled
	}
	if now.Sub(p.SessionLastSeenAt) < touchEvery {
		return nil
	}
	return s.db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, touchSession, p.SessionID, now, now.Add(p.SessionIdle))
		return err
	})
}

// FindSessions lists the principal's live sessions. API keys have none:
// their creator's are not theirs to see.
func (s *AuthService) FindSessions(ctx context.Context) ([]*eonpro.Session, error) {
	p := eonpro.PrincipalFromContext(ctx)
	if p == nil || p.SessionID == "" {
		return nil, eonpro.Errorf(eonpro.EUNAUTHN, "Sign in first.")
	}
	var out []*eonpro.Session
	err := s.db.View(ctx, func(tx *Tx) (err error) {
		out, err = queryAll(ctx, tx, selectUserSessions, func(rows scanner) (*eonpro.Session, error) {
			var ss eonpro.Session
			err := rows.Scan(&ss.ID, &ss.IP, &ss.UserAgent, &ss.CreatedAt, &ss.LastSeenAt, &ss.ExpiresAt)
			ss.Current = ss.ID == p.SessionID
			return &ss, err
		}, p.UserID, s.db.Now())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("find sessions: %w", err)
	}
	return out, nil
}

// RevokeSession revokes one of the principal's own sessions. API keys may
// not: a key must not sign its creator out.
func (s *AuthService) RevokeSession(ctx context.Context, id string) error {
	p := eonpro.PrincipalFromContext(ctx)
	if p == nil || p.SessionID == "" {
		return eonpro.Errorf(eonpro.EUNAUTHN, "Sign in first.")
	}
	action := eonpro.ActionSessionRevoked
	if id == p.SessionID {
		action = eonpro.ActionLogout
	}
	return s.db.InTx(ctx, func(tx *Tx) error {
		n, err := tx.Exec(ctx, revokeSessionRow, id, p.UserID, s.db.Now())
		if err != nil {
			return err
		}
		if n == 0 {
			return eonpro.Errorf(eonpro.ENOTFOUND, "Session not found.")
		}
		return recordAudit(ctx, tx, eonpro.AuditEvent{Action: action, ResourceType: "session", ResourceID: id})
	})
}

// Logout revokes the principal's current session.
func (s *AuthService) Logout(ctx context.Context) error {
	p := eonpro.PrincipalFromContext(ctx)
	if p == nil || p.SessionID == "" {
		return eonpro.Errorf(eonpro.EUNAUTHN, "Sign in first.")
	}
	return s.RevokeSession(ctx, p.SessionID)
}

func revokeUserSessions(ctx context.Context, tx *Tx, userID string, now time.Time) error {
	_, err := tx.Exec(ctx, revokeUserSessionRows, userID, now)
	return err
}
