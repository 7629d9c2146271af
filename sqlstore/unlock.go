package sqlstore

import (
	"context"
	"fmt"
	"net/url"

	"github.com/eonpro/eonpro"
)

var errBadUnlock = eonpro.Errorf(eonpro.EUNAUTHN, "The code is wrong, used or has expired.")

// RequestUnlock e-mails a one-time unlock code when the address is an
// active user's and that account is locked from the caller's address, and
// does nothing visible otherwise. As ForgotPassword, every case runs the
// same statements (lookup, failure counts, a real or decoy token) and the
// message goes out after the answer.
func (s *AuthService) RequestUnlock(ctx context.Context, email string, meta eonpro.RequestMeta) error {
	email = NormalizeEmail(email)
	lk := s.passwordLock(email, meta.IP)
	var m *eonpro.Message
	err := s.db.InTx(ctx, func(tx *Tx) error {
		m = nil
		userID, to, err := activeUserByEmail(ctx, tx, email)
		if err != nil {
			return err
		}
		// Locked out at the password or at the 2FA step; an unknown
		// address costs the same two counts.
		n, _, err := s.failures(ctx, tx, lk.subject)
		if err != nil {
			return err
		}
		nMFA, _, err := s.failures(ctx, tx, s.mfaLock(userID, email, meta.IP).subject)
		if err != nil {
			return err
		}
		if max(n, nMFA) < lockoutFailures {
			userID = ""
		}
		tok, err := s.issueToken(ctx, tx, tokenUnlock, userID, "", unlockTTL)
		if err != nil || userID == "" {
			return err
		}
		m = &eonpro.Message{Channel: eonpro.ChannelEmail, To: to, Subject: "Unlock your EONPRO account",
			Body: "Your account was locked after repeated failed sign-ins. Use this code within 15 minutes to unlock it: " +
				tok + unlockLink(s.Links, tok) + "\nIf the failed sign-ins were not yours, change your password afterwards."}
		return nil
	})
	if err != nil {
		return fmt.Errorf("request unlock: %w", err)
	}
	if m != nil {
		s.sendLater(ctx, *m)
	}
	return nil
}

// Unlock clears the lockout of the account with the e-mail, from every
// address, with a code from RequestUnlock; the code works once. A wrong
// code counts as a failed sign-in from the caller's address. Returns
// EUNAUTHN for a wrong, used or expired code, or a code of another account.
func (s *AuthService) Unlock(ctx context.Context, email, code string, meta eonpro.RequestMeta) error {
	email = NormalizeEmail(email)
	lk := s.passwordLock(email, meta.IP)
	var userID string
	err := s.db.InTx(ctx, func(tx *Tx) error {
		var err error
		if userID, _, err = activeUserByEmail(ctx, tx, email); err != nil {
			return err
		}
		owner, err := s.useToken(ctx, tx, code, tokenUnlock)
		if err != nil {
			return err
		}
		if owner != userID {
			return errBadUnlock // rolled back: the code stays its owner's
		}
		if _, err := tx.Exec(ctx, deleteAccountFailures, lk.account); err != nil {
			return err
		}
		return recordAudit(ctx, tx, eonpro.AuditEvent{Action: eonpro.ActionUnlocked, ActorType: eonpro.ActorUser,
			ActorID: userID, ResourceType: "user", ResourceID: userID})
	})
	if eonpro.ErrorCode(err) == eonpro.EUNAUTHN {
		if err := s.recordFailure(ctx, lk, failure{eonpro.ActionLoginFailed, "unlock", userID}); err != nil {
			return fmt.Errorf("unlock: %w", err)
		}
		return errBadUnlock
	} else if err != nil {
		return fmt.Errorf("unlock: %w", err)
	}
	return nil
}

// unlockLink is the unlock page's address in the unlock message, if known.
func unlockLink(l Links, token string) string {
	if at := l.page("", "/unlock/confirm", url.Values{"token": {token}}); at != "" {
		return "\nOr open: " + at
	}
	return ""
}
