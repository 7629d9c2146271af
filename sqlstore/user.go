package sqlstore

import (
	"context"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/password"
)

// UserService implements eonpro.UserService.
type UserService struct {
	db     *DB
	notify eonpro.Notifier
	auth   *AuthService
}

var _ eonpro.UserService = (*UserService)(nil)

// NewUserService returns the user service on db; invitations go out
// through notify, and auth revokes sessions when memberships change.
func NewUserService(db *DB, notify eonpro.Notifier, auth *AuthService) *UserService {
	return &UserService{db: db, notify: notify, auth: auth}
}

// e164 is an international phone number: + and 8 to 15 digits.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)

// NormalizeEmail lower-cases and trims an e-mail address for lookups.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

func validEmail(email string) bool {
	a, err := mail.ParseAddress(email)
	return err == nil && a.Address == email && len(email) <= 254 && strings.Contains(email[strings.LastIndex(email, "@"):], ".")
}

const userColumns = `u.id, u.email, u.name, u.phone, u.status, u.super_admin, u.created_at, u.updated_at,
    EXISTS (SELECT 1 FROM mfa_factors f WHERE f.user_id = u.id AND f.confirmed_at IS NOT NULL)`

var (
	insertUser = Stmt{Name: "insert_user", SQL: `
INSERT INTO users (id, email_normalized, email, name, phone, password_hash, status, super_admin, created_at, updated_at, password_changed_at)
VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8, $8, $8)`}
	selectUserByID = Stmt{Name: "select_user_by_id", SQL: `
SELECT ` + userColumns + ` FROM users u WHERE u.id = $1`}
	selectUserByEmail = Stmt{Name: "select_user_by_email", SQL: `
SELECT ` + userColumns + ` FROM users u WHERE u.email_normalized = $1`}
	insertMembership = Stmt{Name: "insert_membership", SQL: `
INSERT INTO memberships (clinic_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)`}
	selectMemberships = Stmt{Name: "select_memberships", SQL: `
SELECT m.clinic_id, c.slug, c.name, m.user_id, m.role, m.created_at, m.sessions_not_before
FROM memberships m
JOIN clinics c ON c.id = m.clinic_id
WHERE m.user_id = $1
ORDER BY c.slug`}
	selectMembers = Stmt{Name: "select_members", SQL: `
SELECT m.clinic_id, c.slug, c.name, m.user_id, m.role, m.created_at, u.email, u.name, u.status
FROM memberships m
JOIN clinics c ON c.id = m.clinic_id
JOIN users u ON u.id = m.user_id
WHERE m.clinic_id = $1
ORDER BY u.email_normalized`}
	selectMember = Stmt{Name: "select_member", SQL: `
SELECT m.clinic_id, c.slug, c.name, m.user_id, m.role, m.created_at, u.email, u.name, u.status
FROM memberships m
JOIN clinics c ON c.id = m.clinic_id
JOIN users u ON u.id = m.user_id
WHERE m.clinic_id = $1 AND m.user_id = $2`}
	updateMemberRole = Stmt{Name: "update_member_role", SQL: `
UPDATE memberships SET role = $3, sessions_not_before = $4 WHERE clinic_id = $1 AND user_id = $2`}
	deleteMembership = Stmt{Name: "delete_membership", SQL: `
DELETE FROM memberships WHERE clinic_id = $1 AND user_id = $2`}
	// lockAdmins locks the admin rows so that two demotions or removals at
	// once cannot both see the other admin and leave none (write skew under
	// READ COMMITTED); SQLite has one writer, so it needs no lock.
	lockAdmins = Stmt{Name: "lock_clinic_admins", SQL: `
SELECT user_id FROM memberships WHERE clinic_id = $1 AND role = 'admin' FOR UPDATE`, SQLite: `
SELECT user_id FROM memberships WHERE clinic_id = $1 AND role = 'admin'`}
)

// CreateUser makes a user with a password (operators, through the CLI).
func (s *UserService) CreateUser(ctx context.Context, nu eonpro.NewUser) (*eonpro.User, error) {
	if p := eonpro.PrincipalFromContext(ctx); p != nil && !p.SuperAdmin {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "Only platform administrators may create users.")
	}
	u, err := newUser(nu)
	if err != nil {
		return nil, err
	}
	hash, err := password.Hash(nu.Password)
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	err = s.db.InTx(ctx, func(tx *Tx) error { return insertNewUser(ctx, tx, u, hash, s.db.Now()) })
	if err != nil {
		return nil, err
	}
	return u, nil
}

