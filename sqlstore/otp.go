package sqlstore

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"time"

	"github.com/eonpro/eonpro"
)

// Phone code rules.
const (
	phoneCodeTTL      = 10 * time.Minute
	phoneCodeAttempts = 5
)

var (
	selectUserIDByPhone = Stmt{Name: "select_user_id_by_phone", SQL: `
SELECT id FROM users WHERE phone = $1 AND status = 'active'`}
	insertPhoneCode = Stmt{Name: "insert_phone_code", SQL: `
INSERT INTO phone_codes (id, phone_hash, code_hash, attempts, created_at, expires_at)
VALUES ($1, $2, $3, 0, $4, $5)`}
	selectPhoneCode = Stmt{Name: "select_phone_code", SQL: `
SELECT id, code_hash, attempts
FROM phone_codes
WHERE phone_hash = $1
  AND used_at IS NULL
  AND expires_at > $2
ORDER BY created_at DESC
LIMIT 1`}
	failPhoneCode = Stmt{Name: "fail_phone_code", SQL: `
UPDATE phone_codes SET attempts = attempts + 1 WHERE id = $1`}
	usePhoneCode = Stmt{Name: "use_phone_code", SQL: `
UPDATE phone_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL`}
)

// SendPhoneCode texts a 6-digit sign-in code to a registered phone. For
// unknown numbers it does nothing: the caller answers the same.
func (s *AuthService) SendPhoneCode(ctx context.Context, phone string) error {
	if !e164.MatchString(phone) {
		return eonpro.FieldError("phone", "must be in E.164 form, like +15125550100")
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return err
	}
	code := fmt.Sprintf("%06d", n.Int64())
	sent := false
	err = s.db.InTx(ctx, func(tx *Tx) error {
		var userID string
		err := tx.QueryRow(ctx, selectUserIDByPhone, phone).Scan(&userID)
		if err == ErrNoRows {
			return nil
		} else if err != nil {
			return err
		}
		now := s.db.Now()
		sent = true
		_, err = tx.Exec(ctx, insertPhoneCode, eonpro.NewID(), s.mac("phone", phone), s.mac("phone-code", code), now, now.Add(phoneCodeTTL))
		return err
	})
	if err != nil || !sent {
		return err
	}
	return s.notify.Notify(ctx, eonpro.Message{Channel: eonpro.ChannelSMS, To: phone,
		Body: "Your EONPRO sign-in code is " + code + ". It expires in 10 minutes."})
}

// VerifyPhoneCode signs in with a phone code: 10 minutes, 5 tries, once.
func (s *AuthService) VerifyPhoneCode(ctx context.Context, phone, code string, meta eonpro.RequestMeta) (*eonpro.LoginResult, error) {
	if !e164.MatchString(phone) {
		return nil, eonpro.FieldError("phone", "must be in E.164 form, like +15125550100")
	}
	bad := eonpro.Errorf(eonpro.EUNAUTHN, "The code is wrong or has expired.")
	var res *eonpro.LoginResult
	failed := ""
	err := s.db.InTx(ctx, func(tx *Tx) error {
		var id, hash string
		var attempts int
		err := tx.QueryRow(ctx, selectPhoneCode, s.mac("phone", phone), s.db.Now()).Scan(&id, &hash, &attempts)
		if err == ErrNoRows || attempts >= phoneCodeAttempts {
			return bad
		} else if err != nil {
			return err
		}
		if !constantEqual([]byte(hash), []byte(s.mac("phone-code", code))) {
			failed = id
			return nil
		}
		if _, err := tx.Exec(ctx, usePhoneCode, id, s.db.Now()); err != nil {
			return err
		}
		var userID string
		if err := tx.QueryRow(ctx, selectUserIDByPhone, phone).Scan(&userID); err != nil {
			return bad
		}
		res, err = s.afterFirstFactor(ctx, tx, userID, meta, "phone")
		return err
	})
	if err != nil {
		return nil, err
	}
	if failed != "" {
		err := s.db.InTx(ctx, func(tx *Tx) error {
			if _, err := tx.Exec(ctx, failPhoneCode, failed); err != nil {
				return err
			}
			return recordAudit(ctx, tx, eonpro.AuditEvent{Action: eonpro.ActionLoginFailed, Outcome: eonpro.OutcomeDenied,
				ResourceType: "phone_code", ResourceID: failed, Detail: map[string]string{"method": "phone"}})
		})
		if err != nil {
			return nil, err
		}
		return nil, bad
	}
	return res, nil
}
