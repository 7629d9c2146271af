package sqlstore

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/eonpro/eonpro"
)

const invitationColumns = `i.id, i.clinic_id, c.slug, c.name, i.email, i.name, i.role, i.status, i.created_at, i.expires_at`

var (
	insertInvitation = Stmt{Name: "insert_invitation", SQL: `
INSERT INTO invitations (id, clinic_id, email_normalized, email, name, role, invited_by, status, token_hash, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $10)`}
	// replacePendingInvitation withdraws the clinic's pending invitation
	// to an address before a new one is sent (one pending per address).
	replacePendingInvitation = Stmt{Name: "replace_pending_invitation", SQL: `
UPDATE invitations SET status = 'revoked', answered_at = $3
WHERE clinic_id = $1 AND email_normalized = $2 AND status = 'pending'`}
	selectMemberByEmail = Stmt{Name: "select_member_by_email", SQL: `
SELECT m.user_id
FROM memberships m
JOIN users u ON u.id = m.user_id
WHERE m.clinic_id = $1 AND u.email_normalized = $2`}
	// selectAccountEmail is the address an account has on file, if any.
	selectAccountEmail = Stmt{Name: "select_account_email", SQL: `
SELECT coalesce(max(email), '') FROM users WHERE email_normalized = $1`}
	selectClinicInvitations = Stmt{Name: "select_clinic_invitations", SQL: `
SELECT ` + invitationColumns + `
FROM invitations i
JOIN clinics c ON c.id = i.clinic_id
WHERE i.clinic_id = $1 AND i.status = 'pending' AND i.expires_at > $2
ORDER BY i.created_at DESC`}
	selectEmailInvitations = Stmt{Name: "select_email_invitations", SQL: `
SELECT ` + invitationColumns + `
FROM invitations i
JOIN clinics c ON c.id = i.clinic_id
WHERE i.email_normalized = $1 AND i.status = 'pending' AND i.expires_at > $2 AND c.status = 'active'
ORDER BY i.created_at DESC`}
	selectEmailInvitation = Stmt{Name: "select_email_invitation", SQL: `
SELECT ` + invitationColumns + `
FROM invitations i
JOIN clinics c ON c.id = i.clinic_id
WHERE i.id = $1 AND i.email_normalized = $2 AND i.status = 'pending' AND i.expires_at > $3 AND c.status = 'active'`}
	selectTokenInvitation = Stmt{Name: "select_token_invitation", SQL: `
SELECT ` + invitationColumns + `
FROM invitations i
JOIN clinics c ON c.id = i.clinic_id
WHERE i.token_hash = $1 AND i.status = 'pending' AND i.expires_at > $2`}
	answerInvitation = Stmt{Name: "answer_invitation", SQL: `
UPDATE invitations SET status = $3, answered_at = $4
WHERE clinic_id = $1 AND id = $2 AND status = 'pending'`}
	insertMembershipIfNone = Stmt{Name: "insert_membership_if_none", SQL: `
INSERT INTO memberships (clinic_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (clinic_id, user_id) DO NOTHING`}
)

func scanInvitation(rows scanner) (*eonpro.Invitation, error) {
	var inv eonpro.Invitation
	err := rows.Scan(&inv.ID, &inv.ClinicID, &inv.ClinicSlug, &inv.ClinicName, &inv.Email, &inv.Name, &inv.Role, &inv.Status,
		&inv.CreatedAt, &inv.ExpiresAt)
	return &inv, err
}

// validInvitation checks an invitation's input: an address, a role and an
// optional name.
func validInvitation(in eonpro.NewInvitation) (eonpro.NewInvitation, error) {
	fields := map[string]string{}
	name, ok := eonpro.CleanText(in.Name)
	if !ok {
		fields["name"] = eonpro.InvisibleTextMessage
	}
	in.Email, in.Name = strings.TrimSpace(in.Email), name
	if !validEmail(in.Email) {
		fields["email"] = "must be a valid e-mail address"
	}
	if !in.Role.Valid() {
		fields["role"] = "must be one of admin, provider, staff, billing, patient, affiliate"
	}
	if len(in.Name) > 200 {
		fields["name"] = "must be at most 200 characters"
	}
	if len(fields) > 0 {
		return in, &eonpro.Error{Code: eonpro.EINVALID, Message: "Some fields are invalid.", Fields: fields}
	}
	return in, nil
}

