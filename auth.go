package eonpro

import (
	"context"
	"slices"
	"time"
)

// Principal is who is acting: a signed-in user (through a session) or an
// API key, with the clinic of the request and their role there. Set only
// by the authentication middleware.
type Principal struct {
	UserID     string
	SessionID  string // empty for API keys
	APIKeyID   string // empty for sessions
	SuperAdmin bool
	// MFAPending limits a session to enrolling in 2FA: a clinic of the
	// user required it at sign-in and, when the request names a clinic,
	// that clinic requires 2FA of the role and the user has none yet.
	MFAPending bool
	// MFAEnrolled tells whether the user has confirmed a 2FA factor.
	MFAEnrolled bool
	// SessionCreatedAt and SessionLastSeenAt are the session's sign-in
	// and last use before this request, against which the clinic of the
	// request applies its own security policy (see AuthService.Admit).
	SessionCreatedAt, SessionLastSeenAt time.Time
	// SessionIdle is the session's own idle timeout (the most lenient of
	// the user's clinics' when it began).
	SessionIdle time.Duration

	// ClinicID is the clinic of the request ("" when none was named).
	ClinicID string
	// Role is the principal's role in ClinicID ("" when not a member).
	Role Role
	// Permissions are what the principal may do in ClinicID: the role's
	// permissions, narrowed to an API key's own list.
	Permissions []Permission
}

// Can reports whether the principal holds p in the clinic of the request.
func (p *Principal) Can(perm Permission) bool {
	return p != nil && slices.Contains(p.Permissions, perm)
}

const principalKey contextKey = 100

// NewContextWithPrincipal returns a copy of ctx carrying p.
func NewContextWithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey, p)
}

// PrincipalFromContext returns the principal of ctx, or nil.
func PrincipalFromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey).(*Principal)
	return p
}

// ClinicIDFromContext returns the verified clinic of the request, or "".
func ClinicIDFromContext(ctx context.Context) string {
	if p := PrincipalFromContext(ctx); p != nil {
		return p.ClinicID
	}
	return ""
}

// RequestMeta describes where a request came from, for sessions and logs.
type RequestMeta struct {
	IP        string
	UserAgent string
}

// LoginResult is the answer to a successful first factor: either a session
// (Token, ExpiresAt, SessionToken) or an MFA challenge (MFAToken).
type LoginResult struct {
	User        *User
	Memberships []*Membership
	// MFARequired means no session yet: answer the challenge with MFAToken.
	MFARequired bool
	MFAToken    string
	// MFAPending means the session may only enrol in 2FA.
	MFAPending bool

	SessionID string
	// SessionToken is the opaque cookie value (stored only hashed).
	SessionToken string
	// Token is the short-lived signed bearer token and its expiry.
	Token     string
	ExpiresAt time.Time
}

// Session is a server-side sign-in, listed for its owner.
type Session struct {
	ID         string     `json:"id"`
	ClinicID   string     `json:"clinic_id,omitempty"`
	IP         string     `json:"ip"`
	UserAgent  string     `json:"user_agent"`
	CreatedAt  time.Time  `json:"created_at"`
	LastSeenAt time.Time  `json:"last_seen_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	Current    bool       `json:"current"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// AuthService signs people in and out and tells who a request is from.
type AuthService interface {
	// Login checks an e-mail and password. Wrong password and unknown
	// e-mail both return EUNAUTHN; ERATELIMITED once the account is
	// locked out from the caller's address (see RequestUnlock).
	Login(ctx context.Context, email, password string, meta RequestMeta) (*LoginResult, error)
	// VerifyMFA answers a login's MFA challenge with a TOTP or backup code.
	// Returns EUNAUTHN for a bad token or code.
	VerifyMFA(ctx context.Context, mfaToken, code string, meta RequestMeta) (*LoginResult, error)
	// Authenticate resolves a session cookie, a bearer JWT or an API key
	// to a principal (without a clinic). It does not count as use of the
	// session: Admit does, once the request is let in. Returns EUNAUTHN.
	Authenticate(ctx context.Context, credential Credential) (*Principal, error)
	// Admit applies the security policy of the clinic the principal acts
	// in (c, nil for none) to its session, with m the principal's
	// membership there (nil for a super admin's entry): it refuses a
	// session the clinic's idle or absolute limit has ended, or that
	// began before the clinic ended its member's sessions, and limits
	// the session to enrolling in 2FA (MFAPending) where the clinic
	// requires 2FA of the role. One clinic's policy never ends or limits
	// the session elsewhere. Then it counts the request as use of the
	// session. API keys pass. Returns EUNAUTHN.
	Admit(ctx context.Context, p *Principal, c *Clinic, m *Membership) error
	// Refresh issues a new bearer token for the principal's live session.
	Refresh(ctx context.Context) (*LoginResult, error)
	// Logout revokes the principal's session.
	Logout(ctx context.Context) error
	// FindSessions lists the principal's live sessions.
	FindSessions(ctx context.Context) ([]*Session, error)
	// RevokeSession revokes one of the principal's sessions. ENOTFOUND.
	RevokeSession(ctx context.Context, id string) error

	// EnrollTOTP starts TOTP enrolment. ECONFLICT when already enrolled.
	EnrollTOTP(ctx context.Context) (secret, otpauthURL string, err error)
	// ConfirmTOTP finishes enrolment and returns ten backup codes.
	// EINVALID for a wrong code, ENOTFOUND without enrolment.
	ConfirmTOTP(ctx context.Context, code string) ([]string, error)
	// DisableMFA turns 2FA off; EINVALID for a wrong password or code.
	DisableMFA(ctx context.Context, password, code string) error

	// ForgotPassword sends a reset code when the e-mail is a user's.
	ForgotPassword(ctx context.Context, email string) error
	// ResetPassword sets a password with a reset or invitation code and
	// revokes the user's sessions. EUNAUTHN for a bad code, EINVALID.
	ResetPassword(ctx context.Context, token, password string) error
	// RequestUnlock e-mails a one-time code that unlocks the account when
	// the e-mail is an active user's and the account is locked out from
	// the caller's address; otherwise it does nothing, at the same cost.
	RequestUnlock(ctx context.Context, email string, meta RequestMeta) error
	// Unlock clears the account's lockout from every address with a code
	// of RequestUnlock, once. EUNAUTHN for a wrong, used or expired code
	// (which counts as a failed sign-in).
	Unlock(ctx context.Context, email, code string, meta RequestMeta) error
	// ChangePassword checks the current password, sets the new one and
	// revokes the user's sessions. EINVALID naming the field.
	ChangePassword(ctx context.Context, current, next string) error

	// SendPhoneCode texts a sign-in code to a registered phone.
	SendPhoneCode(ctx context.Context, phone string) error
	// VerifyPhoneCode signs in with a phone code. EUNAUTHN.
	VerifyPhoneCode(ctx context.Context, phone, code string, meta RequestMeta) (*LoginResult, error)

	// CreateAPIKey makes a key for the clinic of the request with at most
	// the creator's permissions. EINVALID, EFORBIDDEN.
	CreateAPIKey(ctx context.Context, name string, perms []Permission) (*APIKey, error)
	// FindAPIKeys lists the clinic's keys without secrets.
	FindAPIKeys(ctx context.Context) ([]*APIKey, error)
	// RevokeAPIKey revokes a key of the clinic. ENOTFOUND.
	RevokeAPIKey(ctx context.Context, id string) error
}

// Credential is what a request presented.
type Credential struct {
	SessionToken string // from the cookie
	BearerToken  string // JWT or API key, from Authorization
}
