package eonpro

import (
	"context"
	"time"
)

// User statuses.
const (
	UserActive   = "active"
	UserDisabled = "disabled"
)

// User is a person who signs in. One user may belong to many clinics.
type User struct {
	ID          string    `json:"id"`
	Email       string    `json:"email"`
	Name        string    `json:"name"`
	Phone       string    `json:"phone,omitempty"`
	Status      string    `json:"status"`
	SuperAdmin  bool      `json:"super_admin"`
	MFAEnrolled bool      `json:"mfa_enrolled"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Membership is a user's role in one clinic.
type Membership struct {
	ClinicID   string    `json:"clinic_id"`
	ClinicSlug string    `json:"clinic_slug"`
	ClinicName string    `json:"clinic_name"`
	UserID     string    `json:"user_id"`
	Role       Role      `json:"role"`
	CreatedAt  time.Time `json:"created_at"`
	// SessionsNotBefore ends, in this clinic only, the user's sessions
	// that began before it (set when the clinic changes the role).
	SessionsNotBefore *time.Time `json:"-"`
}

// Member is a membership with the user's name and e-mail, for clinic admins.
type Member struct {
	Membership
	Email  string `json:"email"`
	Name   string `json:"name"`
	Status string `json:"status"`
}

// NewUser is the input of CreateUser.
type NewUser struct {
	Email      string
	Password   string
	Name       string
	Phone      string
	SuperAdmin bool
}

// NewInvitation is the input of InviteMember.
type NewInvitation struct {
	Email string `json:"email"`
	Name  string `json:"name"`
	Role  Role   `json:"role"`
}

// Invitation statuses.
const (
	InvitationPending  = "pending"
	InvitationAccepted = "accepted"
	InvitationDeclined = "declined"
	InvitationRevoked  = "revoked"
)

// Invitation asks a person to join a clinic in a role. No membership
// exists until the person accepts it, and the inviting clinic learns
// nothing about whether the address already has an account: the answer
// and the record are the same either way.
type Invitation struct {
	ID         string    `json:"id"`
	ClinicID   string    `json:"clinic_id"`
	ClinicSlug string    `json:"clinic_slug"`
	ClinicName string    `json:"clinic_name"`
	Email      string    `json:"email"`
	Name       string    `json:"name"`
	Role       Role      `json:"role"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// UserService manages users and their memberships.
type UserService interface {
	// CreateUser makes a user (operators, through the CLI). Returns
	// EINVALID naming the field, ECONFLICT for a taken e-mail.
	CreateUser(ctx context.Context, u NewUser) (*User, error)
	// AddMembership gives a user a role in a clinic (operators). Returns
	// ENOTFOUND, EINVALID, ECONFLICT when already a member.
	AddMembership(ctx context.Context, userID, clinicID string, role Role) error
	// FindMemberships lists a user's clinics and roles.
	FindMemberships(ctx context.Context, userID string) ([]*Membership, error)
	// FindMe returns the signed-in user. Returns EUNAUTHN without one.
	FindMe(ctx context.Context) (*User, error)
	// FindMembers lists the members of the clinic of the context.
	FindMembers(ctx context.Context) ([]*Member, error)
	// InviteMember invites a person to the clinic of the context and
	// e-mails them: a set-password code when the address has no account,
	// a request to sign in and accept when it has one. Either way the
	// answer is the same pending invitation (a pending one to the same
	// address is replaced). Returns EINVALID, ECONFLICT when the address
	// is already a member's, EFORBIDDEN.
	InviteMember(ctx context.Context, inv NewInvitation) (*Invitation, error)
	// FindInvitations lists the pending invitations of the clinic of the
	// context. Returns EFORBIDDEN.
	FindInvitations(ctx context.Context) ([]*Invitation, error)
	// RevokeInvitation withdraws a pending invitation of the clinic of
	// the context. Returns ENOTFOUND, EFORBIDDEN.
	RevokeInvitation(ctx context.Context, id string) error
	// FindMyInvitations lists the pending invitations to the signed-in
	// user's address. Returns EUNAUTHN.
	FindMyInvitations(ctx context.Context) ([]*Invitation, error)
	// AcceptInvitation makes the signed-in user a member as the pending
	// invitation to their address says. Returns ENOTFOUND for any other.
	AcceptInvitation(ctx context.Context, id string) (*Membership, error)
	// DeclineInvitation declines a pending invitation to the signed-in
	// user's address. Returns ENOTFOUND for any other.
	DeclineInvitation(ctx context.Context, id string) error
	// ChangeMemberRole sets a member's role and ends the member's sessions
	// in this clinic only (they sign in again to act here; their sessions
	// elsewhere go on). Returns ENOTFOUND, EINVALID, EFORBIDDEN, ECONFLICT
	// for the last admin.
	ChangeMemberRole(ctx context.Context, userID string, role Role) (*Member, error)
	// RemoveMember ends a membership; the user's sessions in other
	// clinics go on. Returns ENOTFOUND, EFORBIDDEN, ECONFLICT for the
	// last admin.
	RemoveMember(ctx context.Context, userID string) error
}