// InviteMember invites a person to the clinic of the request. No
// membership is made: the person accepts, signed in as the address (an
// existing account) or by setting a password with the e-mailed code (a new
// one). The clinic's answer, the record and the work done are the same in
// both cases, so an invitation tells a clinic nothing about an account.
func (s *UserService) InviteMember(ctx context.Context, in eonpro.NewInvitation) (*eonpro.Invitation, error) {
	p := eonpro.PrincipalFromContext(ctx)
	if !p.Can(eonpro.PermMembersManage) {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "You may not invite members.")
	}
	in, err := validInvitation(in)
	if err != nil {
		return nil, err
	}
	var inv *eonpro.Invitation
	var tok, to string
	var exists bool
	err = s.db.InClinic(ctx, p.ClinicID, func(tx *Tx) error {
		now, email := s.db.Now(), NormalizeEmail(in.Email)
		members, err := queryAll(ctx, tx, selectMemberByEmail, scanString, p.ClinicID, email)
		if err != nil {
			return err
		}
		if len(members) > 0 {
			return &eonpro.Error{Code: eonpro.ECONFLICT, Message: "That person is already a member.", Fields: map[string]string{"email": "is already a member"}}
		}
		if err := tx.QueryRow(ctx, selectAccountEmail, email).Scan(&to); err != nil {
			return err
		}
		exists = to != ""
		if _, err := tx.Exec(ctx, replacePendingInvitation, p.ClinicID, email, now); err != nil {
			return err
		}
		var hash []byte
		tok, hash = newToken()
		id := eonpro.NewID()
		if _, err := tx.Exec(ctx, insertInvitation, id, p.ClinicID, email, in.Email, in.Name, string(in.Role), nullable(p.UserID),
			hash, now, now.Add(invitationTTL)); err != nil {
			return err
		}
		if inv, err = scanInvitation(tx.QueryRow(ctx, selectTokenInvitation, hash, now)); err != nil {
			return err
		}
		return recordAudit(ctx, tx, eonpro.AuditEvent{Action: eonpro.ActionMemberInvited, ResourceType: "invitation", ResourceID: id,
			Detail: map[string]string{"role": string(in.Role)}})
	})
	if err != nil {
		return nil, fmt.Errorf("invite member: %w", err)
	}
	msg := invitationMessage(inv, tok, exists, s.links())
	if exists {
		msg.To = to // the address as the account has it
	}
	if err := s.notify.Notify(ctx, msg); err != nil {
		return nil, fmt.Errorf("invite member: %w", err)
	}
	return inv, nil
}

func (s *UserService) links() Links {
	if s.auth != nil {
		return s.auth.Links
	}
	return Links{}
}

// invitationMessage is the invitee's e-mail: a set-password code for an
// address without an account; otherwise a request to sign in and accept
// (the code is then of no use: accepting needs the account's sign-in).
func invitationMessage(inv *eonpro.Invitation, token string, exists bool, links Links) eonpro.Message {
	subject := "Your invitation to " + inv.ClinicName
	if exists {
		body := fmt.Sprintf("You have been invited to join %s as %s. Sign in with your existing account to accept or decline; "+
			"nothing changes until you do. The invitation is valid for 7 days.", inv.ClinicName, inv.Role)
		if at := links.page(inv.ClinicSlug, "/invitations", nil); at != "" {
			body += "\n" + at
		}
		return eonpro.Message{Channel: eonpro.ChannelEmail, To: inv.Email, Subject: subject, Body: body}
	}
	body := fmt.Sprintf("You have been invited to %s as %s. Set your password with this code within 7 days: %s", inv.ClinicName, inv.Role, token)
	if at := links.page(inv.ClinicSlug, "/set-password", url.Values{"token": {token}}); at != "" {
		body += "\nOr open: " + at
	}
	return eonpro.Message{Channel: eonpro.ChannelEmail, To: inv.Email, Subject: subject, Body: body}
}

