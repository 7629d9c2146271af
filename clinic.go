package eonpro

import (
	"context"
	"slices"
	"time"
)

// Clinic statuses.
const (
	ClinicActive    = "active"
	ClinicSuspended = "suspended"
)

// Clinic is a tenant. Nothing of one clinic is ever visible to another.
type Clinic struct {
	ID        string         `json:"id"`
	Slug      string         `json:"slug"`
	Name      string         `json:"name"`
	Status    string         `json:"status"`
	TimeZone  string         `json:"time_zone"`
	Settings  ClinicSettings `json:"settings"`
	Domains   []string       `json:"domains"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// ClinicSettings are a clinic's branding, feature flags and security policy.
type ClinicSettings struct {
	Branding       Branding        `json:"branding"`
	FeatureFlags   map[string]bool `json:"feature_flags"`
	SecurityPolicy SecurityPolicy  `json:"security_policy"`
}

// Branding is how a clinic's pages look.
type Branding struct {
	PrimaryColor string `json:"primary_color"`
	LogoURL      string `json:"logo_url"`
	CustomCSS    string `json:"custom_css"`
}

// SecurityPolicy is a clinic's rules for its members' sign-in.
type SecurityPolicy struct {
	// MFARoles must use two-factor authentication.
	MFARoles []Role `json:"mfa_roles"`
	// IdleTimeoutMinutes ends a session after this long without use.
	IdleTimeoutMinutes int `json:"idle_timeout_minutes"`
	// AbsoluteSessionHours ends a session this long after sign-in.
	AbsoluteSessionHours int `json:"absolute_session_hours"`
}

// Ends reports whether the policy has ended, at now, a session that began
// at created and was last used at lastSeen. A clinic's policy ends its
// members' sessions in that clinic only: the same session may go on in a
// clinic whose policy is more lenient.
func (sp SecurityPolicy) Ends(created, lastSeen, now time.Time) bool {
	idle := time.Duration(sp.IdleTimeoutMinutes) * time.Minute
	abs := time.Duration(sp.AbsoluteSessionHours) * time.Hour
	return (idle > 0 && now.Sub(lastSeen) >= idle) || (abs > 0 && now.Sub(created) >= abs)
}

// RequiresMFA reports whether the policy makes role use 2FA.
func (sp SecurityPolicy) RequiresMFA(role Role) bool { return slices.Contains(sp.MFARoles, role) }

// DefaultSecurityPolicy: 2FA for every role but patient, 15 minutes idle,
// 12 hours at most.
func DefaultSecurityPolicy() SecurityPolicy {
	return SecurityPolicy{
		MFARoles:             []Role{RoleAdmin, RoleProvider, RoleStaff, RoleBilling, RoleAffiliate},
		IdleTimeoutMinutes:   15,
		AbsoluteSessionHours: 12,
	}
}

// ClinicUpdate holds the fields a clinic admin may change; nil means keep.
type ClinicUpdate struct {
	Name           *string         `json:"name"`
	TimeZone       *string         `json:"time_zone"`
	Branding       *Branding       `json:"branding"`
	FeatureFlags   map[string]bool `json:"feature_flags"`
	SecurityPolicy *SecurityPolicy `json:"security_policy"`
	Status         *string         `json:"status"`
	Domains        *[]string       `json:"domains"`
}

// ClinicService manages clinics.
type ClinicService interface {
	// CreateClinic makes a clinic with default settings. Super admins only
	// (and operators through the CLI, which runs as the system).
	// Returns EINVALID for a bad slug or name, ECONFLICT for a taken slug.
	CreateClinic(ctx context.Context, slug, name string) (*Clinic, error)
	// FindClinics lists every clinic. Super admins only.
	FindClinics(ctx context.Context) ([]*Clinic, error)
	// FindClinicByRef finds a clinic by slug or id, for tenant resolution.
	// Returns ENOTFOUND.
	FindClinicByRef(ctx context.Context, ref string) (*Clinic, error)
	// FindClinicByDomain finds the clinic that owns a custom domain.
	// Returns ENOTFOUND.
	FindClinicByDomain(ctx context.Context, host string) (*Clinic, error)
	// UpdateClinic changes the clinic of the context (clinic admins), or
	// any clinic (super admins, who may also change status and domains).
	// Returns ENOTFOUND, EFORBIDDEN, EINVALID naming the field.
	UpdateClinic(ctx context.Context, id string, upd ClinicUpdate) (*Clinic, error)
}

// Fields lists the JSON names of the fields the update sets, for audit
// events (names only: values may be long or sensitive).
func (u ClinicUpdate) Fields() []string {
	var out []string
	for name, set := range map[string]bool{
		"name": u.Name != nil, "time_zone": u.TimeZone != nil, "branding": u.Branding != nil,
		"feature_flags": u.FeatureFlags != nil, "security_policy": u.SecurityPolicy != nil,
		"status": u.Status != nil, "domains": u.Domains != nil,
	} {
		if set {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
