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

// Invitation is the input of InviteMember.
type Invitation struct {
	Email string `json:"email"`
	Name  string `json:"name"`
	Role  Role   `json:"role"`
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
	// InviteMember adds a member to the clinic of the context, creating
	// the user when new and sending a set-password link. Returns EINVALID,
	// ECONFLICT when already a member, EFORBIDDEN.
	InviteMember(ctx context.Context, inv Invitation) (*Member, error)
	// ChangeMemberRole sets a member's role and revokes their sessions.
	// Returns ENOTFOUND, EINVALID, EFORBIDDEN, ECONFLICT for the last admin.
	ChangeMemberRole(ctx context.Context, userID string, role Role) (*Member, error)
	// RemoveMember ends a membership and revokes the user's sessions.
	// Returns ENOTFOUND, EFORBIDDEN, ECONFLICT for the last admin.
	RemoveMember(ctx context.Context, userID string) error
}