// FindInvitations lists the clinic's pending invitations.
func (s *UserService) FindInvitations(ctx context.Context) ([]*eonpro.Invitation, error) {
	p := eonpro.PrincipalFromContext(ctx)
	if !p.Can(eonpro.PermMembersRead) {
		return nil, eonpro.Errorf(eonpro.EFORBIDDEN, "You may not list invitations.")
	}
	var out []*eonpro.Invitation
	err := s.db.ViewClinic(ctx, p.ClinicID, func(tx *Tx) (err error) {
		out, err = queryAll(ctx, tx, selectClinicInvitations, scanInvitation, p.ClinicID, s.db.Now())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("find invitations: %w", err)
	}
	return out, nil
}

// RevokeInvitation withdraws a pending invitation of the clinic.
func (s *UserService) RevokeInvitation(ctx context.Context, id string) error {
	p := eonpro.PrincipalFromContext(ctx)
	if !p.Can(eonpro.PermMembersManage) {
		return eonpro.Errorf(eonpro.EFORBIDDEN, "You may not withdraw invitations.")
	}
	err := s.db.InClinic(ctx, p.ClinicID, func(tx *Tx) error {
		n, err := tx.Exec(ctx, answerInvitation, p.ClinicID, id, eonpro.InvitationRevoked, s.db.Now())
		if err != nil {
			return err
		}
		if n == 0 {
			return eonpro.Errorf(eonpro.ENOTFOUND, "Invitation not found.")
		}
		return recordAudit(ctx, tx, eonpro.AuditEvent{Action: eonpro.ActionInvitationRevoked, ResourceType: "invitation", ResourceID: id})
	})
	if err != nil {
		return fmt.Errorf("revoke invitation: %w", err)
	}
	return nil
}

// FindMyInvitations lists the pending invitations to the signed-in
// user's address, of active clinics.
func (s *UserService) FindMyInvitations(ctx context.Context) ([]*eonpro.Invitation, error) {
	p := eonpro.PrincipalFromContext(ctx)
	if p == nil || p.UserID == "" || p.APIKeyID != "" {
		return nil, eonpro.Errorf(eonpro.EUNAUTHN, "Sign in first.")
	}
	var out []*eonpro.Invitation
	err := s.db.View(ctx, func(tx *Tx) error {
		u, err := findUser(ctx, tx, selectUserByID, p.UserID)
		if err != nil {
			return err
		}
		out, err = queryAll(ctx, tx, selectEmailInvitations, scanInvitation, NormalizeEmail(u.Email), s.db.Now())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("find my invitations: %w", err)
	}
	return out, nil
}

// AcceptInvitation makes the signed-in user a member as their pending
// invitation says, recorded in the clinic's audit chain.
func (s *UserService) AcceptInvitation(ctx context.Context, id string) (*eonpro.Membership, error) {
	var m *eonpro.Membership
	err := s.answerMine(ctx, id, eonpro.InvitationAccepted, func(tx *Tx, inv *eonpro.Invitation, userID string) (err error) {
		m, err = joinClinic(ctx, tx, inv, userID, s.db.Now())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("accept invitation: %w", err)
	}
	return m, nil
}

// DeclineInvitation declines a pending invitation to the user's address.
func (s *UserService) DeclineInvitation(ctx context.Context, id string) error {
	err := s.answerMine(ctx, id, eonpro.InvitationDeclined, func(tx *Tx, inv *eonpro.Invitation, userID string) error {
		return recordAudit(ctx, tx, eonpro.AuditEvent{ClinicID: inv.ClinicID, Action: eonpro.ActionInvitationDeclined,
			ActorType: eonpro.ActorUser, ActorID: userID, ResourceType: "invitation", ResourceID: inv.ID})
	})
	if err != nil {
		return fmt.Errorf("decline invitation: %w", err)
	}
	return nil
}

// answerMine sets the status of a pending invitation to the signed-in
// user's address and runs then in the same transaction. Any other
// invitation (another address, answered, expired) is ENOTFOUND.
func (s *UserService) answerMine(ctx context.Context, id, status string, then func(*Tx, *eonpro.Invitation, string) error) error {
	p := eonpro.PrincipalFromContext(ctx)
	if p == nil || p.UserID == "" || p.APIKeyID != "" {
		return eonpro.Errorf(eonpro.EUNAUTHN, "Sign in first.")
	}
	return s.db.InTx(ctx, func(tx *Tx) error {
		now := s.db.Now()
		u, err := findUser(ctx, tx, selectUserByID, p.UserID)
		if err != nil {
			return err
		}
		inv, err := scanInvitation(tx.QueryRow(ctx, selectEmailInvitation, id, NormalizeEmail(u.Email), now))
		if err == ErrNoRows {
			return eonpro.Errorf(eonpro.ENOTFOUND, "Invitation not found.")
		} else if err != nil {
			return err
		}
		if n, err := tx.Exec(ctx, answerInvitation, inv.ClinicID, inv.ID, status, now); err != nil {
			return err
		} else if n == 0 {
			return eonpro.Errorf(eonpro.ENOTFOUND, "Invitation not found.")
		}
		return then(tx, inv, p.UserID)
	})
}

// joinClinic makes the user a member as inv says (keeping the role of a
// membership that already exists) and records it in the clinic's chain.
func joinClinic(ctx context.Context, tx *Tx, inv *eonpro.Invitation, userID string, now time.Time) (*eonpro.Membership, error) {
	if _, err := tx.Exec(ctx, insertMembershipIfNone, inv.ClinicID, userID, string(inv.Role), now); err != nil {
		return nil, err
	}
	err := recordAudit(ctx, tx, eonpro.AuditEvent{ClinicID: inv.ClinicID, Action: eonpro.ActionInvitationAccepted,
		ActorType: eonpro.ActorUser, ActorID: userID, ResourceType: "invitation", ResourceID: inv.ID,
		Detail: map[string]string{"role": string(inv.Role)}})
	if err != nil {
		return nil, err
	}
	ms, err := memberships(ctx, tx, userID)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.ClinicID == inv.ClinicID {
			return m, nil
		}
	}
	return nil, fmt.Errorf("join clinic: membership missing after insert")
}

// acceptByToken answers a pending invitation with the e-mailed code and
// the password the person chose: the account of the invited address is
// made (or, when one was made since, its password set), and it joins the
// clinic. Returns the user id, or EUNAUTHN for a code no invitation has.
func (s *AuthService) acceptByToken(ctx context.Context, tx *Tx, token, hash string) (string, error) {
	now := s.db.Now()
	inv, err := scanInvitation(tx.QueryRow(ctx, selectTokenInvitation, hashToken(token), now))
	if err == ErrNoRows {
		return "", eonpro.Errorf(eonpro.EUNAUTHN, "The link or code is invalid or has expired.")
	} else if err != nil {
		return "", err
	}
	if n, err := tx.Exec(ctx, answerInvitation, inv.ClinicID, inv.ID, eonpro.InvitationAccepted, now); err != nil {
		return "", err
	} else if n == 0 {
		return "", eonpro.Errorf(eonpro.EUNAUTHN, "The link or code is invalid or has expired.")
	}
	u, err := findUser(ctx, tx, selectUserByEmail, NormalizeEmail(inv.Email))
	switch eonpro.ErrorCode(err) {
	case eonpro.ENOTFOUND:
		if u, err = newUser(eonpro.NewUser{Email: inv.Email, Name: inv.Name}); err != nil {
			return "", err
		}
		if err := insertNewUser(ctx, tx, u, hash, now); err != nil {
			return "", err
		}
	case "":
		if err := setPassword(ctx, tx, u.ID, hash, now); err != nil {
			return "", err
		}
	default:
		return "", err
	}
	if _, err := joinClinic(ctx, tx, inv, u.ID, now); err != nil {
		return "", err
	}
	return u.ID, nil
}
