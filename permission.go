package eonpro

import "slices"

// Role is a user's role in one clinic.
type Role string

// The clinic roles. super_admin is platform-wide and is a flag on the user.
const (
	RoleAdmin     Role = "admin"
	RoleProvider  Role = "provider"
	RoleStaff     Role = "staff"
	RoleBilling   Role = "billing"
	RolePatient   Role = "patient"
	RoleAffiliate Role = "affiliate"
)

// Roles lists every clinic role.
var Roles = []Role{RoleAdmin, RoleProvider, RoleStaff, RoleBilling, RolePatient, RoleAffiliate}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Permission is what a route or an API key needs. Clinic permissions are
// granted by a role in the clinic of the request; the two pseudo
// permissions PermPublic and PermSelf need no clinic.
type Permission string

// Permissions. docs/permissions.md is generated from RolePermissions.
const (
	// PermPublic: anyone, signed in or not (login, password reset).
	PermPublic Permission = "public"
	// PermSelf: any signed-in user, about themselves (me, sessions).
	PermSelf Permission = "self"
	// PermEnroll: any signed-in user, including one whose session is
	// limited to enrolling in 2FA (me, 2FA enrolment, sign-out).
	PermEnroll Permission = "self:enroll"
	// PermPlatformAdmin: super admins only (the clinic list).
	PermPlatformAdmin Permission = "platform:admin"

	PermClinicRead     Permission = "clinic:read"
	PermClinicManage   Permission = "clinic:manage"
	PermMembersRead    Permission = "members:read"
	PermMembersManage  Permission = "members:manage"
	PermAPIKeysManage  Permission = "apikeys:manage"
	PermAuditRead      Permission = "audit:read"
	PermPatientsRead   Permission = "patients:read"
	PermPatientsWrite  Permission = "patients:write"
	PermProvidersRead  Permission = "providers:read"
	PermProvidersWrite Permission = "providers:write"
	PermBillingRead    Permission = "billing:read"
	PermBillingWrite   Permission = "billing:write"
	PermOwnRecord      Permission = "own_record"
	PermAffiliateRead  Permission = "affiliate:read"
)

// RolePermissions is the one table of what each role may do.
var RolePermissions = map[Role][]Permission{
	RoleAdmin: {PermClinicRead, PermClinicManage, PermMembersRead, PermMembersManage, PermAPIKeysManage,
		PermAuditRead, PermPatientsRead, PermPatientsWrite, PermProvidersRead, PermProvidersWrite,
		PermBillingRead, PermBillingWrite},
	RoleProvider:  {PermClinicRead, PermMembersRead, PermPatientsRead, PermPatientsWrite, PermProvidersRead},
	RoleStaff:     {PermClinicRead, PermMembersRead, PermPatientsRead, PermPatientsWrite, PermProvidersRead},
	RoleBilling:   {PermClinicRead, PermPatientsRead, PermProvidersRead, PermBillingRead, PermBillingWrite},
	RolePatient:   {PermClinicRead, PermOwnRecord},
	RoleAffiliate: {PermClinicRead, PermAffiliateRead},
}

// Has reports whether role r grants p.
func (r Role) Has(p Permission) bool { return slices.Contains(RolePermissions[r], p) }

// ClinicPermissions lists every permission a role can grant, in order.
func ClinicPermissions() []Permission {
	var out []Permission
	for _, r := range Roles {
		for _, p := range RolePermissions[r] {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}