// newUser validates the input of a new user.
func newUser(nu eonpro.NewUser) (*eonpro.User, error) {
	fields := map[string]string{}
	email := strings.TrimSpace(nu.Email)
	if !validEmail(email) {
		fields["email"] = "must be a valid e-mail address"
	}
	name, clean := eonpro.CleanText(nu.Name)
	if !clean {
		fields["name"] = eonpro.InvisibleTextMessage
	} else if len(name) > 200 {
		fields["name"] = "must be at most 200 characters"
	}
	if nu.Phone != "" && !e164.MatchString(nu.Phone) {
		fields["phone"] = "must be in E.164 form, like +15125550100"
	}
	if nu.Password != "" {
		if err := password.Validate(nu.Password); err != nil {
			for k, v := range eonpro.ErrorFields(err) {
				fields[k] = v
			}
		}
	}
	if len(fields) > 0 {
		return nil, &eonpro.Error{Code: eonpro.EINVALID, Message: "Some fields are invalid.", Fields: fields}
	}
	return &eonpro.User{ID: eonpro.NewID(), Email: email, Name: name, Phone: nu.Phone,
		Status: eonpro.UserActive, SuperAdmin: nu.SuperAdmin}, nil
}

func insertNewUser(ctx context.Context, tx *Tx, u *eonpro.User, hash string, now time.Time) error {
	u.CreatedAt, u.UpdatedAt = now, now
	var phone *string
	if u.Phone != "" {
		phone = &u.Phone
	}
	_, err := tx.Exec(ctx, insertUser, u.ID, NormalizeEmail(u.Email), u.Email, u.Name, phone, hash, u.SuperAdmin, now)
	if eonpro.ErrorCode(err) == eonpro.ECONFLICT {
		return &eonpro.Error{Code: eonpro.ECONFLICT, Message: "A user with that e-mail or phone already exists.",
			Fields: map[string]string{"email": "is taken"}}
	}
	return err
}

func findUser(ctx context.Context, tx *Tx, stmt Stmt, arg string) (*eonpro.User, error) {
	var u eonpro.User
	var phone *string
	err := tx.QueryRow(ctx, stmt, arg).Scan(&u.ID, &u.Email, &u.Name, &phone, &u.Status, &u.SuperAdmin,
		&u.CreatedAt, &u.UpdatedAt, &u.MFAEnrolled)
	if err == ErrNoRows {
		return nil, eonpro.Errorf(eonpro.ENOTFOUND, "User not found.")
	} else if err != nil {
		return nil, err
	}
	if phone != nil {
		u.Phone = *phone
	}
	return &u, nil
}

// AddMembership gives a user a role in a clinic (operators).
func (s *UserService) AddMembership(ctx context.Context, userID, clinicID string, role eonpro.Role) error {
	if p := eonpro.PrincipalFromContext(ctx); p != nil && !p.SuperAdmin {
		return eonpro.Errorf(eonpro.EFORBIDDEN, "Only platform administrators may add memberships directly.")
	}
	if !role.Valid() {
		return eonpro.FieldError("role", "must be one of admin, provider, staff, billing, patient, affiliate")
	}
	err := s.db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, insertMembership, clinicID, userID, string(role), s.db.Now())
		return err
	})
	if eonpro.ErrorCode(err) == eonpro.ECONFLICT {
		return eonpro.Errorf(eonpro.ECONFLICT, "The user is already a member of the clinic.")
	}
	return err
}

// FindMemberships lists a user's clinics and roles.
func (s *UserService) FindMemberships(ctx context.Context, userID string) ([]*eonpro.Membership, error) {
	var out []*eonpro.Membership
	err := s.db.View(ctx, func(tx *Tx) (err error) {
		out, err = memberships(ctx, tx, userID)
		return err
	})
	return out, err
}

// FindMe returns the principal's own user.
func (s *UserService) FindMe(ctx context.Context) (*eonpro.User, error) {
	p := eonpro.PrincipalFromContext(ctx)
	if p == nil || p.UserID == "" {
		return nil, eonpro.Errorf(eonpro.EUNAUTHN, "Sign in first.")
	}
	var u *eonpro.User
	err := s.db.View(ctx, func(tx *Tx) (err error) {
		u, err = findUser(ctx, tx, selectUserByID, p.UserID)
		return err
	})
	return u, err
}

