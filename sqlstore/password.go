package sqlstore

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/eonpro/eonpro"
	"github.com/eonpro/eonpro/password"
)

var (
	selectUserIDByEmail = Stmt{Name: "select_user_id_by_email", SQL: `
SELECT id, email FROM users WHERE email_normalized = $1 AND status = 'active'`}
	updatePassword = Stmt{Name: "update_password", SQL: `
UPDATE users SET password_hash = $2, password_changed_at = $3, updated_at = $3 WHERE id = $1`}
)

// ForgotPassword sends a reset code to the address when it belongs to an
// active user, and does nothing visible otherwise: the caller answers the
// same. Both cases run the same statements (the lookup and a token write,
// a decoy for an unknown address) and the message goes out after the
// answer (sendLater), so the request takes as long either way.
func (s *AuthService) ForgotPassword(ctx context.Context, email string) error {
	var m *eonpro.Message
	err := s.db.InTx(ctx, func(tx *Tx) error {
		m = nil
		userID, to, err := activeUserByEmail(ctx, tx, NormalizeEmail(email))
		if err != nil {
			return err
		}
		tok, err := s.issueToken(ctx, tx, tokenPasswordReset, userID, "", passwordResetTTL)
		if err != nil || userID == "" {
			return err
		}
		m = &eonpro.Message{Channel: eonpro.ChannelEmail, To: to, Subject: "Reset your EONPRO password",
			Body: "Use this code within 30 minutes to choose a new password: " + tok + resetLink(s.Links, tok) +
				"\nIf you did not ask for it, ignore this message; your password is unchanged."}
		return nil
	})
	if err != nil {
		return fmt.Errorf("forgot password: %w", err)
	}
	if m != nil {
		s.sendLater(ctx, *m)
	}
	return nil
}

// activeUserByEmail returns the id and address of the active user with a
// normalised e-mail, or two empty strings.
func activeUserByEmail(ctx context.Context, tx *Tx, email string) (id, to string, err error) {
	err = tx.QueryRow(ctx, selectUserIDByEmail, email).Scan(&id, &to)
	if err == ErrNoRows {
		return "", "", nil
	}
	return id, to, err
}

// ResetPassword sets a new password with a reset or invitation token and
// revokes every session of the user. An invitation's code makes the
// account of the invited address and joins the clinic.
func (s *AuthService) ResetPassword(ctx context.Context, token, newPassword string) error {
	if err := password.Validate(newPassword); err != nil {
		return err
	}
	hash, err := password.Hash(newPassword)
	if err != nil {
		return err
	}
	err = s.db.InTx(ctx, func(tx *Tx) error {
		userID, err := s.useToken(ctx, tx, token, tokenPasswordReset, tokenInvitation)
		switch eonpro.ErrorCode(err) {
		case "":
			err = setPassword(ctx, tx, userID, hash, s.db.Now())
		case eonpro.EUNAUTHN:
			userID, err = s.acceptByToken(ctx, tx, token, hash)
		}
		if err != nil {
			return err
		}
		return recordAudit(ctx, tx, eonpro.AuditEvent{Action: eonpro.ActionPasswordReset, ActorType: eonpro.ActorUser,
			ActorID: userID, ResourceType: "user", ResourceID: userID})
	})
	if err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	return nil
}

// ChangePassword replaces the principal's password after checking the
// current one, and revokes their sessions (the caller signs in again).
func (s *AuthService) ChangePassword(ctx context.Context, current, next string) error {
	p := eonpro.PrincipalFromContext(ctx)
	if p == nil || p.SessionID == "" {
		return eonpro.Errorf(eonpro.EUNAUTHN, "Sign in first.")
	}
	if err := password.Validate(next); err != nil {
		return renameField(err, "password", "new_password")
	}
	hash, err := password.Hash(next)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *Tx) error {
		var old string
		if err := tx.QueryRow(ctx, selectPasswordHash, p.UserID).Scan(&old); err != nil {
			return err
		}
		if ok, _ := password.Verify(current, old); !ok {
			return eonpro.FieldError("current_password", "is wrong")
		}
		if err := setPassword(ctx, tx, p.UserID, hash, s.db.Now()); err != nil {
			return err
		}
		return recordAudit(ctx, tx, eonpro.AuditEvent{Action: eonpro.ActionPasswordChanged, ResourceType: "user", ResourceID: p.UserID})
	})
}

func setPassword(ctx context.Context, tx *Tx, userID, hash string, now time.Time) error {
	if _, err := tx.Exec(ctx, updatePassword, userID, hash, now); err != nil {
		return err
	}
	return revokeUserSessions(ctx, tx, userID, now)
}

// renameField moves a field error to another key.
func renameField(err error, from, to string) error {
	fields := eonpro.ErrorFields(err)
	if msg, ok := fields[from]; ok {
		return eonpro.FieldError(to, msg)
	}
	return err
}

// resetLink is the reset page's address in the reset message, if known.
func resetLink(l Links, token string) string {
	if at := l.page("", "/reset", url.Values{"token": {token}}); at != "" {
		return "\nOr open: " + at
	}
	return ""
}
