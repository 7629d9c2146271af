package sqlstore

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/password"
)

// Authentication limits.
const (
	jwtTTL          = 15 * time.Minute
	mfaChallengeTTL = 5 * time.Minute
)

// AuthService implements eonpro.AuthService: passwords, 2FA, sessions,
// bearer tokens and API keys.
type AuthService struct {
	db     *DB
	notify eonpro.Notifier
	jwtKey []byte
	macKey []byte // keys HMACs of lockout subjects, phone numbers and codes
	sealer *sealer
	// sending counts messages handed to the background (see sendLater).
	sending sync.WaitGroup
	// Links are the web app's addresses in invitation and reset messages.
	Links Links
}

var _ eonpro.AuthService = (*AuthService)(nil)

// NewAuthService returns the auth service. secret (at least 32 bytes) is
// the root of the token signing, HMAC and 2FA-secret encryption keys.
func NewAuthService(db *DB, notify eonpro.Notifier, secret []byte) (*AuthService, error) {
	if len(secret) < 32 {
		return nil, fmt.Errorf("auth: secret must be at least 32 bytes")
	}
	derive := func(purpose string) []byte {
		k, err := hkdf.Key(sha256.New, secret, nil, "eonpro "+purpose, 32)
		if err != nil {
			panic(err) // only for lengths hkdf cannot produce
		}
		return k
	}
	sl, err := newSealer(derive("mfa secrets v1"))
	if err != nil {
		return nil, err
	}
	return &AuthService{db: db, notify: notify, jwtKey: derive("jwt v1"), macKey: derive("mac v1"), sealer: sl}, nil
}

// mac returns the hex HMAC of a purpose-tagged value: lockout subjects and
// phone numbers are stored this way, never in the clear.
func (s *AuthService) mac(purpose, v string) string {
	h := hmac.New(sha256.New, s.macKey)
	h.Write([]byte(purpose + "\x00" + v))
	return hex.EncodeToString(h.Sum(nil))
}

type claims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid"`
}

func (s *AuthService) signJWT(sessionID, userID string, now time.Time) (string, time.Time, error) {
	exp := now.Add(jwtTTL)
	c := claims{SessionID: sessionID, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: "eonpro", Subject: userID, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp)}}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.jwtKey)
	return tok, exp, err
}

var errBadToken = eonpro.Errorf(eonpro.EUNAUTHN, "The token is invalid or expired.")

func (s *AuthService) parseJWT(tok string) (*claims, error) {
	var c claims
	_, err := jwt.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return s.jwtKey, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer("eonpro"), jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.db.Now))
	if err != nil || c.SessionID == "" {
		return nil, errBadToken
	}
	return &c, nil
}

// Authenticate resolves a credential to a principal without a clinic.
func (s *AuthService) Authenticate(ctx context.Context, cred eonpro.Credential) (*eonpro.Principal, error) {
	switch {
	case strings.HasPrefix(cred.BearerToken, apiKeyPrefix):
		return s.authenticateAPIKey(ctx, cred.BearerToken)
	case cred.BearerToken != "":
		c, err := s.parseJWT(cred.BearerToken)
		if err != nil {
			return nil, err
		}
		p, err := s.liveSession(ctx, selectSessionByID, c.SessionID)
		if err != nil {
			return nil, err
		}
		// A token names its user and its session; both must agree, or a
		// token minted for one user could ride another's session.
		if c.Subject != p.UserID {
			return nil, errBadToken
		}
		return p, nil
	case cred.SessionToken != "":
		return s.liveSession(ctx, selectSessionByHash, hashToken(cred.SessionToken))
	}
	return nil, eonpro.Errorf(eonpro.EUNAUTHN, "Sign in first.")
}

var selectUserCredentials = Stmt{Name: "select_user_credentials", SQL: `
SELECT id, password_hash, status FROM users WHERE email_normalized = $1`}

var errBadLogin = eonpro.Errorf(eonpro.EUNAUTHN, "The e-mail or password is wrong.")

// Login checks an e-mail and password, then starts a session or an MFA
// challenge. Unknown e-mails cost the same password hash as known ones.
func (s *AuthService) Login(ctx context.Context, email, pw string, meta eonpro.RequestMeta) (*eonpro.LoginResult, error) {
	email = NormalizeEmail(email)
	lk := s.passwordLock(email, meta.IP)
	if err := s.locked(ctx, lk.subject); err != nil {
		return nil, err
	}
	var userID, hash, status string
	err := s.db.View(ctx, func(tx *Tx) error {
		return tx.QueryRow(ctx, selectUserCredentials, email).Scan(&userID, &hash, &status)
	})
	if err != nil && err != ErrNoRows {
		return nil, fmt.Errorf("login: %w", err)
	}
	ok := false
	if err == nil && hash != "" {
		ok, _ = password.Verify(pw, hash)
	} else {
		password.VerifyDummy(pw)
	}
	if !ok || status != eonpro.UserActive {
		if err := s.recordFailure(ctx, lk, failure{eonpro.ActionLoginFailed, "password", userID}); err != nil {
			return nil, fmt.Errorf("login: %w", err)
		}
		return nil, errBadLogin
	}
	var res *eonpro.LoginResult
	err = s.db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, deleteLoginFailures, lk.subject); err != nil {
			return err
		}
		res, err = s.afterFirstFactor(ctx, tx, userID, meta, "password")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	return res, nil
}

// afterFirstFactor issues an MFA challenge to enrolled users, and a
// session to everyone else (limited to enrolling when a clinic of theirs
// requires 2FA).
func (s *AuthService) afterFirstFactor(ctx context.Context, tx *Tx, userID string, meta eonpro.RequestMeta, method string) (*eonpro.LoginResult, error) {
	u, err := findUser(ctx, tx, selectUserByID, userID)
	if err != nil {
		return nil, err
	}
	ms, err := memberships(ctx, tx, userID)
	if err != nil {
		return nil, err
	}
	if u.MFAEnrolled {
		tok, err := s.issueToken(ctx, tx, tokenMFAChallenge, u.ID, "", mfaChallengeTTL)
		if err != nil {
			return nil, err
		}
		return &eonpro.LoginResult{MFARequired: true, MFAToken: tok}, nil
	}
	pol, err := policyFor(ctx, tx, ms)
	if err != nil {
		return nil, err
	}
	return s.createSession(ctx, tx, u, ms, pol, pol.mfaRequired, meta, method)
}

// Refresh issues a new bearer token for the principal's live session.
func (s *AuthService) Refresh(ctx context.Context) (*eonpro.LoginResult, error) {
	p := eonpro.PrincipalFromContext(ctx)
	if p == nil || p.SessionID == "" {
		return nil, eonpro.Errorf(eonpro.EUNAUTHN, "Only sessions can be refreshed.")
	}
	tok, exp, err := s.signJWT(p.SessionID, p.UserID, s.db.Now())
	if err != nil {
		return nil, err
	}
	return &eonpro.LoginResult{SessionID: p.SessionID, Token: tok, ExpiresAt: exp, MFAPending: p.MFAPending}, nil
}

// constantEqual compares two secrets in constant time.
func constantEqual(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