func memberships(ctx context.Context, tx *Tx, userID string) ([]*eonpro.Membership, error) {
	return queryAll(ctx, tx, selectMemberships, func(rows scanner) (*eonpro.Membership, error) {
		var m eonpro.Membership
		err := rows.Scan(&m.ClinicID, &m.ClinicSlug, &m.ClinicName, &m.UserID, &m.Role, &m.CreatedAt, &m.SessionsNotBefore)
		return &m, err
	}, userID)
}

func scanMember(rows scanner) (*eonpro.Member, error) {
	var m eonpro.Member
	err := rows.Scan(&m.ClinicID, &m.ClinicSlug, &m.ClinicName, &m.UserID, &m.Role, &m.CreatedAt, &m.Email, &m.Name, &m.Status)
	return &m, err
}

// FindMembers lists the members of the clinic of the request.
func (s *UserService) FindMembers(ctx context.Context) ([]*eonpro.Member, error) {
	p := eonpro.PrincipalFromContext(ctx)
	if !p.Can(eonpro.PermMembersRead) {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "You may not list members.")
	}
	var out []*eonpro.Member
	err := s.db.ViewClinic(ctx, p.ClinicID, func(tx *Tx) (err error) {
		out, err = queryAll(ctx, tx, selectMembers, scanMember, p.ClinicID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("find members: %w", err)
	}
	return out, nil
}

func findMember(ctx context.Context, tx *Tx, clinicID, userID string) (*eonpro.Member, error) {
	m, err := scanMember(tx.QueryRow(ctx, selectMember, clinicID, userID))
	if err == ErrNoRows {
		return nil, eonpro.Errorf(eonpro.ENOTFOUND, "Member not found.")
	}
	return m, err
}

// ChangeMemberRole sets a member's role in the clinic of the request and
// ends their sessions in this clinic only: they sign in again to act here
// in the new role, and their sessions in other clinics go on.
func (s *UserService) ChangeMemberRole(ctx context.Context, userID string, role eonpro.Role) (*eonpro.Member, error) {
	p := eonpro.PrincipalFromContext(ctx)
	if !p.Can(eonpro.PermMembersManage) {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "You may not change roles.")
	}
	if !role.Valid() {
		return nil, eonpro.FieldError("role", "must be one of admin, provider, staff, billing, patient, affiliate")
	}
	var m *eonpro.Member
	err := s.db.InClinic(ctx, p.ClinicID, func(tx *Tx) (err error) {
		if m, err = findMember(ctx, tx, p.ClinicID, userID); err != nil {
			return err
		}
		if m.Role == eonpro.RoleAdmin && role != eonpro.RoleAdmin {
			if err := keepAnAdmin(ctx, tx, p.ClinicID); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, updateMemberRole, p.ClinicID, userID, string(role), s.db.Now()); err != nil {
			return err
		}
		old := m.Role
		m.Role = role
		return recordAudit(ctx, tx, eonpro.AuditEvent{Action: eonpro.ActionMemberRoleChanged, ResourceType: "user", ResourceID: userID,
			Detail: map[string]string{"from": string(old), "to": string(role)}})
	})
	if err != nil {
		return nil, fmt.Errorf("change role: %w", err)
	}
	return m, nil
}

func keepAnAdmin(ctx context.Context, tx *Tx, clinicID string) error {
	admins, err := queryAll(ctx, tx, lockAdmins, scanString, clinicID)
	if err != nil {
		return err
	}
	if len(admins) <= 1 {
		return eonpro.Errorf(eonpro.ECONFLICT, "A clinic must keep at least one admin.")
	}
	return nil
}

// RemoveMember ends a membership in the clinic of the request: the user's
// sessions no longer act here, and go on in their other clinics.
func (s *UserService) RemoveMember(ctx context.Context, userID string) error {
	p := eonpro.PrincipalFromContext(ctx)
	if !p.Can(eonpro.PermMembersManage) {
		return eonpro.Errorf(eonpro.EFORBIDDEN, "You may not remove members.")
	}
	err := s.db.InClinic(ctx, p.ClinicID, func(tx *Tx) error {
		m, err := findMember(ctx, tx, p.ClinicID, userID)
		if err != nil {
			return err
		}
		if m.Role == eonpro.RoleAdmin {
			if err := keepAnAdmin(ctx, tx, p.ClinicID); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, deleteMembership, p.ClinicID, userID); err != nil {
			return err
		}
		return recordAudit(ctx, tx, eonpro.AuditEvent{Action: eonpro.ActionMemberRemoved, ResourceType: "user", ResourceID: userID,
			Detail: map[string]string{"role": string(m.Role)}})
	})
	if err != nil {
		return fmt.Errorf("remove member: %w", err)
	}
	return nil
}
