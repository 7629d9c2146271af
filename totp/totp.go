// Package totp wraps github.com/pquerna/otp for time-based one-time
// passwords (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps, the settings
// every authenticator app supports) and makes single-use backup codes.
//
// The TOTP secret is a credential: store it encrypted like PHI, and never
// log it or the otpauth URL, which holds it and the account name.
package totp

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

const (
	period     = 30 // seconds per step
	digits     = 6
	secretSize = 20 // bytes; the HMAC-SHA1 key size RFC 4226 recommends
)

// Generate returns a new random secret, base32-encoded without padding, and
// the otpauth:// URL that enrolls it in an authenticator app (show it as a
// QR code). Store the secret only once the user has entered a valid code.
func Generate(issuer, account string) (secret, otpauthURL string, err error) {
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      issuer,
		AccountName: account,
		Period:      period,
		SecretSize:  secretSize,
		Digits:      otp.DigitsSix,
		Algorithm:   otp.AlgorithmSHA1,
	})
	if err != nil {
		return "", "", fmt.Errorf("generate totp key: %w", err)
	}
	return key.Secret(), key.URL(), nil
}

// Verify reports whether code is the 6-digit code for secret at the step of
// now or the step either side of it, which allows for clock drift and a
// code typed as it changed. Steps at or before lastStep are refused, so each
// code works once: on success the caller stores the returned step as the
// factor's new lastStep, in the same transaction that accepts the login.
// A factor that has never accepted a code has lastStep 0.
func Verify(secret, code string, now time.Time, lastStep int64) (step int64, ok bool) {
	if !isCode(code) || strings.TrimSpace(secret) == "" {
		return 0, false
	}
	cur := now.Unix() / period
	// Highest step first: were a code valid at two steps, accepting the later
	// one leaves no step at which it could be replayed.
	for s := cur + 1; s >= cur-1; s-- {
		if s <= lastStep || s < 0 {
			continue
		}
		want, err := hotp.GenerateCodeCustom(secret, uint64(s), hotp.ValidateOpts{
			Digits:    otp.DigitsSix,
			Algorithm: otp.AlgorithmSHA1,
		})
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return s, true
		}
	}
	return 0, false
}

func isCode(code string) bool {
	if len(code) != digits {
		return false
	}
	for _, c := range []byte(code) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Backup code shape: 16 characters from a 31-letter alphabet without 0, o,
// 1, l and i, which read alike, in groups of 4: xxxx-xxxx-xxxx-xxxx.
const (
	backupAlphabet = "23456789abcdefghjkmnpqrstuvwxyz"
	backupLen      = 16
	backupGroup    = 4
)

// BackupCodes returns n new random backup codes, each to be accepted once in
// place of a TOTP code. Show them to the user once and store only
// HashBackupCode of each.
func BackupCodes(n int) (plain []string, err error) {
	if n < 1 {
		return nil, errors.New("backup codes: n must be positive")
	}
	seen := make(map[string]bool, n)
	for len(plain) < n {
		c, err := backupCode()
		if err != nil {
			return nil, fmt.Errorf("backup codes: %w", err)
		}
		if !seen[c] {
			seen[c] = true
			plain = append(plain, c)
		}
	}
	return plain, nil
}

// backupCode draws backupLen letters uniformly: bytes at or above the
// largest multiple of the alphabet size are redrawn rather than folded in,
// which would favour the first letters.
func backupCode() (string, error) {
	const limit = 256 - 256%len(backupAlphabet)
	var b strings.Builder
	buf := make([]byte, 32)
	for letters := 0; letters < backupLen; {
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		for _, r := range buf {
			if letters == backupLen {
				break
			}
			if int(r) >= limit {
				continue
			}
			if letters > 0 && letters%backupGroup == 0 {
				b.WriteByte('-')
			}
			b.WriteByte(backupAlphabet[int(r)%len(backupAlphabet)])
			letters++
		}
	}
	return b.String(), nil
}

// HashBackupCode returns the hex SHA-256 of code after dropping hyphens and
// white space and folding case, so "ABCD-efgh…" and "abcdefgh…" match.
//
// A fast unsalted hash is enough here, unlike for passwords: a code is 16
// random letters from 31, about 79 bits, so even with the table of hashes
// in hand, finding any one code among millions takes over 2^55 SHA-256
// guesses; and a code is only a second factor, useless without the
// account's password. The stored hash can then be looked up directly.
func HashBackupCode(code string) string {
	norm := strings.Map(func(r rune) rune {
		if r == '-' || unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToLower(r)
	}, code)
	sum := sha256.Sum256([]byte(norm))
	return hex.EncodeToString(sum[:])
}
